"""Request validation: every bad field is reported at once, named like the proto field."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date

from service.domain.errors import FieldViolation
from service.domain.model import Clinic, ReferralKind, SessionRequest
from service.domain.money import format_usd
from service.domain.suggest import did_you_mean

MIN_MINUTES = 1
MAX_MINUTES = 240
# Far above any real benefit period, far below what sums of them would need to overflow the
# wire (int64 Money units, int32 visit counts) after a treatment plan adds to them.
MAX_ACCUMULATED_CENTS = 100_000_000  # $1,000,000.00
MAX_VISITS_USED = 10_000
MAX_PLAN_SESSIONS = 366  # a year of daily sessions, leap years included
MAX_EVERY_DAYS = 365
MAX_UNITS_PER_DAY = 96  # 24 hours of 15-minute units
MAX_SAME_DAY_CODES = 20

PROCEDURE_CODE_PATTERN = re.compile(r"^[0-9A-Z]{5}$")

# ICD-10-CM: a letter, a digit, a digit or letter; then optionally a dot and 1-4 characters.
ICD10_PATTERN = re.compile(r"^[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?$")


def session_violations(request: SessionRequest, clinic: Clinic) -> list[FieldViolation]:
    """Everything wrong with one session request, field by field (date fields aside, which
    the transport checks while parsing)."""
    return (
        _what_violations(request, clinic)
        + _referral_violations(request)
        + _accumulator_violations(request)
        + _family_violations(request)
        + _same_day_violations(request)
    )


def _what_violations(request: SessionRequest, clinic: Clinic) -> list[FieldViolation]:
    """The plan, the session type, its length and the diagnosis codes."""
    out: list[FieldViolation] = []
    if not request.plan_id.strip():
        out.append(
            FieldViolation(
                "plan_id", 'required; use "self-pay" for clients without insurance', "REQUIRED"
            )
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
                f"{what}{did_you_mean(request.session_type, names)}; "
                f"expected one of {', '.join(names)}",
            )
        )
    if not MIN_MINUTES <= request.minutes <= MAX_MINUTES:
        out.append(
            FieldViolation(
                "minutes",
                f"must be between {MIN_MINUTES} and {MAX_MINUTES}, got {request.minutes}",
                "OUT_OF_RANGE",
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
    return out


def _referral_violations(request: SessionRequest) -> list[FieldViolation]:
    out: list[FieldViolation] = []
    if request.referral_kind is not ReferralKind.NONE and request.referral_date is None:
        out.append(
            FieldViolation(
                "referral.issue_date",
                "required when a referral or prescription is given",
                "REQUIRED",
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
    return out


def _accumulator_violations(request: SessionRequest) -> list[FieldViolation]:
    """What the client has used, in either network: never negative, never beyond what any
    benefit period holds."""
    out: list[FieldViolation] = []
    acc, other = request.accumulators, request.other_network
    money = MAX_ACCUMULATED_CENTS
    checks: list[tuple[str, int | None, int, Callable[[int], str]]] = [
        ("accumulators.deductible_met", acc.deductible_met, money, format_usd),
        ("accumulators.out_of_pocket_met", acc.out_of_pocket_met, money, format_usd),
        ("accumulators.visits_used", acc.visits_used, MAX_VISITS_USED, str),
        ("accumulators.family_deductible_met", acc.family_deductible_met, money, format_usd),
        ("accumulators.family_out_of_pocket_met", acc.family_out_of_pocket_met, money, format_usd),
        ("accumulators.benefit_paid", acc.benefit_paid, money, format_usd),
        ("other_network_accumulators.deductible_met", other.deductible_met, money, format_usd),
        (
            "other_network_accumulators.out_of_pocket_met",
            other.out_of_pocket_met,
            money,
            format_usd,
        ),
        (
            "other_network_accumulators.family_deductible_met",
            other.family_deductible_met,
            money,
            format_usd,
        ),
        (
            "other_network_accumulators.family_out_of_pocket_met",
            other.family_out_of_pocket_met,
            money,
            format_usd,
        ),
    ]
    for name, value, most, show in checks:
        if value is None:
            continue
        if value < 0:
            out.append(FieldViolation(name, f"cannot be negative, got {value}", "OUT_OF_RANGE"))
        elif value > most:
            out.append(
                FieldViolation(
                    name, f"must be at most {show(most)}, got {show(value)}", "OUT_OF_RANGE"
                )
            )
    return out


def _family_violations(request: SessionRequest) -> list[FieldViolation]:
    """A family total includes the member's own amount, so it is never below it."""
    out: list[FieldViolation] = []
    for prefix, totals in (
        ("accumulators", request.accumulators),
        ("other_network_accumulators", request.other_network),
    ):
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


def _same_day_violations(request: SessionRequest) -> list[FieldViolation]:
    """The units billed earlier today and the other procedures of the day."""
    out: list[FieldViolation] = []
    if not 0 <= request.units_billed_today <= MAX_UNITS_PER_DAY:
        out.append(
            FieldViolation(
                "units_billed_today",
                f"must be between 0 and {MAX_UNITS_PER_DAY} (a day of 15-minute units), "
                f"got {request.units_billed_today}",
            )
        )
    codes = request.same_day_procedure_codes
    if len(codes) > MAX_SAME_DAY_CODES:
        out.append(
            FieldViolation(
                "same_day_procedure_codes", f"at most {MAX_SAME_DAY_CODES} codes, got {len(codes)}"
            )
        )
    for i, code in enumerate(codes[:MAX_SAME_DAY_CODES]):
        if not PROCEDURE_CODE_PATTERN.match(code.strip().upper()):
            out.append(
                FieldViolation(
                    f"same_day_procedure_codes[{i}]",
                    f"{code[:20]!r} is not a CPT or HCPCS code (five letters or digits, e.g. "
                    "98940)",
                )
            )
    return out


def schedule_violations(dates: Sequence[date | None]) -> list[FieldViolation]:
    """What is wrong with a treatment plan's dates: 1 to MAX_PLAN_SESSIONS of them, ascending
    without repeats. Fields are "dates" and "dates[i]"; a None entry (a date the transport
    could not read) is skipped, and the next one is compared with the last good one."""
    if not 1 <= len(dates) <= MAX_PLAN_SESSIONS:
        return [
            FieldViolation("dates", f"must hold 1 to {MAX_PLAN_SESSIONS} dates, not {len(dates)}")
        ]
    out: list[FieldViolation] = []
    previous: date | None = None
    for i, day in enumerate(dates):
        if day is None:
            continue
        if previous is not None and day <= previous:
            out.append(
                FieldViolation(
                    f"dates[{i}]",
                    f"{day.isoformat()} must be after the previous date {previous.isoformat()} "
                    "(dates ascending, no repeats)",
                )
            )
        previous = day
    return out


def recurrence_violations(session_count: int, every_days: int) -> list[FieldViolation]:
    """What is wrong with "`session_count` sessions, one every `every_days` days"."""
    out: list[FieldViolation] = []
    if not 1 <= session_count <= MAX_PLAN_SESSIONS:
        out.append(
            FieldViolation(
                "session_count", f"must be 1 to {MAX_PLAN_SESSIONS}, not {session_count}"
            )
        )
    if not 1 <= every_days <= MAX_EVERY_DAYS:
        out.append(FieldViolation("every_days", f"must be 1 to {MAX_EVERY_DAYS}, not {every_days}"))
    return out
