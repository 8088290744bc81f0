"""`massage-estimator plan`: price the same session repeated every K days."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import typer
from massage_estimator.v1 import estimator_pb2 as pb

from service import wire
from service.cli import common, render
from service.cli.session_flags import SessionFlags, with_session_flags
from service.domain.validation import MAX_EVERY_DAYS, MAX_PLAN_SESSIONS

SessionsOpt = Annotated[
    int, typer.Option("--sessions", help=f"How many sessions (1 to {MAX_PLAN_SESSIONS}).")
]
EveryDaysOpt = Annotated[
    int, typer.Option("--every-days", help=f"Days between sessions (1 to {MAX_EVERY_DAYS}).")
]
FirstDateOpt = Annotated[
    datetime | None,
    common.day_option("--date", "Date of the first session (YYYY-MM-DD); default today."),
]


@with_session_flags()
def plan(
    session: SessionFlags,
    sessions: SessionsOpt,
    every_days: EveryDaysOpt = 7,
    first_date: FirstDateOpt = None,
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
    common.check_session_type(session["session_type"], config_file)
    start = first_date.date() if first_date else date.today()
    request = pb.EstimateTreatmentPlanRequest(
        session=session.details(None),  # a treatment plan's dates come from the schedule
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
