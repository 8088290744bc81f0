"""What a payer's 271 says about the massage benefit, as plain values.

Money is integer cents and percentages are Decimal fractions (0.20 for 20%), as in the rule
model. Every figure keeps the service type that answered it (BE massage therapy first, then
the fallbacks) and the segment it came from, so a reader can check it against the file.

The member's identity (`Member`) is protected health information: it is kept apart from the
benefit figures, and its repr shows no name, id or date so it cannot leak into a log or a
traceback.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from service.domain.money import Cents
from service.interop.x12.codes import MASSAGE_SERVICE_TYPES


class Network(enum.Enum):
    IN = "in"
    OUT = "out"
    NOT_STATED = "not_stated"  # EB12 absent, U (unknown) or W (the same in and out)


class Level(enum.Enum):
    INDIVIDUAL = "individual"
    FAMILY = "family"
    NOT_STATED = "not_stated"


class CoverageStatus(enum.Enum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    REJECTED = "rejected"  # the payer answered the request with AAA rejections only
    NOT_STATED = "not_stated"  # no EB01 1-8 and no rejection


class Term(enum.Enum):
    """A figure the 271 may give for a network and coverage level."""

    DEDUCTIBLE = "deductible"
    DEDUCTIBLE_REMAINING = "deductible_remaining"
    DEDUCTIBLE_MET = "deductible_met"
    OUT_OF_POCKET_MAX = "out_of_pocket_max"
    OUT_OF_POCKET_REMAINING = "out_of_pocket_remaining"
    OUT_OF_POCKET_MET = "out_of_pocket_met"
    COPAY = "copay"
    COINSURANCE = "coinsurance"
    VISIT_LIMIT = "visit_limit"
    VISITS_REMAINING = "visits_remaining"
    VISITS_USED = "visits_used"
    BENEFIT_MAXIMUM = "benefit_maximum"
    BENEFIT_REMAINING = "benefit_remaining"
    BENEFIT_USED = "benefit_used"
    PRIOR_AUTHORIZATION = "prior_authorization"


MONEY_TERMS = frozenset(
    {
        Term.DEDUCTIBLE,
        Term.DEDUCTIBLE_REMAINING,
        Term.DEDUCTIBLE_MET,
        Term.OUT_OF_POCKET_MAX,
        Term.OUT_OF_POCKET_REMAINING,
        Term.OUT_OF_POCKET_MET,
        Term.COPAY,
        Term.BENEFIT_MAXIMUM,
        Term.BENEFIT_REMAINING,
        Term.BENEFIT_USED,
    }
)
VISIT_TERMS = frozenset({Term.VISIT_LIMIT, Term.VISITS_REMAINING, Term.VISITS_USED})


@dataclass(frozen=True)
class Figure:
    """One figure: cents (money terms), a visit count, a Decimal fraction (coinsurance) or
    'Y'/'N'/'U' (prior authorization); the service type that answered and the segment."""

    value: int | Decimal | str
    service_type: str  # "" when the EB segment named none
    segment: int
    period: str = ""  # EB06/HSD05 code as written, "" when absent


@dataclass(frozen=True)
class Benefits:
    """The figures for one network and one coverage level, each picked from the most
    specific service type that states it (codes.MASSAGE_SERVICE_TYPES order)."""

    network: Network
    level: Level
    figures: dict[Term, Figure] = field(default_factory=dict)

    def get(self, term: Term) -> Figure | None:
        return self.figures.get(term)

    def cents(self, term: Term) -> Cents | None:
        """The money figure for `term`, None when the 271 does not give it."""
        fig = self.figures.get(term)
        return fig.value if fig is not None and isinstance(fig.value, int) else None

    def count(self, term: Term) -> int | None:
        fig = self.figures.get(term)
        return fig.value if fig is not None and isinstance(fig.value, int) else None

    def percent(self, term: Term) -> Decimal | None:
        fig = self.figures.get(term)
        return fig.value if fig is not None and isinstance(fig.value, Decimal) else None


@dataclass(frozen=True)
class Rejection:
    """An AAA segment: the request (or part of it) could not be answered."""

    loop: str  # "information source", "information receiver", "subscriber", ...
    valid_request: bool  # AAA01: Y the request was valid but not answered, N it was not
    reason_code: str
    reason: str
    follow_up_code: str
    follow_up: str
    segment: int


@dataclass(frozen=True)
class Restriction:
    """EB01 E, I, O, U or V for a massage service type: the benefit is not paid as asked."""

    code: str
    words: str
    service_type: str
    network: Network
    segment: int


@dataclass(frozen=True)
class Message:
    """Free text (MSG) under an EB segment of a massage service type or of the coverage."""

    text: str
    service_type: str
    network: Network
    segment: int


@dataclass(frozen=True)
class PlanDates:
    plan_begin: date | None = None
    plan_end: date | None = None
    eligibility_begin: date | None = None
    eligibility_end: date | None = None


@dataclass(frozen=True)
class Party:
    """The payer (information source) or the provider (information receiver)."""

    name: str
    id_qualifier: str  # NM108: PI payer id, XX NPI, ...
    identifier: str


@dataclass(frozen=True, repr=False)
class Member:
    """Who the 271 is about (protected health information: never logged)."""

    last_name: str
    first_name: str
    middle_name: str
    member_id: str  # the subscriber's id (a dependent has none of their own in 5010)
    birth_date: date | None
    gender: str  # DMG03 F, M, U or ""
    is_dependent: bool

    def __repr__(self) -> str:
        return f"Member(<{'dependent' if self.is_dependent else 'subscriber'}, redacted>)"


@dataclass(frozen=True)
class Eligibility:
    """Everything read from one 271 about one patient."""

    status: CoverageStatus
    status_code: str  # EB01 1-8 that decided the status, "" when none
    status_words: str
    status_service_type: str
    plan_description: str  # EB05 of the status segment (e.g. "PPO GOLD")
    insurance_type: str  # EB04 code
    plan_dates: PlanDates
    payer: Party
    provider: Party | None
    member: Member | None
    group_number: str  # REF*6P
    plan_number: str  # REF*18
    trace_numbers: tuple[str, ...]
    rejections: tuple[Rejection, ...]
    benefits: tuple[Benefits, ...]  # one per (network, level) that has a figure
    restrictions: tuple[Restriction, ...]
    messages: tuple[Message, ...]
    status_messages: tuple[str, ...]  # MSG under the status segment (e.g. why inactive)
    notes: tuple[str, ...]  # what was seen and deliberately not read, and conflicts
    other_service_types: tuple[str, ...]  # EB03 codes outside the massage list
    control_number: str  # ST02

    def for_(self, network: Network, level: Level) -> Benefits | None:
        for b in self.benefits:
            if b.network is network and b.level is level:
                return b
        return None

    def figure(self, network: Network, level: Level, term: Term) -> Figure | None:
        found = self.for_(network, level)
        return found.get(term) if found else None

    @property
    def answered_by(self) -> tuple[str, ...]:
        """The service types whose EB segments gave the figures shown, in fallback order."""
        seen = {f.service_type for b in self.benefits for f in b.figures.values()}
        return tuple(st for st in (*MASSAGE_SERVICE_TYPES, "") if st in seen)
