"""A payer's 271 applied to a quote: what is left comes from the 271, the prices from the rules.

A 271 reports what is *remaining* of a deductible, an out-of-pocket maximum, a visit limit or
a dollar limit. The quote uses that as what is left, even when the 271's total differs from
the rule table's: what the client has met is the rule table's total minus the 271's remaining
(never below zero). A figure the 271 gives as met or used is taken as it is. Figures the
caller typed win over the 271's (`Typed`).

Every term where the 271 and the rule version disagree (copay, coinsurance, deductible,
out-of-pocket maximum, visit limit, and the family totals) is listed with both values. The
rule table priced the quote; the list is there so a stale fee schedule or copay is noticed
before the claim is paid differently.

Which figure answers: the session's network and the individual level first, then the same
network with no level stated, then "network not stated" figures (docs/interop.md).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal

from service.domain.errors import EstimateUnavailableError
from service.domain.model import (
    Accumulators,
    Network,
    NetworkTerms,
    NetworkTotals,
    PlanRules,
    RuleSetVersion,
    SessionRequest,
)
from service.domain.money import Cents, format_usd
from service.domain.words import plural
from service.interop.x12 import eligibility as x12
from service.interop.x12.eligibility import Eligibility, Figure, Level, Term

# The accumulator fields a caller may type, by the name the wire and the CLI share.
TYPED_FIELDS = (
    "deductible_met",
    "out_of_pocket_met",
    "visits_used",
    "family_deductible_met",
    "family_out_of_pocket_met",
    "benefit_paid",
    "other_network.deductible_met",
    "other_network.out_of_pocket_met",
    "other_network.family_deductible_met",
    "other_network.family_out_of_pocket_met",
)

# AAA rejections at these levels mean the payer did not answer for this patient.
_REFUSING_LOOPS = frozenset(
    {"subscriber", "dependent", "information source", "information receiver"}
)


@dataclass(frozen=True)
class Applied:
    """One accumulator taken from the 271, and how it was worked out."""

    field: str  # e.g. "deductible_met", "other_network.out_of_pocket_met"
    value: int  # cents, or visits for visits_used
    amount: str  # in words: "$1,550.00" or "4 visits"
    how: str


@dataclass(frozen=True)
class Disagreement:
    """A term the 271 and the rule version state differently."""

    term: str  # copay, coinsurance, deductible, out_of_pocket_max, visit_limit, family_...
    rule_value: str
    eligibility_value: str
    service_type: str  # the X12 service type that answered in the 271 ("" when none)
    rule_ref: str


@dataclass(frozen=True)
class Reconciliation:
    """The request with the 271's accumulators, what was taken, and what disagrees."""

    request: SessionRequest
    applied: tuple[Applied, ...]
    disagreements: tuple[Disagreement, ...]
    priced_by: str  # "the rule table: Birch Health 2026.1"


def refusal(found: Eligibility) -> EstimateUnavailableError | None:
    """Why a quote cannot use this 271 (coverage not active, or the payer rejected the
    request), in the payer's words; None when coverage is active."""
    rejections = [r for r in found.rejections if r.loop in _REFUSING_LOOPS]
    if found.status is x12.CoverageStatus.REJECTED or rejections:
        first = (rejections or list(found.rejections))[0]
        follow = f"; {first.follow_up}" if first.follow_up else ""
        return EstimateUnavailableError(
            "ELIGIBILITY_REJECTED",
            f"the payer rejected the eligibility request ({first.loop}): {first.reason}{follow}",
        )
    if found.status is x12.CoverageStatus.INACTIVE:
        said = "; ".join(found.status_messages)
        return EstimateUnavailableError(
            "ELIGIBILITY_INACTIVE",
            f"the payer's 271 says coverage is not active ({found.status_words})"
            + (f": {said}" if said else ""),
        )
    if found.status is x12.CoverageStatus.NOT_STATED:
        return EstimateUnavailableError(
            "ELIGIBILITY_STATUS_UNKNOWN",
            "the payer's 271 does not say whether coverage is active (no EB01 1-8)",
        )
    return None


class _Lookup:
    """Figures of one network of the 271, with the fallbacks described above."""

    def __init__(self, found: Eligibility, network: x12.Network, *, stated_only: bool) -> None:
        self._found = found
        networks = [network] if stated_only else [network, x12.Network.NOT_STATED]
        self._order = {
            Level.INDIVIDUAL: [
                (n, lv) for n in networks for lv in (Level.INDIVIDUAL, Level.NOT_STATED)
            ],
            Level.FAMILY: [(n, Level.FAMILY) for n in networks],
        }

    def get(self, level: Level, term: Term) -> Figure | None:
        for network, lv in self._order[level]:
            fig = self._found.figure(network, lv, term)
            if fig is not None:
                return fig
        return None


def _source(fig: Figure) -> str:
    return f"271 segment {fig.segment}" + (
        f", service type {fig.service_type}" if fig.service_type else ""
    )


def _met(
    total: Cents | None, remaining: Figure | None, met: Figure | None, what: str
) -> tuple[int, str] | None:
    """What has been met: the rule table's total minus the 271's remaining, else the 271's
    own met figure; None when the 271 says neither (or the table has no total to subtract
    from and the 271 gives only what is left)."""
    if remaining is not None and total is not None and isinstance(remaining.value, int):
        value = max(0, total - remaining.value)
        return value, (
            f"the rule table's {what} {_money_or_count(total, what)} minus the "
            f"{_money_or_count(remaining.value, what)} remaining ({_source(remaining)})"
            + (
                " (more remains than the table's total: nothing met)"
                if value == 0 and remaining.value > total
                else ""
            )
        )
    if met is not None and isinstance(met.value, int):
        return met.value, f"met as the 271 states it ({_source(met)})"
    return None


def _money_or_count(value: int, what: str) -> str:
    return plural(value, "visit") if what == "visit limit" else format_usd(value)


class _Applier:
    """Collects the accumulators the 271 gives for one request."""

    def __init__(self, typed: frozenset[str]) -> None:
        self.typed = typed
        self.values: dict[str, int] = {}
        self.applied: list[Applied] = []

    def take(self, field: str, found: tuple[int, str] | None, unit: str = "money") -> None:
        if found is None or field in self.typed:
            return
        value, how = found
        self.values[field] = value
        amount = plural(value, "visit") if unit == "visits" else format_usd(value)
        self.applied.append(Applied(field, value, amount, how))

    def family_includes_member(self, request: SessionRequest) -> None:
        """A family total includes the member's own: where the rule table's total and the
        271's differ, the family met worked out from the 271 can fall below the member's own;
        it is raised to the member's, which leaves the member's remaining as the 271 says."""
        for prefix, own_totals in (
            ("", request.accumulators),
            ("other_network.", request.other_network),
        ):
            for kind in ("deductible_met", "out_of_pocket_met"):
                family = self.values.get(f"{prefix}family_{kind}")
                own = self.values.get(prefix + kind, getattr(own_totals, kind))
                if family is None or family >= own:
                    continue
                self.values[f"{prefix}family_{kind}"] = own
                at = next(
                    i for i, a in enumerate(self.applied) if a.field == f"{prefix}family_{kind}"
                )
                before = self.applied[at]
                self.applied[at] = Applied(
                    before.field,
                    own,
                    format_usd(own),
                    f"{before.how}, raised to the member's own {format_usd(own)} "
                    "(the family total includes it)",
                )


def _terms_for(plan: PlanRules, network: Network) -> NetworkTerms | None:
    return plan.in_network if network is Network.IN else plan.out_of_network


def _x12_network(network: Network) -> x12.Network:
    return x12.Network.IN if network is Network.IN else x12.Network.OUT


def apply_eligibility(
    request: SessionRequest,
    found: Eligibility,
    version: RuleSetVersion,
    plan: PlanRules,
    typed: frozenset[str] = frozenset(),
) -> Reconciliation:
    """The request with what the 271 says is left (see the module docstring); raises
    EstimateUnavailableError when coverage is not active or the request was rejected."""
    refused = refusal(found)
    if refused is not None:
        raise refused
    terms = _terms_for(plan, request.network)
    own = _Lookup(found, _x12_network(request.network), stated_only=False)
    collect = _Applier(typed)
    if terms is not None:
        _network_totals(collect, own, terms, "")
    visits = plan.visit_limit.visits if plan.visit_limit else None
    collect.take(
        "visits_used",
        _met(
            visits,
            own.get(Level.INDIVIDUAL, Term.VISITS_REMAINING),
            own.get(Level.INDIVIDUAL, Term.VISITS_USED),
            "visit limit",
        ),
        "visits",
    )
    per_period = plan.payment_limit.per_period if plan.payment_limit else None
    collect.take(
        "benefit_paid",
        _met(
            per_period,
            own.get(Level.INDIVIDUAL, Term.BENEFIT_REMAINING),
            own.get(Level.INDIVIDUAL, Term.BENEFIT_USED),
            "dollar limit",
        ),
    )
    other_network = Network.OUT if request.network is Network.IN else Network.IN
    other_terms = _terms_for(plan, other_network)
    if other_terms is not None:
        other = _Lookup(found, _x12_network(other_network), stated_only=True)
        _network_totals(collect, other, other_terms, "other_network.")
    collect.family_includes_member(request)
    updated = _with_values(request, collect.values)
    disagreements = _disagreements(found, plan, terms, own, updated)
    return Reconciliation(
        request=updated,
        applied=tuple(collect.applied),
        disagreements=disagreements,
        priced_by=f"the rule table: {version.payer_name} {version.version}",
    )


def _network_totals(collect: _Applier, look: _Lookup, terms: NetworkTerms, prefix: str) -> None:
    pairs = (
        (
            "deductible_met",
            Level.INDIVIDUAL,
            terms.deductible if terms.deductible_applies else None,
            Term.DEDUCTIBLE_REMAINING,
            Term.DEDUCTIBLE_MET,
            "deductible",
        ),
        (
            "out_of_pocket_met",
            Level.INDIVIDUAL,
            terms.out_of_pocket_max,
            Term.OUT_OF_POCKET_REMAINING,
            Term.OUT_OF_POCKET_MET,
            "out-of-pocket maximum",
        ),
        (
            "family_deductible_met",
            Level.FAMILY,
            terms.family_deductible if terms.deductible_applies else None,
            Term.DEDUCTIBLE_REMAINING,
            Term.DEDUCTIBLE_MET,
            "family deductible",
        ),
        (
            "family_out_of_pocket_met",
            Level.FAMILY,
            terms.family_out_of_pocket_max,
            Term.OUT_OF_POCKET_REMAINING,
            Term.OUT_OF_POCKET_MET,
            "family out-of-pocket maximum",
        ),
    )
    for field, level, total, remaining, met, what in pairs:
        if level is Level.FAMILY and total is None:
            continue  # the plan has no family amount: the member's own counts alone
        collect.take(
            prefix + field, _met(total, look.get(level, remaining), look.get(level, met), what)
        )


def _with_values(request: SessionRequest, values: dict[str, int]) -> SessionRequest:
    if not values:
        return request
    own = {k: v for k, v in values.items() if "." not in k}
    other = {k.split(".", 1)[1]: v for k, v in values.items() if k.startswith("other_network.")}
    acc: Accumulators = dataclasses.replace(request.accumulators, **own)
    totals: NetworkTotals = dataclasses.replace(request.other_network, **other)
    return dataclasses.replace(request, accumulators=acc, other_network=totals)


def _disagreements(
    found: Eligibility,
    plan: PlanRules,
    terms: NetworkTerms | None,
    look: _Lookup,
    request: SessionRequest,
) -> tuple[Disagreement, ...]:
    out: list[Disagreement] = []

    def compare(term: str, fig: Figure | None, rule: object, ref: str) -> None:
        if fig is None:
            return
        if fig.value != rule:
            out.append(
                Disagreement(
                    term, _words(term, rule), _words(term, fig.value), fig.service_type, ref
                )
            )

    if terms is not None:
        ind, fam = Level.INDIVIDUAL, Level.FAMILY
        tier = terms.copay_for(request.accumulators.visits_used + 1)
        compare(
            "copay",
            look.get(ind, Term.COPAY),
            tier.amount if tier else 0,
            tier.ref if tier else terms.ref,
        )
        compare("coinsurance", look.get(ind, Term.COINSURANCE), terms.coinsurance, terms.ref)
        if terms.deductible_applies:
            compare("deductible", look.get(ind, Term.DEDUCTIBLE), terms.deductible, terms.ref)
            if terms.family_deductible is not None:
                compare(
                    "family_deductible",
                    look.get(fam, Term.DEDUCTIBLE),
                    terms.family_deductible,
                    terms.ref,
                )
        compare(
            "out_of_pocket_max",
            look.get(ind, Term.OUT_OF_POCKET_MAX),
            terms.out_of_pocket_max,
            terms.ref,
        )
        if terms.family_out_of_pocket_max is not None:
            compare(
                "family_out_of_pocket_max",
                look.get(fam, Term.OUT_OF_POCKET_MAX),
                terms.family_out_of_pocket_max,
                terms.ref,
            )
    compare(
        "visit_limit",
        look.get(Level.INDIVIDUAL, Term.VISIT_LIMIT),
        plan.visit_limit.visits if plan.visit_limit else None,
        f"{plan.ref}.visit_limit",
    )
    return tuple(out)


def _words(term: str, value: object) -> str:
    if value is None:
        return "no limit" if term == "visit_limit" else "no maximum"
    if term == "coinsurance" and isinstance(value, Decimal):
        return f"{(value * 100).normalize():f}%"
    if term == "visit_limit" and isinstance(value, int):
        return plural(value, "visit")
    if isinstance(value, int):
        return format_usd(value) if value else "none"
    return str(value)


__all__ = [
    "TYPED_FIELDS",
    "Applied",
    "Disagreement",
    "Reconciliation",
    "apply_eligibility",
    "refusal",
]
