"""Who may call what: authentication (API keys, JWTs), the one permission table, payer scope,
rate limits and the audit of publishes, all checked in one server interceptor.

See docs/security.md for the threat model and the settings.
"""

from service.api.security.authn import Authenticator, Identity, JwtSettings
from service.api.security.interceptor import SecurityInterceptor
from service.api.security.permissions import OPEN_SERVICES, PERMISSIONS, Permission, Scope

__all__ = [
    "OPEN_SERVICES",
    "PERMISSIONS",
    "Authenticator",
    "Identity",
    "JwtSettings",
    "Permission",
    "Scope",
    "SecurityInterceptor",
]
