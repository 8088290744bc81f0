"""Plan payment limits: the most the plan pays per visit and per benefit period. Applied
after the out-of-pocket cap; what is above a limit is the patient's, outside the deductible
and the maximum (docs/cost-rules.md §5)."""

from __future__ import annotations

from dataclasses import dataclass

from service.domain.model import LineItemKind, PaymentLimit
from service.domain.money import Cents, format_usd
from service.domain.pieces.context import Ledger, Visit


@dataclass(frozen=True)
class PlanPayment:
    """What the plan pays, and what it would have paid without a limit."""

    pays: Cents
    above_maximum: Cents
    benefit_remaining: Cents | None  # of the per-period limit, after this visit
    ref: str = ""  # the limit that bit
    words: str = ""  # that limit in words: "$90.00 a visit"

    def write_above(self, ledger: Ledger) -> None:
        """The not-covered line for what is above the limit (after the plan's payment)."""
        if self.above_maximum:
            ledger.line(
                LineItemKind.NOT_COVERED,
                f"above the plan's maximum of {self.words}",
                self.above_maximum,
                self.ref,
            )


def unlimited(owed: Cents) -> PlanPayment:
    return PlanPayment(owed, 0, None)


@dataclass(frozen=True)
class PaymentLimitStep:
    plan_name: str
    limit: PaymentLimit

    def remaining_before(self, visit: Visit) -> Cents | None:
        if self.limit.per_period is None:
            return None
        return max(0, self.limit.per_period - visit.request.accumulators.benefit_paid)

    def apply(self, visit: Visit, owed: Cents, ledger: Ledger) -> PlanPayment:
        """`owed` is the allowed amount less the capped cost share."""
        pays, ref, words, reason = owed, "", "", ""
        per_visit = self.limit.per_visit
        if per_visit is not None and per_visit < pays:
            pays = per_visit
            ref = f"{self.limit.ref}.per_visit"
            words = f"{format_usd(per_visit)} a visit"
            reason = f"{self.plan_name} pays at most {words} for massage"
        left = self.remaining_before(visit)
        if left is not None and left < pays:
            assert self.limit.per_period is not None
            pays = left
            ref = f"{self.limit.ref}.per_benefit_period"
            words = (
                f"{format_usd(self.limit.per_period)} a benefit period "
                f"({format_usd(left)} of it was left)"
            )
            reason = (
                f"{self.plan_name} pays at most {format_usd(self.limit.per_period)} a benefit "
                f"period for massage, and {format_usd(left)} of it was left before this visit"
            )
        above = owed - pays
        if above:
            ledger.reason(
                "ABOVE_PLAN_MAXIMUM",
                f"{reason}; the {format_usd(above)} above it is the client's, and counts toward "
                "neither the deductible nor the out-of-pocket maximum.",
                ref,
            )
        return PlanPayment(pays, above, None if left is None else left - pays, ref, words)
