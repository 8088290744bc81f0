"""`massage-estimator plans`: the plans a server answers for, with the versions it serves."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from google.type import date_pb2
from massage_estimator.v1 import payer_rules_pb2 as rpb

from service import wire
from service.cli import common, render
from service.cli.rules import add_row, call_rules, effective, print_table, table, when
from service.domain.suggest import did_you_mean


def day_before(value: date_pb2.Date) -> str:
    return (wire.date_of(value) - timedelta(days=1)).isoformat()


def in_network_at(
    response: rpb.ListPlansResponse,
    location: str,
    day: datetime | None,
    target: str | None,
    config_file: Path | None,
    timeout: float,
) -> rpb.ListPlansResponse:
    """The plans of `response` that the location's participation covers on the day."""
    from service.cli.clinics import locations_for

    answer = locations_for(target, config_file, timeout, day.date() if day else None, location)
    (loc,) = answer.locations
    parts = [p for p in loc.in_network if p.in_effect]
    kept = [
        plan
        for plan in response.plans
        if any(
            p.payer_id == plan.payer_id and (not p.plan_ids or plan.plan_id in p.plan_ids)
            for p in parts
        )
    ]
    return rpb.ListPlansResponse(plans=kept)


def plans(
    payer: Annotated[str, typer.Option("--payer", help="Only this payer's plans.")] = "",
    location: Annotated[
        str,
        typer.Option(
            "--location",
            help="Only the plans this clinic location is in network with on --date.",
            metavar="ID",
        ),
    ] = "",
    day: Annotated[
        datetime | None,
        common.day_option("--date", "With --location: the date of service (default: today)."),
    ] = None,
    target: common.TargetOpt = common.DEFAULT_TARGET,
    config_file: common.ConfigOpt = None,
    timeout: common.TimeoutOpt = common.DEFAULT_TIMEOUT,
    as_json: common.JsonOpt = False,
) -> None:
    """List plans with the versions the server serves and their effective ranges.

    A version that a later one takes over from part-way (a mid-year change) says from when.

    Examples:

      massage-estimator plans

      massage-estimator plans --payer acme-health --json

      massage-estimator plans --location harbor-eastside --date 2026-07-01
    """
    request = rpb.ListPlansRequest(payer_id=payer)
    response: rpb.ListPlansResponse = call_rules(
        target, lambda stub: stub.ListPlans(request, timeout=timeout), config_file
    )
    if location:
        response = in_network_at(response, location, day, target, config_file, timeout)
    if as_json:
        common.print_json(response)
        return
    if not response.plans and location:
        render.console.print(f"{location} is in network with no plan on that date", markup=False)
        return
    if not response.plans:  # no empty table; a mistyped payer id gets the nearest ones
        everything: rpb.ListPlansResponse = call_rules(
            target,
            lambda stub: stub.ListPlans(rpb.ListPlansRequest(), timeout=timeout),
            config_file,
        )
        payers = sorted({p.payer_id for p in everything.plans})
        hint = did_you_mean(payer, payers, most=3) if payer else ""
        render.console.print(f"no plans match --payer {payer!r}{hint}", markup=False)
        return
    out = table(
        "Plans (published times in UTC)",
        ("plan", "name", "payer", "version", "effective", "served", "published"),
    )
    for plan in response.plans:
        for i, v in enumerate(plan.versions):
            served = (
                f"until {day_before(v.superseded_from)}; {v.superseded_by} from "
                f"{render.day(v.superseded_from)}"
                if v.superseded_by
                else "whole range"
            )
            add_row(
                out,
                plan.plan_id if i == 0 else "",
                plan.plan_name if i == 0 else "",
                plan.payer_id if i == 0 else "",
                v.version,
                effective(v),
                served,
                when(v),
            )
    print_table(out, hide_first=("name", "published", "payer"))
