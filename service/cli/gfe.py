"""`massage-estimator gfe`: a No Surprises Act Good Faith Estimate for a self-pay client.

Prices come from the service (EstimateSession for one session, EstimateTreatmentPlan for a
plan, always with plan "self-pay"); the provider's name, NPI, TIN and address come from the
clinic profile (--clinic, $MASSAGE_ESTIMATOR_CLINIC, the config file's `clinic`, or the
sample payer_rules/clinic.yaml). service.gfe builds and renders the document.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from massage_estimator.v1 import estimator_pb2 as pb

from service import wire
from service.cli import common, config
from service.cli.session_flags import SessionFlags, with_session_flags
from service.domain.model import Clinic
from service.domain.money import Cents
from service.domain.validation import MAX_EVERY_DAYS, MAX_PLAN_SESSIONS
from service.gfe import (
    Client,
    GfeError,
    GoodFaithEstimate,
    ServiceLine,
    build_estimate,
    render_html,
    render_pdf,
)
from service.gfe.document import unprintable, usd

SELF_PAY = "self-pay"


def _day(value: pb.Estimate) -> date:
    return wire.date_of(value.date_of_service)


def load_clinic(path: Path, session_type: str) -> Clinic:
    """The clinic profile, or exit 2 naming the file and the problem; a session type it does
    not offer is bad usage too."""
    from service.rulefiles import load_clinic_file

    try:
        clinic = load_clinic_file(path)
    except Exception as exc:  # a missing or invalid profile is a configuration mistake
        common.err_console.print(
            f"error: cannot read the clinic profile {path}: {exc}", markup=False
        )
        raise typer.Exit(2) from None
    problem = common.session_type_problem(session_type, sorted(clinic.session_types))
    if problem:
        raise typer.BadParameter(problem, param_hint="--session-type")
    return clinic


def service_lines(
    estimates: list[pb.Estimate], clinic: Clinic, diagnosis: list[str]
) -> list[ServiceLine]:
    """One line per priced session; anything but a self-pay answer is refused."""
    lines: list[ServiceLine] = []
    for est in estimates:
        if est.coverage_basis != pb.COVERAGE_BASIS_SELF_PAY:
            raise GfeError(f"the service did not price {_day(est)} as self-pay")
        cpt = est.cpt_code or clinic.session_types[est.session_type].cpt_code
        lines.append(
            ServiceLine(
                date_of_service=_day(est),
                description=(
                    f"{est.session_type.replace('_', ' ').capitalize()} massage, "
                    f"{est.minutes} minutes"
                ),
                diagnosis_codes=tuple(diagnosis),
                cpt_code=cpt,
                units=est.billed_units,
                charge=wire.cents_from_money(est.patient_pays),
            )
        )
    return lines


ClientNameOpt = Annotated[str, typer.Option("--client-name", help="The client's full name.")]
ClientDobOpt = Annotated[datetime, common.day_option("--client-dob", "Date of birth (YYYY-MM-DD).")]
PdfOpt = Annotated[Path | None, typer.Option("--pdf", help="Write the estimate as PDF here.")]
HtmlOpt = Annotated[Path | None, typer.Option("--html", help="Write the estimate as HTML here.")]
FirstDateOpt = Annotated[
    datetime | None,
    common.day_option("--date", "Date of the (first) session (YYYY-MM-DD); default today."),
]
SessionsOpt = Annotated[
    int,
    typer.Option(
        "--sessions", min=1, max=MAX_PLAN_SESSIONS, help="Sessions in the treatment plan."
    ),
]
EveryDaysOpt = Annotated[
    int, typer.Option("--every-days", min=1, max=MAX_EVERY_DAYS, help="Days between sessions.")
]
IssuedOpt = Annotated[
    datetime | None, common.day_option("--issued", "Issue date (YYYY-MM-DD); default today.")
]
ClinicOpt = Annotated[
    Path | None,
    typer.Option(
        "--clinic",
        help="clinic.yaml with the provider's name, NPI, TIN and address (default: "
        "$MASSAGE_ESTIMATOR_CLINIC, the config file, payer_rules/clinic.yaml).",
        show_default=False,
    ),
]


@with_session_flags(self_pay=True)
def gfe(
    session: SessionFlags,
    client_name: ClientNameOpt,
    client_dob: ClientDobOpt,
    pdf: PdfOpt = None,
    html: HtmlOpt = None,
    first_date: FirstDateOpt = None,
    sessions: SessionsOpt = 1,
    every_days: EveryDaysOpt = 7,
    issued: IssuedOpt = None,
    clinic_file: ClinicOpt = None,
    target: common.TargetOpt = None,
    config_file: common.ConfigOpt = None,
    timeout: common.TimeoutOpt = common.DEFAULT_TIMEOUT,
) -> None:
    """Issue a Good Faith Estimate (No Surprises Act) for a self-pay client, as PDF and/or HTML.

    One session, or a treatment plan with --sessions N --every-days K. The charges are the
    service's self-pay estimates; the provider comes from the clinic profile.

    Examples:

      massage-estimator gfe --client-name "Jane Doe" --client-dob 1985-04-12
        --session-type deep_tissue --minutes 60 --date 2026-03-03 --diagnosis M54.50
        --pdf gfe.pdf --html gfe.html

      massage-estimator gfe --client-name "Jane Doe" --client-dob 1985-04-12
        --session-type myofascial --minutes 45 --date 2026-03-03 --sessions 6 --every-days 7
        --pdf plan-gfe.pdf
    """
    issued_on = issued.date() if issued else date.today()
    _check_usage(pdf, html, client_name, client_dob.date(), issued_on)
    conn = config.resolve_or_exit(target=target, config=config_file, clinic=clinic_file)
    clinic = load_clinic(conn.clinic_file, session["session_type"])
    start = first_date.date() if first_date else date.today()
    if session["location"]:  # the rendering location, as the service's clinic version says
        clinic = rendering_location(
            clinic, session["location"], start, target, config_file, timeout
        )
    estimates, expected_total = _price(
        session, start, sessions, every_days, target, config_file, timeout
    )
    try:
        document = build_estimate(
            clinic=clinic,
            client=Client(client_name, client_dob.date()),
            issued_on=issued_on,
            session_type=session["session_type"],
            minutes=session["minutes"],
            lines=service_lines(estimates, clinic, list(session["diagnosis"] or [])),
            every_days=every_days if sessions > 1 else None,
        )
        _check_total(expected_total, document.total)
    except GfeError as exc:
        common.err_console.print(f"error: cannot issue the estimate: {exc}", markup=False)
        raise typer.Exit(common.EXIT_REFUSED) from None
    written = _write(document, pdf, html)
    typer.echo(
        f"Good Faith Estimate for {document.client.name}: {len(document.lines)} "
        f"session{'s' if len(document.lines) != 1 else ''} ({document.dates_text()}), "
        f"total {usd(document.total)}; wrote {', '.join(written)}"
    )


def rendering_location(
    clinic: Clinic,
    location_id: str,
    day: date,
    target: str | None,
    config_file: Path | None,
    timeout: float,
) -> Clinic:
    """The clinic profile with the name, NPI, TIN and address of the location that renders
    the service, from the clinic version the service prices `day` with."""
    from service.cli.clinics import locations_for

    answer = locations_for(target, config_file, timeout, day, location_id)
    (loc,) = answer.locations
    return dataclasses.replace(
        clinic, name=loc.name, npi=loc.npi, tin=loc.tin, address_lines=tuple(loc.address_lines)
    )


def _check_usage(
    pdf: Path | None, html: Path | None, client_name: str, dob: date, issued_on: date
) -> None:
    """Refuse what cannot make an estimate before asking the service (exit 2)."""
    if pdf is None and html is None:
        raise typer.BadParameter("give --pdf FILE, --html FILE or both", param_hint="--pdf")
    if not client_name.strip():
        raise typer.BadParameter("the client's name is required", param_hint="--client-name")
    if unprintable(client_name):
        raise typer.BadParameter(
            f"{unprintable(client_name)!r} cannot be printed on the estimate; "
            "give the name in Latin letters",
            param_hint="--client-name",
        )
    if dob > issued_on:
        raise typer.BadParameter(
            f"{dob} is after the issue date {issued_on}", param_hint="--client-dob"
        )


def _price(
    session: SessionFlags,
    start: date,
    sessions: int,
    every_days: int,
    target: str | None,
    config_file: Path | None,
    timeout: float,
) -> tuple[list[pb.Estimate], Cents | None]:
    """The service's self-pay estimates, and for a plan its total (to check against)."""
    if sessions == 1:
        single = pb.EstimateSessionRequest(session=session.details(start, plan=SELF_PAY))
        one: pb.EstimateSessionResponse = common.call_service(
            target, lambda stub: stub.EstimateSession(single, timeout=timeout), config_file
        )
        return [one.estimate], None
    planned = pb.EstimateTreatmentPlanRequest(
        session=session.details(None, plan=SELF_PAY),
        recurrence=pb.Recurrence(
            start_date=wire.date_to_proto(start), session_count=sessions, every_days=every_days
        ),
    )
    many: pb.EstimateTreatmentPlanResponse = common.call_service(
        target, lambda stub: stub.EstimateTreatmentPlan(planned, timeout=timeout), config_file
    )
    return list(many.sessions), wire.cents_from_money(many.total_patient_pays)


def _write(document: GoodFaithEstimate, pdf: Path | None, html: Path | None) -> list[str]:
    """Write the estimate where asked; a file that cannot be written is bad usage (exit 2)."""
    written: list[str] = []
    try:
        if pdf is not None:
            pdf.write_bytes(render_pdf(document))
            written.append(str(pdf))
        if html is not None:
            html.write_text(render_html(document), encoding="utf-8")
            written.append(str(html))
    except OSError as exc:
        common.err_console.print(f"error: cannot write the estimate: {exc}", markup=False)
        raise typer.Exit(2) from None
    return written


def _check_total(expected: Cents | None, total: Cents) -> None:
    """A treatment plan's sessions must add up to the total the service gave."""
    if expected is not None and expected != total:
        raise GfeError(
            f"the service's total {usd(expected)} differs from the sum of its sessions {usd(total)}"
        )
