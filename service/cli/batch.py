"""`massage-estimator batch`: quote thousands of rows from a CSV or JSON Lines file.

Rows go to the service through EstimateSessions in chunks (at most 1,000, the server's
limit), several chunks in flight at once; results are written in input order. A bad row
(unparseable value, unknown session type, the server's INVALID_ARGUMENT / NOT_FOUND for it)
becomes an output row with status=error and the reason; the batch goes on. The output is
written to a temporary file beside OUT and renamed when the batch is complete, so a failed
run never leaves half a file. Exit 0 when the batch ran (bad rows included), 1 when the
service could not be reached or refused a whole chunk for a reason other than the rows,
2 on bad usage (missing file, unknown column).

Input columns are in docs/cli.md (COLUMNS below), output columns are OUTPUT_COLUMNS.
"""

from __future__ import annotations

import csv
import enum
import io
import json
import os
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Annotated, Any, TypeVar

import grpc
import typer
from google.rpc import code_pb2, error_details_pb2, status_pb2
from google.type import money_pb2
from massage_estimator.v1 import estimator_pb2 as pb
from massage_estimator.v1 import estimator_pb2_grpc as pb_grpc
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from service import wire
from service.cli import common, config
from service.cli.render import money_text
from service.domain.money import parse_dollars
from service.domain.suggest import did_you_mean
from service.domain.versions import version_label

MAX_CHUNK = 1000
SELF_PAY = "self-pay"
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
}
REQUIRED_COLUMNS = ("plan_id", "session_type", "minutes")

OUTPUT_COLUMNS = (
    "row_id",
    "status",
    "covered",
    "patient_pays",
    "plan_pays",
    "allowed_amount",
    "clinic_charge",
    "cpt_code",
    "billed_units",
    "covered_units",
    "sessions_remaining",
    "prior_authorization_required",
    "missing",
    "rule_version",
    "reasons",
    "error_code",
    "error_message",
)

# Input words -> proto numbers; an empty cell means the first word (the default).
_REFERRAL = {"": pb.REFERRAL_KIND_NONE, **{k.value: n for k, n in wire.REFERRAL_KINDS.items()}}
_NETWORK = {"": pb.NETWORK_IN, **{k.value: n for k, n in wire.NETWORKS.items()}}
_INJURY = {"": pb.INJURY_NONE, **{k.value: n for k, n in wire.INJURIES.items()}}
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"", "false", "no", "n", "0"}

# Server field paths (after "sessions[i].") -> the input column a clerk can fix.
_FIELD_TO_COLUMN = {
    "referral.kind": "referral",
    "referral.issue_date": "referral_date",
    "accumulators.deductible_met": "deductible_met",
    "accumulators.out_of_pocket_met": "oop_met",
    "accumulators.visits_used": "visits_used",
    "prior_authorization_on_file": "prior_auth_on_file",
}


class Format(enum.StrEnum):
    csv = "csv"
    jsonl = "jsonl"


T = TypeVar("T")


class BatchAborted(Exception):
    """The service could not be reached or refused a whole chunk: stop with exit 1."""


# ---------------------------------------------------------------- rows


@dataclass
class Row:
    """One input row: the request to send, or why it cannot be sent."""

    number: int
    row_id: str
    details: pb.SessionDetails | None = None
    error_code: str = ""
    error_message: str = ""


@dataclass
class Summary:
    """What a batch did, for the closing line."""

    rows: int = 0
    covered: int = 0
    not_covered: int = 0
    errors: int = 0
    seconds: float = 0.0
    error_codes: dict[str, int] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def count(self, out: Mapping[str, Any]) -> None:
        self.rows += 1
        if out["status"] == "covered":
            self.covered += 1
        elif out["status"] == "not_covered":
            self.not_covered += 1
        else:
            self.errors += 1
            code = str(out["error_code"])
            self.error_codes[code] = self.error_codes.get(code, 0) + 1


def _text(value: Any) -> str:
    """A cell as text: JSON Lines values may be numbers, booleans or lists."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # JSON writers often put 60 as 60.0
    if isinstance(value, list):
        return ";".join(_text(v) for v in value)
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


def parse_row(
    number: int,
    raw: Mapping[str, Any],
    session_types: list[str] | None,
    plan_ids: list[str] | None = None,
) -> Row:
    """The SessionDetails a row describes, or every problem in it, "; "-joined as the
    service joins its field violations (range checks and the rules are the server's; this
    only catches what cannot be put into a request)."""
    cells = {k: _text(v) for k, v in raw.items() if k is not None}
    row = Row(number=number, row_id=cells.get("row_id") or str(number))
    if None in raw:
        row.error_code, row.error_message = (
            "INVALID_ARGUMENT",
            "row: has more fields than the header",
        )
        return row
    problems: list[str] = []
    plan_unknown = False

    def check(parse: Callable[[], T], fallback: T) -> T:
        try:
            return parse()
        except _RowError as exc:
            problems.append(str(exc))
            return fallback

    for column in REQUIRED_COLUMNS:
        if not cells.get(column):
            problems.append(f"{column}: required")
    plan_id = cells.get("plan_id", "")
    if plan_id and plan_ids is not None and plan_id != SELF_PAY and plan_id not in plan_ids:
        plan_unknown = True
        problems.append(f"plan_id: {common.plan_id_problem(plan_id, plan_ids)}")
    session_type = cells.get("session_type", "")
    if session_type and session_types is not None:
        problem = common.session_type_problem(session_type, session_types)
        if problem:
            problems.append(f"session_type: {problem}")
    minutes = check(lambda: _int(cells["minutes"], "minutes"), 0) if cells.get("minutes") else 0
    details = pb.SessionDetails(
        plan_id=plan_id,
        session_type=session_type,
        minutes=minutes,
        referral=pb.Referral(
            kind=check(
                lambda: _choice(cells.get("referral", ""), "referral", _REFERRAL),
                pb.REFERRAL_KIND_NONE,
            )
        ),
        diagnosis_codes=cells.get("diagnosis_codes", "").replace(";", " ").split(),
        network=check(
            lambda: _choice(cells.get("network", ""), "network", _NETWORK), pb.NETWORK_IN
        ),
        injury=check(lambda: _choice(cells.get("injury", ""), "injury", _INJURY), pb.INJURY_NONE),
        accumulators=pb.Accumulators(
            deductible_met=check(
                lambda: _money(cells.get("deductible_met", ""), "deductible_met"), None
            ),
            out_of_pocket_met=check(lambda: _money(cells.get("oop_met", ""), "oop_met"), None),
            visits_used=check(
                lambda: _int(cells.get("visits_used", ""), "visits_used", default=0), 0
            ),
        ),
        prior_authorization_on_file=check(
            lambda: _flag(cells.get("prior_auth_on_file", "")), False
        ),
    )
    if cells.get("referral_date"):
        issued = check(lambda: _day(cells["referral_date"], "referral_date"), None)
        if issued is not None:
            details.referral.issue_date.CopyFrom(wire.date_to_proto(issued))
    day = (
        check(lambda: _day(cells["date_of_service"], "date_of_service"), None)
        if cells.get("date_of_service")
        else date.today()
    )
    if day is not None:
        details.date_of_service.CopyFrom(wire.date_to_proto(day))
    if problems:
        only_plan = plan_unknown and len(problems) == 1
        row.error_code = "NOT_FOUND" if only_plan else "INVALID_ARGUMENT"
        row.error_message = "; ".join(problems)
    else:
        row.details = details
    return row


def _flag(raw: str) -> bool:
    key = raw.lower()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise _RowError("prior_auth_on_file", f"{raw!r} is not true or false")


# ---------------------------------------------------------------- reading and writing


def detect_format(
    path: Path, given: Format | None, what: str, stream_default: Format = Format.csv
) -> Format:
    """--format when given, else the extension; stdin/stdout ("-") use `stream_default`."""
    if given is not None:
        return given
    if str(path) == "-":
        return stream_default
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return Format.csv
    if suffix in (".jsonl", ".ndjson"):
        return Format.jsonl
    raise typer.BadParameter(
        f"cannot tell the format of {path} from its extension; use .csv or .jsonl, or --{what}",
        param_hint=f"--{what}",
    )


def _check_columns(columns: Iterable[str], where: str) -> None:
    names = list(COLUMNS)
    seen = [c for c in columns if c]
    unknown = [c for c in seen if c not in COLUMNS]
    if len(seen) == 1 and unknown and (";" in seen[0] or "\t" in seen[0]):
        sep = "';'" if ";" in seen[0] else "tabs"
        raise typer.BadParameter(
            f"{where}: the header {seen[0]!r} is separated by {sep}; the columns must be "
            "separated by commas (or use JSON Lines)",
            param_hint="IN",
        )
    if unknown:
        hints = "; ".join(f"{c!r}{did_you_mean(c, names)}" for c in unknown)
        raise typer.BadParameter(
            f"{where}: unknown column {hints}; known columns: {', '.join(names)}",
            param_hint="IN",
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in seen]
    if missing:
        raise typer.BadParameter(
            f"{where}: missing required column {', '.join(missing)}", param_hint="IN"
        )


def read_rows(handle: IO[str], fmt: Format, where: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number from 1, raw cells) for every data row; bad JSON becomes an error row."""
    if fmt is Format.csv:
        reader = csv.DictReader(handle)
        _check_columns(reader.fieldnames or [], where)
        for number, raw in enumerate(reader, start=1):
            yield number, dict(raw)
        return
    checked = False
    number = 0
    for line in handle:
        if not line.strip():
            continue
        number += 1
        try:
            raw = json.loads(line)
        except ValueError as exc:
            yield number, {"__invalid__": f"row: not a JSON object ({exc})"}
            continue
        if not isinstance(raw, dict):
            kind = type(raw).__name__.replace("dict", "object").replace("list", "array")
            yield number, {"__invalid__": f"row: a JSON {kind}, not an object with the columns"}
            continue
        if not checked:  # the first object stands for the header
            _check_columns(raw, where)
            checked = True
        else:
            unknown = [k for k in raw if k not in COLUMNS]
            if unknown:
                raw = {"__invalid__": f"{unknown[0]}: unknown column", **raw}
        yield number, raw


def text_encoding(path: Path) -> str:
    """UTF-16 when the file starts with its byte-order mark (Excel's "Unicode Text"), else
    UTF-8 with an optional BOM."""
    with path.open("rb") as fh:
        start = fh.read(2)
    return "utf-16" if start in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"


def count_rows(path: Path, fmt: Format) -> int | None:
    """A quick count of data rows for the progress bar (None when reading stdin)."""
    if str(path) == "-":
        return None
    with path.open("rb") as fh:
        lines = sum(1 for line in fh if line.strip())
    return max(lines - (1 if fmt is Format.csv else 0), 0)


class Writer:
    """CSV or JSON Lines output; CSV cells are text, JSON keeps booleans, numbers and lists."""

    def __init__(self, handle: IO[str], fmt: Format) -> None:
        self._handle = handle
        self._fmt = fmt
        self._csv: csv.DictWriter[str] | None = None
        if fmt is Format.csv:
            self._csv = csv.DictWriter(handle, fieldnames=OUTPUT_COLUMNS, lineterminator="\n")
            self._csv.writeheader()

    def write(self, out: Mapping[str, Any]) -> None:
        if self._csv is not None:
            self._csv.writerow({k: _text(v) for k, v in out.items()})
        else:
            self._handle.write(json.dumps(out, separators=(",", ":")) + "\n")


# ---------------------------------------------------------------- results


def estimate_row(row_id: str, est: pb.Estimate) -> dict[str, Any]:
    rv = est.rule_version
    return {
        "row_id": row_id,
        "status": "covered" if est.covered else "not_covered",
        "covered": est.covered,
        "patient_pays": money_text(est.patient_pays),
        "plan_pays": money_text(est.plan_pays),
        "allowed_amount": money_text(est.allowed_amount),
        "clinic_charge": money_text(est.clinic_charge),
        "cpt_code": est.cpt_code,
        "billed_units": est.billed_units,
        "covered_units": est.covered_units,
        "sessions_remaining": est.sessions_remaining
        if est.HasField("sessions_remaining")
        else None,
        "prior_authorization_required": est.prior_authorization_required,
        "missing": [m.code for m in est.missing],
        "rule_version": version_label(rv) if est.HasField("rule_version") else "",
        "reasons": [r.code for r in est.reasons],
        "error_code": "",
        "error_message": "",
    }


def error_row(row_id: str, code: str, message: str) -> dict[str, Any]:
    out: dict[str, Any] = dict.fromkeys(OUTPUT_COLUMNS)
    out.update(
        row_id=row_id,
        status="error",
        missing=[],
        reasons=[],
        error_code=code,
        error_message=message,
    )
    return out


def column_of(field_path: str) -> str:
    """'sessions[3].accumulators.out_of_pocket_met' -> 'oop_met' (the column to fix)."""
    path = field_path.split("].", 1)[1] if field_path.startswith("sessions[") else field_path
    path = path.removeprefix("session.")
    if path in _FIELD_TO_COLUMN:
        return _FIELD_TO_COLUMN[path]
    head = path.split("[", 1)[0]
    return _FIELD_TO_COLUMN.get(head, head)


def status_words(status: status_pb2.Status) -> tuple[str, str]:
    """(code name, message naming the column) for a row the service refused."""
    code = code_pb2.Code.Name(status.code)
    details = wire.details_of(status)
    bad = details.get("BadRequest")
    if isinstance(bad, error_details_pb2.BadRequest) and bad.field_violations:
        return code, "; ".join(
            f"{column_of(v.field)}: {v.description}" for v in bad.field_violations
        )
    resource = details.get("ResourceInfo")
    if isinstance(resource, error_details_pb2.ResourceInfo) and resource.resource_type == "plan":
        return code, f"plan_id: {status.message}"
    return code, status.message


# ---------------------------------------------------------------- sending


def quote_chunk(
    stub: pb_grpc.EstimatorServiceStub, rows: list[Row], timeout: float
) -> list[dict[str, Any]]:
    """Send the sendable rows of a chunk in one EstimateSessions call; outputs in row order."""
    outputs: list[dict[str, Any] | None] = [
        error_row(r.row_id, r.error_code, r.error_message) if r.details is None else None
        for r in rows
    ]
    sendable = [(i, r) for i, r in enumerate(rows) if r.details is not None]
    if sendable:
        request = pb.EstimateSessionsRequest(
            sessions=[r.details for _, r in sendable if r.details is not None]
        )
        try:
            response: pb.EstimateSessionsResponse = stub.EstimateSessions(request, timeout=timeout)
        except grpc.RpcError as exc:
            raise BatchAborted(_chunk_failure(exc)) from None
        if len(response.results) != len(sendable):
            raise BatchAborted(
                f"the service answered {len(response.results)} of {len(sendable)} rows"
            )
        for result in response.results:
            i, row = sendable[result.index]
            if result.HasField("estimate"):
                try:
                    outputs[i] = estimate_row(row.row_id, result.estimate)
                except ValueError as exc:  # never write a rounded amount
                    outputs[i] = error_row(row.row_id, "INTERNAL", str(exc))
            else:
                code, message = status_words(result.error)
                outputs[i] = error_row(row.row_id, code, message)
    return [o for o in outputs if o is not None]


def _chunk_failure(exc: grpc.RpcError) -> str:
    call = exc if isinstance(exc, grpc.Call) else None
    if call is None:
        return str(exc)
    code = call.code()
    if code is grpc.StatusCode.UNAVAILABLE:
        return f"cannot reach the estimator service ({call.details()})"
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        return "the service did not answer in time (try a smaller --chunk-size or --timeout)"
    hint = ""
    if code is grpc.StatusCode.INVALID_ARGUMENT and "sessions" in (call.details() or ""):
        hint = " (the service takes fewer rows per call: try a smaller --chunk-size)"
    return f"{code.name}: {call.details()}{hint}"


def run_batch(
    rows: Iterable[tuple[int, dict[str, Any]]],
    writer: Writer,
    stub: pb_grpc.EstimatorServiceStub,
    *,
    chunk_size: int,
    concurrency: int,
    timeout: float,
    session_types: list[str] | None,
    plan_ids: list[str] | None = None,
    on_progress: Any = None,
) -> Summary:
    """Parse, send chunk by chunk with `concurrency` calls in flight, write in input order."""
    summary = Summary()
    started = time.perf_counter()

    def chunks() -> Iterator[list[Row]]:
        chunk: list[Row] = []
        for number, raw in rows:
            if "__invalid__" in raw:
                row = Row(number, _text(raw.get("row_id")) or str(number))
                row.error_code, row.error_message = "INVALID_ARGUMENT", str(raw["__invalid__"])
            else:
                row = parse_row(number, raw, session_types, plan_ids)
            chunk.append(row)
            if len(chunk) >= chunk_size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def drain(future: Future[list[dict[str, Any]]]) -> None:
        results = future.result()
        for out in results:
            writer.write(out)
            summary.count(out)
        if on_progress is not None:
            on_progress(len(results))

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="batch") as pool:
        pending: deque[Future[list[dict[str, Any]]]] = deque()
        try:
            for chunk in chunks():
                pending.append(pool.submit(quote_chunk, stub, chunk, timeout))
                while len(pending) >= concurrency:
                    drain(pending.popleft())
            while pending:
                drain(pending.popleft())
        finally:
            for future in pending:
                future.cancel()
    summary.seconds = time.perf_counter() - started
    return summary


# ---------------------------------------------------------------- the command


def batch(
    input_path: Annotated[
        Path,
        typer.Argument(
            metavar="IN",
            help="Input file (.csv or .jsonl); - for stdin (CSV unless --input-format).",
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Output file (.csv or .jsonl); - for stdout, in the input's format "
            "unless --format.",
        ),
    ],
    fmt: Annotated[
        Format | None,
        typer.Option(
            "--format",
            parser=common.choice_parser(Format),
            metavar=common.choice_metavar(Format),
            help="Output format (default: from the output's extension).",
        ),
    ] = None,
    input_format: Annotated[
        Format | None,
        typer.Option(
            "--input-format",
            parser=common.choice_parser(Format),
            metavar=common.choice_metavar(Format),
            help="Input format (default: from IN's extension).",
        ),
    ] = None,
    chunk_size: Annotated[
        int,
        typer.Option("--chunk-size", min=1, max=MAX_CHUNK, help="Rows per EstimateSessions call."),
    ] = MAX_CHUNK,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=32, help="Calls in flight at once.")
    ] = 4,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar (the summary still prints).")
    ] = False,
    clinic: Annotated[
        Path | None,
        typer.Option(
            "--clinic",
            help="clinic.yaml whose session types are checked before sending "
            "(default: $MASSAGE_ESTIMATOR_CLINIC, the config file, payer_rules/clinic.yaml).",
            show_default=False,
        ),
    ] = None,
    target: common.TargetOpt = None,
    config_file: common.ConfigOpt = None,
    timeout: common.TimeoutOpt = common.DEFAULT_TIMEOUT,
) -> None:
    """Quote every row of a CSV or JSON Lines file; one output row per input row.

    Bad rows get status=error with the column and the reason; the batch goes on.
    The summary (covered / not covered / errors, quotes per second) goes to stderr.

    Examples:

      massage-estimator batch docs/batch-example.csv -o quotes.csv

      massage-estimator batch visits.jsonl -o quotes.jsonl --target estimator:50051 -q

      massage-estimator batch visits.csv -o - --format jsonl | jq .patient_pays
    """
    conn = config.resolve_or_exit(target=target, config=config_file, clinic=clinic)
    in_fmt = detect_format(input_path, input_format, "input-format")
    out_fmt = detect_format(output, fmt, "format", stream_default=in_fmt)
    if str(input_path) != "-" and not input_path.is_file():
        raise typer.BadParameter(f"{input_path} does not exist", param_hint="IN")
    session_types = common.known_session_types(conn.clinic_file)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    total = count_rows(input_path, in_fmt)
    in_handle: IO[str] = (
        io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
        if str(input_path) == "-"
        else input_path.open(encoding=text_encoding(input_path), newline="")
    )
    to_stdout = str(output) == "-"
    tmp_name = ""
    if to_stdout:
        out_handle: IO[str] = sys.stdout
    else:
        if output.is_dir():
            in_handle.close()
            raise typer.BadParameter(f"{output} is a folder; name the output file", param_hint="-o")
        try:
            fd, tmp_name = tempfile.mkstemp(
                prefix=f".{output.name}.", suffix=".part", dir=output.parent.resolve()
            )
        except OSError as exc:  # no such folder, or not writable: a usage error, no traceback
            in_handle.close()
            raise typer.BadParameter(
                f"cannot write {output}: {exc.strerror} ({output.parent})", param_hint="-o"
            ) from None
        out_handle = os.fdopen(fd, "w", encoding="utf-8", newline="")
    progress = Progress(
        TextColumn("quoting"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=quiet or not sys.stderr.isatty(),
        transient=True,
    )
    ok = False
    try:
        with config.open_channel(conn) as channel, progress:
            task = progress.add_task("rows", total=total)
            stub = pb_grpc.EstimatorServiceStub(channel)  # type: ignore[no-untyped-call]
            plan_ids = common.known_plan_ids(channel, timeout)
            summary = run_batch(
                read_rows(in_handle, in_fmt, str(input_path)),
                Writer(out_handle, out_fmt),
                stub,
                chunk_size=chunk_size,
                concurrency=concurrency,
                timeout=timeout,
                session_types=session_types,
                plan_ids=plan_ids,
                on_progress=lambda n: progress.advance(task, n),
            )
        ok = True
    except BatchAborted as exc:
        err.print(f"error: batch stopped: {exc} (target {conn.target})", markup=False)
        raise typer.Exit(common.EXIT_REFUSED) from None
    except UnicodeDecodeError as exc:  # e.g. an Excel "CSV" in Windows-1252: no traceback
        raise typer.BadParameter(
            f"{input_path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
            f'{exc.start}); save it as UTF-8 (Excel: "CSV UTF-8") and run again',
            param_hint="IN",
        ) from None
    finally:
        in_handle.close()
        if not to_stdout:
            out_handle.close()
            if ok:
                os.replace(tmp_name, output)
            else:
                Path(tmp_name).unlink(missing_ok=True)
        else:
            out_handle.flush()
    where = "stdout" if to_stdout else str(output)
    codes = ", ".join(f"{c} {n}" for c, n in sorted(summary.error_codes.items()))
    err.print(
        f"{summary.rows} rows: {summary.covered} covered, {summary.not_covered} not covered, "
        f"{summary.errors} errors{' (' + codes + ')' if codes else ''}; "
        f"{summary.seconds:.2f} s, {summary.per_second:,.0f} quotes/s; written to {where}",
        markup=False,
    )
