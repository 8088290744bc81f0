"""Errors the domain raises; transports map each to a status (gRPC code, HTTP status, exit code).

Each carries enough structure for a clear answer: the field and the reason, the plan, the date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


class EstimatorError(Exception):
    """Base of every error the service reports to a caller on purpose."""

    reason: str = "ESTIMATOR_ERROR"


@dataclass(frozen=True)
class FieldViolation:
    """One bad field: its path in the request (proto field names) and why it is bad.

    `reason` is a stable code (google.rpc.BadRequest.FieldViolation.reason) a client may
    switch on; the description is for people and may change (docs/rest-gateway.md).
    """

    field: str
    description: str
    reason: str = "INVALID_VALUE"


class InvalidRequestError(EstimatorError):
    """The request itself is wrong (gRPC INVALID_ARGUMENT)."""

    reason = "INVALID_ARGUMENT"

    def __init__(self, violations: list[FieldViolation]) -> None:
        self.violations = violations
        super().__init__("; ".join(f"{v.field}: {v.description}" for v in violations))

    def prefixed(self, prefix: str) -> InvalidRequestError:
        """The same violations with field paths under `prefix` (e.g. "session.")."""
        return InvalidRequestError(
            [FieldViolation(prefix + v.field, v.description, v.reason) for v in self.violations]
        )


class PlanNotFoundError(EstimatorError):
    """No published rules know this plan id (gRPC NOT_FOUND)."""

    reason = "PLAN_NOT_FOUND"

    def __init__(self, plan_id: str, suggestions: list[str] | None = None) -> None:
        self.plan_id = plan_id
        self.suggestions = suggestions or []
        hint = (
            f"; did you mean {' or '.join(repr(s) for s in self.suggestions)}?"
            if self.suggestions
            else ""
        )
        super().__init__(f"unknown plan {plan_id!r}{hint}")


class NoRuleVersionError(EstimatorError):
    """The plan exists but no rule version covers the date of service (FAILED_PRECONDITION)."""

    reason = "NO_RULE_VERSION"

    def __init__(self, plan_id: str, date_of_service: date, detail: str = "") -> None:
        self.plan_id = plan_id
        self.date_of_service = date_of_service
        text = (
            f"no rule version of plan {plan_id!r} covers the date of service "
            f"{date_of_service.isoformat()}"
        )
        super().__init__(f"{text}{'; ' + detail if detail else ''}; estimate unavailable")


class EstimateUnavailableError(EstimatorError):
    """The service cannot know the price (FAILED_PRECONDITION), e.g. a plan without rates
    for the network, or a session length with no cash price. Never answered with $0."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(f"estimate unavailable: {message}")
