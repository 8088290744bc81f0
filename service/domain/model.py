"""The rule model, the clinic profile, the request and the estimate, as plain frozen dataclasses.

Rule files (payer_rules/) are parsed into these by service.rulefiles; the cost engine reads
only these. Money is integer cents (service.domain.money), rates are Decimals.
Every rule value keeps a `ref` path (e.g.
"plans.acme-ppo-gold.in_network.allowed_per_unit.97124") so an estimate can say which rule row
produced each figure.
"""

from __future__ import annotations

import calendar
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from service.domain.money import Cents

SELF_PAY_PLAN_ID = "self-pay"


class UnitMethod(enum.Enum):
    CMS_8_MINUTE = "cms_8_minute"
    AMA_PER_CODE = "ama_per_code"
    PER_VISIT_FLAT = "per_visit_flat"


class ReferralKind(enum.Enum):
    NONE = "none"
    PHYSICIAN_REFERRAL = "physician_referral"
    PRESCRIPTION = "prescription"
    INTEGRATIVE_CARE_PLAN = "integrative_care_plan"


class Network(enum.Enum):
    IN = "in"
    OUT = "out"


class NetworkSource(enum.Enum):
    """Which source decided the network of an estimate that names a location."""

    REQUEST = "request"  # the request said in or out of network
    LOCATION = "location"  # the location's participation on the date of service


class Injury(enum.Enum):
    NONE = "none"
    AUTO = "auto"
    WORK = "work"


class CoverageBasis(enum.Enum):
    SELF_PAY = "self_pay"
    MEDICAL_NECESSITY = "medical_necessity"
    INTEGRATIVE_CARE_PROGRAM = "integrative_care_program"
    SUPPLEMENTAL_BENEFIT = "supplemental_benefit"


class PeriodKind(enum.Enum):
    CALENDAR_YEAR = "calendar_year"
    PLAN_YEAR = "plan_year"


class ProviderCredential(enum.Enum):
    """Who renders the session: plans may pay massage by some of them only."""

    LMT = "lmt"  # licensed massage therapist
    PT = "pt"  # physical therapist
    DC = "dc"  # doctor of chiropractic
    MD_DO = "md_do"  # physician (MD or DO)


class NetworkAccumulation(enum.Enum):
    """Whether in- and out-of-network deductible and out-of-pocket totals count together."""

    SEPARATE = "separate"
    COMBINED = "combined"


class LineItemKind(enum.Enum):
    ALLOWED = "allowed"
    REDUCTION = "reduction"  # a cut to the allowed amount (negative), e.g. a same-day reduction
    COPAY = "copay"
    DEDUCTIBLE = "deductible"
    COINSURANCE = "coinsurance"
    PLAN_PAYMENT = "plan_payment"
    NOT_COVERED = "not_covered"
    BALANCE_BILLING = "balance_billing"


# ---------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class BenefitPeriodRule:
    """Limits, deductible and maximum run per calendar year or per plan year."""

    kind: PeriodKind
    start_month: int = 1
    start_day: int = 1

    def period_containing(self, day: date) -> tuple[date, date]:
        """First and last day of the benefit period that contains `day`."""
        if self.kind is PeriodKind.CALENDAR_YEAR:
            return date(day.year, 1, 1), date(day.year, 12, 31)
        start = _anniversary(day.year, self.start_month, self.start_day)
        if start > day:
            if day.year == date.min.year:  # began in year 0, which date cannot hold
                return date.min, start - timedelta(days=1)
            start = _anniversary(day.year - 1, self.start_month, self.start_day)
        if start.year == date.max.year:  # ends in year 10000, which date cannot hold
            return start, date.max
        next_start = _anniversary(start.year + 1, self.start_month, self.start_day)
        return start, next_start - timedelta(days=1)


def _anniversary(year: int, month: int, day: int) -> date:
    """The plan-year start in `year`; a Feb 29 start falls on Feb 28 in common years."""
    try:
        return date(year, month, day)
    except ValueError:
        return date(year, month, 28)


@dataclass(frozen=True)
class CodeRate:
    """Allowed amount per unit of a CPT code; `later_units` for the 2nd and later units of a
    visit (multiple-procedure reduction), equal to `first_unit` when the plan has none."""

    first_unit: Cents
    later_units: Cents
    ref: str


@dataclass(frozen=True)
class CopayTier:
    """The copay for visits `from_visit` to `to_visit` (None: every later visit) of the
    benefit period, counted in the plan's visit-limit bucket. A flat copay is one tier from
    visit 1 on."""

    from_visit: int
    to_visit: int | None
    amount: Cents
    ref: str

    def applies_to(self, visit_number: int) -> bool:
        return self.from_visit <= visit_number and (
            self.to_visit is None or visit_number <= self.to_visit
        )


@dataclass(frozen=True)
class NetworkTerms:
    """What a plan pays and the patient shares, for one network (in or out).

    `covered` False means the plan says it does not cover this network at all (as opposed to
    a plan that has no terms for the network, which is modelled as None on PlanRules and
    makes the estimate unavailable). The family amounts are embedded: a member's cost share
    stops at whichever of the individual's and the family's amounts is reached first.
    """

    covered: bool
    ref: str
    allowed: Mapping[str, CodeRate] = field(default_factory=dict)
    per_visit_allowed: Cents | None = None  # flat allowed per visit (UnitMethod.PER_VISIT_FLAT)
    copay: tuple[CopayTier, ...] = ()  # empty: no copay
    copay_after_deductible: bool = False  # the deductible first, then the copay
    deductible_applies: bool = False
    deductible: Cents = 0
    family_deductible: Cents | None = None
    coinsurance: Decimal = Decimal(0)  # 0.20 for 20%
    out_of_pocket_max: Cents | None = None  # None: no maximum
    family_out_of_pocket_max: Cents | None = None
    balance_billing: bool = False

    def copay_for(self, visit_number: int) -> CopayTier | None:
        for tier in self.copay:
            if tier.applies_to(visit_number):
                return tier
        return None


@dataclass(frozen=True)
class ReferralRule:
    """Which referral or prescription the plan accepts and for how long it stays valid:
    `valid_days` after its issue date, or `valid_months` calendar months (to the same day of
    the month, or that month's last day when the day does not exist), inclusive."""

    required: bool
    accepted_kinds: frozenset[ReferralKind] = frozenset()
    valid_days: int | None = 90
    valid_months: int | None = None

    def last_valid_day(self, issued: date) -> date:
        """The last date of service the referral issued on `issued` covers."""
        if self.valid_months is not None:
            return add_months(issued, self.valid_months)
        days = 90 if self.valid_days is None else self.valid_days
        if (date.max - issued).days < days:
            return date.max
        return issued + timedelta(days=days)


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later, or that month's last day (Jan 31 + 1 month
    = Feb 28 or 29); date.max past the calendar's end."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    if year > date.max.year:
        return date.max
    return date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


@dataclass(frozen=True)
class CodeSet:
    """ICD-10-CM codes named by prefixes ("M54.5" matches M54.50) and category ranges
    ("Z00-Z13" matches every code of the categories Z00 to Z13)."""

    prefixes: tuple[str, ...] = ()
    ranges: tuple[tuple[str, str], ...] = ()  # (first category, last category), inclusive

    def matches(self, code: str) -> bool:
        code = code.upper()
        if code.startswith(self.prefixes):
            return True
        category = code[:3]
        return any(low <= category <= high for low, high in self.ranges)

    def describe(self) -> str:
        return ", ".join([*self.prefixes, *(f"{a}-{b}" for a, b in self.ranges)])


class DiagnosisLogic(enum.Enum):
    ANY_OF = "any_of"  # some code is in the set
    ANY_EXCEPT = "any_except"  # some code is outside the set (the set lists exclusions)
    ALL_OF = "all_of"  # some code from each group


@dataclass(frozen=True)
class DiagnosisRule:
    """Which diagnoses qualify a session for coverage."""

    logic: DiagnosisLogic
    groups: tuple[CodeSet, ...]  # one group, except for ALL_OF

    def qualifies(self, codes: tuple[str, ...]) -> bool:
        if self.logic is DiagnosisLogic.ANY_OF:
            return any(self.groups[0].matches(c) for c in codes)
        if self.logic is DiagnosisLogic.ANY_EXCEPT:
            return any(not self.groups[0].matches(c) for c in codes)
        return all(any(group.matches(c) for c in codes) for group in self.groups)


@dataclass(frozen=True)
class UnitLimits:
    """Most covered units per visit and per day (across the day's visits); None: no cap."""

    per_visit: int | None = None
    per_day: int | None = None


@dataclass(frozen=True)
class PriorAuthorizationRule:
    """Prior authorization from visit `from_visit` of the period on; with
    `required_for_coverage` the visit is not covered without it (else it is only flagged)."""

    from_visit: int
    required_for_coverage: bool = False


@dataclass(frozen=True)
class SameDayReduction:
    """The allowed amount is `percent` (0.50 for 50%) of the full amount when one of
    `procedure_codes` is billed the same day (e.g. chiropractic manipulation 98940-98942)."""

    procedure_codes: frozenset[str]
    percent: Decimal
    ref: str


@dataclass(frozen=True)
class PaymentLimit:
    """The most the plan pays for massage per visit and per benefit period; None: no limit.
    What is above it is the patient's, outside the deductible and out-of-pocket maximum."""

    per_visit: Cents | None
    per_period: Cents | None
    ref: str


@dataclass(frozen=True)
class VisitLimit:
    """Visits per benefit period; `shared_with` names other services drawing on the same
    bucket (e.g. chiropractic), so the client's `visits_used` counts them too."""

    visits: int
    shared_with: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlanRules:
    """Everything the cost engine needs to know about one plan in one rule-set version."""

    plan_id: str
    plan_name: str
    coverage_basis: CoverageBasis
    benefit_period: BenefitPeriodRule
    covered_session_types: frozenset[str]  # expanded from groups by the loader
    referral: ReferralRule
    diagnoses: DiagnosisRule
    unit_method: UnitMethod
    unit_limits: UnitLimits
    in_network: NetworkTerms
    out_of_network: NetworkTerms | None  # None: no out-of-network terms -> unavailable
    visit_limit: VisitLimit | None
    prior_authorization: PriorAuthorizationRule | None
    excluded_injuries: frozenset[Injury]
    hsa_eligible: bool
    ref: str  # e.g. "plans.acme-ppo-gold"
    rendering_providers: frozenset[ProviderCredential] = frozenset()  # empty: any provider
    same_day_reductions: tuple[SameDayReduction, ...] = ()
    payment_limit: PaymentLimit | None = None
    network_accumulation: NetworkAccumulation = NetworkAccumulation.SEPARATE

    @property
    def max_units_per_visit(self) -> int | None:
        return self.unit_limits.per_visit

    def terms_for(self, network: Network) -> NetworkTerms | None:
        return self.in_network if network is Network.IN else self.out_of_network


@dataclass(frozen=True)
class RuleSetVersion:
    """One immutable published version of a payer's rule set: the plans it defines and the
    dates of service it applies to, plus when it became known (for replay)."""

    payer_id: str
    payer_name: str
    version: str
    effective_from: date
    effective_to: date | None  # None: open-ended
    plans: tuple[PlanRules, ...]
    checksum: str
    published_at: datetime
    published_by: str = ""
    note: str = ""
    source: str = ""  # the file or upload it came from
    withdrawn_at: datetime | None = None  # withdrawn versions answer only as of before this

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )

    def plan(self, plan_id: str) -> PlanRules | None:
        for plan in self.plans:
            if plan.plan_id == plan_id:
                return plan
        return None

    def label(self) -> str:
        return f"{self.payer_id} {self.version}"


# ---------------------------------------------------------------------------- clinic


@dataclass(frozen=True)
class SessionType:
    name: str
    group: str  # "relaxation" or "therapeutic"
    cpt_code: str


@dataclass(frozen=True)
class CashPrice:
    minutes: int
    price: Cents


@dataclass(frozen=True)
class Clinic:
    """The clinic's own profile and prices: who it is (for Good Faith Estimates), what it
    charges per unit (for units a plan does not cover and for balance billing), and its
    whole-session cash prices (for sessions a plan does not cover, and self-pay)."""

    name: str
    npi: str
    tin: str
    address_lines: tuple[str, ...]
    charge_per_unit: Mapping[str, Cents]  # CPT code -> charge per 15-minute unit
    session_types: Mapping[str, SessionType]
    cash_prices: Mapping[str, tuple[CashPrice, ...]]  # group -> ascending by minutes
    ref: str = "clinic"
    default_provider: ProviderCredential = ProviderCredential.LMT  # who renders when unsaid

    def cash_price(self, session_type: str, minutes: int) -> CashPrice | None:
        """The price of the shortest listed length at least `minutes` long; None when the
        session is longer than every listed length (no cash price: estimate unavailable)."""
        group = self.session_types[session_type].group
        for price in self.cash_prices.get(group, ()):
            if price.minutes >= minutes:
                return price
        return None

    def groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for st in self.session_types.values():
            out.setdefault(st.group, []).append(st.name)
        return out


# ---------------------------------------------------------------------------- request


@dataclass(frozen=True)
class Accumulators:
    """What the client has used this benefit period: the money amounts for the request's
    network, the visits in the plan's visit-limit bucket (either network).

    The family totals include the member's own amounts; None means not given, which counts
    as the member's own amounts alone. `benefit_paid` is what the plan has paid for massage
    this period (against its payment limit per benefit period).
    """

    deductible_met: Cents = 0
    out_of_pocket_met: Cents = 0
    visits_used: int = 0
    family_deductible_met: Cents | None = None
    family_out_of_pocket_met: Cents | None = None
    benefit_paid: Cents = 0

    @property
    def family_deductible(self) -> Cents:
        return max(self.deductible_met, self.family_deductible_met or 0)

    @property
    def family_out_of_pocket(self) -> Cents:
        return max(self.out_of_pocket_met, self.family_out_of_pocket_met or 0)


@dataclass(frozen=True)
class NetworkTotals:
    """Deductible and out-of-pocket met in the other network this benefit period (individual
    and family); they count toward the session's network only when the plan combines them."""

    deductible_met: Cents = 0
    out_of_pocket_met: Cents = 0
    family_deductible_met: Cents | None = None
    family_out_of_pocket_met: Cents | None = None

    @property
    def family_deductible(self) -> Cents:
        return max(self.deductible_met, self.family_deductible_met or 0)

    @property
    def family_out_of_pocket(self) -> Cents:
        return max(self.out_of_pocket_met, self.family_out_of_pocket_met or 0)


@dataclass(frozen=True)
class SessionRequest:
    """One session to price, already parsed; validation names fields like the proto does."""

    plan_id: str
    session_type: str
    minutes: int
    date_of_service: date
    referral_kind: ReferralKind = ReferralKind.NONE
    referral_date: date | None = None
    diagnosis_codes: tuple[str, ...] = ()
    network: Network = Network.IN
    injury: Injury = Injury.NONE
    accumulators: Accumulators = Accumulators()
    prior_authorization_on_file: bool = False
    other_network: NetworkTotals = NetworkTotals()
    units_billed_today: int = 0  # units this plan covered earlier the same day
    same_day_procedure_codes: tuple[str, ...] = ()  # other procedures billed the same day
    provider: ProviderCredential | None = None  # None: the clinic's default credential
    location_id: str = ""  # "": the default location, answered exactly as before locations
    network_given: bool = True  # False: the request left the network unspecified
    therapist_id: str = ""  # a therapist of the location: their credential renders it

    @property
    def is_self_pay(self) -> bool:
        return self.plan_id == SELF_PAY_PLAN_ID


# ---------------------------------------------------------------------------- estimate


@dataclass(frozen=True)
class Reason:
    code: str
    message: str
    rule_ref: str = ""


@dataclass(frozen=True)
class Requirement:
    code: str  # PRESCRIPTION, REFERRAL, PRIOR_AUTHORIZATION, LETTER_OF_MEDICAL_NECESSITY
    message: str


@dataclass(frozen=True)
class LineItem:
    kind: LineItemKind
    description: str
    amount: Cents
    rule_ref: str = ""
    cpt_code: str = ""
    units: int = 0
    unit_amount: Cents | None = None


@dataclass(frozen=True)
class PatientCost:
    copay: Cents = 0
    deductible: Cents = 0
    coinsurance: Cents = 0
    not_covered: Cents = 0
    balance_billing: Cents = 0

    @property
    def cost_share(self) -> Cents:
        """The part that counts toward the out-of-pocket maximum."""
        return self.copay + self.deductible + self.coinsurance

    @property
    def total(self) -> Cents:
        return self.cost_share + self.not_covered + self.balance_billing


@dataclass(frozen=True)
class Estimate:
    """The answer for one session. patient_pays == patient_cost.total and, for the covered
    units, patient_cost.cost_share + plan_pays + what is above a plan payment limit (part of
    patient_cost.not_covered) == allowed_amount."""

    plan_id: str
    session_type: str
    minutes: int
    date_of_service: date
    covered: bool
    coverage_basis: CoverageBasis
    reasons: tuple[Reason, ...]
    cpt_code: str
    unit_method: UnitMethod | None
    billed_units: int
    covered_units: int
    allowed_amount: Cents
    plan_pays: Cents
    patient_pays: Cents
    patient_cost: PatientCost
    line_items: tuple[LineItem, ...]
    sessions_remaining: int | None
    visit_limit: int | None
    visit_limit_shared_with: tuple[str, ...]
    prior_authorization_required: bool
    hsa_eligible: bool
    missing: tuple[Requirement, ...]
    rule_version: RuleSetVersion | None
    benefit_period: tuple[date, date] | None
    accumulators_after: Accumulators
    clinic_charge: Cents
    benefit_remaining: Cents | None = None  # of the plan's payment limit per period, after this
    # Set only when the request named a location (older requests answer as they always did):
    location_id: str = ""
    network_source: NetworkSource | None = None  # None for self-pay
    clinic_version: ClinicVersionRef | None = None


@dataclass(frozen=True)
class ClinicVersionRef:
    """The clinic profile version that priced an estimate."""

    clinic_id: str
    version: str
    checksum: str
    effective_from: date
    effective_to: date | None
    published_at: datetime


@dataclass(frozen=True)
class TreatmentPlanEstimate:
    sessions: tuple[Estimate, ...]
    total_patient_pays: Cents
    total_plan_pays: Cents
    total_allowed_amount: Cents
    covered_session_count: int
