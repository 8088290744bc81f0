"""What the client commands share: flag parsers, the channel, JSON output and errors.

Exit codes: 0 answered, 1 the service refused or could not be reached (the status, message
and field violations are printed in words), 2 bad usage (typer/click's own code).
"""

from __future__ import annotations

import enum
import re
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import grpc
import typer
from google.protobuf import json_format
from google.protobuf.message import Message
from grpc_status import rpc_status
from massage_estimator.v1 import estimator_pb2_grpc as pb_grpc
from massage_estimator.v1 import payer_rules_pb2 as rpb
from massage_estimator.v1 import payer_rules_pb2_grpc as rpb_grpc
from rich.console import Console

from service import wire
from service.cli import config
from service.domain.errors import PlanNotFoundError
from service.domain.money import Cents, parse_dollars
from service.domain.suggest import close_matches, did_you_mean

EXIT_REFUSED = 1
DEFAULT_TARGET: str | None = None  # resolved by service.cli.config (flag > env > file)
DEFAULT_TIMEOUT = 30.0

T = TypeVar("T")

err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def read_text_file(name: str, limit: int) -> str:
    """A small text file named by the user (`-`: standard input), read as Latin-1 so no byte
    fails; at most `limit` + 1 characters, so the service can say a file is too long."""
    if name == "-":
        return sys.stdin.read(limit + 1)
    with open(name, encoding="latin-1") as handle:
        return handle.read(limit + 1)


def parse_day(value: object) -> datetime:
    """A YYYY-MM-DD flag; a day that does not exist ("2026-02-30") is named as such, in
    words a clerk reads ("... is not a date"), not the date type's format list."""
    if isinstance(value, datetime):
        return value
    try:
        return datetime.strptime(str(value), "%Y-%m-%d")
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (expected YYYY-MM-DD)") from None


def day_option(flag: str, help: str) -> Any:
    """A YYYY-MM-DD option (read by parse_day), for `Annotated[datetime | None, ...]`."""
    return typer.Option(flag, parser=parse_day, metavar="YYYY-MM-DD", help=help)


E = TypeVar("E", bound=enum.Enum)


def choice_parser(choices: type[E]) -> Callable[[object], E]:
    """A parser for a flag with fixed words (case-insensitive) that names the nearest one
    for a typo."""
    words = [str(c.value) for c in choices]

    def parse(value: object) -> E:
        if isinstance(value, choices):
            return value
        text = str(value).strip().lower()
        for choice in choices:
            if choice.value == text:
                return choice
        raise typer.BadParameter(
            f"{value!r} is not one of {', '.join(words)}{did_you_mean(str(value), words)}"
        )

    return parse


def choice_metavar(choices: type[enum.Enum]) -> str:
    return "[" + "|".join(str(c.value) for c in choices) + "]"


# ---------------------------------------------------------------- shared flags (Annotated)

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
    if session_type in known:
        return ""
    return (
        f"unknown session type {session_type!r}{did_you_mean(session_type, known)}; "
        f"expected one of {', '.join(known)}"
    )


def known_plan_ids(channel: grpc.Channel, timeout: float) -> list[str] | None:
    """Plan ids the service answers for (PayerRulesService.ListPlans), for "did you mean"
    before sending; None when the service does not offer ListPlans (it still answers an
    unknown plan with NOT_FOUND and its own suggestions)."""
    stub = rpb_grpc.PayerRulesServiceStub(channel)  # type: ignore[no-untyped-call]
    try:
        response = stub.ListPlans(rpb.ListPlansRequest(), timeout=timeout)
    except grpc.RpcError:
        return None
    return sorted(p.plan_id for p in response.plans)


def plan_id_problem(plan_id: str, known: list[str]) -> str:
    """The words for a plan id the service does not know, with the nearest ones (as the
    service itself says it)."""
    return str(PlanNotFoundError(plan_id, close_matches(plan_id, known, most=3)))


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
    details: dict[str, Any] = dict(wire.details_of(status)) if status is not None else {}
    bad = details.get("BadRequest")
    if bad is not None and bad.field_violations:
        count = len(bad.field_violations)
        message = f"the request has {count} invalid field{'s' if count != 1 else ''}:"
    err_console.print(f"error: {code.name}: {message}", markup=False)
    for line in describe_details(details):
        err_console.print(line, markup=False)
    raise typer.Exit(EXIT_REFUSED)


def flag_of(field: str) -> str:
    """ " (--minutes)" for "session.minutes" (indexes ignored), "" for other fields."""
    from service.cli.session_flags import FIELD_FLAGS  # it builds on this module's parsers

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
