"""Quote with a payer's 271: read it, check coverage, fill what is left, reconcile.

The transport hands over the raw 271 text and the names of the accumulators its caller typed
(those win); this reads it against the rule version that answers for the session's date, so
"what is left" and the disagreements are measured against the same rules that price it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, datetime

from service.domain.errors import FieldViolation, InvalidRequestError
from service.domain.model import Network, PlanRules, RuleSetVersion, SessionRequest
from service.interop.x12.apply import Reconciliation, apply_eligibility
from service.interop.x12.read271 import read_271
from service.interop.x12.segments import X12Error

# A 271 about one patient is a few kilobytes; anything far larger is not one.
MAX_271_CHARS = 65_536

Resolve = Callable[[str, date, "datetime | None"], tuple[RuleSetVersion, PlanRules]]
DecideNetwork = Callable[[SessionRequest], Network]


def reconcile(
    text: str,
    request: SessionRequest,
    resolve: Resolve,
    as_of: datetime | None = None,
    typed: frozenset[str] = frozenset(),
    field: str = "eligibility_271",
    decide_network: DecideNetwork | None = None,
) -> Reconciliation:
    """The request with the 271's remaining amounts and the reconciliation; the 271's
    problems are InvalidRequestError on `field`, inactive or rejected coverage
    EstimateUnavailableError (FAILED_PRECONDITION), in the payer's words."""
    if len(text) > MAX_271_CHARS:
        raise InvalidRequestError(
            [FieldViolation(field, f"must be at most {MAX_271_CHARS:,} characters (one 271)")]
        )
    if request.is_self_pay:
        raise InvalidRequestError(
            [
                FieldViolation(
                    field,
                    "a 271 is read against an insured plan; a self-pay quote has none",
                )
            ]
        )
    try:
        found = read_271(text)
    except X12Error as exc:
        raise InvalidRequestError(
            [FieldViolation(field, f"is not a readable 271: {exc}")]
        ) from None
    version, plan = resolve(request.plan_id, request.date_of_service, as_of)
    if decide_network is None or request.network_given:
        return apply_eligibility(request, found, version, plan, typed)
    # A location's participation decides the network: read the 271's figures for that one,
    # and leave the request's network unspecified so the estimate still says who decided.
    network = decide_network(request)
    done = apply_eligibility(
        dataclasses.replace(request, network=network), found, version, plan, typed
    )
    kept = dataclasses.replace(done.request, network=request.network)
    return dataclasses.replace(done, request=kept)


__all__ = ["MAX_271_CHARS", "reconcile"]
