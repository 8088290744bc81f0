"""The patient's cost share of the allowed amount, in the order it is charged, capped by what
is left of the out-of-pocket maximum (docs/cost-rules.md §4).

Three shapes of plan, each a piece bound to one network's terms: a copay instead of the
deductible (a flat copay or tiers by visit number), the deductible then coinsurance, and the
deductible then a copay. What is left of the deductible and the maximum is the smaller of
the individual's and the family's (embedded family amounts), and counts the other network's
totals too when the plan combines them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from service.domain.errors import EstimateUnavailableError
from service.domain.model import (
    Accumulators,
    CopayTier,
    LineItemKind,
    NetworkTerms,
    NetworkTotals,
)
from service.domain.money import Cents, format_usd, percent_of
from service.domain.pieces.allowed import percent_words
from service.domain.pieces.context import Ledger, Visit


@dataclass(frozen=True)
class Share:
    """The cost share as charged (after the out-of-pocket cap)."""

    copay: Cents = 0
    deductible: Cents = 0
    coinsurance: Cents = 0

    @property
    def total(self) -> Cents:
        return self.copay + self.deductible + self.coinsurance


# ------------------------------------------------------------------ what is left


@dataclass(frozen=True)
class Left:
    """What is left of an individual amount and, where the plan has one, the family's."""

    individual: Cents
    family: Cents | None

    @property
    def amount(self) -> Cents:
        return self.individual if self.family is None else min(self.individual, self.family)

    @property
    def family_binds(self) -> bool:
        return self.family is not None and self.family < self.individual


@dataclass(frozen=True)
class Counting:
    """How a plan counts the accumulators against one network's limits."""

    combined: bool  # in- and out-of-network totals count together

    def deductible_met(self, acc: Accumulators, other: NetworkTotals) -> tuple[Cents, Cents]:
        """(individual, family) deductible met."""
        if self.combined:
            return (
                acc.deductible_met + other.deductible_met,
                acc.family_deductible + other.family_deductible,
            )
        return acc.deductible_met, acc.family_deductible

    def out_of_pocket_met(self, acc: Accumulators, other: NetworkTotals) -> tuple[Cents, Cents]:
        if self.combined:
            return (
                acc.out_of_pocket_met + other.out_of_pocket_met,
                acc.family_out_of_pocket + other.family_out_of_pocket,
            )
        return acc.out_of_pocket_met, acc.family_out_of_pocket

    def deductible_left(self, terms: NetworkTerms, visit: Visit) -> Left:
        met, family_met = self.deductible_met(
            visit.request.accumulators, visit.request.other_network
        )
        return Left(
            max(0, terms.deductible - met),
            None
            if terms.family_deductible is None
            else max(0, terms.family_deductible - family_met),
        )

    def out_of_pocket_left(self, terms: NetworkTerms, visit: Visit) -> Left | None:
        if terms.out_of_pocket_max is None:
            return None
        met, family_met = self.out_of_pocket_met(
            visit.request.accumulators, visit.request.other_network
        )
        family = terms.family_out_of_pocket_max
        return Left(
            max(0, terms.out_of_pocket_max - met),
            None if family is None else max(0, family - family_met),
        )

    @property
    def together(self) -> str:
        """Said after an amount counted across both networks."""
        return " (in- and out-of-network amounts count together)" if self.combined else ""

    @property
    def met_suffix(self) -> str:
        return ", in and out of network together" if self.combined else ""


# ------------------------------------------------------------------ parts and the cap


@dataclass(frozen=True)
class _Part:
    """One charge of the cost share before the cap, with how to describe it once capped."""

    kind: LineItemKind
    amount: Cents
    ref: str
    describe: Callable[[Cents], str]


def _cap_and_write(
    parts: list[_Part], terms: NetworkTerms, counting: Counting, visit: Visit, ledger: Ledger
) -> list[Cents]:
    """Cap the parts by the out-of-pocket room in the order they are charged, write the
    reason when the cap bites and a line per part; the capped amounts, in order."""
    amounts = [p.amount for p in parts]
    left = counting.out_of_pocket_left(terms, visit)
    if left is not None and sum(amounts) > left.amount:
        room = left.amount
        capped = []
        for amount in amounts:
            take = min(amount, room)
            capped.append(take)
            room -= take
        amounts = capped
        ledger.reason(
            "OUT_OF_POCKET_MAX_REACHED",
            _cap_words(terms, counting, visit, left, sum(amounts)),
            f"{terms.ref}.family_out_of_pocket_max"
            if left.family_binds
            else f"{terms.ref}.out_of_pocket_max",
        )
    for part, amount in zip(parts, amounts, strict=True):
        ledger.line(part.kind, part.describe(amount), amount, part.ref)
    return amounts


def _cap_words(
    terms: NetworkTerms, counting: Counting, visit: Visit, left: Left, share: Cents
) -> str:
    acc, other = visit.request.accumulators, visit.request.other_network
    met, family_met = counting.out_of_pocket_met(acc, other)
    if left.family_binds and terms.family_out_of_pocket_max is not None:
        return (
            f"The family out-of-pocket maximum of {format_usd(terms.family_out_of_pocket_max)} "
            f"caps the client's share at {format_usd(share)} ({format_usd(family_met)} already "
            f"met by the family{counting.met_suffix})."
        )
    assert terms.out_of_pocket_max is not None  # the cap exists
    return (
        f"The out-of-pocket maximum of {format_usd(terms.out_of_pocket_max)} caps the client's "
        f"share at {format_usd(share)} ({format_usd(met)} already met"
        f"{counting.met_suffix})."
    )


def _deductible_part(
    terms: NetworkTerms, counting: Counting, visit: Visit, allowed: Cents
) -> _Part:
    left = counting.deductible_left(terms, visit)
    take = min(allowed, left.amount)
    if left.family_binds and terms.family_deductible is not None:
        words = (
            f"deductible: {format_usd(left.amount)} of the family's "
            f"{format_usd(terms.family_deductible)} left before this visit (the member's own: "
            f"{format_usd(left.individual)} of {format_usd(terms.deductible)})"
        )
        ref = f"{terms.ref}.family_deductible"
    else:
        words = (
            f"deductible: {format_usd(left.amount)} of {format_usd(terms.deductible)} left "
            "before this visit"
        )
        ref = f"{terms.ref}.deductible"
    words += counting.together
    return _Part(LineItemKind.DEDUCTIBLE, take, ref, lambda _amount: words)


def _limited(capped: Cents, uncapped: Cents) -> str:
    return " (limited by the out-of-pocket maximum)" if capped < uncapped else ""


def _tier(terms: NetworkTerms, visit: Visit) -> CopayTier:
    tier = terms.copay_for(visit.visit_number)
    if tier is None:  # the loader makes tiers cover every visit the limit allows
        raise EstimateUnavailableError(
            "NO_COPAY", f"the plan's copay tiers name no copay for visit {visit.visit_number}"
        )
    return tier


def _tier_words(terms: NetworkTerms, tier: CopayTier, visit: Visit) -> str:
    if len(terms.copay) == 1 and tier.from_visit == 1 and tier.to_visit is None:
        return f"copay {format_usd(tier.amount)} per visit"
    visits = (
        f"visits {tier.from_visit}-{tier.to_visit}"
        if tier.to_visit is not None
        else f"visits {tier.from_visit} and later"
    )
    return f"copay {format_usd(tier.amount)} for {visits} (this is visit {visit.visit_number})"


# ------------------------------------------------------------------ the three shapes


class CostShare(Protocol):
    def share(self, visit: Visit, allowed: Cents, ledger: Ledger) -> Share: ...


@dataclass(frozen=True)
class CopayInsteadOfDeductible:
    """The lesser of the copay (by visit number) and the allowed amount; no deductible and
    no coinsurance."""

    terms: NetworkTerms
    counting: Counting

    def share(self, visit: Visit, allowed: Cents, ledger: Ledger) -> Share:
        tier = _tier(self.terms, visit)
        due = min(tier.amount, allowed)
        words = _tier_words(self.terms, tier, visit) + (
            " (limited to the allowed amount)" if tier.amount > allowed else ""
        )
        part = _Part(LineItemKind.COPAY, due, tier.ref, lambda c: words + _limited(c, due))
        (copay,) = _cap_and_write([part], self.terms, self.counting, visit, ledger)
        return Share(copay=copay)


@dataclass(frozen=True)
class DeductibleThenCoinsurance:
    """The deductible part first (when the deductible applies to massage), then coinsurance
    on the rest of the allowed amount, rounded half up once."""

    terms: NetworkTerms
    counting: Counting

    def share(self, visit: Visit, allowed: Cents, ledger: Ledger) -> Share:
        terms = self.terms
        parts: list[_Part] = []
        deductible = 0
        if terms.deductible_applies:
            part = _deductible_part(terms, self.counting, visit, allowed)
            deductible = part.amount
            parts.append(part)
        base = allowed - deductible
        due = percent_of(base, terms.coinsurance)
        if terms.coinsurance or due:
            words = f"coinsurance {percent_words(terms.coinsurance)} of {format_usd(base)}"
            parts.append(
                _Part(
                    LineItemKind.COINSURANCE,
                    due,
                    f"{terms.ref}.coinsurance_percent",
                    lambda c: words + _limited(c, due),
                )
            )
        amounts = _cap_and_write(parts, terms, self.counting, visit, ledger)
        by_kind = {p.kind: a for p, a in zip(parts, amounts, strict=True)}
        return Share(
            deductible=by_kind.get(LineItemKind.DEDUCTIBLE, 0),
            coinsurance=by_kind.get(LineItemKind.COINSURANCE, 0),
        )


@dataclass(frozen=True)
class DeductibleThenCopay:
    """ "Copay after deductible": deductible part = min(allowed, deductible left); copay part =
    min(copay, allowed - deductible part)."""

    terms: NetworkTerms
    counting: Counting

    def share(self, visit: Visit, allowed: Cents, ledger: Ledger) -> Share:
        terms = self.terms
        deductible = _deductible_part(terms, self.counting, visit, allowed)
        tier = _tier(terms, visit)
        rest = allowed - deductible.amount
        due = min(tier.amount, rest)
        words = (
            _tier_words(terms, tier, visit)
            + " after the deductible"
            + (
                " (limited to what the deductible leaves of the allowed amount)"
                if tier.amount > rest
                else ""
            )
        )
        copay = _Part(LineItemKind.COPAY, due, tier.ref, lambda c: words + _limited(c, due))
        ded, cop = _cap_and_write([deductible, copay], terms, self.counting, visit, ledger)
        return Share(copay=cop, deductible=ded)


def cost_share_for(terms: NetworkTerms, counting: Counting) -> CostShare:
    if not terms.copay:
        return DeductibleThenCoinsurance(terms, counting)
    if terms.copay_after_deductible:
        return DeductibleThenCopay(terms, counting)
    return CopayInsteadOfDeductible(terms, counting)
