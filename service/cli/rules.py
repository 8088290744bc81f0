"""`massage-estimator rules validate|publish|list|show|diff`: payer rule-set versions.

Every command talks to PayerRulesService on a running server (the server checks files against
the clinic profile and the published versions, so the CLI cannot disagree with it). Readable
tables by default, `--json` for protobuf JSON with the proto field names. Exit codes as for
every client command: 0 answered, 1 the service refused (or a file is invalid), 2 bad usage.
"""

from __future__ import annotations

import enum
import getpass
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

import grpc
import typer
from google.protobuf import json_format
from google.protobuf.message import Message
from massage_estimator.v1 import payer_rules_pb2 as rpb
from massage_estimator.v1 import payer_rules_pb2_grpc as rpb_grpc
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from service import wire
from service.cli import common, config, render
from service.domain.model import Clinic
from service.domain.suggest import did_you_mean
from service.domain.versions import version_label

T = TypeVar("T")

rules_app = typer.Typer(
    name="rules",
    help="Validate, publish, list, show and compare payer rule-set versions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

FilesArg = Annotated[
    list[Path],
    typer.Argument(
        help="Rule-set files (YAML or JSON).",
        metavar="FILE",
        exists=True,
        dir_okay=False,
        readable=True,
        show_default=False,
    ),
]


class ContentFormat(enum.StrEnum):
    yaml = "yaml"
    json = "json"


# ---------------------------------------------------------------------------- plumbing


def call_rules(
    target: str | None,
    rpc: Callable[[rpb_grpc.PayerRulesServiceStub], T],
    config_file: Path | None = None,
) -> T:
    """One PayerRulesService call on the channel every client command uses (target, TLS and
    token from flag > env > config file); a refusal is printed in words and exits 1."""
    conn = config.resolve_or_exit(target=target, config=config_file)
    with config.open_channel(conn) as channel:
        try:
            return rpc(rpb_grpc.PayerRulesServiceStub(channel))  # type: ignore[no-untyped-call]
        except grpc.RpcError as exc:
            common.fail_with_rpc_error(exc, conn.target)


def as_dict(message: Message) -> dict[str, Any]:
    """Protobuf JSON (proto field names, every field shown) as a Python value."""
    value: dict[str, Any] = json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    return value


def print_json_value(value: object) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def read_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc}", param_hint="FILE") from None


def effective(info: rpb.RuleSetInfo | rpb.PlanVersion) -> str:
    """ "2026-01-01 to 2026-12-31", or "2027-01-01 onward" when open-ended."""
    start = render.day(info.effective_from)
    if info.HasField("effective_to"):
        return f"{start} to {render.day(info.effective_to)}"
    return f"{start} onward"


def when(info: rpb.RuleSetInfo | rpb.PlanVersion) -> str:
    ts = info.published_at.ToDatetime()
    return ts.strftime("%Y-%m-%d %H:%M:%S")


NO_WRAP = {"file", "payer", "version", "plan", "field", "change"}


def table(title: str, columns: Sequence[str]) -> Table:
    """A table whose ids, dates and paths are never wrapped or cut (notes wrap instead)."""
    t = Table(title=Text(title), box=box.SIMPLE_HEAD, title_justify="left")
    for column in columns:
        t.add_column(column, no_wrap=column in NO_WRAP, overflow="fold")
    return t


def add_row(t: Table, *cells: str) -> None:
    """Cells as plain text: "plans[acme-ppo-gold]" is a field path, not rich markup."""
    t.add_row(*(Text(c) for c in cells))


def print_table(t: Table, hide_first: Sequence[str] = ()) -> None:
    """On a terminal, fit its width: ids and paths stay whole, dates, names and notes wrap
    at spaces (a wider line would be broken mid-cell by the terminal itself). In a pipe,
    print as wide as the table needs (at most 240 columns), one line per row for grep."""
    base = render.console
    if base.is_terminal:
        render.print_fitted(t, hide_first)
        return
    needed = Measurement.get(base, base.options.update(width=240), t).maximum
    width = max(base.width, min(needed, 240))
    Console(highlight=False, width=width, soft_wrap=False).print(t)


def problem_lines(problems: Sequence[rpb.RuleProblem]) -> list[str]:
    lines = []
    for p in problems:
        kind = "error" if p.severity == rpb.SEVERITY_ERROR else "warning"
        lines.append(f"  {kind}: {p.source}: {p.field}: {p.message}")
    return lines


def _print(line: str) -> None:
    typer.echo(line)


def short_checksum(checksum: str) -> str:
    """ "sha256:" and the first 12 hex digits (--json and `rules show` give it whole)."""
    algo, _, digest = checksum.partition(":")
    return f"{algo}:{digest[:12]}" if digest else checksum


def _validate_one(
    target: str | None, config_file: Path | None, timeout: float, path: Path, text: str
) -> rpb.ValidateRuleSetResponse:
    request = rpb.ValidateRuleSetRequest(content=text, source=path.name)
    response: rpb.ValidateRuleSetResponse = call_rules(
        target, lambda stub: stub.ValidateRuleSet(request, timeout=timeout), config_file
    )
    return response


def _publish_one(
    target: str | None, config_file: Path | None, timeout: float, request: rpb.PublishRuleSetRequest
) -> rpb.PublishRuleSetResponse:
    response: rpb.PublishRuleSetResponse = call_rules(
        target, lambda stub: stub.PublishRuleSet(request, timeout=timeout), config_file
    )
    return response


# ---------------------------------------------------------------------------- validate


def _validate_offline(
    files: Sequence[Path], clinic: Clinic
) -> list[tuple[Path, rpb.ValidateRuleSetResponse]]:
    """Every check of the files themselves, here: each file's own, then the files against
    each other (one version label per payer, one payer per plan id): what the service runs
    before it compares them with the versions already published."""
    from service.rulefiles import check_across_files, validate_rule_set

    checked = [(path, *validate_rule_set(read_file(path), str(path), clinic)) for path in files]
    across = check_across_files([parsed for _, parsed, _ in checked if parsed is not None])
    out = []
    for path, parsed, problems in checked:
        mine = [p for p in across if p.source == str(path)]
        valid = parsed is not None and not any(p.is_error for p in mine)
        out.append(
            (
                path,
                rpb.ValidateRuleSetResponse(
                    valid=valid,
                    problems=[wire.problem_to_proto(p) for p in [*problems, *mine]],
                    checksum=parsed.checksum if parsed is not None else "",
                    payer_id=parsed.payer_id if parsed is not None else "",
                    version=parsed.version if parsed is not None else "",
                ),
            )
        )
    return out


OfflineOpt = Annotated[
    bool,
    typer.Option(
        "--offline",
        help="Check here, without the service: every check of the files themselves, against "
        "the clinic profile. Label reuse and overlaps with published versions need the service.",
    ),
]
ClinicFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--clinic",
        help="With --offline: the clinic profile to check against (default: the sample clinic).",
        show_default=False,
    ),
]


@rules_app.command("validate")
def validate(
    files: FilesArg,
    target: common.TargetOpt = common.DEFAULT_TARGET,
    config_file: common.ConfigOpt = None,
    timeout: common.TimeoutOpt = common.DEFAULT_TIMEOUT,
    as_json: common.JsonOpt = False,
    offline: OfflineOpt = False,
    clinic_file: ClinicFileOpt = None,
) -> None:
    """Check rule-set files as the server would at publish time; nothing is written.

    Every problem of every file is named by file, field path and reason, all at once.

    Examples:

      massage-estimator rules validate docs/examples/acme-2026-07.yaml

      massage-estimator rules validate payer_rules/acme-health/*.yaml --json

      massage-estimator rules validate draft.yaml --offline --clinic my-clinic.yaml

    Exit codes: 0 every file is valid, 1 a file has an error or the service refused,
    2 bad usage (a file that does not exist).
    """
    if clinic_file is not None and not offline:
        raise typer.BadParameter("--clinic goes with --offline", param_hint="--clinic")
    results = []
    if offline:
        results = _validate_offline(files, _offline_clinic(clinic_file))
    else:
        for path in files:
            results.append(
                (path, _validate_one(target, config_file, timeout, path, read_file(path)))
            )
    if as_json:
        print_json_value([{"file": str(p), "response": as_dict(r)} for p, r in results])
    else:
        for path, response in results:
            name = version_label(response).strip()
            if response.valid:
                extra = " (already published: publishing it again changes nothing)"
                _print(
                    f"ok: {path}: {name}, checksum {response.checksum}"
                    f"{extra if response.already_published else ''}"
                )
            else:
                errors = sum(1 for p in response.problems if p.severity == rpb.SEVERITY_ERROR)
                # A file that fails its own checks has no payer/version to name yet.
                _print(f"invalid: {path}: {name + ': ' if name else ''}{errors} error(s)")
            for line in problem_lines(response.problems):
                _print(line)
        if offline:
            _print(
                "checked offline: label reuse and overlaps with published versions are checked "
                "by the service (run without --offline)"
            )
    if not all(r.valid for _, r in results):
        raise typer.Exit(common.EXIT_REFUSED)


def _offline_clinic(path: Path | None) -> Clinic:
    """The clinic profile to check against: `path`, or the sample clinic; exit 2 when it
    cannot be read."""
    from service.rulefiles import CLINIC_FILE_NAME, DEFAULT_RULES_DIR, load_clinic_file

    where = path if path is not None else DEFAULT_RULES_DIR / CLINIC_FILE_NAME
    try:
        return load_clinic_file(where)
    except Exception as exc:  # a missing or invalid profile is a usage mistake
        common.err_console.print(
            f"error: cannot read the clinic profile {where}: {exc}", markup=False
        )
        raise typer.Exit(2) from None


# ---------------------------------------------------------------------------- publish


def _default_publisher() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers)
        return os.environ.get("USER", "")


@rules_app.command("publish")
def publish(
    files: FilesArg,
    published_by: Annotated[
        str | None,
        typer.Option("--by", help="Who publishes (default: your login name).", show_default=False),
    ] = None,
    note: Annotated[
        str, typer.Option("--note", help="A note kept with each version (default: the file's).")
    ] = "",
    target: common.TargetOpt = common.DEFAULT_TARGET,
    config_file: common.ConfigOpt = None,
    timeout: common.TimeoutOpt = common.DEFAULT_TIMEOUT,
    as_json: common.JsonOpt = False,
) -> None:
    """Publish rule-set files as new versions, in the order given.

    Every file is validated first; when any has an error, nothing is published. Publishing
    a file that is already published changes nothing (same checksum: the existing version
    is shown).

    Examples:

      massage-estimator rules publish docs/examples/acme-2026-07.yaml --by ana
        --note "July fee increase"

      massage-estimator rules publish a.yaml b.yaml --target estimator:50051 --json

    Exit codes: 0 published (or already published), 1 an error or a refusal, 2 bad usage.
    """
    by = (published_by if published_by is not None else _default_publisher()).strip()
    if not by:
        raise typer.BadParameter("name who publishes", param_hint="--by")
    contents = [(path, read_file(path)) for path in files]
    if len(contents) > 1:  # a dry run of all first, so a bad file stops the whole list
        _refuse_if_any_invalid(target, config_file, timeout, contents)
    results = []
    for path, text in contents:
        request = rpb.PublishRuleSetRequest(
            content=text, source=path.name, published_by=by, note=note
        )
        results.append((path, _publish_one(target, config_file, timeout, request)))
    if as_json:
        print_json_value([{"file": str(p), "response": as_dict(r)} for p, r in results])
        return
    _print_published(results)


def _refuse_if_any_invalid(
    target: str | None, config_file: Path | None, timeout: float, contents: list[tuple[Path, str]]
) -> None:
    """Validate every file; when any has an error, list them all and exit 1 unpublished."""
    bad: list[str] = []
    for path, text in contents:
        check = _validate_one(target, config_file, timeout, path, text)
        if not check.valid:
            bad.append(f"invalid: {path}")
            bad.extend(line for line in problem_lines(check.problems) if line.startswith("  error"))
    if bad:
        common.err_console.print("error: nothing was published:", markup=False)
        for line in bad:
            common.err_console.print(line, markup=False)
        raise typer.Exit(common.EXIT_REFUSED)


def _print_published(results: list[tuple[Path, rpb.PublishRuleSetResponse]]) -> None:
    out = table("Published", ("file", "payer", "version", "effective", "result", "checksum"))
    for path, response in results:
        info = response.rule_set
        add_row(
            out,
            str(path),
            info.payer_id,
            info.version,
            effective(info),
            "published" if response.created else f"already published {when(info)} UTC",
            short_checksum(info.checksum),
        )
    print_table(out, hide_first=("checksum", "payer"))
    for _, response in results:
        for line in problem_lines(response.warnings):
            _print(line)


# ---------------------------------------------------------------------------- list / show / diff


@rules_app.command("list")
def list_(
    payer: Annotated[str, typer.Option("--payer", help="Only this payer's versions.")] = "",
    plan: Annotated[str, typer.Option("--plan", help="Only versions defining this plan.")] = "",
    target: common.TargetOpt = common.DEFAULT_TARGET,
    config_file: common.ConfigOpt = None,
    timeout: common.TimeoutOpt = common.DEFAULT_TIMEOUT,
    as_json: common.JsonOpt = False,
) -> None:
    """List published rule-set versions, oldest publish first.

    Examples:

      massage-estimator rules list

      massage-estimator rules list --payer acme-health --plan acme-ppo-gold --json
    """
    request = rpb.ListRuleSetsRequest(payer_id=payer, plan_id=plan)
    response: rpb.ListRuleSetsResponse = call_rules(
        target, lambda stub: stub.ListRuleSets(request, timeout=timeout), config_file
    )
    if as_json:
        common.print_json(response)
        return
    if not response.rule_sets:  # no empty table; a mistyped id gets the nearest ones
        _print(
            f"no published versions match{_nearest_ids(target, config_file, timeout, payer, plan)}"
        )
        return
    out = table(
        "Rule-set versions (published times in UTC)",
        ("payer", "version", "effective", "plans", "published", "by", "note"),
    )
    for info in response.rule_sets:
        add_row(
            out,
            info.payer_id,
            info.version,
            effective(info),
            ", ".join(info.plan_ids),
            when(info),
            info.published_by,
            info.note,
        )
    print_table(out, hide_first=("by", "note", "published", "plans"))


def _nearest_ids(
    target: str | None, config_file: Path | None, timeout: float, payer: str, plan: str
) -> str:
    """ " --payer 'x' (did you mean 'y'?)" for filters that name nothing published."""
    everything: rpb.ListRuleSetsResponse = call_rules(
        target,
        lambda stub: stub.ListRuleSets(rpb.ListRuleSetsRequest(), timeout=timeout),
        config_file,
    )
    payers = sorted({i.payer_id for i in everything.rule_sets})
    plans = sorted({p for i in everything.rule_sets for p in i.plan_ids})
    words = []
    for flag, value, known in (("--payer", payer, payers), ("--plan", plan, plans)):
        if value and value not in known:
            hint = did_you_mean(value, known, most=3)
            words.append(f"{flag} {value!r} names nothing published{hint}")
    return f": {'; '.join(words)}" if words else ""


@rules_app.command("show")
def show(
    payer: Annotated[str, typer.Argument(metavar="PAYER", help="Payer id, e.g. acme-health.")],
    version: Annotated[
        str, typer.Argument(metavar="VERSION", help='Version label, e.g. "2026.1".')
    ],
    fmt: Annotated[
        ContentFormat,
        typer.Option(
            "--format",
            parser=common.choice_parser(ContentFormat),
            metavar=common.choice_metavar(ContentFormat),
            help="How to print the content.",
        ),
    ] = ContentFormat.yaml,
    target: common.TargetOpt = common.DEFAULT_TARGET,
    config_file: common.ConfigOpt = None,
    timeout: common.TimeoutOpt = common.DEFAULT_TIMEOUT,
    as_json: common.JsonOpt = False,
) -> None:
    """Print one published version: metadata as comments, then its canonical content.

    Publishing the output again is idempotent (same checksum).

    Examples:

      massage-estimator rules show acme-health 2026.1

      massage-estimator rules show acme-health 2027.1 --format json
    """
    request = rpb.GetRuleSetRequest(payer_id=payer, version=version)
    response: rpb.GetRuleSetResponse = call_rules(
        target, lambda stub: stub.GetRuleSet(request, timeout=timeout), config_file
    )
    if as_json:
        common.print_json(response)
        return
    info = response.rule_set
    header = [
        f"{info.payer_name} ({info.payer_id}) version {info.version}",
        f"effective {effective(info)}",
        f"published {when(info)} UTC by {info.published_by}",
        f"checksum {info.checksum}",
        f"plans {', '.join(info.plan_ids)}",
    ]
    if info.note:
        header.append(f"note {info.note}")
    if fmt is ContentFormat.yaml:
        sys.stdout.write("".join(f"# {line}\n" for line in header))
        sys.stdout.write(response.content_yaml)
    else:
        content = json.loads(response.content_json)
        sys.stdout.write(json.dumps(content, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


@rules_app.command("diff")
def diff(
    payer: Annotated[str, typer.Argument(metavar="PAYER", help="Payer id, e.g. acme-health.")],
    from_version: Annotated[str, typer.Argument(metavar="FROM", help="The older version.")],
    to_version: Annotated[str, typer.Argument(metavar="TO", help="The newer version.")],
    target: common.TargetOpt = common.DEFAULT_TARGET,
    config_file: common.ConfigOpt = None,
    timeout: common.TimeoutOpt = common.DEFAULT_TIMEOUT,
    as_json: common.JsonOpt = False,
) -> None:
    """Show what changed between two versions of one payer, field by field.

    Examples:

      massage-estimator rules diff acme-health 2026.1 2027.1

      massage-estimator rules diff acme-health 2026.1 2026.2 --json
    """
    request = rpb.DiffRuleSetsRequest(
        payer_id=payer, from_version=from_version, to_version=to_version
    )
    response: rpb.DiffRuleSetsResponse = call_rules(
        target, lambda stub: stub.DiffRuleSets(request, timeout=timeout), config_file
    )
    if as_json:
        common.print_json(response)
        return
    a, b = response.from_rule_set, response.to_rule_set
    title = (
        f"{payer}: {a.version} (effective {effective(a)}) -> {b.version} (effective {effective(b)})"
    )
    if not response.changes:
        _print(f"{title}: no differences")
        return
    out = table(title, ("change", "field", "before", "after"))
    labels = {
        rpb.CHANGE_KIND_ADDED: "added",
        rpb.CHANGE_KIND_REMOVED: "removed",
        rpb.CHANGE_KIND_CHANGED: "changed",
    }
    for change in response.changes:
        add_row(out, labels.get(change.kind, "?"), change.field, change.before, change.after)
    print_table(out)
    _print(f"{len(response.changes)} change(s)")


# ---------------------------------------------------------------------------- withdraw


@rules_app.command("withdraw")
def withdraw(
    payer_id: Annotated[str, typer.Argument(help="The payer id, e.g. acme-health.")],
    version: Annotated[str, typer.Argument(help="The version label to withdraw, e.g. 2026.2.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept and audited). Required.")],
    replace_with: Annotated[
        Path | None,
        typer.Option(
            "--replace-with",
            help="A corrected rule file published in the same transaction (may start the same "
            "day); without it the version it had superseded answers again.",
            show_default=False,
        ),
    ] = None,
    withdrawn_by: Annotated[
        str | None,
        typer.Option("--by", help="Who withdraws (default: your login name).", show_default=False),
    ] = None,
    target: common.TargetOpt = common.DEFAULT_TARGET,
    config_file: common.ConfigOpt = None,
    timeout: common.TimeoutOpt = common.DEFAULT_TIMEOUT,
    as_json: common.JsonOpt = False,
) -> None:
    """Withdraw a published version: it stops answering at once (quotes saved before still
    replay with it).

    Examples:

      massage-estimator rules withdraw acme-health 2026.2 --reason "wrong 97124 rate"

      massage-estimator rules withdraw acme-health 2026.2 --reason "wrong 97124 rate"
        --replace-with acme-2026-2-fixed.yaml
    """
    by = (withdrawn_by if withdrawn_by is not None else _default_publisher()).strip()
    if not by:
        raise typer.BadParameter("name who withdraws", param_hint="--by")
    if not reason.strip():
        raise typer.BadParameter("say why the version is withdrawn", param_hint="--reason")
    request = rpb.WithdrawRuleSetRequest(
        payer_id=payer_id, version=version, reason=reason, withdrawn_by=by
    )
    if replace_with is not None:
        request.replacement_content = read_file(replace_with)
        request.replacement_source = replace_with.name
    response: rpb.WithdrawRuleSetResponse = call_rules(
        target, lambda stub: stub.WithdrawRuleSet(request, timeout=timeout), config_file
    )
    if as_json:
        print_json_value(as_dict(response))
        return
    gone = response.rule_set
    state = "withdrew" if response.withdrawn else "already withdrawn:"
    typer.echo(f"{state} {gone.payer_id} {gone.version} ({gone.withdrawn_reason})")
    if response.HasField("replacement"):
        new = response.replacement
        typer.echo(f"replaced by {new.payer_id} {new.version}, checksum {new.checksum}")
    else:
        typer.echo("no replacement: the version it had superseded answers again")
