"""`massage-estimator clinics validate|publish|list|show|diff|locations`: clinic profile
versions (locations, their prices and network participation; docs/rule-format.md, "Clinic
profiles").

`validate` checks files here, offline: each file's own checks against the clinic-wide session
types (clinic.yaml) and, for participation, against the payers and plans of the sample rules
(or --rules DIR). The other commands talk to ClinicService on a running server. Exit codes as
for every client command: 0 answered (valid), 1 refused (invalid), 2 bad usage.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import grpc
import typer
from massage_estimator.v1 import clinics_pb2 as cpb
from massage_estimator.v1 import clinics_pb2_grpc as cpb_grpc

from service import wire
from service.cli import common, config, render
from service.cli.rules import (
    _default_publisher,
    add_row,
    print_table,
    problem_lines,
    read_file,
    short_checksum,
    table,
)
from service.domain.problems import Problem

T = TypeVar("T")

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


# ---------------------------------------------------------------------------- online


def call_clinics(
    target: str | None,
    rpc: Callable[[cpb_grpc.ClinicServiceStub], T],
    config_file: Path | None = None,
) -> T:
    """One ClinicService call on the usual channel; a refusal is printed and exits 1."""
    conn = config.resolve_or_exit(target=target, config=config_file)
    with config.open_channel(conn) as channel:
        try:
            return rpc(cpb_grpc.ClinicServiceStub(channel))  # type: ignore[no-untyped-call]
        except grpc.RpcError as exc:
            common.fail_with_rpc_error(exc, conn.target)


def _effective(info: cpb.ClinicProfileInfo) -> str:
    end = render.day(info.effective_to) if info.HasField("effective_to") else "open-ended"
    return f"{render.day(info.effective_from)} to {end}"


@clinics_app.command("publish")
def publish(
    files: FilesArg,
    published_by: Annotated[
        str | None,
        typer.Option("--by", help="Who publishes (default: your login name).", show_default=False),
    ] = None,
    note: Annotated[str, typer.Option("--note", help="A note kept with each version.")] = "",
    target: common.TargetOpt = common.DEFAULT_TARGET,
    config_file: common.ConfigOpt = None,
    timeout: common.TimeoutOpt = common.DEFAULT_TIMEOUT,
    as_json: common.JsonOpt = False,
) -> None:
    """Publish clinic profile versions, one file at a time; quotes use each at once.

    Example:

      massage-estimator clinics publish payer_rules/clinics/harbor/2.yaml --note "new prices"
    """
    by = published_by if published_by is not None else _default_publisher()
    for path in files:
        request = cpb.PublishClinicProfileRequest(
            content=read_file(path), source=str(path), published_by=by, note=note
        )
        response: cpb.PublishClinicProfileResponse = call_clinics(
            target,
            lambda stub, r=request: stub.PublishClinicProfile(r, timeout=timeout),  # type: ignore[misc]
            config_file,
        )
        if as_json:
            common.print_json(response)
            continue
        info = response.clinic_profile
        what = "published" if response.created else "already published"
        typer.echo(
            f"{what}: {path}: {info.clinic_id} {info.version}, effective {_effective(info)}, "
            f"checksum {short_checksum(info.checksum)}"
        )
        for line in problem_lines(response.warnings):
            typer.echo(line)


@clinics_app.command("list")
def list_versions(
    target: common.TargetOpt = common.DEFAULT_TARGET,
    config_file: common.ConfigOpt = None,
    timeout: common.TimeoutOpt = common.DEFAULT_TIMEOUT,
    as_json: common.JsonOpt = False,
) -> None:
    """List published clinic profile versions, oldest publish first.

    Example:

      massage-estimator clinics list --json
    """
    response: cpb.ListClinicProfilesResponse = call_clinics(
        target,
        lambda stub: stub.ListClinicProfiles(cpb.ListClinicProfilesRequest(), timeout=timeout),
        config_file,
    )
    if as_json:
        common.print_json(response)
        return
    out = table(
        "Clinic profile versions (published times in UTC)",
        ("clinic", "version", "effective", "locations", "checksum", "published", "by"),
    )
    for info in response.clinic_profiles:
        add_row(
            out,
            info.clinic_id,
            info.version,
            _effective(info),
            ", ".join(info.location_ids),
            short_checksum(info.checksum),
            info.published_at.ToDatetime().strftime("%Y-%m-%d %H:%M:%S"),
            info.published_by,
        )
    print_table(out, hide_first=("by", "checksum"))


@clinics_app.command("show")
def show(
    clinic_id: Annotated[str, typer.Argument(metavar="CLINIC")],
    version: Annotated[str, typer.Argument(metavar="VERSION")],
    target: common.TargetOpt = common.DEFAULT_TARGET,
    config_file: common.ConfigOpt = None,
    timeout: common.TimeoutOpt = common.DEFAULT_TIMEOUT,
    as_json: common.JsonOpt = False,
) -> None:
    """One version's canonical content (YAML; --json for the whole answer).

    Example:

      massage-estimator clinics show harbor 1
    """
    request = cpb.GetClinicProfileRequest(clinic_id=clinic_id, version=version)
    response: cpb.GetClinicProfileResponse = call_clinics(
        target, lambda stub: stub.GetClinicProfile(request, timeout=timeout), config_file
    )
    if as_json:
        common.print_json(response)
        return
    typer.echo(response.content_yaml, nl=False)


@clinics_app.command("diff")
def diff(
    clinic_id: Annotated[str, typer.Argument(metavar="CLINIC")],
    from_version: Annotated[str, typer.Argument(metavar="FROM")],
    to_version: Annotated[str, typer.Argument(metavar="TO")],
    target: common.TargetOpt = common.DEFAULT_TARGET,
    config_file: common.ConfigOpt = None,
    timeout: common.TimeoutOpt = common.DEFAULT_TIMEOUT,
    as_json: common.JsonOpt = False,
) -> None:
    """What changed between two versions, field by field (locations matched by id).

    Example:

      massage-estimator clinics diff harbor 1 2
    """
    request = cpb.DiffClinicProfilesRequest(
        clinic_id=clinic_id, from_version=from_version, to_version=to_version
    )
    response: cpb.DiffClinicProfilesResponse = call_clinics(
        target, lambda stub: stub.DiffClinicProfiles(request, timeout=timeout), config_file
    )
    if as_json:
        common.print_json(response)
        return
    typer.echo(f"{clinic_id} {from_version} -> {to_version}: {len(response.changes)} change(s)")
    for change in response.changes:
        typer.echo(f"  {change.description}")


def locations_for(
    target: str | None,
    config_file: Path | None,
    timeout: float,
    day: date | None,
    location_id: str = "",
) -> cpb.ListClinicLocationsResponse:
    """The locations of the clinic version for `day` (today when None)."""
    request = cpb.ListClinicLocationsRequest(location_id=location_id)
    if day is not None:
        request.date_of_service.CopyFrom(wire.date_to_proto(day))
    response: cpb.ListClinicLocationsResponse = call_clinics(
        target, lambda stub: stub.ListClinicLocations(request, timeout=timeout), config_file
    )
    return response


@clinics_app.command("locations")
def locations(
    day: Annotated[
        datetime | None,
        common.day_option("--date", "The date of service whose version answers (default: today)."),
    ] = None,
    location: Annotated[str, typer.Option("--location", help="Only this location.")] = "",
    target: common.TargetOpt = common.DEFAULT_TARGET,
    config_file: common.ConfigOpt = None,
    timeout: common.TimeoutOpt = common.DEFAULT_TIMEOUT,
    as_json: common.JsonOpt = False,
) -> None:
    """The clinic's locations on a date: NPI, TIN, address, and the payers each is in
    network with that day.

    Example:

      massage-estimator clinics locations --date 2026-07-01 --location harbor-eastside
    """
    response = locations_for(target, config_file, timeout, day.date() if day else None, location)
    if as_json:
        common.print_json(response)
        return
    cv = response.clinic_version
    out = table(
        f"Locations (clinic {cv.clinic_id} {cv.version})",
        ("location", "name", "NPI", "TIN", "address", "in network"),
    )
    for loc in response.locations:
        add_row(
            out,
            loc.id + (" (default)" if loc.is_default else ""),
            loc.name,
            loc.npi,
            loc.tin,
            ", ".join(loc.address_lines),
            ", ".join(
                p.payer_id + (f" ({', '.join(p.plan_ids)})" if p.plan_ids else "")
                for p in loc.in_network
                if p.in_effect
            )
            or "none",
        )
    print_table(out, hide_first=("address", "TIN"))
