"""The typer application that every command group registers on."""

from __future__ import annotations

import typer

from service.cli import (
    batch,
    clinics,
    db,
    gfe,
    impact,
    plan,
    plans,
    quote,
    quotes,
    rules,
    serve,
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


def main() -> None:
    """Console-script entry: exit 0 on success, 1 when the service refused, 2 on bad usage."""
    app()
