"""Readable tables for estimates and treatment plans (the CLI's default output)."""

from __future__ import annotations

import shutil

from google.type import date_pb2, money_pb2
from massage_estimator.v1 import estimator_pb2 as pb
from rich import box
from rich.console import Console
from rich.table import Table

from service.api.convert import cents_from_money
from service.domain.money import format_usd

# Tables need about 110 columns; never squeeze them below 120 (a pipe reports 80).
console = Console(highlight=False, width=max(shutil.get_terminal_size((120, 24)).columns, 120))


def usd(value: money_pb2.Money) -> str:
    return format_usd(cents_from_money(value))


def day(value: date_pb2.Date) -> str:
    if value.year == 0:
        return "-"
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


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


def render_estimate(est: pb.Estimate) -> None:
    """One estimate: summary, line items, reasons, what is missing, the rule version."""
    title = f"{est.plan_id} · {est.session_type} · {est.minutes} min · {day(est.date_of_service)}"
    summary = Table(title=title, box=box.SIMPLE, show_header=False, title_justify="left")
    summary.add_column("field", style="bold")
    summary.add_column("value")
    basis = _enum_label(pb.CoverageBasis, est.coverage_basis, "COVERAGE_BASIS_")
    summary.add_row("covered", f"{'yes' if est.covered else 'no'} ({basis})")
    if est.cpt_code:
        method = _enum_label(pb.UnitMethod, est.unit_method, "UNIT_METHOD_")
        summary.add_row(
            "units",
            f"{est.cpt_code}: {est.billed_units} billed, {est.covered_units} covered ({method})",
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
        console.print(items)

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
    console.print(table)
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
