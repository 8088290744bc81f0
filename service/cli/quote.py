"""`massage-estimator quote`: price one session."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import typer
from massage_estimator.v1 import estimator_pb2 as pb

from service.cli import common, render
from service.domain.model import Injury, Network, ReferralKind


def quote(
    plan: common.PlanOpt,
    session_type: common.SessionTypeOpt,
    minutes: common.MinutesOpt,
    date_of_service: Annotated[
        datetime | None,
        typer.Option(
            "--date",
            parser=common.parse_day,
            metavar="YYYY-MM-DD",
            help="Date of service (YYYY-MM-DD); default today.",
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
    save: Annotated[
        bool,
        typer.Option("--save", help="Save the quote and print its id (see `quotes show ID`)."),
    ] = False,
) -> None:
    """Estimate one session: covered or not, what the patient and the plan pay, and why.

    Examples:

      massage-estimator quote --plan acme-ppo-gold --session-type deep_tissue --minutes 53
        --referral prescription --referral-date 2026-02-01 --diagnosis M54.50 --date 2026-03-03
        --deductible-met 450 --oop-met 450 --visits-used 3

      massage-estimator quote --plan self-pay --session-type swedish --minutes 60 --json

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
        day=date_of_service.date() if date_of_service else date.today(),
        network=network,
        injury=injury,
        deductible_met=deductible_met,
        oop_met=oop_met,
        visits_used=visits_used,
        prior_auth_on_file=prior_auth_on_file,
    )
    request = pb.EstimateSessionRequest(session=details, save_quote=save)
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
