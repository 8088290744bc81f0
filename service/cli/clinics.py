"""`massage-estimator clinics validate`: clinic profile versions (locations, their prices and
network participation; docs/rule-format.md, "Clinic profiles").

`validate` checks files here, offline: each file's own checks against the clinic-wide session
types (clinic.yaml) and, for participation, against the payers and plans of the sample rules
(or --rules DIR). Exit codes as for every client command: 0 valid, 1 a file has an error,
2 bad usage.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from service.cli import common
from service.domain.problems import Problem

clinics_app = typer.Typer(
    name="clinics",
    help="Validate clinic profile versions: locations, prices, network participation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

FilesArg = Annotated[
    list[Path],
    typer.Argument(
        help="Clinic profile files (YAML).",
        metavar="FILE",
        exists=True,
        dir_okay=False,
        readable=True,
        show_default=False,
    ),
]
RulesDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--rules",
        help="The rules folder whose clinic.yaml (session types) and payer rule sets "
        "(payers and plans) the files are checked against (default: the sample rules).",
        show_default=False,
    ),
]


def _problem_line(p: Problem) -> str:
    return f"  {p.severity}: {p.source}: {p.field}: {p.message}"


@clinics_app.command("validate")
def validate(
    files: FilesArg,
    rules_dir: RulesDirOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Check clinic profile files offline: every problem of every file at once, each named
    by file, field path and reason.

    Examples:

      massage-estimator clinics validate payer_rules/clinics/harbor/1.yaml

      massage-estimator clinics validate draft.yaml --rules /etc/massage-estimator/rules --json

    Exit codes: 0 every file is valid, 1 a file has an error, 2 bad usage.
    """
    from service.rulefiles import DEFAULT_RULES_DIR, RuleFileError, load_rules_dir
    from service.rulefiles.clinics import validate_clinic_profile
    from service.rulefiles.yamlsource import read_text

    root = rules_dir if rules_dir is not None else DEFAULT_RULES_DIR
    try:
        catalogue, rule_sets = load_rules_dir(root)
    except RuleFileError as exc:
        common.err_console.print(f"error: cannot read the rules in {root}: {exc}", markup=False)
        raise typer.Exit(2) from None
    plans: dict[str, set[str]] = {}
    for rs in rule_sets:
        plans.setdefault(rs.payer_id, set()).update(p.plan_id for p in rs.plans)
    known = {payer: frozenset(ids) for payer, ids in plans.items()}
    results = []
    for path in files:
        text, problems = read_text(path)
        parsed = None
        if text is not None:
            parsed, problems = validate_clinic_profile(text, str(path), catalogue, known)
        results.append((path, parsed, problems))
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "file": str(path),
                        "valid": parsed is not None,
                        "clinic_id": parsed.clinic_id if parsed else "",
                        "version": parsed.version if parsed else "",
                        "checksum": parsed.checksum if parsed else "",
                        "problems": [
                            {
                                "source": p.source,
                                "field": p.field,
                                "message": p.message,
                                "severity": p.severity,
                            }
                            for p in problems
                        ],
                    }
                    for path, parsed, problems in results
                ],
                indent=2,
            )
        )
    else:
        for path, parsed, problems in results:
            if parsed is not None:
                typer.echo(f"ok: {path}: {parsed.clinic_id} {parsed.version}, {parsed.checksum}")
            else:
                errors = sum(1 for p in problems if p.is_error)
                typer.echo(f"invalid: {path}: {errors} error(s)")
            for p in problems:
                typer.echo(_problem_line(p))
    if any(parsed is None for _, parsed, _ in results):
        raise typer.Exit(common.EXIT_REFUSED)
