"""The one table naming who may call every RPC (tests/api/test_security_matrix.py checks that
every RPC of every served service has an entry, so a new RPC cannot ship open by accident).

Scope says how a payer_admin's payers limit a call:
- NONE: the RPC does not touch one payer's rules (estimates, saved quotes).
- READ: reading another payer's rule sets answers as if they did not exist (NOT_FOUND, or
  left out of a list), so the answer is no oracle of what exists.
- WRITE: validating, publishing or withdrawing for another payer is PERMISSION_DENIED.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from service.usecases.identities import Role

Q, B, P, A = Role.QUOTER, Role.BILLING, Role.PAYER_ADMIN, Role.ADMIN


class Scope(Enum):
    NONE = "none"
    READ = "read"
    WRITE = "write"


@dataclass(frozen=True)
class Permission:
    roles: frozenset[Role]
    scope: Scope = Scope.NONE
    audited: bool = False  # every call is written to the audit log with its outcome


def _p(*roles: Role, scope: Scope = Scope.NONE, audited: bool = False) -> Permission:
    return Permission(frozenset(roles), scope, audited)


_EST = "/massage_estimator.v1.EstimatorService/"
_RULES = "/massage_estimator.v1.PayerRulesService/"
_CLINICS = "/massage_estimator.v1.ClinicService/"

PERMISSIONS: dict[str, Permission] = {
    # booking front ends quote; saving a quote (save_quote) needs billing: see SAVE_QUOTE_ROLES
    _EST + "EstimateSession": _p(Q, B, A),
    _EST + "EstimateTreatmentPlan": _p(Q, B, A),
    _EST + "EstimateSessions": _p(B, A),
    _EST + "GetQuote": _p(B, A),
    _EST + "GetQuoteFhir": _p(B, A),  # a saved quote, in another form
    _RULES + "ValidateRuleSet": _p(P, A, scope=Scope.WRITE),
    _RULES + "PublishRuleSet": _p(P, A, scope=Scope.WRITE, audited=True),
    _RULES + "ListRuleSets": _p(B, P, A, scope=Scope.READ),
    _RULES + "GetRuleSet": _p(B, P, A, scope=Scope.READ),
    _RULES + "DiffRuleSets": _p(B, P, A, scope=Scope.READ),
    _RULES + "ListPlans": _p(Q, B, P, A, scope=Scope.READ),
    _RULES + "WithdrawRuleSet": _p(P, A, scope=Scope.WRITE, audited=True),
    # a what-if on a draft is scoped like publishing it; nothing is written, so not audited
    _RULES + "PreviewImpact": _p(P, A, scope=Scope.WRITE),
    # the clinic's own profile: billing staff read it, only an admin publishes it
    _CLINICS + "ValidateClinicProfile": _p(A),
    _CLINICS + "PublishClinicProfile": _p(A, audited=True),
    _CLINICS + "ListClinicProfiles": _p(B, A),
    _CLINICS + "GetClinicProfile": _p(B, A),
    _CLINICS + "DiffClinicProfiles": _p(B, A),
    _CLINICS + "ListClinicLocations": _p(Q, B, A),  # a booking page lists the locations
}
"""Full method name -> who may call it."""

SAVE_QUOTE_ROLES = frozenset({B, A})
"""Roles whose EstimateSession may carry save_quote (a saved quote keeps the request)."""

OPEN_SERVICES = frozenset(
    {
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        "grpc.reflection.v1.ServerReflection",
    }
)
"""Services anyone may call: probes and tools."""


def service_of(method: str) -> str:
    return method.lstrip("/").split("/", 1)[0]
