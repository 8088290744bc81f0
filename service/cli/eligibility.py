"""`eligibility request` writes a 270 inquiry; `eligibility read` shows a payer's 271.

Both work offline on files: the clinic sends the 270 through its clearinghouse and saves the
271 it gets back. Exit codes: 0 done, 2 bad usage or a file that cannot be written or read
as asked (the message says why). A 271 that says the coverage is inactive or rejects the
inquiry is still read (exit 0): what the payer said is the answer, shown first.
"""

from __future__ import annotations

import enum
import json
import os
import secrets
import shutil
import sys
import tempfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from service.cli import config
from service.cli.common import choice_parser, parse_day
from service.domain.model import Clinic
from service.domain.money import dollars_str, format_usd
from service.interop.x12 import codes
from service.interop.x12.eligibility import (
    MONEY_TERMS,
    Benefits,
    CoverageStatus,
    Eligibility,
    Figure,
    Message,
    Restriction,
    Term,
)
from service.interop.x12.read271 import read_271
from service.interop.x12.segments import X12Error
from service.interop.x12.write270 import Envelope, Gender, Inquiry, InquiryError, Person, write_270

eligibility_app = typer.Typer(
    name="eligibility",
    help="X12 eligibility: write a 270 inquiry for the massage benefit, read a payer's 271.",
    no_args_is_help=True,
)
out = Console(highlight=False)
if not out.is_terminal:  # in a pipe, wide enough for one line per row (as the quote tables)
    out = Console(highlight=False, width=max(shutil.get_terminal_size((120, 24)).columns, 120))
err = Console(stderr=True, highlight=False, soft_wrap=True)
_NETWORK_WORDS = {"in": "in", "out": "out", "not_stated": "not stated"}


class GenderChoice(enum.StrEnum):
    f = "f"
    m = "m"


def _day_option(flag: str, words: str) -> Any:
    return typer.Option(flag, help=words, parser=parse_day, metavar="YYYY-MM-DD")


def _gender_option(flag: str, words: str) -> Any:
    return typer.Option(flag, help=words, parser=choice_parser(GenderChoice), metavar="[f|m]")


PayerNameOpt = Annotated[str, typer.Option("--payer-name", help="The payer's name.")]
PayerIdOpt = Annotated[
    str, typer.Option("--payer-id", help="The payer id your clearinghouse uses.")
]
MemberIdOpt = Annotated[str, typer.Option("--member-id", help="The subscriber's member id.")]
LastNameOpt = Annotated[str, typer.Option("--last-name", help="The subscriber's last name.")]
FirstNameOpt = Annotated[str, typer.Option("--first-name", help="The subscriber's first name.")]
BirthOpt = Annotated[datetime, _day_option("--birth-date", "The subscriber's date of birth.")]
GenderOpt = Annotated[GenderChoice | None, _gender_option("--gender", "The subscriber's.")]
DepLastOpt = Annotated[
    str | None, typer.Option("--dependent-last-name", help="For a dependant: last name.")
]
DepFirstOpt = Annotated[
    str | None, typer.Option("--dependent-first-name", help="For a dependant: first name.")
]
DepBirthOpt = Annotated[
    datetime | None, _day_option("--dependent-birth-date", "For a dependant: date of birth.")
]
DepGenderOpt = Annotated[
    GenderChoice | None, _gender_option("--dependent-gender", "For a dependant.")
]
DateOpt = Annotated[datetime | None, _day_option("--date", "Date of service (default today).")]
SenderOpt = Annotated[
    str | None,
    typer.Option("--sender-id", help="ISA06/GS02 your clearinghouse assigned (default: the NPI)."),
]
ReceiverOpt = Annotated[
    str | None, typer.Option("--receiver-id", help="ISA08/GS03 (default: the payer id).")
]
ControlOpt = Annotated[
    int | None,
    typer.Option(
        "--control-number",
        min=1,
        max=999_999_999,
        help="ISA13/GS06 and trace number (default: a random one).",
    ),
]
TestOpt = Annotated[bool, typer.Option("--test", help="Mark the interchange as a test (ISA15 T).")]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write the 270 here (default stdout).")
]
ClinicOpt = Annotated[
    Path | None,
    typer.Option(
        "--clinic",
        help="clinic.yaml naming the provider (default: $MASSAGE_ESTIMATOR_CLINIC, the config "
        "file, payer_rules/clinic.yaml).",
        show_default=False,
    ),
]


@eligibility_app.command("request")
def request(
    payer_name: PayerNameOpt,
    payer_id: PayerIdOpt,
    member_id: MemberIdOpt,
    last_name: LastNameOpt,
    first_name: FirstNameOpt,
    birth_date: BirthOpt,
    gender: GenderOpt = None,
    dependent_last_name: DepLastOpt = None,
    dependent_first_name: DepFirstOpt = None,
    dependent_birth_date: DepBirthOpt = None,
    dependent_gender: DepGenderOpt = None,
    service_date: DateOpt = None,
    sender_id: SenderOpt = None,
    receiver_id: ReceiverOpt = None,
    control_number: ControlOpt = None,
    test: TestOpt = False,
    output: OutputOpt = None,
    clinic_file: ClinicOpt = None,
    config_file: config.ConfigOpt = None,
) -> None:
    """Write a 270 eligibility inquiry (005010X279A1) for the massage benefit.

    It asks for BE massage therapy, AE physical medicine, 33 chiropractic, 64 acupuncture
    and 30 the plan, each in its own EQ loop; the provider comes from the clinic profile.

    Examples:

      massage-estimator eligibility request --payer-name "Acme Health" --payer-id 60054
        --member-id ACM100200300 --last-name Rivera --first-name Jordan
        --birth-date 1985-04-12 --date 2026-03-03 -o rivera.270

      massage-estimator eligibility request --payer-name "Rainier Public" --payer-id RP001
        --member-id RPB55501234 --last-name Larsen --first-name Erik --birth-date 1979-09-23
        --dependent-last-name Larsen --dependent-first-name Maja --dependent-birth-date 2012-06-14
    """
    dependent = _dependent(
        dependent_last_name, dependent_first_name, dependent_birth_date, dependent_gender
    )
    conn = config.resolve_or_exit(config=config_file, clinic=clinic_file)
    clinic = _load_clinic(conn.clinic_file)
    inquiry = Inquiry(
        payer_name=payer_name,
        payer_id=payer_id.strip(),
        provider_name=clinic.name,
        provider_npi=clinic.npi,
        provider_tin=clinic.tin,
        member_id=member_id,
        subscriber=Person(last_name, first_name, birth_date.date(), _as_gender(gender)),
        date_of_service=service_date.date() if service_date else date.today(),
        dependent=dependent,
    )
    envelope = Envelope(
        sender_id=sender_id or clinic.npi,
        receiver_id=receiver_id or payer_id.strip(),
        control_number=control_number or secrets.randbelow(999_999_999) + 1,
        created_at=datetime.now(),
        production=not test,
    )
    _emit(inquiry, envelope, output)


def _emit(inquiry: Inquiry, envelope: Envelope, output: Path | None) -> None:
    """Write the 270 to stdout or, whole or not at all, to `output`; exit 2 on a problem."""
    try:
        text = write_270(inquiry, envelope)
    except InquiryError as exc:
        for problem in exc.problems:
            err.print(f"error: {problem}", markup=False)
        raise typer.Exit(2) from None
    if output is None:
        sys.stdout.write(text)
        return
    _write_atomically(output, text)
    err.print(f"wrote {output} (control number {envelope.control_number})", markup=False)


def _dependent(
    last: str | None, first: str | None, born: datetime | None, gender: GenderChoice | None
) -> Person | None:
    given = {"--dependent-last-name": last, "--dependent-first-name": first}
    if born is None and not any(given.values()) and gender is None:
        return None
    missing = [flag for flag, value in given.items() if not value]
    if born is None:
        missing.append("--dependent-birth-date")
    if missing:
        raise typer.BadParameter(
            "a dependant needs a last name, a first name and a date of birth; missing "
            + ", ".join(missing),
            param_hint="--dependent-*",
        )
    assert last is not None and first is not None and born is not None
    return Person(last, first, born.date(), _as_gender(gender))


def _as_gender(choice: GenderChoice | None) -> Gender | None:
    return None if choice is None else Gender(choice.value.upper())


def _load_clinic(path: Path) -> Clinic:
    """The clinic profile, or exit 2 naming the file and the problem."""
    from service.rulefiles import load_clinic_file  # only this command needs it

    try:
        return load_clinic_file(path)
    except Exception as exc:  # a missing or invalid profile is a configuration mistake
        err.print(f"error: cannot read the clinic profile {path}: {exc}", markup=False)
        raise typer.Exit(2) from None


def _write_atomically(path: Path, text: str) -> None:
    """The whole file or none of it: a temporary file beside it, then a rename."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        err.print(f"error: cannot write {path}: {exc.strerror or exc}", markup=False)
        raise typer.Exit(2) from None
    try:
        with os.fdopen(fd, "w", encoding="ascii", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        err.print(f"error: cannot write {path}: {exc.strerror or exc}", markup=False)
        raise typer.Exit(2) from None


@eligibility_app.command("read")
def read(
    file: Annotated[Path, typer.Argument(help="The 271 file ('-' reads standard input).")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (money as dollar strings).")
    ] = False,
) -> None:
    """Show what a payer's 271 eligibility response says about the massage benefit.

    Coverage status (or the payer's rejections), plan dates and, per network and coverage
    level, the deductible and out-of-pocket maximum (total, remaining, met), copay,
    coinsurance, visit limits, prior authorization and the payer's messages. Each figure
    says which service type answered: BE massage therapy first, then AE, 33, 64 and 30.

    Examples:

      massage-estimator eligibility read rivera.271

      massage-estimator eligibility read rivera.271 --json
    """
    try:
        data = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    except OSError as exc:
        err.print(f"error: cannot read {file}: {exc.strerror or exc}", markup=False)
        raise typer.Exit(2) from None
    try:
        result = read_271(data)
    except X12Error as exc:
        err.print(f"error: {file} is not a readable 271: {exc}", markup=False)
        raise typer.Exit(2) from None
    if as_json:
        out.print_json(json.dumps(to_json(result)))
    else:
        show(result)


# ---------------------------------------------------------------------- output

_TERM_ROWS: tuple[tuple[str, Term, Term | None, Term | None], ...] = (
    ("deductible", Term.DEDUCTIBLE, Term.DEDUCTIBLE_REMAINING, Term.DEDUCTIBLE_MET),
    (
        "out-of-pocket maximum",
        Term.OUT_OF_POCKET_MAX,
        Term.OUT_OF_POCKET_REMAINING,
        Term.OUT_OF_POCKET_MET,
    ),
    ("copay per visit", Term.COPAY, None, None),
    ("coinsurance", Term.COINSURANCE, None, None),
    ("visits", Term.VISIT_LIMIT, Term.VISITS_REMAINING, Term.VISITS_USED),
    ("plan's dollar limit", Term.BENEFIT_MAXIMUM, Term.BENEFIT_REMAINING, Term.BENEFIT_USED),
    ("prior authorization", Term.PRIOR_AUTHORIZATION, None, None),
)
_AUTH = {"Y": "required", "N": "not required", "U": "unknown"}


def figure_text(term: Term, fig: Figure | None) -> str:
    """A figure as billing staff read it: $1,500.00, 20%, 12 visits, required."""
    if fig is None:
        return "-"
    value = fig.value
    if term in MONEY_TERMS and isinstance(value, int):
        return format_usd(value)
    if isinstance(value, Decimal):
        return f"{(value * 100).normalize():f}%"
    if term is Term.PRIOR_AUTHORIZATION:
        return _AUTH.get(str(value), str(value))
    return str(value)


def _from(*figs: Figure | None) -> str:
    seen: list[str] = []
    for fig in figs:
        if fig is not None and fig.service_type not in seen:
            seen.append(fig.service_type)
    return ", ".join(st or "(none)" for st in seen)


def _benefit_rows(table: Table, b: Benefits) -> None:
    network = _NETWORK_WORDS[b.network.value]
    level = b.level.value.replace("_", " ")
    for label, total, remaining, used in _TERM_ROWS:
        figs = [
            b.get(total),
            b.get(remaining) if remaining else None,
            b.get(used) if used else None,
        ]
        if not any(figs):
            continue
        total_fig = figs[0]
        if total_fig is not None and total_fig.period and total_fig.period != "27":
            label += f" ({codes.words(codes.TIME_PERIODS, total_fig.period, 'period')})"
        table.add_row(
            network,
            level,
            label,
            figure_text(total, figs[0]),
            figure_text(remaining, figs[1]) if remaining else "",
            figure_text(used, figs[2]) if used else "",
            _from(*figs),
        )


def _header(e: Eligibility) -> list[tuple[str, str]]:
    rows = [("payer", f"{e.payer.name} ({_ident(e.payer.id_qualifier, e.payer.identifier)})")]
    rows.append(("coverage", _coverage_text(e)))
    dates = e.plan_dates
    if dates.plan_begin or dates.plan_end:
        rows.append(("plan dates", _span(dates.plan_begin, dates.plan_end)))
    if dates.eligibility_begin or dates.eligibility_end:
        rows.append(("eligibility dates", _span(dates.eligibility_begin, dates.eligibility_end)))
    if e.member is not None:
        m = e.member
        name = ", ".join(
            p for p in (m.last_name, " ".join(filter(None, (m.first_name, m.middle_name)))) if p
        )
        who = "dependant" if m.is_dependent else "subscriber"
        born = f", born {m.birth_date.isoformat()}" if m.birth_date else ""
        rows.append(("member", f"{name} ({who}){born}, member id {m.member_id or '-'}"))
    if e.group_number or e.plan_number:
        rows.append(("group / plan number", f"{e.group_number or '-'} / {e.plan_number or '-'}"))
    if e.benefits:
        rows.append(("answered by", "; ".join(codes.service_type_words(s) for s in e.answered_by)))
    return rows


def _coverage_text(e: Eligibility) -> str:
    if e.status is CoverageStatus.REJECTED:
        return "REJECTED: the payer did not answer the inquiry (see rejections)"
    if e.status is CoverageStatus.NOT_STATED:
        return "not stated by the payer"
    plan = ", ".join(
        p
        for p in (
            e.plan_description,
            codes.words(codes.INSURANCE_TYPES, e.insurance_type, "insurance type")
            if e.insurance_type
            else "",
        )
        if p
    )
    text = f"{e.status.value.upper()} ({e.status_words}"
    text += f", {codes.service_type_words(e.status_service_type)})"
    if plan:
        text += f" - {plan}"
    if e.status is CoverageStatus.INACTIVE and e.status_messages:
        text += ": " + " / ".join(e.status_messages)
    return text


def _span(first: date | None, last: date | None) -> str:
    return f"{first.isoformat() if first else '?'} to {last.isoformat() if last else '?'}"


def _ident(qualifier: str, identifier: str) -> str:
    names = {"PI": "payer id", "XX": "NPI", "FI": "tax id"}
    return f"{names.get(qualifier, qualifier or 'id')} {identifier or '-'}"


def show(e: Eligibility) -> None:
    """The readable table: header, rejections, figures, messages, what was not read."""
    for label, value in _header(e):
        style = "bold red" if label == "coverage" and e.status is not CoverageStatus.ACTIVE else ""
        out.print(f"  {label:<22}{value}", style=style, markup=False)
    if e.rejections:
        out.print("\nRejections", style="bold red")
        for r in e.rejections:
            follow = f"; {r.follow_up}" if r.follow_up else ""
            out.print(f"  {r.loop}: {r.reason_code} {r.reason}{follow}", markup=False)
    if e.benefits:
        table = Table(box=box.SIMPLE_HEAD, title=None, pad_edge=True)
        for name in ("network", "level", "benefit", "total", "remaining", "met/used", "from"):
            table.add_column(name)
        for b in e.benefits:
            _benefit_rows(table, b)
        out.print("\nBenefits")
        out.print(table)
    elif e.status is CoverageStatus.ACTIVE:
        out.print("\n  The 271 gives no figures for massage or its fallback service types.")
    for title, lines in (
        ("Not paid as asked", [_restriction(r) for r in e.restrictions]),
        ("Messages", [_message(m) for m in e.messages]),
        ("Not read", list(e.notes)),
    ):
        if lines:
            out.print(f"\n{title}")
            for line in lines:
                out.print(f"  {line}", markup=False)
    if e.other_service_types:
        out.print(
            f"\n  Also in the 271, not shown: service types {', '.join(e.other_service_types)}",
            markup=False,
        )


def _message(m: Message) -> str:
    network = _NETWORK_WORDS[m.network.value]
    return f"{codes.service_type_words(m.service_type)}, {network} network: {m.text}"


def _restriction(r: Restriction) -> str:
    network = _NETWORK_WORDS[r.network.value]
    return f"{codes.service_type_words(r.service_type)}, {network} network: {r.words}"


def _figure_json(term: Term, fig: Figure) -> dict[str, Any]:
    value: Any = fig.value
    if term in MONEY_TERMS and isinstance(value, int):
        value = dollars_str(value)
    elif isinstance(value, Decimal):
        value = str(value)
    return {
        "value": value,
        "service_type": fig.service_type,
        "time_period": fig.period,
        "segment": fig.segment,
    }


def to_json(e: Eligibility) -> dict[str, Any]:
    """Everything read, with money as dollar strings ("1500.00") and rates as fractions."""
    m = e.member
    return {
        "status": e.status.value,
        "status_code": e.status_code,
        "status_words": e.status_words,
        "status_service_type": e.status_service_type,
        "status_messages": list(e.status_messages),
        "plan_description": e.plan_description,
        "insurance_type": e.insurance_type,
        "plan_dates": {k: (v.isoformat() if v else None) for k, v in vars(e.plan_dates).items()},
        "payer": vars(e.payer),
        "provider": vars(e.provider) if e.provider else None,
        "member": None
        if m is None
        else {
            "last_name": m.last_name,
            "first_name": m.first_name,
            "middle_name": m.middle_name,
            "member_id": m.member_id,
            "birth_date": m.birth_date.isoformat() if m.birth_date else None,
            "gender": m.gender,
            "dependent": m.is_dependent,
        },
        "group_number": e.group_number,
        "plan_number": e.plan_number,
        "trace_numbers": list(e.trace_numbers),
        "answered_by": list(e.answered_by),
        "benefits": [
            {
                "network": b.network.value,
                "level": b.level.value,
                **{t.value: _figure_json(t, f) for t, f in b.figures.items()},
            }
            for b in e.benefits
        ],
        "rejections": [vars(r) for r in e.rejections],
        "restrictions": [{**vars(r), "network": r.network.value} for r in e.restrictions],
        "messages": [{**vars(msg), "network": msg.network.value} for msg in e.messages],
        "notes": list(e.notes),
        "other_service_types": list(e.other_service_types),
        "control_number": e.control_number,
    }
