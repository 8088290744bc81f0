"""What the use cases refuse with, beside the domain's own errors (transports map each to a
status: service.api.errors)."""

from __future__ import annotations

from collections.abc import Sequence

from service.domain.errors import EstimatorError
from service.domain.problems import Problem
from service.domain.versions import version_label


class NotFoundError(EstimatorError):
    """A named thing (a rule-set version, a saved quote) does not exist (gRPC NOT_FOUND)."""

    def __init__(self, resource_type: str, name: str, message: str, reason: str) -> None:
        self.resource_type = resource_type
        self.name = name
        self.reason = reason
        super().__init__(message)


class RuleSetInvalidError(EstimatorError):
    """A rule-set file has errors of its own; nothing was written (INVALID_ARGUMENT)."""

    reason = "RULE_SET_INVALID"

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.errors = [p for p in problems if p.is_error]
        super().__init__(
            f"rule set {source} not published: {len(self.errors)} error(s); nothing was written"
        )


class RuleSetRejectedError(EstimatorError):
    """A valid rule set clashes with the published versions; nothing was written
    (ALREADY_EXISTS when its version label is taken by other content, else INVALID_ARGUMENT)."""

    reason = "RULE_SET_REJECTED"
    exists_reason = "RULE_SET_VERSION_EXISTS"  # ALREADY_EXISTS: the label is taken
    resource_type = "rule_set"

    def __init__(self, payer_id: str, version: str, problems: Sequence[Problem]) -> None:
        self.payer_id = payer_id
        self.version = version
        self.label = version_label(self)
        self.errors = [p for p in problems if p.is_error]
        super().__init__(
            f"{self.label} not published: {len(self.errors)} error(s) against the published "
            "versions; nothing was written"
        )

    @property
    def conflicts(self) -> list[Problem]:
        """The errors saying its version label is already published with other content."""
        return [p for p in self.errors if p.field == "version" and p.source == self.label]


class QuoteStoreUnavailableError(EstimatorError):
    """This server was started without a quote store (FAILED_PRECONDITION)."""

    reason = "QUOTE_STORE_UNAVAILABLE"


class StoreUnavailableError(EstimatorError):
    """The rule store cannot be reached (database down, connection lost, timed out): gRPC
    UNAVAILABLE, so a client retries. Quotes never need the store and keep being answered."""

    reason = "RULE_STORE_UNAVAILABLE"

    def __init__(self, message: str = "") -> None:
        super().__init__(
            message
            or "the rule store is unreachable; publishes, rule-set reads and saved quotes are "
            "unavailable until it is back (quotes are still answered)"
        )


class PermissionDeniedError(EstimatorError):
    """The caller may not act for this payer (PERMISSION_DENIED)."""

    reason = "PERMISSION_DENIED"
