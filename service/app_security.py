"""Composition of the security parts (service.api.security) from the settings: the
authenticator over the store's API keys and the configured JWKS, the rate limiter, the audit
log, the TLS credentials, and the start-up rule "authentication or loopback or --insecure".

Kept beside service/app.py (which calls `secure(...)`) so the composition root stays short.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass

import grpc
from sqlalchemy import Engine

from service.api.security import Authenticator, JwtSettings, SecurityInterceptor
from service.api.security.ratelimit import RateLimiter
from service.settings import Settings
from service.storage import create_store
from service.storage.security import SecurityStore

log = logging.getLogger("service.app")


class InsecureStartError(RuntimeError):
    """A non-loopback address with no authentication configured and no --insecure."""


@dataclass
class Security:
    authenticator: Authenticator
    interceptor: SecurityInterceptor
    store: SecurityStore
    credentials: grpc.ServerCredentials | None

    def stop(self) -> None:
        self.authenticator.stop()
        self.store.engine.dispose()


def is_loopback(host: str) -> bool:
    name = host.strip().strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def jwt_settings(settings: Settings) -> JwtSettings | None:
    if not settings.jwt_issuer:
        return None
    if settings.jwt_jwks_file is None or not settings.jwt_audience:
        raise ValueError("jwt_issuer needs jwt_jwks_file and jwt_audience as well")
    return JwtSettings(
        jwks_file=settings.jwt_jwks_file,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        role_claim=settings.jwt_role_claim,
        payers_claim=settings.jwt_payers_claim,
    )


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """TLS when a certificate is configured; mutual TLS when a client CA is too."""
    if settings.tls_cert_file is None and settings.tls_key_file is None:
        if settings.tls_client_ca_file is not None:
            raise ValueError("tls_client_ca_file needs tls_cert_file and tls_key_file")
        return None
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        raise ValueError("tls_cert_file and tls_key_file must be set together")
    client_ca = settings.tls_client_ca_file
    return grpc.ssl_server_credentials(
        [(settings.tls_key_file.read_bytes(), settings.tls_cert_file.read_bytes())],
        root_certificates=client_ca.read_bytes() if client_ca else None,
        require_client_auth=client_ca is not None,
    )


def secure(settings: Settings, engine: Engine) -> Security:
    """The security parts for a server on `settings`, or InsecureStartError.

    Keys and audit records go through an engine of their own on the store's database, so the
    key poller never shares connections with the rule store (quotes stay free of SQL there)."""
    store = SecurityStore(create_store(engine.url.render_as_string(hide_password=False)).engine)
    try:
        return _secure(settings, store)
    except BaseException:
        store.engine.dispose()
        raise


def _secure(settings: Settings, store: SecurityStore) -> Security:
    authenticator = Authenticator(store, jwt_settings(settings))
    if not authenticator.enabled:
        if not is_loopback(settings.host) and not settings.insecure:
            raise InsecureStartError(
                f"refusing to listen on {settings.host} without authentication: create an API "
                "key (massage-estimator tokens create), configure a JWT issuer, or pass "
                "--insecure (docs/security.md)"
            )
        log.warning(
            "authentication is off: no API key exists and no JWT issuer is configured; "
            "anyone who can reach %s may call every RPC (docs/security.md)",
            settings.host,
        )
    limiter = RateLimiter(
        settings.rate_limit_per_second,
        settings.rate_limit_burst,
        sizes={"quoter": (settings.quoter_rate_limit_per_second, settings.quoter_rate_limit_burst)},
    )
    interceptor = SecurityInterceptor(authenticator, limiter=limiter, audit=store)
    return Security(authenticator, interceptor, store, server_credentials(settings))
