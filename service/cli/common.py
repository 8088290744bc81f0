"""What the client commands share: the session flags, the channel, JSON output and errors.

Exit codes: 0 answered, 1 the service refused or could not be reached (the status, message
and field violations are printed in words), 2 bad usage (typer/click's own code).
"""

from __future__ import annotations

import enum
import re
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import grpc
import typer
from google.protobuf import json_format
from google.protobuf.message import Message
from grpc_status import rpc_status
from massage_estimator.v1 import estimator_pb2 as pb
from massage_estimator.v1 import estimator_pb2_grpc as pb_grpc
from rich.console import Console

from service.api.convert import date_to_proto, money_to_proto
from service.api.errors import details_of
from service.cli import config
from service.domain.money import Cents, parse_dollars

EXIT_REFUSED = 1
DEFAULT_TARGET: str | None = None  # resolved by service.cli.config (flag > env > file)
DEFAULT_TIMEOUT = 30.0

T = TypeVar("T")

err_console = Console(stderr=True, highlight=False, soft_wrap=True)


class ReferralChoice(enum.StrEnum):
    none = "none"
    physician_referral = "physician_referral"
    prescription = "prescription"
    integrative_care_plan = "integrative_care_plan"


class NetworkChoice(enum.StrEnum):
    in_ = "in"
    out = "out"


class InjuryChoice(enum.StrEnum):
    none = "none"
    auto = "auto"
    work = "work"


_REFERRAL_PB = {
    ReferralChoice.none: pb.REFERRAL_KIND_NONE,
    ReferralChoice.physician_referral: pb.REFERRAL_KIND_PHYSICIAN_REFERRAL,
    ReferralChoice.prescription: pb.REFERRAL_KIND_PRESCRIPTION,
    ReferralChoice.integrative_care_plan: pb.REFERRAL_KIND_INTEGRATIVE_CARE_PLAN,
}
_NETWORK_PB = {NetworkChoice.in_: pb.NETWORK_IN, NetworkChoice.out: pb.NETWORK_OUT}
_INJURY_PB = {
    InjuryChoice.none: pb.INJURY_NONE,
    InjuryChoice.auto: pb.INJURY_AUTO_ACCIDENT,
    InjuryChoice.work: pb.INJURY_WORK,
}


def parse_day(value: object) -> datetime:
    """A YYYY-MM-DD flag; a day that does not exist ("2026-02-30") is named as such, where
    typer's own date type said "Value error, ... does not match the formats '%Y-%m-%d'"."""
    if isinstance(value, datetime):
        return value
    try:
        return datetime.strptime(str(value), "%Y-%m-%d")
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (expected YYYY-MM-DD)") from None


E = TypeVar("E", bound=enum.Enum)


def choice_parser(choices: type[E]) -> Callable[[object], E]:
    """A parser for a flag with fixed words that names the nearest one for a typo; typer's
    own said "Value error, 'prescripton' is not one of ..." with no suggestion."""
    from service.domain.validation import suggest

    words = [str(c.value) for c in choices]

    def parse(value: object) -> E:
        if isinstance(value, choices):
            return value
        text = str(value).strip().lower()
        for choice in choices:
            if choice.value == text:
                return choice
        raise typer.BadParameter(
            f"{value!r} is not one of {', '.join(words)}{suggest(str(value), words)}"
        )

    return parse


def choice_metavar(choices: type[enum.Enum]) -> str:
    return "[" + "|".join(str(c.value) for c in choices) + "]"


# ---------------------------------------------------------------- shared flags (Annotated)

PlanOpt = Annotated[
    str, typer.Option("--plan", help='Plan id, e.g. acme-ppo-gold; "self-pay" without insurance.')
]
SessionTypeOpt = Annotated[
    str, typer.Option("--session-type", help="Session type, e.g. deep_tissue, swedish, myofascial.")
]
MinutesOpt = Annotated[int, typer.Option("--minutes", help="Session length in minutes (1 to 240).")]
ReferralOpt = Annotated[
    ReferralChoice,
    typer.Option(
        "--referral",
        parser=choice_parser(ReferralChoice),
        metavar=choice_metavar(ReferralChoice),
        help="Referral or prescription the client holds.",
    ),
]
ReferralDateOpt = Annotated[
    datetime | None,
    typer.Option(
        "--referral-date",
        parser=parse_day,
        metavar="YYYY-MM-DD",
        help="Day the referral was issued (YYYY-MM-DD).",
    ),
]
DiagnosisOpt = Annotated[
    list[str] | None,
    typer.Option("--diagnosis", help="ICD-10-CM diagnosis code, e.g. M54.50; repeat for more."),
]
NetworkOpt = Annotated[
    NetworkChoice,
    typer.Option(
        "--network",
        parser=choice_parser(NetworkChoice),
        metavar=choice_metavar(NetworkChoice),
        help="The clinic's network status.",
    ),
]
InjuryOpt = Annotated[
    InjuryChoice,
    typer.Option(
        "--injury",
        parser=choice_parser(InjuryChoice),
        metavar=choice_metavar(InjuryChoice),
        help="Injury context.",
    ),
]
DeductibleMetOpt = Annotated[
    str,
    typer.Option(
        "--deductible-met", help='Deductible met this benefit period, dollars ("450.00").'
    ),
]
OopMetOpt = Annotated[
    str, typer.Option("--oop-met", help="Out-of-pocket maximum met this benefit period, dollars.")
]
VisitsUsedOpt = Annotated[
    int, typer.Option("--visits-used", help="Visits used in the plan's limit bucket this period.")
]
PriorAuthOpt = Annotated[
    bool,
    typer.Option("--prior-auth-on-file", help="The payer already granted prior authorization."),
]
TargetOpt = config.TargetOpt  # flag > MASSAGE_ESTIMATOR_TARGET > config file > default
ConfigOpt = config.ConfigOpt
TimeoutOpt = Annotated[float, typer.Option("--timeout", help="Seconds to wait for the answer.")]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print the response as protobuf JSON (proto field names).")
]


def dollars(value: str, flag: str) -> Cents:
    """Parse "450" or "450.00" into cents exactly; bad text is a usage error (exit 2)."""
    try:
        return parse_dollars(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=flag) from None


def session_details(
    *,
    plan: str,
    session_type: str,
    minutes: int,
    referral: ReferralChoice,
    referral_date: datetime | None,
    diagnosis: list[str] | None,
    day: date | None,
    network: NetworkChoice,
    injury: InjuryChoice,
    deductible_met: str,
    oop_met: str,
    visits_used: int,
    prior_auth_on_file: bool,
) -> pb.SessionDetails:
    """The SessionDetails message the flags describe (range checks are the server's)."""
    details = pb.SessionDetails(
        plan_id=plan,
        session_type=session_type,
        minutes=minutes,
        referral=pb.Referral(kind=_REFERRAL_PB[referral]),
        diagnosis_codes=list(diagnosis or []),
        network=_NETWORK_PB[network],
        injury=_INJURY_PB[injury],
        accumulators=pb.Accumulators(
            deductible_met=money_to_proto(dollars(deductible_met, "--deductible-met")),
            out_of_pocket_met=money_to_proto(dollars(oop_met, "--oop-met")),
            visits_used=visits_used,
        ),
        prior_authorization_on_file=prior_auth_on_file,
    )
    if referral_date is not None:
        details.referral.issue_date.CopyFrom(date_to_proto(referral_date.date()))
    if day is not None:
        details.date_of_service.CopyFrom(date_to_proto(day))
    return details


def known_session_types(clinic_file: Path) -> list[str] | None:
    """Session types of the clinic profile, for "did you mean" before calling the service;
    None when the file cannot be read (the service still checks every session type)."""
    from service.rulefiles import load_clinic_file

    try:
        return sorted(load_clinic_file(clinic_file).session_types)
    except Exception:  # an unreadable profile only turns the local check off
        return None


def session_type_problem(session_type: str, known: list[str]) -> str:
    """'' when known, else "unknown session type 'x' (did you mean 'y'?); expected ..."."""
    from service.domain.validation import suggest

    if session_type in known:
        return ""
    return (
        f"unknown session type {session_type!r}{suggest(session_type, known)}; "
        f"expected one of {', '.join(known)}"
    )


def known_plan_ids(channel: grpc.Channel, timeout: float) -> list[str] | None:
    """Plan ids the service answers for (PayerRulesService.ListPlans), for "did you mean"
    before sending; None when the service does not offer ListPlans (it still answers an
    unknown plan with NOT_FOUND and its own suggestions)."""
    try:
        from massage_estimator.v1 import payer_rules_pb2, payer_rules_pb2_grpc
    except ImportError:
        return None
    stub = payer_rules_pb2_grpc.PayerRulesServiceStub(channel)  # type: ignore[no-untyped-call]
    try:
        response = stub.ListPlans(payer_rules_pb2.ListPlansRequest(), timeout=timeout)
    except grpc.RpcError:
        return None
    return sorted(p.plan_id for p in response.plans)


def plan_id_problem(plan_id: str, known: list[str]) -> str:
    """The words for a plan id the service does not know, with the nearest ones."""
    import difflib

    close = difflib.get_close_matches(plan_id, known, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return f"unknown plan {plan_id!r}{hint}"


def check_session_type(session_type: str, config_file: Path | None) -> None:
    """Refuse a session type the clinic does not offer before calling the service (exit 2)."""
    conn = config.resolve_or_exit(config=config_file)
    known = known_session_types(conn.clinic_file)
    problem = session_type_problem(session_type, known) if known is not None else ""
    if problem:
        raise typer.BadParameter(problem, param_hint="--session-type")


def call_service(
    target: str | None,
    rpc: Callable[[pb_grpc.EstimatorServiceStub], T],
    config_file: Path | None = None,
) -> T:
    """Open a channel (target, TLS and token from flag > env > config file > default), make
    one call, and turn a refusal into exit 1."""
    conn = config.resolve_or_exit(target=target, config=config_file)
    with config.open_channel(conn) as channel:
        try:
            return rpc(pb_grpc.EstimatorServiceStub(channel))  # type: ignore[no-untyped-call]
        except grpc.RpcError as exc:
            fail_with_rpc_error(exc, conn.target)


def fail_with_rpc_error(exc: grpc.RpcError, target: str) -> NoReturn:
    """Print the status, its message and field violations in words; exit 1."""
    call = exc if isinstance(exc, grpc.Call) else None
    code = call.code() if call is not None else grpc.StatusCode.UNKNOWN
    message = (call.details() if call is not None else str(exc)) or ""
    if code is grpc.StatusCode.UNAVAILABLE:
        err_console.print(
            f"error: cannot reach the estimator service at {target} ({message}); "
            "is `massage-estimator serve` running?"
        )
        raise typer.Exit(EXIT_REFUSED)
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        err_console.print(f"error: the service at {target} did not answer in time")
        raise typer.Exit(EXIT_REFUSED)
    status = rpc_status.from_call(call) if call is not None else None
    details: dict[str, Any] = details_of(status) if status is not None else {}
    bad = details.get("BadRequest")
    if bad is not None and bad.field_violations:
        count = len(bad.field_violations)
        message = f"the request has {count} invalid field{'s' if count != 1 else ''}:"
    err_console.print(f"error: {code.name}: {message}", markup=False)
    for line in describe_details(details):
        err_console.print(line, markup=False)
    raise typer.Exit(EXIT_REFUSED)


# The flag a clerk typed for each request field the service may name (quote, plan, gfe).
FIELD_FLAGS = {
    "session.plan_id": "--plan",
    "session.session_type": "--session-type",
    "session.minutes": "--minutes",
    "session.referral.kind": "--referral",
    "session.referral.issue_date": "--referral-date",
    "session.diagnosis_codes": "--diagnosis",
    "session.date_of_service": "--date",
    "session.network": "--network",
    "session.injury": "--injury",
    "session.accumulators.deductible_met": "--deductible-met",
    "session.accumulators.out_of_pocket_met": "--oop-met",
    "session.accumulators.visits_used": "--visits-used",
    "recurrence.start_date": "--date",
    "recurrence.session_count": "--sessions",
    "recurrence.every_days": "--every-days",
}


def flag_of(field: str) -> str:
    """ " (--minutes)" for "session.minutes" (indexes ignored), "" for other fields."""
    flag = FIELD_FLAGS.get(re.sub(r"\[\d+\]", "", field))
    return f" ({flag})" if flag else ""


def describe_details(details: dict[str, object]) -> list[str]:
    """The error details in words, one line each; a field the clerk set by a flag names it.
    ErrorInfo adds a line only when it says more than the status code already did."""
    lines: list[str] = []
    bad = details.get("BadRequest")
    if bad is not None:
        for v in bad.field_violations:  # type: ignore[attr-defined]
            lines.append(f"  - {v.field}: {v.description}{flag_of(v.field)}")
    info = details.get("ErrorInfo")
    if info is not None and (info.metadata or info.reason != "INVALID_ARGUMENT"):  # type: ignore[attr-defined]
        extra = ", ".join(f"{k}={v}" for k, v in sorted(info.metadata.items()))  # type: ignore[attr-defined]
        lines.append(f"  reason: {info.reason}{' (' + extra + ')' if extra else ''}")  # type: ignore[attr-defined]
    return lines


def print_json(message: Message) -> None:
    """The response as protobuf JSON with the proto field names, every field shown."""
    text = json_format.MessageToJson(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    sys.stdout.write(text + "\n")
