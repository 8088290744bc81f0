"""`massage-estimator plan`: price the same session repeated every K days."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import typer
from massage_estimator.v1 import estimator_pb2 as pb

from service import wire
from service.cli import common, render
from service.domain.model import Injury, Network, ReferralKind


def plan(
    plan: common.PlanOpt,
    session_type: common.SessionTypeOpt,
    minutes: common.MinutesOpt,
    sessions: Annotated[int, typer.Option("--sessions", help="How many sessions (1 to 366).")],
    every_days: Annotated[
        int, typer.Option("--every-days", help="Days between sessions (1 to 365).")
    ] = 7,
    first_date: Annotated[
        datetime | None,
        typer.Option(
            "--date",
            parser=common.parse_day,
            metavar="YYYY-MM-DD",
            help="Date of the first session (YYYY-MM-DD); default today.",
        ),
    ] = None,
    referral: common.ReferralOpt = ReferralKind.NONE,
    referral_date: common.ReferralDateOpt = None,
    diagnosis: common.DiagnosisOpt = None,
    network: common.NetworkOpt = Network.IN,
    injury: common.InjuryOpt = Injury.NONE,
    deductible_met: common.DeductibleMetOpt = "0",
    oop_met: common.OopMetOpt = "0",
    visits_used: common.VisitsUsedOpt = 0,
    prior_auth_on_file: common.PriorAuthOpt = False,
    target: common.TargetOpt = common.DEFAULT_TARGET,
    config_file: common.ConfigOpt = None,
    timeout: common.TimeoutOpt = common.DEFAULT_TIMEOUT,
    as_json: common.JsonOpt = False,
) -> None:
    """Estimate a treatment plan: accumulators carry forward from session to session.

    Examples:

      massage-estimator plan --plan acme-ppo-gold --session-type deep_tissue --minutes 53
        --referral prescription --referral-date 2026-02-01 --diagnosis M54.50
        --date 2026-03-03 --sessions 8 --every-days 7

      massage-estimator plan --plan self-pay --session-type sports --minutes 45 --sessions 4 --json

    Exit codes: 0 answered, 1 the service refused or is unreachable, 2 bad usage.
    """
    common.check_session_type(session_type, config_file)
    details = common.session_details(
        plan=plan,
        session_type=session_type,
        minutes=minutes,
        referral=referral,
        referral_date=referral_date,
        diagnosis=diagnosis,
        day=None,  # a treatment plan's dates come from the schedule
        network=network,
        injury=injury,
        deductible_met=deductible_met,
        oop_met=oop_met,
        visits_used=visits_used,
        prior_auth_on_file=prior_auth_on_file,
    )
    start = first_date.date() if first_date else date.today()
    request = pb.EstimateTreatmentPlanRequest(
        session=details,
        recurrence=pb.Recurrence(
            start_date=wire.date_to_proto(start), session_count=sessions, every_days=every_days
        ),
    )
    response: pb.EstimateTreatmentPlanResponse = common.call_service(
        target,
        lambda stub: stub.EstimateTreatmentPlan(request, timeout=timeout),
        config_file,
    )
    if as_json:
        common.print_json(response)
    else:
        render.render_plan(response)
