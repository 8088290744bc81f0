"""`massage-estimator rules impact DRAFT.yaml`: what a draft rule set would change, before
it is published (PayerRulesService.PreviewImpact on a running server; nothing is published).

The sessions are the quotes saved for the draft payer's plans since a day (--quotes-since,
optionally --quotes-until), or a batch file in the `batch` command's format (--batch FILE).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from massage_estimator.v1 import payer_rules_pb2 as rpb
from rich.table import Table

from service import wire
from service.cli import common, render
from service.cli.batch import files, rows
from service.cli.rules import add_row, call_rules, print_table, problem_lines, read_file, table


def _day(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=flag) from None


def _batch(path: Path) -> rpb.PreviewImpactBatch:
    """The batch file's sessions; a row that cannot be put into a request is a usage error."""
    fmt = files.detect_format(path, None, "batch")
    batch = rpb.PreviewImpactBatch()
    problems = []
    with path.open(encoding=files.text_encoding(path), newline="") as handle:
        for number, raw in files.read_rows(handle, fmt, str(path)):
            invalid = raw.pop("__invalid__", None)
            row = rows.parse_row(number, raw, None)
            if invalid or row.details is None:
                problems.append(f"row {number}: {invalid or row.error_message}")
                continue
            batch.sessions.append(row.details)
    if problems:
        raise typer.BadParameter("; ".join(problems[:5]), param_hint="--batch")
    if not batch.sessions:
        raise typer.BadParameter(f"{path} has no sessions", param_hint="--batch")
    return batch


def _who(line: rpb.PreviewImpactLine) -> str:
    return line.quote_id or f"row {line.batch_index + 1}"


def _covered(flag: bool) -> str:
    return "covered" if flag else "not covered"


def impact(
    draft: Annotated[
        Path,
        typer.Argument(
            metavar="DRAFT",
            help="The draft rule-set file (YAML or JSON); it is not published.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    quotes_since: Annotated[
        str | None,
        typer.Option(
            "--quotes-since", help="Price the quotes saved from this day on (YYYY-MM-DD, UTC)."
        ),
    ] = None,
    quotes_until: Annotated[
        str | None,
        typer.Option("--quotes-until", help="With --quotes-since: the last day (inclusive)."),
    ] = None,
    batch_file: Annotated[
        Path | None,
        typer.Option(
            "--batch",
            help="Price the sessions of this batch file (.csv or .jsonl, as `batch` reads).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    target: common.TargetOpt = common.DEFAULT_TARGET,
    config_file: common.ConfigOpt = None,
    timeout: common.TimeoutOpt = 60.0,
    as_json: common.JsonOpt = False,
) -> None:
    """What a draft rule set would change: sessions priced under the published rules and
    under the draft, without publishing it.

    Examples:

      massage-estimator rules impact acme-2026-draft.yaml --quotes-since 2026-03-01

      massage-estimator rules impact acme-2026-draft.yaml --batch sessions.csv --json
    """
    if (quotes_since is None) == (batch_file is None):
        raise typer.BadParameter("give --quotes-since DATE or --batch FILE (one of them)")
    if quotes_until is not None and quotes_since is None:
        raise typer.BadParameter("needs --quotes-since", param_hint="--quotes-until")
    request = rpb.PreviewImpactRequest(content=read_file(draft), source=draft.name)
    if batch_file is not None:
        request.batch.CopyFrom(_batch(batch_file))
    else:
        since = _day(quotes_since, "--quotes-since")
        assert since is not None
        request.saved_quotes.saved_from.CopyFrom(wire.date_to_proto(since))
        until = _day(quotes_until, "--quotes-until")
        if until is not None:
            request.saved_quotes.saved_to.CopyFrom(wire.date_to_proto(until))
    response: rpb.PreviewImpactResponse = call_rules(
        target, lambda stub: stub.PreviewImpact(request, timeout=timeout), config_file
    )
    if as_json:
        common.print_json(response)
        return
    _print_report(response)


def _print_report(r: rpb.PreviewImpactResponse) -> None:
    echo = typer.echo
    echo(f"{r.payer_id} {r.draft_version} (draft, not published): {r.session_count} session(s)")
    for text in problem_lines(r.problems):
        echo(text)
    echo(f"changed: {r.changed_count}")
    echo(f"patients pay: {render.usd(r.before.patient_pays)} -> {render.usd(r.after.patient_pays)}")
    echo(f"plans pay:    {render.usd(r.before.plan_pays)} -> {render.usd(r.after.plan_pays)}")
    if r.largest_changes:
        out = table("largest changes in what the patient pays", _COLUMNS)
        for line in r.largest_changes:
            _row(out, line)
        print_table(out)
    if r.coverage_flips:
        out = table("coverage flips", _COLUMNS)
        for line in r.coverage_flips:
            _row(out, line)
        print_table(out)
    for line in r.failures:
        echo(
            f"not priced: {_who(line)} {line.plan_id}: "
            f"{line.error_before or 'ok'} -> {line.error_after or 'ok'}"
        )


_COLUMNS = ("quote", "plan", "date", "before", "after", "change", "reasons after")


def _row(out: Table, line: rpb.PreviewImpactLine) -> None:
    add_row(
        out,
        _who(line),
        line.plan_id,
        render.day(line.date_of_service),
        f"{render.usd(line.patient_pays_before)} {_covered(line.covered_before)}",
        f"{render.usd(line.patient_pays_after)} {_covered(line.covered_after)}",
        render.usd(line.patient_pays_change),
        ", ".join(line.reasons_after),
    )
