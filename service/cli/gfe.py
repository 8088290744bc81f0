"""`massage-estimator gfe`: a No Surprises Act Good Faith Estimate for a self-pay client.

Prices come from the service (EstimateSession for one session, EstimateTreatmentPlan for a
plan, always with plan "self-pay"); the provider's name, NPI, TIN and address come from the
clinic profile (--clinic, $MASSAGE_ESTIMATOR_CLINIC, the config file's `clinic`, or the
sample payer_rules/clinic.yaml). service.gfe builds and renders the document.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from massage_estimator.v1 import estimator_pb2 as pb

from service.api.convert import date_to_proto
from service.cli import common, config
from service.cli.batch import money_text
from service.domain.model import Clinic
from service.domain.money import parse_dollars
from service.gfe import Client, GfeError, ServiceLine, build_estimate, render_html, render_pdf
from service.gfe.document import unprintable, usd

SELF_PAY = "self-pay"


def _day(value: pb.Estimate) -> date:
    d = value.date_of_service
    return date(d.year, d.month, d.day)


def load_clinic(path: Path) -> Clinic:
    """The clinic profile, or exit 2 naming the file and the problem."""
    from service.rulefiles import load_clinic_file

    try:
        return load_clinic_file(path)
    except Exception as exc:  # a missing or invalid profile is a configuration mistake
        common.err_console.print(
            f"error: cannot read the clinic profile {path}: {exc}", markup=False
        )
        raise typer.Exit(2) from None


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
                charge=parse_dollars(money_text(est.patient_pays)),
            )
        )
    return lines


def gfe(
    client_name: Annotated[str, typer.Option("--client-name", help="The client's full name.")],
    client_dob: Annotated[
        datetime,
        typer.Option(
            "--client-dob",
            parser=common.parse_day,
            metavar="YYYY-MM-DD",
            help="Date of birth (YYYY-MM-DD).",
        ),
    ],
    session_type: common.SessionTypeOpt,
    minutes: common.MinutesOpt,
    pdf: Annotated[
        Path | None, typer.Option("--pdf", help="Write the estimate as PDF here.")
    ] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write the estimate as HTML here.")
    ] = None,
    first_date: Annotated[
        datetime | None,
        typer.Option(
            "--date",
            parser=common.parse_day,
            metavar="YYYY-MM-DD",
            help="Date of the (first) session (YYYY-MM-DD); default today.",
        ),
    ] = None,
    sessions: Annotated[
        int, typer.Option("--sessions", min=1, max=366, help="Sessions in the treatment plan.")
    ] = 1,
    every_days: Annotated[
        int, typer.Option("--every-days", min=1, max=365, help="Days between sessions.")
    ] = 7,
    diagnosis: common.DiagnosisOpt = None,
    issued: Annotated[
        datetime | None,
        typer.Option(
            "--issued",
            parser=common.parse_day,
            metavar="YYYY-MM-DD",
            help="Issue date (YYYY-MM-DD); default today.",
        ),
    ] = None,
    clinic_file: Annotated[
        Path | None,
        typer.Option(
            "--clinic",
            help="clinic.yaml with the provider's name, NPI, TIN and address (default: "
            "$MASSAGE_ESTIMATOR_CLINIC, the config file, payer_rules/clinic.yaml).",
            show_default=False,
        ),
    ] = None,
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
    if pdf is None and html is None:
        raise typer.BadParameter("give --pdf FILE, --html FILE or both", param_hint="--pdf")
    issued_on = issued.date() if issued else date.today()
    if not client_name.strip():
        raise typer.BadParameter("the client's name is required", param_hint="--client-name")
    if unprintable(client_name):
        raise typer.BadParameter(
            f"{unprintable(client_name)!r} cannot be printed on the estimate; "
            "give the name in Latin letters",
            param_hint="--client-name",
        )
    if client_dob.date() > issued_on:
        raise typer.BadParameter(
            f"{client_dob.date()} is after the issue date {issued_on}", param_hint="--client-dob"
        )
    conn = config.resolve_or_exit(target=target, config=config_file, clinic=clinic_file)
    clinic = load_clinic(conn.clinic_file)
    problem = common.session_type_problem(session_type, sorted(clinic.session_types))
    if problem:
        raise typer.BadParameter(problem, param_hint="--session-type")
    start = first_date.date() if first_date else date.today()
    details = common.session_details(
        plan=SELF_PAY,
        session_type=session_type,
        minutes=minutes,
        referral=common.ReferralChoice.none,
        referral_date=None,
        diagnosis=diagnosis,
        day=start if sessions == 1 else None,
        network=common.NetworkChoice.in_,
        injury=common.InjuryChoice.none,
        deductible_met="0",
        oop_met="0",
        visits_used=0,
        prior_auth_on_file=False,
    )
    estimates: list[pb.Estimate]
    expected_total: str | None = None
    if sessions == 1:
        single = pb.EstimateSessionRequest(session=details)
        one: pb.EstimateSessionResponse = common.call_service(
            target, lambda stub: stub.EstimateSession(single, timeout=timeout), config_file
        )
        estimates = [one.estimate]
    else:
        planned = pb.EstimateTreatmentPlanRequest(
            session=details,
            recurrence=pb.Recurrence(
                start_date=date_to_proto(start), session_count=sessions, every_days=every_days
            ),
        )
        many: pb.EstimateTreatmentPlanResponse = common.call_service(
            target, lambda stub: stub.EstimateTreatmentPlan(planned, timeout=timeout), config_file
        )
        estimates = list(many.sessions)
        expected_total = money_text(many.total_patient_pays)
    try:
        lines = service_lines(estimates, clinic, list(diagnosis or []))
        document = build_estimate(
            clinic=clinic,
            client=Client(client_name, client_dob.date()),
            issued_on=issued_on,
            session_type=session_type,
            minutes=minutes,
            lines=lines,
            every_days=every_days if sessions > 1 else None,
        )
        if expected_total is not None and parse_dollars(expected_total) != document.total:
            raise GfeError(
                f"the service's total ${expected_total} differs from the sum of its sessions "
                f"{usd(document.total)}"
            )
    except GfeError as exc:
        common.err_console.print(f"error: cannot issue the estimate: {exc}", markup=False)
        raise typer.Exit(common.EXIT_REFUSED) from None
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
    typer.echo(
        f"Good Faith Estimate for {document.client.name}: {len(document.lines)} "
        f"session{'s' if len(document.lines) != 1 else ''} ({document.dates_text()}), "
        f"total {usd(document.total)}; wrote {', '.join(written)}"
    )
