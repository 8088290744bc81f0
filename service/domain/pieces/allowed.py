"""The allowed amount for the covered units: the network's rates, then reductions
(docs/cost-rules.md §3)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from service.domain.errors import EstimateUnavailableError
from service.domain.model import LineItemKind, NetworkTerms, SameDayReduction
from service.domain.money import Cents, format_usd, percent_of
from service.domain.pieces.context import Ledger, Visit
from service.domain.words import plural


def percent_words(rate: Decimal) -> str:
    """0.2 -> "20%", 0.125 -> "12.5%"."""
    return f"{(rate * 100).normalize():f}%"


class AllowedPricing(Protocol):
    def price(self, visit: Visit, units: int, ledger: Ledger) -> Cents: ...


@dataclass(frozen=True)
class PerUnitRates:
    """Per unit: the first unit at the code's first-unit rate, later units at its later-unit
    rate (the same unless the plan reduces later units)."""

    terms: NetworkTerms
    plan_name: str

    def price(self, visit: Visit, units: int, ledger: Ledger) -> Cents:
        cpt = visit.cpt
        rate = self.terms.allowed.get(cpt)
        if rate is None:
            raise EstimateUnavailableError(
                "NO_RATES", f"{self.plan_name} has no allowed amount for CPT {cpt} in this network"
            )
        if rate.later_units == rate.first_unit or units == 1:
            amount = rate.first_unit * units
            ledger.line(
                LineItemKind.ALLOWED,
                f"{cpt}, {plural(units, 'unit')} at {format_usd(rate.first_unit)}",
                amount,
                rate.ref,
                cpt_code=cpt,
                units=units,
                unit_amount=rate.first_unit,
            )
            return amount
        ledger.line(
            LineItemKind.ALLOWED,
            f"{cpt}, first unit at {format_usd(rate.first_unit)}",
            rate.first_unit,
            f"{rate.ref}.first_unit",
            cpt_code=cpt,
            units=1,
            unit_amount=rate.first_unit,
        )
        later = rate.later_units * (units - 1)
        ledger.line(
            LineItemKind.ALLOWED,
            f"{cpt}, {plural(units - 1, 'later unit')} at {format_usd(rate.later_units)}",
            later,
            f"{rate.ref}.later_units",
            cpt_code=cpt,
            units=units - 1,
            unit_amount=rate.later_units,
        )
        return rate.first_unit + later


@dataclass(frozen=True)
class FlatPerVisit:
    """One allowed amount for the visit, whatever its covered units."""

    terms: NetworkTerms
    plan_name: str

    def price(self, visit: Visit, units: int, ledger: Ledger) -> Cents:
        amount = self.terms.per_visit_allowed
        if amount is None:  # the loader rejects this; guard against a silent $0 anyway
            raise EstimateUnavailableError(
                "NO_RATES", f"{self.plan_name} has no per-visit allowed amount"
            )
        ledger.line(
            LineItemKind.ALLOWED,
            f"{visit.cpt} flat allowed amount per visit ({plural(units, 'unit')})",
            amount,
            f"{self.terms.ref}.allowed_per_visit",
            cpt_code=visit.cpt,
            units=units,
        )
        return amount


@dataclass(frozen=True)
class SameDayReductionStep:
    """Billed the same day as one of the listed procedures, the allowed amount is a
    percentage of the full amount, rounded half up once (in either network)."""

    reduction: SameDayReduction

    def apply(self, visit: Visit, allowed: Cents, ledger: Ledger) -> Cents | None:
        """The reduced allowed amount, or None when no listed code is billed that day."""
        billed = {code.strip().upper() for code in visit.request.same_day_procedure_codes}
        hits = sorted(self.reduction.procedure_codes.intersection(billed))
        if not hits:
            return None
        reduced = percent_of(allowed, self.reduction.percent)
        pct = percent_words(self.reduction.percent)
        codes = ", ".join(hits)
        ledger.line(
            LineItemKind.REDUCTION,
            f"same-day reduction: {pct} of {format_usd(allowed)} allowed, because {codes} "
            "is billed the same day",
            reduced - allowed,
            self.reduction.ref,
        )
        ledger.reason(
            "SAME_DAY_REDUCTION",
            f"Billed the same day as {codes}, the allowed amount is {pct} of "
            f"{format_usd(allowed)}: {format_usd(reduced)}.",
            self.reduction.ref,
        )
        return reduced


def apply_reductions(
    steps: tuple[SameDayReductionStep, ...], visit: Visit, allowed: Cents, ledger: Ledger
) -> Cents:
    """The first listed reduction that applies; a visit gets at most one."""
    for step in steps:
        reduced = step.apply(visit, allowed, ledger)
        if reduced is not None:
            return reduced
    return allowed
