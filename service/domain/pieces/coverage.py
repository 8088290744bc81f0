"""Coverage checks: each one passes or returns the Finding that makes a session not covered.

Every check is bound to one plan version when the index is built (constants and words are
worked out then), and assemble.py lists them in the order docs/cost-rules.md §2 gives. All
failing checks are reported, not just the first; a gate check runs only when all the others
pass (its reason would be noise on a session that is not covered anyway).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from service.domain.model import (
    DiagnosisLogic,
    DiagnosisRule,
    Injury,
    PaymentLimit,
    PriorAuthorizationRule,
    ProviderCredential,
    Reason,
    ReferralKind,
    ReferralRule,
    Requirement,
    VisitLimit,
)
from service.domain.money import format_usd
from service.domain.pieces.context import Finding, Visit
from service.domain.words import (
    INJURY_WORDS,
    PROVIDER_WORDS,
    REFERRAL_WORDS,
    either,
    plural,
    session_words,
)


class CoverageCheck(Protocol):
    def check(self, visit: Visit) -> Finding | None: ...


@dataclass(frozen=True)
class NetworkCovered:
    """`out_of_network: {covered: false}`: the plan pays nothing out of network."""

    plan_name: str

    def check(self, visit: Visit) -> Finding | None:
        if visit.terms.covered:
            return None
        return Finding(
            Reason(
                "NETWORK_NOT_COVERED",
                f"{self.plan_name} does not cover massage from out-of-network providers.",
                visit.terms.ref,
            )
        )


@dataclass(frozen=True)
class SessionTypeCovered:
    plan_name: str
    session_types: frozenset[str]
    covered_words: str
    ref: str

    def check(self, visit: Visit) -> Finding | None:
        if visit.request.session_type in self.session_types:
            return None
        return Finding(
            Reason(
                "SESSION_TYPE_NOT_COVERED",
                f"{self.plan_name} does not cover {session_words(visit.request.session_type)} "
                f"massage; it covers {self.covered_words}.",
                self.ref,
            )
        )


@dataclass(frozen=True)
class InjuryNotExcluded:
    plan_name: str
    excluded: frozenset[Injury]
    ref: str

    def check(self, visit: Visit) -> Finding | None:
        injury = visit.request.injury
        if injury not in self.excluded:
            return None
        return Finding(
            Reason(
                "INJURY_EXCLUDED",
                f"{self.plan_name} excludes this injury: {INJURY_WORDS[injury]}.",
                self.ref,
            )
        )


@dataclass(frozen=True)
class DiagnosisQualifies:
    """Some diagnosis qualifies (any of a list, any but the exclusions, or one code from each
    group of an all-of rule)."""

    plan_name: str
    rule: DiagnosisRule
    ref: str

    def check(self, visit: Visit) -> Finding | None:
        codes = visit.request.diagnosis_codes
        if not codes:
            return Finding(
                Reason(
                    "NO_DIAGNOSIS",
                    f"{self.plan_name} covers massage only for a qualifying diagnosis, and none "
                    "was given.",
                    self.ref,
                )
            )
        if self.rule.qualifies(codes):
            return None
        return Finding(Reason("DIAGNOSIS_NOT_QUALIFYING", self._why(codes), self.ref))

    def _why(self, codes: tuple[str, ...]) -> str:
        listed = ", ".join(codes)
        if self.rule.logic is DiagnosisLogic.ALL_OF:
            absent = [g.describe() for g in self.rule.groups if not any(map(g.matches, codes))]
            return (
                f"{self.plan_name} needs a diagnosis from each of its groups together; none of "
                f"({listed}) is from {' nor '.join(absent)}."
            )
        if self.rule.logic is DiagnosisLogic.ANY_EXCEPT:
            return (
                f"Every diagnosis ({listed}) is one {self.plan_name} excludes "
                f"({self.rule.groups[0].describe()})."
            )
        return f"None of the diagnoses ({listed}) qualifies under {self.plan_name}."


@dataclass(frozen=True)
class ReferralValid:
    """A referral of an accepted kind, still valid on the date of service."""

    plan_name: str
    rule: ReferralRule
    accepted_words: str
    needed: str  # PRESCRIPTION or REFERRAL
    ref: str

    def check(self, visit: Visit) -> Finding | None:
        request = visit.request
        if request.referral_kind not in self.rule.accepted_kinds:
            return Finding(
                Reason(
                    "REFERRAL_MISSING",
                    f"{self.plan_name} requires {self.accepted_words}; the client has "
                    f"{REFERRAL_WORDS[request.referral_kind]}.",
                    f"{self.ref}.accepted",
                ),
                Requirement(
                    self.needed,
                    f"Obtain {self.accepted_words} naming the diagnosis before the visit.",
                ),
            )
        issued = request.referral_date
        if issued is None:
            return None
        last = self.rule.last_valid_day(issued)
        if request.date_of_service <= last:
            return None
        if self.rule.valid_months is not None:
            span, field = plural(self.rule.valid_months, "month"), "valid_months"
        else:
            span, field = plural(self.rule.valid_days or 0, "day"), "valid_days"
        kind = REFERRAL_WORDS[request.referral_kind].split(" ", 1)[1]
        return Finding(
            Reason(
                "REFERRAL_EXPIRED",
                f"The {kind} issued {issued.isoformat()} was valid for {span}, through "
                f"{last.isoformat()}.",
                f"{self.ref}.{field}",
            ),
            Requirement(
                self.needed,
                f"Obtain a new {self.accepted_words.removeprefix('a ').removeprefix('an ')}; "
                f"the current one expired {last.isoformat()}.",
            ),
        )


@dataclass(frozen=True)
class ProviderEligible:
    """The plan pays massage only when one of the listed credentials renders it."""

    plan_name: str
    providers: frozenset[ProviderCredential]
    ref: str

    def check(self, visit: Visit) -> Finding | None:
        if visit.provider in self.providers:
            return None
        allowed = either(
            [PROVIDER_WORDS[p] for p in sorted(self.providers, key=_PROVIDER_ORDER.index)]
        )
        return Finding(
            Reason(
                "PROVIDER_NOT_ELIGIBLE",
                f"{self.plan_name} pays for massage only when {allowed} renders it; this "
                f"session is rendered by {PROVIDER_WORDS[visit.provider]}.",
                self.ref,
            )
        )


_PROVIDER_ORDER = list(ProviderCredential)


@dataclass(frozen=True)
class VisitLimitNotReached:
    limit: VisitLimit
    ref: str

    def check(self, visit: Visit) -> Finding | None:
        used = visit.request.accumulators.visits_used
        if used < self.limit.visits:
            return None
        return Finding(
            Reason(
                "VISIT_LIMIT_REACHED",
                f"All {self.limit.visits} covered visits of the benefit period are used "
                f"({used} used).",
                self.ref,
            )
        )


@dataclass(frozen=True)
class BenefitMaximumNotReached:
    """Something is left of what the plan pays per benefit period."""

    plan_name: str
    limit: PaymentLimit

    def check(self, visit: Visit) -> Finding | None:
        per_period = self.limit.per_period
        paid = visit.request.accumulators.benefit_paid
        if per_period is None or paid < per_period:
            return None
        return Finding(
            Reason(
                "BENEFIT_MAXIMUM_REACHED",
                f"{self.plan_name} pays at most {format_usd(per_period)} a benefit period for "
                f"massage, and {format_usd(paid)} has been paid.",
                f"{self.limit.ref}.per_benefit_period",
            )
        )


@dataclass(frozen=True)
class DailyUnitsLeft:
    per_day: int
    ref: str

    def check(self, visit: Visit) -> Finding | None:
        today = visit.request.units_billed_today
        if today < self.per_day:
            return None
        return Finding(
            Reason(
                "DAILY_UNIT_LIMIT_REACHED",
                f"The plan covers at most {self.per_day} units a day, and {today} were billed "
                "earlier today.",
                self.ref,
            )
        )


@dataclass(frozen=True)
class BillableUnits:
    ref: str

    def check(self, visit: Visit) -> Finding | None:
        if visit.billed_units:
            return None
        return Finding(
            Reason(
                "NO_BILLABLE_UNITS",
                f"A {visit.request.minutes}-minute session is shorter than the 8 minutes that "
                "make a billable unit.",
                self.ref,
            )
        )


@dataclass(frozen=True)
class PriorAuthorization:
    """Prior authorization from a visit number on, while the visit limit is not reached.

    Flagging plans (the default) list it as missing and still price the visit; plans that
    require it for coverage do not cover the visit without it (run as a gate check).
    """

    plan_name: str
    rule: PriorAuthorizationRule
    visit_limit: int | None
    ref: str

    def applies(self, visit: Visit) -> bool:
        used = visit.request.accumulators.visits_used
        return visit.visit_number >= self.rule.from_visit and (
            self.visit_limit is None or used < self.visit_limit
        )

    def requirement(self, visit: Visit) -> Requirement:
        return Requirement(
            "PRIOR_AUTHORIZATION",
            f"Ask {visit.version.payer_name} for prior authorization before visit "
            f"{visit.visit_number}.",
        )

    def flag(self, visit: Visit) -> Reason:
        on_file = visit.request.prior_authorization_on_file
        return Reason(
            "PRIOR_AUTHORIZATION_REQUIRED",
            f"{self.plan_name} requires prior authorization from visit {self.rule.from_visit} "
            f"on; this is visit {visit.visit_number}"
            + (" and an authorization is on file." if on_file else "."),
            f"{self.ref}.from_visit",
        )

    def check(self, visit: Visit) -> Finding | None:
        """As a gate: not covered when required and not on file."""
        if not self.applies(visit) or visit.request.prior_authorization_on_file:
            return None
        return Finding(
            Reason(
                "PRIOR_AUTHORIZATION_MISSING",
                f"{self.plan_name} covers visit {visit.visit_number} only with a prior "
                f"authorization from {visit.version.payer_name}, and none is on file.",
                f"{self.ref}.required_for_coverage",
            ),
            self.requirement(visit),
        )


def referral_check(plan_name: str, rule: ReferralRule, ref: str) -> ReferralValid:
    kinds = sorted(rule.accepted_kinds, key=lambda k: k.value)
    accepted = " or ".join(REFERRAL_WORDS[k] for k in kinds)
    needed = "PRESCRIPTION" if ReferralKind.PRESCRIPTION in rule.accepted_kinds else "REFERRAL"
    return ReferralValid(plan_name, rule, accepted, needed, ref)
