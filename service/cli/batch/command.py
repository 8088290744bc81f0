"""`massage-estimator batch`: the command (see the package docstring)."""

from __future__ import annotations

import io
import os
import sys
import tempfile
from pathlib import Path
from typing import IO, Annotated, Any

import typer
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

from service.cli import common, config
from service.cli.batch.files import (
    Format,
    Writer,
    count_rows,
    detect_format,
    read_rows,
    text_encoding,
)
from service.cli.batch.sending import BatchAborted, Summary, run_batch

MAX_CHUNK = 1000


InputArg = Annotated[
    Path,
    typer.Argument(
        metavar="IN",
        help="Input file (.csv or .jsonl); - for stdin (CSV unless --input-format).",
    ),
]
OutputOpt = Annotated[
    Path,
    typer.Option(
        "--output",
        "-o",
        help="Output file (.csv or .jsonl); - for stdout, in the input's format unless --format.",
    ),
]


def _format_option(flag: str, help: str) -> Any:
    return typer.Option(
        flag, parser=common.choice_parser(Format), metavar=common.choice_metavar(Format), help=help
    )


FormatOpt = Annotated[
    Format | None,
    _format_option("--format", "Output format (default: from the output's extension)."),
]
InputFormatOpt = Annotated[
    Format | None, _format_option("--input-format", "Input format (default: from IN's extension).")
]
ChunkSizeOpt = Annotated[
    int, typer.Option("--chunk-size", min=1, max=MAX_CHUNK, help="Rows per EstimateSessions call.")
]
ConcurrencyOpt = Annotated[
    int, typer.Option("--concurrency", min=1, max=32, help="Calls in flight at once.")
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bar (the summary still prints).")
]
ClinicOpt = Annotated[
    Path | None,
    typer.Option(
        "--clinic",
        help="clinic.yaml whose session types are checked before sending "
        "(default: $MASSAGE_ESTIMATOR_CLINIC, the config file, payer_rules/clinic.yaml).",
        show_default=False,
    ),
]


def batch(
    input_path: InputArg,
    output: OutputOpt,
    fmt: FormatOpt = None,
    input_format: InputFormatOpt = None,
    chunk_size: ChunkSizeOpt = MAX_CHUNK,
    concurrency: ConcurrencyOpt = 4,
    quiet: QuietOpt = False,
    clinic: ClinicOpt = None,
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
    total, in_handle = count_rows(input_path, in_fmt), _open_input(input_path)
    out = _Output(output, in_handle)
    progress = _progress(err, quiet)
    try:
        with config.open_channel(conn) as channel, progress:
            task = progress.add_task("rows", total=total)
            summary = run_batch(
                read_rows(in_handle, in_fmt, str(input_path)),
                Writer(out.handle, out_fmt),
                pb_grpc.EstimatorServiceStub(channel),  # type: ignore[no-untyped-call]
                chunk_size=chunk_size,
                concurrency=concurrency,
                timeout=timeout,
                session_types=session_types,
                plan_ids=common.known_plan_ids(channel, timeout),
                on_progress=lambda n: progress.advance(task, n),
            )
        out.complete = True
    except BatchAborted as exc:
        err.print(f"error: batch stopped: {exc} (target {conn.target})", markup=False)
        raise typer.Exit(common.EXIT_REFUSED) from None
    except UnicodeDecodeError as exc:  # e.g. an Excel "CSV" in Windows-1252: no traceback
        raise _not_utf8(input_path, exc) from None
    finally:
        in_handle.close()
        out.close()
    err.print(_summary_line(summary, out.where), markup=False)


def _open_input(path: Path) -> IO[str]:
    """The input as text: stdin (UTF-8), or the file in the encoding it starts with."""
    if str(path) == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
    return path.open(encoding=text_encoding(path), newline="")


class _Output:
    """stdout, or a temporary file beside OUT that becomes OUT only when the batch completes,
    so a failed run never leaves half a file. A folder, a missing or unwritable one is bad
    usage (exit 2), with the input closed."""

    def __init__(self, output: Path, in_handle: IO[str]) -> None:
        self.output = output
        self.to_stdout = str(output) == "-"
        self.where = "stdout" if self.to_stdout else str(output)
        self.complete = False
        self._tmp_name = ""
        if self.to_stdout:
            self.handle: IO[str] = sys.stdout
            return
        if output.is_dir():
            in_handle.close()
            raise typer.BadParameter(f"{output} is a folder; name the output file", param_hint="-o")
        try:
            fd, self._tmp_name = tempfile.mkstemp(
                prefix=f".{output.name}.", suffix=".part", dir=output.parent.resolve()
            )
        except OSError as exc:  # no such folder, or not writable: a usage error, no traceback
            in_handle.close()
            raise typer.BadParameter(
                f"cannot write {output}: {exc.strerror} ({output.parent})", param_hint="-o"
            ) from None
        self.handle = os.fdopen(fd, "w", encoding="utf-8", newline="")

    def close(self) -> None:
        if self.to_stdout:
            self.handle.flush()
            return
        self.handle.close()
        if self.complete:
            os.replace(self._tmp_name, self.output)
        else:
            Path(self._tmp_name).unlink(missing_ok=True)


def _progress(err: Console, quiet: bool) -> Progress:
    """A progress bar on stderr, only on a terminal and unless --quiet."""
    return Progress(
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


def _summary_line(summary: Summary, where: str) -> str:
    codes = ", ".join(f"{c} {n}" for c, n in sorted(summary.error_codes.items()))
    return (
        f"{summary.rows} rows: {summary.covered} covered, {summary.not_covered} not covered, "
        f"{summary.errors} errors{' (' + codes + ')' if codes else ''}; "
        f"{summary.seconds:.2f} s, {summary.per_second:,.0f} quotes/s; written to {where}"
    )


def _not_utf8(path: Path, exc: UnicodeDecodeError) -> typer.BadParameter:
    return typer.BadParameter(
        f"{path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
        f'{exc.start}); save it as UTF-8 (Excel: "CSV UTF-8") and run again',
        param_hint="IN",
    )
