"""`massage-estimator quote`: price one session."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import typer
from massage_estimator.v1 import estimator_pb2 as pb

from service.cli import common, render
from service.cli.session_flags import SessionFlags, with_session_flags

DateOpt = Annotated[
    datetime | None, common.day_option("--date", "Date of service (YYYY-MM-DD); default today.")
]
SaveOpt = Annotated[
    bool, typer.Option("--save", help="Save the quote and print its id (see `quotes show ID`).")
]


@with_session_flags()
def quote(
    session: SessionFlags,
    date_of_service: DateOpt = None,
    target: common.TargetOpt = common.DEFAULT_TARGET,
    config_file: common.ConfigOpt = None,
    timeout: common.TimeoutOpt = common.DEFAULT_TIMEOUT,
    as_json: common.JsonOpt = False,
    save: SaveOpt = False,
) -> None:
    """Estimate one session: covered or not, what the patient and the plan pay, and why.

    Examples:

      massage-estimator quote --plan acme-ppo-gold --session-type deep_tissue --minutes 53
        --referral prescription --referral-date 2026-02-01 --diagnosis M54.50 --date 2026-03-03
        --deductible-met 450 --oop-met 450 --visits-used 3

      massage-estimator quote --plan self-pay --session-type swedish --minutes 60 --json

    Exit codes: 0 answered, 1 the service refused or is unreachable, 2 bad usage.
    """
    common.check_session_type(session["session_type"], config_file)
    day = date_of_service.date() if date_of_service else date.today()
    request = pb.EstimateSessionRequest(session=session.details(day), save_quote=save)
    response: pb.EstimateSessionResponse = common.call_service(
        target,
        lambda stub: stub.EstimateSession(request, timeout=timeout),
        config_file,
    )
    if as_json:
        common.print_json(response)
    else:
        render.render_estimate(response.estimate)
        if response.quote_id:
            render.console.print(f"quote id: {response.quote_id}", markup=False)
