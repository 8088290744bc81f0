"""The shape of the rule files: pydantic models with `extra="forbid"`.

These check structure and value types only (a money amount is money, a method is one of the
known methods). Checks that need several fields or the clinic profile (a plan year needs its
start date, a CPT code must be one the clinic bills) live in service.rulefiles.loader, so
that their messages can name the exact field. The JSON Schemas in schemas/ are exported from
these models (scripts/export_schemas.py).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
)

from service.domain.money import dollars_str, format_usd, parse_dollars

# ---------------------------------------------------------------------------- value types

MONEY_JSON_SCHEMA: dict[str, Any] = {
    "description": 'US dollars, written in quotes with two decimals, e.g. "31.00".',
    "anyOf": [
        {"type": "string", "pattern": r"^\$?[0-9][0-9,]*(\.[0-9]{1,2})?$"},
        {"type": "integer", "minimum": 0},
    ],
}


# Far above any real amount, far below what sums of amounts need to overflow the int64 dollars
# of google.type.Money on the wire (which answered quotes with INTERNAL).
MAX_MONEY_CENTS = 100_000_000  # $1,000,000.00


def _money(value: Any) -> str:
    """Any accepted money spelling -> canonical "1234.50"; floats are refused because YAML
    turns 31.10 into a binary fraction and "31.1" vs "31.10" must never be guessed."""
    if isinstance(value, bool):
        raise ValueError(f'write money as a quoted amount like "31.00", not {value!r}')
    if isinstance(value, float):
        hint = f'"{value:.2f}"' if round(value, 2) == value else '"31.00"'
        raise ValueError(
            f"write money in quotes with two decimals, like {hint}: a bare number such as "
            f"{value!r} is read as a floating-point number"
        )
    if not isinstance(value, (str, int)):
        raise ValueError('write money as a quoted amount like "31.00"')
    cents = parse_dollars(value)
    if cents < 0:
        raise ValueError(f"{value!r} is negative; money amounts here are never negative")
    if cents > MAX_MONEY_CENTS:
        raise ValueError(
            f"{value!r} is more than {format_usd(MAX_MONEY_CENTS)}; check the amount (no rule "
            "or price for one massage visit is that large)"
        )
    return dollars_str(cents)


Money = Annotated[str, BeforeValidator(_money), WithJsonSchema(MONEY_JSON_SCHEMA)]

PERCENT_JSON_SCHEMA: dict[str, Any] = {
    "description": 'A percentage from 0 to 100, e.g. "20" for 20%.',
    "anyOf": [
        {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?%?$"},
        {"type": "number", "minimum": 0, "maximum": 100},
    ],
}


def _percent(value: Any) -> str:
    """A percentage 0..100 -> canonical text ("20", "12.5")."""
    if isinstance(value, bool):
        raise ValueError(f'write a percentage like "20", not {value!r}')
    if isinstance(value, (int, float)):
        # repr of a YAML float is the shortest text that reads back the same, i.e. what the
        # analyst typed, so no binary-fraction digits sneak in
        value = repr(value)
    if not isinstance(value, str):
        raise ValueError('write a percentage like "20"')
    text = value.strip().removesuffix("%").strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f'{value!r} is not a percentage; write it like "20" for 20%') from None
    if not amount.is_finite():
        raise ValueError(f'{value!r} is not a percentage; write it like "20" for 20%')
    if amount < 0 or amount > 100:
        raise ValueError(f"{value!r} is outside 0 to 100 percent")
    return format(amount.normalize(), "f")


Percent = Annotated[str, BeforeValidator(_percent), WithJsonSchema(PERCENT_JSON_SCHEMA)]


def _text_key(value: Any) -> Any:
    """YAML reads an unquoted 97124 as a number; a CPT code is text either way."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


CptCode = Annotated[
    str,
    BeforeValidator(_text_key),
    Field(pattern=r"^[0-9]{4}[0-9A-Z]$"),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]{4}[0-9A-Z]$", "examples": ["97124"]}),
]


def _version(value: Any) -> Any:
    """An unquoted 2026.10 would silently become "2026.1": make the analyst quote it."""
    if isinstance(value, float):
        raise ValueError(
            f'write the version in quotes, like version: "2026.10": unquoted it is read as the '
            f"number {value!r}, and trailing zeros would be lost"
        )
    return _text_key(value)


def _no_nul(value: str) -> str:
    """PostgreSQL text cannot hold NUL (a YAML "\\0" escape): refuse it while checking the
    file, not when the version is written (which failed with INTERNAL)."""
    if "\x00" in value:
        raise ValueError('contains a NUL character ("\\0"); write plain text')
    return value


Text = Annotated[str, AfterValidator(_no_nul)]

SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"
NAME = r"^[a-z][a-z0-9_]*$"
Slug = Annotated[str, Field(pattern=SLUG, min_length=1, max_length=64)]
Name = Annotated[str, Field(pattern=NAME, min_length=1, max_length=64)]

CoverageBasisName = Literal["medical_necessity", "integrative_care_program", "supplemental_benefit"]
UnitMethodName = Literal["cms_8_minute", "ama_per_code", "per_visit_flat"]
ReferralKindName = Literal["prescription", "physician_referral", "integrative_care_plan"]
ProviderName = Literal["lmt", "pt", "dc", "md_do"]
InjuryName = Literal["auto", "work"]
SharedServiceName = Literal[
    "chiropractic", "acupuncture", "physical_therapy", "occupational_therapy"
]


# Checked by the loader with a message of its own; the patterns here are for payer tooling.
MonthDay = Annotated[
    str,
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]{2}-[0-9]{2}$", "examples": ["07-01"]}),
]
Icd10Prefix = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "string",
            "description": "An ICD-10-CM code prefix (M54.5 matches M54.50), or a range of "
            "three-character categories (Z00-Z13).",
            "pattern": r"^[A-Z][0-9]([0-9A-Z](\.[0-9A-Z]{1,4})?)?(-[A-Z][0-9][0-9A-Z])?$",
            "examples": ["M54.5", "M15", "S39.01", "Z00-Z13"],
        }
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------------------- rule set


class PayerModel(_Strict):
    id: Slug = Field(description="Stable payer id, lowercase with dashes, e.g. acme-health.")
    # At most 200 characters: the length of the stored name column (PostgreSQL enforces it).
    name: Text = Field(
        min_length=1, max_length=200, description="The payer's name as clients know it."
    )


class BenefitPeriodModel(_Strict):
    type: Literal["calendar_year", "plan_year"] = Field(
        description="calendar_year (resets January 1) or plan_year (resets on `starts`)."
    )
    starts: MonthDay | None = Field(
        default=None,
        description='plan_year only: month and day the plan year begins, "MM-DD", e.g. "07-01".',
    )


class ReferralModel(_Strict):
    required: bool = Field(description="Whether a referral or prescription is needed at all.")
    accepted: list[ReferralKindName] | None = Field(
        default=None, description="Kinds accepted when required."
    )
    valid_days: int | None = Field(
        default=None,
        ge=1,
        description="How many days after its issue date the referral stays valid; give this "
        "or valid_months.",
    )
    valid_months: int | None = Field(
        default=None,
        ge=1,
        le=120,
        description="How many calendar months it stays valid: through the same day of the "
        "month N months on (or that month's last day); give this or valid_days.",
    )


class UnitsModel(_Strict):
    method: UnitMethodName = Field(
        description="cms_8_minute, ama_per_code, or per_visit_flat (one allowed amount a visit)."
    )
    max_per_visit: int | None = Field(
        default=None, ge=1, description="Most covered 15-minute units per visit; omit for none."
    )
    max_per_day: int | None = Field(
        default=None,
        ge=1,
        le=96,
        description="Most covered units a day, across the day's visits; omit for none.",
    )


class CodeRateModel(_Strict):
    first_unit: Money = Field(description="Allowed for the first unit of the visit.")
    later_units: Money | None = Field(
        default=None, description="Allowed for each later unit; omit when the same."
    )


def _rate(value: Any) -> Any:
    """A plain amount is shorthand for the same rate for every unit."""
    if isinstance(value, dict):
        return value
    return {"first_unit": value}


Rate = Annotated[
    CodeRateModel,
    BeforeValidator(_rate),
    WithJsonSchema(
        {
            "description": 'Allowed per 15-minute unit: one amount ("31.00"), or '
            '{first_unit: "29.76", later_units: "20.70"} when later units are paid less.',
            "anyOf": [
                MONEY_JSON_SCHEMA,
                {
                    "type": "object",
                    "properties": {
                        "first_unit": MONEY_JSON_SCHEMA,
                        "later_units": MONEY_JSON_SCHEMA,
                    },
                    "required": ["first_unit"],
                    "additionalProperties": False,
                },
            ],
        }
    ),
]


class CopayTierModel(_Strict):
    from_visit: int = Field(ge=1, le=10_000, description="First visit of the period it applies to.")
    to_visit: int | None = Field(
        default=None,
        ge=1,
        le=10_000,
        description="Last visit; omit on the last tier for every later visit.",
    )
    amount: Money = Field(description="The copay for these visits.")


# Tags of a union's branches are written "<...>": error paths skip them (yamlsource).
def _copay_shape(value: Any) -> str:
    return "<tiers>" if isinstance(value, list) else "<amount>"


def _copay_amount(value: Any) -> Any:
    if isinstance(value, dict):
        raise ValueError(
            'write the copay as an amount ("25.00"), or as a list of tiers by visit number: '
            '- {from_visit: 1, to_visit: 10, amount: "20.00"}'
        )
    return value


Copay = Annotated[
    Annotated[Money, BeforeValidator(_copay_amount), Tag("<amount>")]
    | Annotated[list[CopayTierModel], Tag("<tiers>")],
    Discriminator(_copay_shape),
    WithJsonSchema(
        {
            "description": 'Copay per visit ("25.00"), or tiers by visit number: '
            '[{from_visit: 1, to_visit: 10, amount: "20.00"}, {from_visit: 11, amount: "40.00"}].',
            "anyOf": [
                MONEY_JSON_SCHEMA,
                {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "properties": {
                            "from_visit": {"type": "integer", "minimum": 1},
                            "to_visit": {"type": "integer", "minimum": 1},
                            "amount": MONEY_JSON_SCHEMA,
                        },
                        "required": ["from_visit", "amount"],
                        "additionalProperties": False,
                    },
                },
            ],
        }
    ),
]


class NetworkTermsModel(_Strict):
    covered: bool = Field(
        default=True, description="false: the plan does not cover this network at all."
    )
    allowed_per_unit: dict[CptCode, Rate] | None = Field(
        default=None, description="Allowed amount per unit by CPT code (per-unit methods)."
    )
    allowed_per_visit: Money | None = Field(
        default=None, description="One allowed amount per visit (per_visit_flat)."
    )
    copay: Copay | None = Field(
        default=None, description="Copay per visit, or tiers by visit number; omit for none."
    )
    copay_applies: Literal["instead_of_deductible", "after_deductible"] | None = Field(
        default=None,
        description="after_deductible: the member pays the allowed amount until the "
        "deductible is met, then the copay; instead_of_deductible (the default): the copay "
        "only.",
    )
    deductible: Money | None = Field(default=None, description="Deductible per benefit period.")
    family_deductible: Money | None = Field(
        default=None,
        description="The family's deductible (embedded: a member's deductible ends at "
        "whichever of the individual's and the family's is met first).",
    )
    deductible_applies: bool | None = Field(
        default=None, description="Whether the deductible applies to massage."
    )
    coinsurance_percent: Percent | None = Field(
        default=None, description='Patient share after the deductible, "20" for 20%.'
    )
    out_of_pocket_max: Money | None = Field(
        default=None, description="Out-of-pocket maximum per benefit period; omit for none."
    )
    family_out_of_pocket_max: Money | None = Field(
        default=None, description="The family's out-of-pocket maximum (embedded)."
    )
    balance_billing: bool | None = Field(
        default=None,
        description="Out of network: the clinic may bill charge minus allowed to the patient.",
    )


class VisitLimitModel(_Strict):
    # At most 10,000: the estimate carries the limit as an int32 (larger numbers loaded, then
    # every quote failed with INTERNAL), and no benefit period has more visits.
    visits: int = Field(ge=1, le=10_000, description="Covered visits per benefit period.")
    shared_with: list[SharedServiceName] = Field(
        default_factory=list, description="Other services that draw on the same visit count."
    )


class PriorAuthorizationModel(_Strict):
    from_visit: int = Field(ge=1, description="Required from this visit of the period on.")
    required_for_coverage: bool = Field(
        default=False,
        description="true: without an authorization on file the visit is not covered; false "
        "(the default): it is listed as missing and the visit is still priced.",
    )


class DiagnosisLogicModel(_Strict):
    """Diagnosis rules beyond a plain list (a plain list means any_of)."""

    any_of: list[Icd10Prefix] | None = Field(
        default=None, description="A diagnosis qualifies when it is in this list."
    )
    any_except: list[Icd10Prefix] | None = Field(
        default=None,
        description="Any diagnosis qualifies except these (e.g. the wellness and screening "
        "families Z00-Z13); a session qualifies when one of its codes is not excluded.",
    )
    all_of: list[list[Icd10Prefix]] | None = Field(
        default=None,
        description="One code from each group, e.g. [[M54.5], [G89.2, G89.4]]: a low-back "
        "code and a chronic-pain code.",
    )


class SameDayReductionModel(_Strict):
    procedure_codes: list[CptCode] = Field(
        min_length=1,
        description="Procedures billed the same day that reduce the allowed amount, e.g. "
        "chiropractic manipulation 98940-98942.",
    )
    allowed_percent: Percent = Field(
        description='The allowed amount is this percentage of the full amount, e.g. "50".'
    )


class PaymentLimitModel(_Strict):
    per_visit: Money | None = Field(default=None, description="Most the plan pays a visit.")
    per_benefit_period: Money | None = Field(
        default=None, description="Most the plan pays for massage per benefit period."
    )


class PlanModel(_Strict):
    id: Slug = Field(description="The plan id clients quote with, e.g. acme-ppo-gold.")
    name: Text = Field(min_length=1, max_length=200)  # the stored plan_name column's length
    coverage_basis: CoverageBasisName
    benefit_period: BenefitPeriodModel
    covered_session_types: list[Name] = Field(
        description="Clinic session-type groups (therapeutic) or session types (deep_tissue)."
    )
    referral: ReferralModel
    qualifying_diagnoses: Annotated[
        Annotated[list[Icd10Prefix], Tag("<list>")]
        | Annotated[DiagnosisLogicModel, Tag("<logic>")],
        Discriminator(lambda v: "<logic>" if isinstance(v, dict) else "<list>"),
    ] = Field(
        description="ICD-10 code prefixes (a session qualifies when a diagnosis starts with "
        "one), or a block with any_of, any_except or all_of."
    )
    units: UnitsModel
    in_network: NetworkTermsModel
    out_of_network: NetworkTermsModel | None = Field(
        default=None,
        description="Omit when the terms are unknown (estimates unavailable); "
        "{covered: false} when out of network is not covered.",
    )
    visit_limit: VisitLimitModel | None = None
    prior_authorization: PriorAuthorizationModel | None = None
    excluded_injuries: list[InjuryName] = Field(default_factory=list)
    hsa_eligible: bool = False
    rendering_providers: list[ProviderName] | None = Field(
        default=None,
        description="Who may render massage the plan pays for (lmt, pt, dc, md_do); omit for "
        "anyone.",
    )
    same_day_reductions: list[SameDayReductionModel] = Field(
        default_factory=list,
        description="Reduced allowed amounts when other procedures are billed the same day.",
    )
    plan_payment_limit: PaymentLimitModel | None = Field(
        default=None,
        description="The most the plan pays per visit and per benefit period; above it the "
        "member pays, outside the deductible and the out-of-pocket maximum.",
    )
    network_accumulation: Literal["separate", "combined"] = Field(
        default="separate",
        description="combined: in- and out-of-network deductible and out-of-pocket totals "
        "count together; separate (the default): each network has its own.",
    )


class RuleSetModel(_Strict):
    """One version of one payer's rules: one YAML file under payer_rules/<payer>/."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Payer rule set version")

    payer: PayerModel
    version: Annotated[
        str, BeforeValidator(_version), AfterValidator(_no_nul), Field(min_length=1, max_length=64)
    ] = Field(description='Version label, quoted, e.g. "2026.1".')
    effective_from: date = Field(description="First date of service the version applies to.")
    effective_to: date | None = Field(
        default=None, description="Last date of service; omit for open-ended."
    )
    note: Text = ""
    plans: list[PlanModel] = Field(min_length=1)


# ---------------------------------------------------------------------------- clinic


def _npi(value: Any) -> Any:
    return _text_key(value)


class ClinicModel(_Strict):
    """The clinic profile: payer_rules/clinic.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Clinic profile")

    name: str = Field(min_length=1)
    npi: Annotated[str, BeforeValidator(_npi)] = Field(
        description="10-digit National Provider Identifier, quoted."
    )
    tin: str = Field(description="Taxpayer Identification Number, NN-NNNNNNN.")
    address: list[str] = Field(min_length=1, description="Address lines.")
    charge_per_unit: dict[CptCode, Money] = Field(
        min_length=1, description="The clinic's charge per 15-minute unit by CPT code."
    )
    session_types: dict[Name, dict[Name, CptCode]] = Field(
        min_length=1, description="group -> session type -> the CPT code it bills."
    )
    cash_prices: dict[Name, dict[Annotated[int, Field(ge=1, le=480)], Money]] = Field(
        description="group -> session length in minutes -> whole-session cash price."
    )
    default_provider_credential: ProviderName = Field(
        default="lmt",
        description="Who renders a session when a quote does not say: lmt (licensed massage "
        "therapist), pt, dc or md_do. Plans that pay only some providers check it.",
    )
