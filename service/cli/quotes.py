"""`massage-estimator quotes show ID`: a saved quote, its rule version and its replay."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from google.protobuf import json_format
from massage_estimator.v1 import estimator_pb2 as pb
from rich import box
from rich.table import Table

from service.cli import common, render

quotes_app = typer.Typer(
    name="quotes",
    help="Saved quotes (made with `quote --save`).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@quotes_app.command("show")
def show(
    quote_id: Annotated[str, typer.Argument(metavar="ID", help="The id `quote --save` printed.")],
    target: common.TargetOpt = common.DEFAULT_TARGET,
    config_file: common.ConfigOpt = None,
    timeout: common.TimeoutOpt = common.DEFAULT_TIMEOUT,
    as_json: common.JsonOpt = False,
    fhir: Annotated[
        bool,
        typer.Option(
            "--fhir",
            help="Print the quote as Da Vinci PCT FHIR R4 JSON: an Advanced EOB for an insured "
            "client, a Good Faith Estimate Bundle for a self-pay client.",
        ),
    ] = False,
) -> None:
    """Show a saved quote as answered, and whether its replay gives the same numbers.

    The replay prices the saved request with the rules known when it was saved.

    Examples:

      massage-estimator quotes show 0ea66f33-30a0-4d44-a6b1-d04639a448d8

      massage-estimator quotes show 0ea66f33-30a0-4d44-a6b1-d04639a448d8 --json

      massage-estimator quotes show 0ea66f33-30a0-4d44-a6b1-d04639a448d8 --fhir > aeob.json

    Exit codes: 0 shown and the replay matches, 1 the replay differs, the quote is unknown
    or the service refused, 2 bad usage.
    """
    if fhir:
        fhir_request = pb.GetQuoteFhirRequest(quote_id=quote_id)
        fhir_response: pb.GetQuoteFhirResponse = common.call_service(
            target, lambda stub: stub.GetQuoteFhir(fhir_request, timeout=timeout), config_file
        )
        body = json_format.MessageToDict(fhir_response.resource)
        typer.echo(json.dumps(body, indent=2, ensure_ascii=False))
        return
    request = pb.GetQuoteRequest(quote_id=quote_id)
    response: pb.GetQuoteResponse = common.call_service(
        target, lambda stub: stub.GetQuote(request, timeout=timeout), config_file
    )
    if as_json:
        common.print_json(response)
    else:
        saved = response.created_at.ToDatetime().strftime("%Y-%m-%d %H:%M:%S UTC")
        render.console.print(f"quote {response.quote_id}, saved {saved}", markup=False)
        render.render_estimate(response.estimate)
        table = Table(title="Replay", box=box.SIMPLE, show_header=False, title_justify="left")
        table.add_column("field", style="bold")
        table.add_column("value")
        as_of = response.replay_rules_as_of.ToDatetime().strftime("%Y-%m-%d %H:%M:%S UTC")
        table.add_row("rules as of", as_of)
        if response.HasField("replay_error"):
            table.add_row("result", f"cannot replay: {response.replay_error.message}")
        else:
            replay = response.replay
            table.add_row("patient pays", render.usd(replay.patient_pays))
            table.add_row("plan pays", render.usd(replay.plan_pays))
            table.add_row(
                "result",
                "same numbers as saved"
                if response.replay_matches
                else "DIFFERENT from the saved estimate",
            )
        render.console.print(table)
    if not response.replay_matches:
        raise typer.Exit(common.EXIT_REFUSED)
