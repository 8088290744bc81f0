"""Batch files: CSV or JSON Lines in, the same out; the header checked before any row is
sent, and the encodings clerks' spreadsheets write."""

from __future__ import annotations

import csv
import enum
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import typer

from service.cli.batch.rows import COLUMNS, REQUIRED_COLUMNS, cell_text
from service.domain.suggest import did_you_mean

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
    "benefit_remaining",
    "prior_authorization_required",
    "missing",
    "rule_version",
    "reasons",
    "eligibility_disagreements",
    "error_code",
    "error_message",
)


class Format(enum.StrEnum):
    csv = "csv"
    jsonl = "jsonl"


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
            self._csv.writerow({k: cell_text(v) for k, v in out.items()})
        else:
            self._handle.write(json.dumps(out, separators=(",", ":")) + "\n")
