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
from datetime import date
from decimal import Decimal

from service.domain.errors import EstimateUnavailableError, FieldViolation, InvalidRequestError
from service.domain.model import (
    Accumulators,
    Network,
    NetworkAccumulation,
    NetworkTerms,
    NetworkTotals,
    PlanRules,
    RuleSetVersion,
    SessionRequest,
)
from service.domain.money import Cents, format_usd
from service.domain.words import plural
from service.interop.x12 import eligibility as x12
from service.interop.x12.codes import MASSAGE_SERVICE_TYPES
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
    """The request with the 271's accumulators, what was taken, what disagrees, and what
    the 271 says that a person should read (restrictions, messages, figures not read)."""

    request: SessionRequest
    applied: tuple[Applied, ...]
    disagreements: tuple[Disagreement, ...]
    priced_by: str  # "the rule table: Birch Health 2026.1"
    notes: tuple[str, ...] = ()


# A 271 figure beyond these is not a massage benefit's; refused rather than priced.
MAX_CENTS = 100_000_000  # $1,000,000.00
MAX_VISITS = 10_000


def refusal(found: Eligibility, day: date | None = None) -> EstimateUnavailableError | None:
    """Why a quote cannot use this 271 (coverage not active, the payer rejected the
    request, or the date of service is outside the dates it answers for), in the payer's
    code words (never its free text, which may name the member); None when it can."""
    rejections = [r for r in found.rejections if r.loop in _REFUSING_LOOPS]
    if found.status is x12.CoverageStatus.REJECTED or rejections:
        first = (rejections or list(found.rejections))[0]
        follow = f"; {first.follow_up}" if first.follow_up else ""
        return EstimateUnavailableError(
            "ELIGIBILITY_REJECTED",
            f"the payer rejected the eligibility request ({first.loop}): {first.reason}{follow}",
        )
    if found.status is x12.CoverageStatus.INACTIVE:
        return EstimateUnavailableError(
            "ELIGIBILITY_INACTIVE",
            f"the payer's 271 says coverage is not active ({found.status_words})",
        )
    if found.status is x12.CoverageStatus.NOT_STATED:
        return EstimateUnavailableError(
            "ELIGIBILITY_STATUS_UNKNOWN",
            "the payer's 271 does not say whether coverage is active (no EB01 1-8)",
        )
    if day is not None and not _within(found.plan_dates, day):
        return EstimateUnavailableError(
            "ELIGIBILITY_DATES",
            "the date of service is outside the plan or eligibility dates the payer's 271 "
            "states, so what it says is remaining is another period's; ask for a 271 that "
            "covers the date of service",
        )
    return None


def _within(dates: x12.PlanDates, day: date) -> bool:
    return all(
        (begin is None or begin <= day) and (end is None or day <= end)
        for begin, end in (
            (dates.plan_begin, dates.plan_end),
            (dates.eligibility_begin, dates.eligibility_end),
        )
    )


def _rank(fig: Figure) -> int:
    """Massage therapy first, then the fallbacks in the order they are asked for."""
    order = MASSAGE_SERVICE_TYPES
    return order.index(fig.service_type) if fig.service_type in order else len(order)


class _Lookup:
    """Figures for one network of the 271: the most specific service type wins across the
    (network, level) pairs allowed, then the first pair in the order described above."""

    def __init__(self, found: Eligibility, networks: tuple[x12.Network, ...]) -> None:
        self._found = found
        self._order = {
            Level.INDIVIDUAL: [
                (n, lv) for n in networks for lv in (Level.INDIVIDUAL, Level.NOT_STATED)
            ],
            Level.FAMILY: [(n, Level.FAMILY) for n in networks],
        }

    def get(self, level: Level, term: Term) -> Figure | None:
        found = [
            (_rank(fig), i, fig)
            for i, (network, lv) in enumerate(self._order[level])
            if (fig := self._found.figure(network, lv, term)) is not None
        ]
        return min(found, key=lambda c: (c[0], c[1]))[2] if found else None


def _source(fig: Figure) -> str:
    return f"271 segment {fig.segment}" + (
        f", service type {fig.service_type}" if fig.service_type else ""
    )


def _bounded(fig: Figure | None, what: str) -> Figure | None:
    """A figure within what a massage benefit can be, or InvalidRequestError."""
    if fig is None or not isinstance(fig.value, int):
        return fig
    limit = MAX_VISITS if what == "visit limit" else MAX_CENTS
    if fig.value > limit:
        shown = _money_or_count(limit, what)
        raise InvalidRequestError(
            [
                FieldViolation(
                    "eligibility_271",
                    f"segment {fig.segment} states a {what} figure above {shown}: not a "
                    "massage benefit's",
                )
            ]
        )
    return fig


def _met(
    total: Cents | None, remaining: Figure | None, met: Figure | None, what: str
) -> tuple[int, str] | None:
    """What has been met: the rule table's total minus the 271's remaining, else the 271's
    own met figure; None when the 271 says neither (or the table has no total to subtract
    from and the 271 gives only what is left)."""
    remaining, met = _bounded(remaining, what), _bounded(met, what)
    if remaining is not None and total is not None and isinstance(remaining.value, int):
        value = max(0, total - remaining.value)
        more = value == 0 and remaining.value > total
        return value, (
            f"the rule table's {what} {_money_or_count(total, what)} minus the "
            f"{_money_or_count(remaining.value, what)} remaining ({_source(remaining)})"
            + (" (more remains than the table's total: nothing met)" if more else "")
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
        for prefix, totals in (
            ("", request.accumulators),
            ("other_network.", request.other_network),
        ):
            for kind in ("deductible_met", "out_of_pocket_met"):
                family = self.values.get(f"{prefix}family_{kind}")
                own = self.values.get(prefix + kind, getattr(totals, kind))
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
    EstimateUnavailableError when the 271 cannot be used for this session, and
    InvalidRequestError (on `eligibility_271`) for a figure no massage benefit has."""
    refused = refusal(found, request.date_of_service)
    if refused is not None:
        raise refused
    here, other_network = (
        _x12_network(request.network),
        Network.OUT if request.network is Network.IN else Network.IN,
    )
    there = _x12_network(other_network)
    own = _Lookup(found, (here, x12.Network.NOT_STATED))
    plan_wide = _Lookup(found, (here, x12.Network.NOT_STATED, there))  # visit and dollar limits
    terms, other_terms = _terms_for(plan, request.network), _terms_for(plan, other_network)
    collect = _Applier(typed)
    notes: list[str] = []
    if terms is not None:
        _network_totals(collect, own, terms, "")
    visits = plan.visit_limit.visits if plan.visit_limit else None
    collect.take(
        "visits_used",
        _met(
            visits,
            plan_wide.get(Level.INDIVIDUAL, Term.VISITS_REMAINING),
            plan_wide.get(Level.INDIVIDUAL, Term.VISITS_USED),
            "visit limit",
        ),
        "visits",
    )
    per_period = plan.payment_limit.per_period if plan.payment_limit else None
    collect.take(
        "benefit_paid",
        _met(
            per_period,
            plan_wide.get(Level.INDIVIDUAL, Term.BENEFIT_REMAINING),
            plan_wide.get(Level.INDIVIDUAL, Term.BENEFIT_USED),
            "dollar limit",
        ),
    )
    other = _Lookup(found, (there,))
    if other_terms is not None and plan.network_accumulation is NetworkAccumulation.COMBINED:
        notes.append(
            "the plan counts both networks together: the 271's remaining for this network "
            "already includes the other network's, so no other-network totals were taken"
        )
    elif other_terms is not None:
        _network_totals(collect, other, other_terms, "other_network.")
    collect.family_includes_member(request)
    updated = _with_values(request, collect.values)
    disagreements = _disagreements(plan, terms, own, plan_wide, updated)
    if other_terms is not None:
        disagreements += _totals_disagree(other_terms, other, "other_network_")
    disagreements += _restrictions(found, plan, terms, here)
    return Reconciliation(
        request=updated,
        applied=tuple(collect.applied),
        disagreements=tuple(disagreements),
        priced_by=f"the rule table: {version.payer_name} {version.version}",
        notes=tuple(notes + _payer_notes(found, here)),
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
            continue  # the plan has no family amount: listed as a disagreement instead
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


def _compare(
    out: list[Disagreement], term: str, fig: Figure | None, rule: object, ref: str
) -> None:
    if fig is not None and fig.value != rule:
        out.append(
            Disagreement(term, _words(term, rule), _words(term, fig.value), fig.service_type, ref)
        )


def _totals_disagree(terms: NetworkTerms, look: _Lookup, prefix: str) -> list[Disagreement]:
    """The deductible and out-of-pocket totals, the member's and the family's; a family
    figure the 271 gives for a plan without a family amount is listed too."""
    out: list[Disagreement] = []
    ind, fam = Level.INDIVIDUAL, Level.FAMILY
    deductible = look.get(ind, Term.DEDUCTIBLE)
    if terms.deductible_applies:
        _compare(out, prefix + "deductible", deductible, terms.deductible, terms.ref)
    elif deductible is not None and deductible.service_type == "BE":
        out.append(
            Disagreement(
                prefix + "deductible",
                "does not apply to massage",
                _words("deductible", deductible.value),
                "BE",
                terms.ref,
            )
        )
    _compare(
        out,
        prefix + "out_of_pocket_max",
        look.get(ind, Term.OUT_OF_POCKET_MAX),
        terms.out_of_pocket_max,
        terms.ref,
    )
    for kind, amount, total_term, left_term in (
        (
            "family_deductible",
            terms.family_deductible if terms.deductible_applies else None,
            Term.DEDUCTIBLE,
            Term.DEDUCTIBLE_REMAINING,
        ),
        (
            "family_out_of_pocket_max",
            terms.family_out_of_pocket_max,
            Term.OUT_OF_POCKET_MAX,
            Term.OUT_OF_POCKET_REMAINING,
        ),
    ):
        total, left = look.get(fam, total_term), look.get(fam, left_term)
        if amount is not None:
            _compare(out, prefix + kind, total, amount, terms.ref)
        elif kind == "family_deductible" and not terms.deductible_applies:
            continue
        elif total is not None:
            out.append(
                Disagreement(
                    prefix + kind, "none", _words(kind, total.value), total.service_type, terms.ref
                )
            )
        elif left is not None:
            out.append(
                Disagreement(
                    prefix + kind,
                    "none",
                    f"{_words(kind, left.value)} remaining",
                    left.service_type,
                    terms.ref,
                )
            )
    return out


def _disagreements(
    plan: PlanRules,
    terms: NetworkTerms | None,
    look: _Lookup,
    plan_wide: _Lookup,
    request: SessionRequest,
) -> list[Disagreement]:
    out: list[Disagreement] = []
    ind = Level.INDIVIDUAL
    if terms is not None:
        tier = terms.copay_for(request.accumulators.visits_used + 1)
        _compare(
            out,
            "copay",
            look.get(ind, Term.COPAY),
            tier.amount if tier else 0,
            tier.ref if tier else terms.ref,
        )
        _compare(out, "coinsurance", look.get(ind, Term.COINSURANCE), terms.coinsurance, terms.ref)
        out += _totals_disagree(terms, look, "")
    _compare(
        out,
        "visit_limit",
        plan_wide.get(ind, Term.VISIT_LIMIT),
        plan.visit_limit.visits if plan.visit_limit else None,
        f"{plan.ref}.visit_limit",
    )
    limit = plan.payment_limit
    _compare(
        out,
        "benefit_maximum",
        plan_wide.get(ind, Term.BENEFIT_MAXIMUM),
        limit.per_period if limit else None,
        limit.ref if limit else plan.ref,
    )
    pa = look.get(ind, Term.PRIOR_AUTHORIZATION)
    if pa is not None and pa.value in ("Y", "N"):
        required = plan.prior_authorization is not None
        if (pa.value == "Y") != required:
            out.append(
                Disagreement(
                    "prior_authorization",
                    "required" if required else "not required",
                    "required" if pa.value == "Y" else "not required",
                    pa.service_type,
                    f"{plan.ref}.prior_authorization",
                )
            )
    return out


def _restrictions(
    found: Eligibility, plan: PlanRules, terms: NetworkTerms | None, here: x12.Network
) -> list[Disagreement]:
    """The payer says massage is not paid as asked (EB01 E, I, O, U, V) where the rule
    table covers it in this network."""
    if terms is None or not terms.covered:
        return []
    return [
        Disagreement("coverage", "covered", f"{r.words} ({r.code})", r.service_type, terms.ref)
        for r in found.restrictions
        if r.network in (here, x12.Network.NOT_STATED)
    ]


def _payer_notes(found: Eligibility, here: x12.Network) -> list[str]:
    """The payer's messages for massage, benefit-level rejections, and what was not read:
    shown to the person quoting (they may change the answer), never logged."""
    notes = [
        f"payer's message ({m.service_type or 'plan'}): {m.text}"
        for m in found.messages
        if m.network in (here, x12.Network.NOT_STATED)
    ]
    notes += [
        f"the payer did not answer part of the request ({r.loop}): {r.reason}"
        for r in found.rejections
        if r.loop not in _REFUSING_LOOPS
    ]
    return notes + [f"not read: {n}" for n in found.notes]


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
