"""Input rows of a batch: the columns a clerk may use, and one row as a request or as every
problem that keeps it from being sent."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from google.type import money_pb2
from massage_estimator.v1 import estimator_pb2 as pb

from service import wire
from service.cli import common
from service.cli.session_flags import MAX_271_FILE
from service.domain.model import SELF_PAY_PLAN_ID
from service.domain.money import parse_dollars

INT32_MAX = 2**31 - 1

COLUMNS: dict[str, str] = {
    "row_id": "Your id for the row, copied to the output (default: the row's number, from 1).",
    "plan_id": 'Plan id, e.g. acme-ppo-gold; "self-pay" without insurance. Required.',
    "session_type": "Session type, e.g. deep_tissue. Required.",
    "minutes": "Session length in minutes, 1 to 240. Required.",
    "referral": "none (default), physician_referral, prescription, integrative_care_plan.",
    "referral_date": "Day the referral was issued, YYYY-MM-DD (required unless none).",
    "diagnosis_codes": 'ICD-10-CM codes separated by ";" or spaces, e.g. "M54.50;M62.830".',
    "date_of_service": "YYYY-MM-DD (default: today).",
    "network": "in (default) or out.",
    "injury": "none (default), auto, work.",
    "deductible_met": 'Deductible met this benefit period, dollars, e.g. "450.00" (default 0).',
    "oop_met": "Out-of-pocket maximum met this benefit period, dollars (default 0).",
    "visits_used": "Visits used in the plan's limit bucket this period (default 0).",
    "prior_auth_on_file": "true/false, yes/no, 1/0 (default false).",
    "family_deductible_met": "The family's deductible met this period, the client's own "
    "included, dollars (default: the client's own).",
    "family_out_of_pocket_met": "The family's out-of-pocket met this period, the client's own "
    "included, dollars (default: the client's own).",
    "benefit_paid": "What the plan has paid for massage this period, dollars (default 0).",
    "other_network_deductible_met": "Deductible met in the other network, dollars (default 0).",
    "other_network_out_of_pocket_met": "Out-of-pocket met in the other network, dollars "
    "(default 0).",
    "other_network_family_deductible_met": "The family's deductible met in the other network, "
    "dollars.",
    "other_network_family_out_of_pocket_met": "The family's out-of-pocket met in the other "
    "network, dollars.",
    "units_billed_today": "Units this plan covered earlier the same day (default 0).",
    "same_day_procedure_codes": 'Other procedures billed the same day, separated by ";" or '
    'spaces, e.g. "98940".',
    "provider_credential": "lmt, pt, dc or md_do (default: the clinic's).",
    "eligibility": "A payer's X12 271 file for the client (a path, relative to the folder "
    "the command runs in): what it says is remaining fills the met and used columns left "
    "empty; the output lists disagreements with the rule table.",
    "location_id": "The clinic location, e.g. harbor-eastside (default: the default location; "
    "with a location and no network, the location's participation decides the network).",
    "therapist_id": "The therapist who renders it, e.g. cara-lmt (a therapist of the location).",
}

# Optional money columns: (column, message, field); left empty they stay unset, which for
# family totals means "the client's own" rather than $0.00.
OPTIONAL_MONEY_COLUMNS = (
    ("family_deductible_met", "accumulators", "family_deductible_met"),
    ("family_out_of_pocket_met", "accumulators", "family_out_of_pocket_met"),
    ("benefit_paid", "accumulators", "benefit_paid"),
    ("other_network_deductible_met", "other_network_accumulators", "deductible_met"),
    ("other_network_out_of_pocket_met", "other_network_accumulators", "out_of_pocket_met"),
    (
        "other_network_family_deductible_met",
        "other_network_accumulators",
        "family_deductible_met",
    ),
    (
        "other_network_family_out_of_pocket_met",
        "other_network_accumulators",
        "family_out_of_pocket_met",
    ),
)
REQUIRED_COLUMNS = ("plan_id", "session_type", "minutes")

_REFERRAL = {"": pb.REFERRAL_KIND_NONE, **{k.value: n for k, n in wire.REFERRAL_KINDS.items()}}
_NETWORK = {"": pb.NETWORK_IN, **{k.value: n for k, n in wire.NETWORKS.items()}}
_INJURY = {"": pb.INJURY_NONE, **{k.value: n for k, n in wire.INJURIES.items()}}
_PROVIDER = {
    "": pb.PROVIDER_CREDENTIAL_UNSPECIFIED,
    **{k.value: n for k, n in wire.PROVIDER_CREDENTIALS.items()},
}
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"", "false", "no", "n", "0"}


T = TypeVar("T")


@dataclass
class Row:
    """One input row: the request to send, or why it cannot be sent."""

    number: int
    row_id: str
    details: pb.SessionDetails | None = None
    error_code: str = ""
    error_message: str = ""


def cell_text(value: Any) -> str:
    """A cell as text: JSON Lines values may be numbers, booleans or lists."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # JSON writers often put 60 as 60.0
    if isinstance(value, list):
        return ";".join(cell_text(v) for v in value)
    return str(value).strip()


class _RowError(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(f"{column}: {message}")


def _choice(raw: str, column: str, table: Mapping[str, Any]) -> Any:
    key = raw.lower()
    if key not in table:
        choices = ", ".join(k for k in table if k)
        raise _RowError(column, f"{raw!r} is not one of {choices}")
    return table[key]


def _day(raw: str, column: str) -> date:
    try:
        return datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError:
        raise _RowError(column, f"{raw!r} is not a date (expected YYYY-MM-DD)") from None


def _int(raw: str, column: str, default: int | None = None) -> int:
    if raw == "" and default is not None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _RowError(column, f"{raw!r} is not a whole number") from None
    if not -INT32_MAX - 1 <= value <= INT32_MAX:
        raise _RowError(column, f"{raw} is out of range")
    return value


def _money(raw: str, column: str) -> money_pb2.Money:
    try:
        return wire.money_to_proto(parse_dollars(raw or "0"))
    except ValueError as exc:
        raise _RowError(column, str(exc)) from None


def _flag(raw: str) -> bool:
    key = raw.lower()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise _RowError("prior_auth_on_file", f"{raw!r} is not true or false")


class _Cells:
    """A row's cells as text, and the problems found while reading them."""

    def __init__(self, cells: dict[str, str]) -> None:
        self.cells = cells
        self.problems: list[str] = []

    def get(self, column: str) -> str:
        return self.cells.get(column, "")

    def check(self, parse: Callable[[], T], fallback: T) -> T:
        try:
            return parse()
        except _RowError as exc:
            self.problems.append(str(exc))
            return fallback

    def details(self) -> pb.SessionDetails:
        """The request the cells describe (a cell that cannot be read gets its default)."""
        get, check = self.get, self.check
        minutes = check(lambda: _int(get("minutes"), "minutes"), 0) if get("minutes") else 0
        details = pb.SessionDetails(
            plan_id=get("plan_id"),
            session_type=get("session_type"),
            minutes=minutes,
            referral=pb.Referral(
                kind=check(
                    lambda: _choice(get("referral"), "referral", _REFERRAL),
                    pb.REFERRAL_KIND_NONE,
                )
            ),
            diagnosis_codes=get("diagnosis_codes").replace(";", " ").split(),
            network=check(lambda: _choice(get("network"), "network", _NETWORK), pb.NETWORK_IN),
            injury=check(lambda: _choice(get("injury"), "injury", _INJURY), pb.INJURY_NONE),
            accumulators=pb.Accumulators(
                # left empty they stay unset: $0, or what the row's 271 says
                deductible_met=check(lambda: _money(get("deductible_met"), "deductible_met"), None)
                if get("deductible_met")
                else None,
                out_of_pocket_met=check(lambda: _money(get("oop_met"), "oop_met"), None)
                if get("oop_met")
                else None,
                visits_used=check(lambda: _int(get("visits_used"), "visits_used", default=0), 0),
            ),
            prior_authorization_on_file=check(lambda: _flag(get("prior_auth_on_file")), False),
        )
        self._fill_clauses(details)
        if get("referral_date"):
            issued = check(lambda: _day(get("referral_date"), "referral_date"), None)
            if issued is not None:
                details.referral.issue_date.CopyFrom(wire.date_to_proto(issued))
        day = (
            check(lambda: _day(get("date_of_service"), "date_of_service"), None)
            if get("date_of_service")
            else date.today()
        )
        if day is not None:
            details.date_of_service.CopyFrom(wire.date_to_proto(day))
        return details

    def _fill_clauses(self, details: pb.SessionDetails) -> None:
        """The columns of the plan clauses: family and other-network totals, benefit paid,
        the day's earlier units and procedures, the rendering provider."""
        get, check = self.get, self.check
        for column, block, field in OPTIONAL_MONEY_COLUMNS:
            raw = get(column)
            if raw:
                value = check(functools.partial(_money, raw, column), None)
                if value is not None:
                    getattr(getattr(details, block), field).CopyFrom(value)
        details.units_billed_today = check(
            lambda: _int(get("units_billed_today"), "units_billed_today", default=0), 0
        )
        details.same_day_procedure_codes.extend(
            get("same_day_procedure_codes").replace(";", " ").split()
        )
        details.provider_credential = check(
            lambda: _choice(get("provider_credential"), "provider_credential", _PROVIDER),
            pb.PROVIDER_CREDENTIAL_UNSPECIFIED,
        )
        if get("therapist_id"):
            details.therapist_id = get("therapist_id")
        location = get("location_id")
        if location:
            details.location_id = location
            if not get("network"):  # the location's participation decides
                details.network = pb.NETWORK_UNSPECIFIED
        if get("eligibility"):
            details.eligibility_271 = check(lambda: _read_271(get("eligibility")), "")


def _read_271(name: str) -> str:
    try:
        return common.read_text_file(name, MAX_271_FILE)
    except OSError as exc:
        raise _RowError("eligibility", f"cannot read {name}: {exc.strerror}") from None


def parse_row(
    number: int,
    raw: Mapping[str, Any],
    session_types: list[str] | None,
    plan_ids: list[str] | None = None,
) -> Row:
    """The SessionDetails a row describes, or every problem in it, "; "-joined as the
    service joins its field violations (range checks and the rules are the server's; this
    only catches what cannot be put into a request)."""
    cells = _Cells({k: cell_text(v) for k, v in raw.items() if k is not None})
    row = Row(number=number, row_id=cells.get("row_id") or str(number))
    if None in raw:
        row.error_code, row.error_message = (
            "INVALID_ARGUMENT",
            "row: has more fields than the header",
        )
        return row
    for column in REQUIRED_COLUMNS:
        if not cells.get(column):
            cells.problems.append(f"{column}: required")
    plan_id = cells.get("plan_id")
    plan_unknown = bool(
        plan_id and plan_ids is not None and plan_id != SELF_PAY_PLAN_ID and plan_id not in plan_ids
    )
    if plan_unknown and plan_ids is not None:
        cells.problems.append(f"plan_id: {common.plan_id_problem(plan_id, plan_ids)}")
    session_type = cells.get("session_type")
    if session_type and session_types is not None:
        problem = common.session_type_problem(session_type, session_types)
        if problem:
            cells.problems.append(f"session_type: {problem}")
    details = cells.details()
    if cells.problems:
        only_plan = plan_unknown and len(cells.problems) == 1
        row.error_code = "NOT_FOUND" if only_plan else "INVALID_ARGUMENT"
        row.error_message = "; ".join(cells.problems)
    else:
        row.details = details
    return row
