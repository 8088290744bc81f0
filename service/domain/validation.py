"""Request validation: every bad field is reported at once, named like the proto field."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

from service.domain.errors import FieldViolation, InvalidRequestError
from service.domain.model import Clinic, ReferralKind, SessionRequest
from service.domain.money import format_usd

MIN_MINUTES = 1
MAX_MINUTES = 240
# Far above any real benefit period, far below what sums of them would need to overflow the
# wire (int64 Money units, int32 visit counts) after a treatment plan adds to them.
MAX_ACCUMULATED_CENTS = 100_000_000  # $1,000,000.00
MAX_VISITS_USED = 10_000
MAX_UNITS_PER_DAY = 96  # 24 hours of 15-minute units
MAX_SAME_DAY_CODES = 20

PROCEDURE_CODE_PATTERN = re.compile(r"^[0-9A-Z]{5}$")

# ICD-10-CM: a letter, a digit, a digit or letter; then optionally a dot and 1-4 characters.
ICD10_PATTERN = re.compile(r"^[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?$")


def suggest(value: str, choices: list[str]) -> str:
    """' (did you mean 'x'?)' for a near miss, else ''."""
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def session_violations(request: SessionRequest, clinic: Clinic) -> list[FieldViolation]:
    """Everything wrong with one session request, field by field (date fields aside, which
    the transport checks while parsing)."""
    out: list[FieldViolation] = []
    if not request.plan_id.strip():
        out.append(
            FieldViolation("plan_id", 'required; use "self-pay" for clients without insurance')
        )
    if request.session_type not in clinic.session_types:
        names = sorted(clinic.session_types)
        what = (
            "required"
            if not request.session_type
            else f"unknown session type {request.session_type!r}"
        )
        out.append(
            FieldViolation(
                "session_type",
                f"{what}{suggest(request.session_type, names)}; expected one of {', '.join(names)}",
            )
        )
    if not MIN_MINUTES <= request.minutes <= MAX_MINUTES:
        out.append(
            FieldViolation(
                "minutes", f"must be between {MIN_MINUTES} and {MAX_MINUTES}, got {request.minutes}"
            )
        )
    for i, code in enumerate(request.diagnosis_codes):
        if not ICD10_PATTERN.match(code.strip().upper()):
            out.append(
                FieldViolation(
                    f"diagnosis_codes[{i}]",
                    f"{code!r} is not an ICD-10-CM code (a letter, two characters, then "
                    "optionally a dot and up to 4 more, e.g. M54.50)",
                )
            )
    if request.referral_kind is not ReferralKind.NONE and request.referral_date is None:
        out.append(
            FieldViolation(
                "referral.issue_date", "required when a referral or prescription is given"
            )
        )
    if request.referral_date is not None and request.referral_date > request.date_of_service:
        out.append(
            FieldViolation(
                "referral.issue_date",
                f"{request.referral_date.isoformat()} is after the date of service "
                f"{request.date_of_service.isoformat()}",
            )
        )
    out.extend(_accumulator_violations(request))
    if not 0 <= request.units_billed_today <= MAX_UNITS_PER_DAY:
        out.append(
            FieldViolation(
                "units_billed_today",
                f"must be between 0 and {MAX_UNITS_PER_DAY} (a day of 15-minute units), "
                f"got {request.units_billed_today}",
            )
        )
    if len(request.same_day_procedure_codes) > MAX_SAME_DAY_CODES:
        out.append(
            FieldViolation(
                "same_day_procedure_codes",
                f"at most {MAX_SAME_DAY_CODES} codes, got {len(request.same_day_procedure_codes)}",
            )
        )
    for i, code in enumerate(request.same_day_procedure_codes[:MAX_SAME_DAY_CODES]):
        if not PROCEDURE_CODE_PATTERN.match(code.strip().upper()):
            out.append(
                FieldViolation(
                    f"same_day_procedure_codes[{i}]",
                    f"{code[:20]!r} is not a CPT or HCPCS code (five letters or digits, e.g. "
                    "98940)",
                )
            )
    return out


def _accumulator_violations(request: SessionRequest) -> list[FieldViolation]:
    """Amounts never negative nor past the caps; family totals, which include the member's
    own, never below the member's."""
    out: list[FieldViolation] = []
    acc, other = request.accumulators, request.other_network
    checks: list[tuple[str, int | None, int, Callable[[int], str]]] = [
        ("accumulators.deductible_met", acc.deductible_met, MAX_ACCUMULATED_CENTS, format_usd),
        (
            "accumulators.out_of_pocket_met",
            acc.out_of_pocket_met,
            MAX_ACCUMULATED_CENTS,
            format_usd,
        ),
        ("accumulators.visits_used", acc.visits_used, MAX_VISITS_USED, str),
        (
            "accumulators.family_deductible_met",
            acc.family_deductible_met,
            MAX_ACCUMULATED_CENTS,
            format_usd,
        ),
        (
            "accumulators.family_out_of_pocket_met",
            acc.family_out_of_pocket_met,
            MAX_ACCUMULATED_CENTS,
            format_usd,
        ),
        ("accumulators.benefit_paid", acc.benefit_paid, MAX_ACCUMULATED_CENTS, format_usd),
        (
            "other_network_accumulators.deductible_met",
            other.deductible_met,
            MAX_ACCUMULATED_CENTS,
            format_usd,
        ),
        (
            "other_network_accumulators.out_of_pocket_met",
            other.out_of_pocket_met,
            MAX_ACCUMULATED_CENTS,
            format_usd,
        ),
        (
            "other_network_accumulators.family_deductible_met",
            other.family_deductible_met,
            MAX_ACCUMULATED_CENTS,
            format_usd,
        ),
        (
            "other_network_accumulators.family_out_of_pocket_met",
            other.family_out_of_pocket_met,
            MAX_ACCUMULATED_CENTS,
            format_usd,
        ),
    ]
    for name, value, most, show in checks:
        if value is None:
            continue
        if value < 0:
            out.append(FieldViolation(name, f"cannot be negative, got {value}"))
        elif value > most:
            out.append(FieldViolation(name, f"must be at most {show(most)}, got {show(value)}"))
    for prefix, totals in (("accumulators", acc), ("other_network_accumulators", other)):
        for what, family, own in (
            ("deductible", totals.family_deductible_met, totals.deductible_met),
            ("out_of_pocket", totals.family_out_of_pocket_met, totals.out_of_pocket_met),
        ):
            if family is not None and 0 <= family < own:
                out.append(
                    FieldViolation(
                        f"{prefix}.family_{what}_met",
                        f"{format_usd(family)} is less than the member's own {format_usd(own)}; "
                        "the family total includes the member's amounts",
                    )
                )
    return out


def validate_session(request: SessionRequest, clinic: Clinic) -> None:
    violations = session_violations(request, clinic)
    if violations:
        raise InvalidRequestError(violations)
