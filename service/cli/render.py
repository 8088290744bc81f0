"""Readable tables for estimates and treatment plans (the CLI's default output)."""

from __future__ import annotations

import shutil
from collections.abc import Sequence

from google.type import money_pb2
from massage_estimator.v1 import estimator_pb2 as pb
from rich import box
from rich.console import Console, Group
from rich.measure import Measurement
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from service.domain.money import dollars_str, format_usd
from service.wire import cents_from_money, date_text


def terminal_width() -> int:
    """The terminal's columns ($COLUMNS first), 120 when that cannot be told."""
    return shutil.get_terminal_size((120, 24)).columns


# On a terminal, its own width: a wider line is broken by the terminal mid-cell. In a pipe
# (which reports 80), at least 120 columns, so tables stay one line per row.
console = Console(highlight=False)
if not console.is_terminal:
    console = Console(highlight=False, width=max(terminal_width(), 120))


def _cells(t: Table, index: int) -> list[str]:
    column = t.columns[index]
    return [str(column.header), str(column.footer), *(str(c) for c in column.cells)]


def fit_to_width(t: Table, width: int, hide_first: Sequence[str]) -> list[str]:
    """Give each column a width so the table fits `width` while cells wrap only at spaces
    (an id, a date or a path is never cut); when even that cannot fit, hide the columns of
    `hide_first` in that order. Rich's own squeezing cuts every column mid-word instead.
    Returns the headers hidden."""
    hidden: list[str] = []
    console = Console(width=10_000)
    while True:
        longest = [max(len(c) for c in _cells(t, i)) for i in range(len(t.columns))]
        shortest = [
            max((len(w) for c in _cells(t, i) for w in c.split()), default=1)
            for i in range(len(t.columns))
        ]
        # edges, padding and dividers: what the table needs beyond its cells' text
        natural = Measurement.get(console, console.options, t).maximum
        room = width - (natural - sum(longest))
        if sum(longest) <= room:
            return hidden
        if sum(shortest) <= room:
            break
        names = [str(c.header) for c in t.columns]
        drop = next((h for h in hide_first if h in names), None)
        if drop is None:
            return hidden  # nothing more to hide: rich squeezes what is left
        index = names.index(drop)
        t.columns.pop(index)
        for i, column in enumerate(t.columns):
            column._index = i
        hidden.append(drop)
    widths = list(longest)
    while sum(widths) > room:  # narrow the widest column that can still wrap at a space
        candidates = [i for i in range(len(widths)) if widths[i] > shortest[i]]
        i = max(candidates, key=lambda k: widths[k])
        widths[i] -= 1
    for column, w in zip(t.columns, widths, strict=True):
        column.width = w
        column.no_wrap = False
        column.overflow = "fold"
    return hidden


def print_fitted(t: Table, hide_first: Sequence[str] = ()) -> None:
    """Print on the terminal at its width (see fit_to_width), saying which columns it hid."""
    width = terminal_width()
    hidden = fit_to_width(t, width, hide_first)
    Console(highlight=False, width=width, soft_wrap=False).print(t)
    if hidden:
        console.print(f"(hidden at {width} columns: {', '.join(hidden)}; --json shows all)")


def _print_table(t: Table, hide_first: Sequence[str] = ()) -> None:
    if console.is_terminal:
        print_fitted(t, hide_first)
    else:
        console.print(t)


def usd(value: money_pb2.Money) -> str:
    """$1,234.56 (a fraction of a cent is a ValueError, never rounded)."""
    return format_usd(cents_from_money(value))


def money_text(value: money_pb2.Money) -> str:
    """1234.56, without the dollar sign, for files and JSON (a fraction of a cent is a
    ValueError, never rounded)."""
    return dollars_str(cents_from_money(value))


day = date_text


def _enum_label(enum_type: object, number: int, prefix: str) -> str:
    name: str = enum_type.Name(number)  # type: ignore[attr-defined]
    return name.removeprefix(prefix).lower().replace("_", " ")


def rule_version_line(est: pb.Estimate) -> str:
    if not est.HasField("rule_version"):
        return "rule version: none (self-pay, the clinic's cash prices)"
    rv = est.rule_version
    end = day(rv.effective_to) if rv.HasField("effective_to") else "open-ended"
    return (
        f"rule version: {rv.payer_name} ({rv.payer_id}) {rv.version}, plan {rv.plan_name} "
        f"({rv.plan_id}), effective {day(rv.effective_from)} to {end}"
    )


def render_eligibility(check: pb.EligibilityCheck) -> None:
    """What a payer's 271 filled in and, first and boxed, where it disagrees with the rule
    table that priced the quote (a stale fee schedule or copay must not go unnoticed)."""
    if check.disagreements:
        table = Table(box=box.SIMPLE_HEAD)
        for column in ("term", "rule table", "payer's 271", "service type"):
            table.add_column(column)
        for x in check.disagreements:
            table.add_row(
                x.term.replace("_", " "), x.rule_value, x.eligibility_value, x.service_type
            )
        console.print(
            Panel(
                Group(
                    table,
                    Text(
                        f"This quote was priced by {check.priced_by}. Check the "
                        "plan with the payer before you rely on it."
                    ),
                ),
                title=f"THE PAYER'S 271 DISAGREES WITH THE RULE TABLE ON "
                f"{len(check.disagreements)} TERM{'S' if len(check.disagreements) > 1 else ''}",
                border_style="bold red",
            )
        )
    elif not check.notes:
        console.print(f"The payer's 271 agrees with {check.priced_by}.", markup=False)
    if check.notes:
        console.print("[bold]The payer's 271 also says[/bold]")
        for note in check.notes:
            console.print(f"  {note}", markup=False)
    if check.applied:
        console.print("[bold]From the payer's 271[/bold]")
        for figure in check.applied:
            console.print(
                f"  {figure.field.replace('_', ' ')}: {figure.amount} ({figure.explanation})",
                markup=False,
            )


def render_estimate(est: pb.Estimate) -> None:
    """One estimate: summary, line items, reasons, what is missing, the rule version."""
    if est.HasField("eligibility"):
        render_eligibility(est.eligibility)
    title = f"{est.plan_id} · {est.session_type} · {est.minutes} min · {day(est.date_of_service)}"
    summary = Table(title=title, box=box.SIMPLE, show_header=False, title_justify="left")
    summary.add_column("field", style="bold")
    summary.add_column("value")
    basis = _enum_label(pb.CoverageBasis, est.coverage_basis, "COVERAGE_BASIS_")
    summary.add_row("covered", f"{'yes' if est.covered else 'no'} ({basis})")
    if est.cpt_code:
        method = _enum_label(pb.UnitMethod, est.unit_method, "UNIT_METHOD_")
        how = f" ({method})" if est.unit_method != pb.UNIT_METHOD_UNSPECIFIED else ""
        summary.add_row(
            "units", f"{est.cpt_code}: {est.billed_units} billed, {est.covered_units} covered{how}"
        )
    if est.location_id:
        source = _enum_label(pb.ClinicNetworkSource, est.network_source, "CLINIC_NETWORK_SOURCE_")
        cv = est.clinic_version
        summary.add_row(
            "location",
            f"{est.location_id} (clinic {cv.clinic_id} {cv.version}"
            + (f"; network from the {source})" if est.network_source else ")"),
        )
    summary.add_row("clinic charge", usd(est.clinic_charge))
    summary.add_row("allowed amount", usd(est.allowed_amount))
    summary.add_row("plan pays", usd(est.plan_pays))
    summary.add_row("patient pays", usd(est.patient_pays))
    if est.HasField("sessions_remaining"):
        limit = f" of {est.visit_limit}" if est.HasField("visit_limit") else ""
        others = [s for s in est.visit_limit_shared_with if s != "massage"]
        shared = f", shared with {', '.join(others)}" if others else ", massage only"
        summary.add_row("sessions remaining", f"{est.sessions_remaining}{limit}{shared}")
    if est.HasField("benefit_remaining"):
        summary.add_row("plan maximum left", f"{usd(est.benefit_remaining)} this benefit period")
    summary.add_row("prior authorization", "required" if est.prior_authorization_required else "no")
    summary.add_row("HSA eligible", "yes" if est.hsa_eligible else "no")
    if est.HasField("benefit_period"):
        bp = est.benefit_period
        summary.add_row("benefit period", f"{day(bp.start_date)} to {day(bp.end_date)}")
    console.print(summary)

    if est.line_items:
        items = Table(title="Line items", box=box.SIMPLE_HEAD, title_justify="left")
        items.add_column("kind")
        items.add_column("description")
        items.add_column("units", justify="right")
        items.add_column("per unit", justify="right")
        items.add_column("amount", justify="right")
        for item in est.line_items:
            items.add_row(
                _enum_label(pb.LineItemKind, item.kind, "LINE_ITEM_KIND_"),
                item.description,
                str(item.units) if item.units else "",
                usd(item.unit_amount) if item.HasField("unit_amount") else "",
                usd(item.amount),
            )
        _print_table(items)

    if est.reasons:
        console.print("[bold]Reasons[/bold]")
        for reason in est.reasons:
            console.print(f"  {reason.code}: {reason.message}", markup=False)
    if est.missing:
        console.print("[bold]Missing[/bold]")
        for req in est.missing:
            console.print(f"  {req.code}: {req.message}", markup=False)
    console.print(rule_version_line(est), markup=False)


def render_plan(resp: pb.EstimateTreatmentPlanResponse) -> None:
    """A treatment plan: one row per session, the totals, then why sessions are not covered."""
    if resp.HasField("eligibility"):
        render_eligibility(resp.eligibility)
    first = resp.sessions[0] if resp.sessions else None
    title = (
        f"Treatment plan: {first.plan_id} · {first.session_type} · {first.minutes} min · "
        f"{len(resp.sessions)} sessions"
        if first is not None
        else "Treatment plan"
    )
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", show_footer=True)
    table.add_column("#", justify="right", footer="")
    table.add_column("date", footer="total")
    table.add_column("covered", footer=f"{resp.covered_session_count} covered")
    table.add_column("units", justify="right", footer="")
    table.add_column("allowed", justify="right", footer=usd(resp.total_allowed_amount))
    table.add_column("plan pays", justify="right", footer=usd(resp.total_plan_pays))
    table.add_column("patient pays", justify="right", footer=usd(resp.total_patient_pays))
    table.add_column("remaining", justify="right", footer="")
    table.add_column("version", footer="")
    for i, est in enumerate(resp.sessions, start=1):
        table.add_row(
            str(i),
            day(est.date_of_service),
            "yes" if est.covered else "no",
            f"{est.covered_units}/{est.billed_units}",
            usd(est.allowed_amount),
            usd(est.plan_pays),
            usd(est.patient_pays),
            str(est.sessions_remaining) if est.HasField("sessions_remaining") else "-",
            est.rule_version.version if est.HasField("rule_version") else "self-pay",
        )
    _print_table(table, ("units", "allowed", "remaining", "version"))
    shown: set[tuple[str, str]] = set()
    notes: list[str] = []
    for i, est in enumerate(resp.sessions, start=1):
        if est.covered and not est.missing:
            continue
        for reason in est.reasons if not est.covered else ():
            key = (reason.code, reason.message)
            if key not in shown:
                shown.add(key)
                notes.append(f"  from session {i}: {reason.code}: {reason.message}")
        for req in est.missing:
            key = (req.code, req.message)
            if key not in shown:
                shown.add(key)
                notes.append(f"  from session {i}: missing {req.code}: {req.message}")
    if notes:
        console.print("[bold]Not covered or missing[/bold]")
        for line in notes:
            console.print(line, markup=False)
    versions = {rule_version_line(est) for est in resp.sessions if est.HasField("rule_version")}
    for line in sorted(versions):
        console.print(line, markup=False)
