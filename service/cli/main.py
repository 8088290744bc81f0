"""The typer application that every command group registers on."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from service.cli import (
    batch,
    clinics,
    config,
    db,
    gfe,
    impact,
    plan,
    plans,
    quote,
    quotes,
    rules,
    serve,
    tokens,
    version,
)
from service.cli.eligibility import eligibility_app

app = typer.Typer(
    name="massage-estimator",
    help="Estimate what a massage-therapy session costs a client and their plan, before the visit.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _options(
    token_file: Annotated[
        Path | None,
        typer.Option(
            "--token-file",
            help="Read the bearer token from this file (never pass a token on the command "
            "line); else MASSAGE_ESTIMATOR_TOKEN(_FILE) or the config file.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Estimate what a massage-therapy session costs a client and their plan, before the visit."""
    config.token_file_flag = token_file


app.command("serve")(serve.serve)
app.command("quote")(quote.quote)
app.command("plan")(plan.plan)
app.command("batch")(batch.batch)
app.command("gfe")(gfe.gfe)
app.command("version")(version.version)
rules.rules_app.command("impact")(impact.impact)  # kept in its own module (issue 11)
app.add_typer(rules.rules_app, name="rules")
app.command("plans")(plans.plans)
app.add_typer(quotes.quotes_app, name="quotes")
app.add_typer(db.db_app, name="db")
app.add_typer(eligibility_app, name="eligibility")
app.add_typer(clinics.clinics_app, name="clinics")
app.add_typer(tokens.tokens_app, name="tokens")
app.add_typer(tokens.audit_app, name="audit")


def main() -> None:
    """Console-script entry: exit 0 on success, 1 when the service refused, 2 on bad usage."""
    app()
