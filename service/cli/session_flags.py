"""The session flags of `quote`, `plan` and `gfe`, declared once.

Each SessionFlag is one entry: the flag as typer shows it, its default, how its value goes
into the SessionDetails request, and the request field it fills (so an error the service
reports about that field names the flag the clerk typed). A command takes the whole set with
@with_session_flags() and receives the values as one SessionFlags argument named `session`;
gfe, whose clients pay for themselves, takes only the flags marked self_pay. Adding a session
flag is adding one entry to SESSION_FLAGS.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, TypeVar, cast

import typer
from massage_estimator.v1 import estimator_pb2 as pb

from service import wire
from service.cli.common import (
    choice_metavar,
    choice_parser,
    dollars,
    parse_day,
    read_text_file,
)
from service.domain.model import Injury, Network, ProviderCredential, ReferralKind

R = TypeVar("R")
REQUIRED: Any = inspect.Parameter.empty


@dataclass(frozen=True)
class SessionFlag:
    """One session flag (see the module docstring)."""

    name: str  # the value's name in SessionFlags
    flag: str  # "--minutes"
    type: Any
    help: str
    field: str  # the SessionDetails field it fills, e.g. "accumulators.visits_used"
    fill: Callable[[pb.SessionDetails, Any], None]
    default: Any = REQUIRED
    parser: Callable[[object], Any] | None = None
    metavar: str | None = None
    self_pay: bool = False  # gfe offers it too
    panel: str | None = None  # a help panel of its own (long names fit there)

    def parameter(self) -> inspect.Parameter:
        option = typer.Option(
            self.flag,
            help=self.help,
            parser=self.parser,
            metavar=self.metavar,
            rich_help_panel=self.panel,
        )
        annotation = cast(Any, Annotated)[self.type, option]
        return inspect.Parameter(
            self.name, inspect.Parameter.KEYWORD_ONLY, default=self.default, annotation=annotation
        )


def _set(field: str) -> Callable[[pb.SessionDetails, Any], None]:
    return lambda details, value: setattr(details, field, value)


def _money(field: str, flag: str) -> Callable[[pb.SessionDetails, Any], None]:
    def fill(details: pb.SessionDetails, value: str) -> None:
        getattr(details.accumulators, field).CopyFrom(wire.money_to_proto(dollars(value, flag)))

    return fill


def _optional_money(path: str, flag: str) -> Callable[[pb.SessionDetails, Any], None]:
    """Fill the Money at `path` ("other_network_accumulators.deductible_met") when the flag
    is given; unset means "not given", which is not the same as $0.00 for family totals."""
    block, name = path.split(".")

    def fill(details: pb.SessionDetails, value: str | None) -> None:
        if value is not None:
            getattr(getattr(details, block), name).CopyFrom(
                wire.money_to_proto(dollars(value, flag))
            )

    return fill


def _provider(details: pb.SessionDetails, value: ProviderCredential | None) -> None:
    if value is not None:
        details.provider_credential = wire.PROVIDER_CREDENTIALS[value]


def _network(details: pb.SessionDetails, value: Network | None) -> None:
    if value is not None:
        details.network = wire.NETWORKS[value]


def _set_if(field: str) -> Callable[[pb.SessionDetails, Any], None]:
    return lambda details, value: setattr(details, field, value) if value else None


def _location(details: pb.SessionDetails, value: str | None) -> None:
    if value:
        details.location_id = value


def _referral_date(details: pb.SessionDetails, value: datetime | None) -> None:
    if value is not None:
        details.referral.issue_date.CopyFrom(wire.date_to_proto(value.date()))


def _visits_used(details: pb.SessionDetails, value: int) -> None:
    details.accumulators.visits_used = value


def read_271_file(value: object) -> str:
    """The text of a 271 file named on the command line (`-` for standard input); the
    service reads it, so a file that is not a 271 is refused there, naming --eligibility."""
    name = str(value)
    try:
        return read_text_file(name, MAX_271_FILE)
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {name}: {exc.strerror}") from None


def _eligibility(details: pb.SessionDetails, value: str | None) -> None:
    if value:
        details.eligibility_271 = value


def _referral(details: pb.SessionDetails, value: ReferralKind) -> None:
    details.referral.kind = wire.REFERRAL_KINDS[value]


CLAUSES = "Plan clauses (docs/cli.md#plan-clauses)"
ELIGIBILITY = "Eligibility (docs/interop.md)"
MAX_271_FILE = 65_536  # the service's limit; a longer file is refused there, by name

SESSION_FLAGS: tuple[SessionFlag, ...] = (
    SessionFlag(
        "plan", "--plan", str,
        'Plan id, e.g. acme-ppo-gold; "self-pay" without insurance.',
        "plan_id", _set("plan_id"),
    ),
    SessionFlag(
        "session_type", "--session-type", str,
        "Session type, e.g. deep_tissue, swedish, myofascial.",
        "session_type", _set("session_type"), self_pay=True,
    ),
    SessionFlag(
        "minutes", "--minutes", int, "Session length in minutes (1 to 240).",
        "minutes", _set("minutes"), self_pay=True,
    ),
    SessionFlag(
        "referral", "--referral", ReferralKind, "Referral or prescription the client holds.",
        "referral.kind", _referral, default=ReferralKind.NONE,
        parser=choice_parser(ReferralKind), metavar=choice_metavar(ReferralKind),
    ),
    SessionFlag(
        "referral_date", "--referral-date", datetime | None,
        "Day the referral was issued (YYYY-MM-DD).",
        "referral.issue_date", _referral_date, default=None,
        parser=parse_day, metavar="YYYY-MM-DD",
    ),
    SessionFlag(
        "diagnosis", "--diagnosis", list[str] | None,
        "ICD-10-CM diagnosis code, e.g. M54.50; repeat for more.",
        "diagnosis_codes", lambda d, v: d.diagnosis_codes.extend(v or []),
        default=None, self_pay=True,
    ),
    SessionFlag(
        "network", "--network", Network | None,
        "The clinic's network status; default: the --location's participation with the plan "
        "on the date, or in network when no location is named.",
        "network", _network, default=None,
        parser=choice_parser(Network), metavar=choice_metavar(Network),
    ),
    SessionFlag(
        "location", "--location", str | None,
        "The clinic location that renders the session, e.g. harbor-eastside; default: the "
        "default location.",
        "location_id", _location, default=None, metavar="ID", self_pay=True,
    ),
    SessionFlag(
        "therapist", "--therapist", str | None,
        "The therapist who renders it, e.g. cara-lmt (their credential decides who renders).",
        "therapist_id", _set_if("therapist_id"), default=None, metavar="ID", panel=CLAUSES,
    ),
    SessionFlag(
        "injury", "--injury", Injury, "Injury context.",
        "injury", lambda d, v: setattr(d, "injury", wire.INJURIES[v]), default=Injury.NONE,
        parser=choice_parser(Injury), metavar=choice_metavar(Injury),
    ),
    SessionFlag(
        "deductible_met", "--deductible-met", str | None,
        'Deductible met this benefit period, dollars ("450.00"); default 0, or what '
        "--eligibility says.",
        "accumulators.deductible_met",
        _optional_money("accumulators.deductible_met", "--deductible-met"), default=None,
    ),
    SessionFlag(
        "oop_met", "--oop-met", str | None,
        "Out-of-pocket maximum met this benefit period, dollars; default 0, or what "
        "--eligibility says.",
        "accumulators.out_of_pocket_met",
        _optional_money("accumulators.out_of_pocket_met", "--oop-met"), default=None,
    ),
    SessionFlag(
        "visits_used", "--visits-used", int,
        "Visits used in the plan's limit bucket this period; default 0, or what "
        "--eligibility says.",
        "accumulators.visits_used", _visits_used, default=0,
    ),
    SessionFlag(
        "prior_auth_on_file", "--prior-auth-on-file", bool,
        "The payer already granted prior authorization.",
        "prior_authorization_on_file", _set("prior_authorization_on_file"), default=False,
    ),
    *(
        SessionFlag(
            name, flag, str | None, text, field, _optional_money(field, flag), default=None,
            metavar="DOLLARS", panel=CLAUSES,
        )
        for name, flag, text, field in (
            (
                "family_deductible_met", "--family-deductible-met",
                "The family's deductible met this period, the client's own included, dollars.",
                "accumulators.family_deductible_met",
            ),
            (
                "family_oop_met", "--family-oop-met",
                "The family's out-of-pocket met this period, the client's own included, dollars.",
                "accumulators.family_out_of_pocket_met",
            ),
            (
                "benefit_paid", "--benefit-paid",
                "What the plan has paid for massage this period, dollars (payment limits).",
                "accumulators.benefit_paid",
            ),
            (
                "other_deductible_met", "--other-network-deductible-met",
                "Deductible met in the other network this period, dollars.",
                "other_network_accumulators.deductible_met",
            ),
            (
                "other_oop_met", "--other-network-oop-met",
                "Out-of-pocket met in the other network this period, dollars.",
                "other_network_accumulators.out_of_pocket_met",
            ),
            (
                "other_family_deductible_met", "--other-network-family-deductible-met",
                "The family's deductible met in the other network this period, dollars.",
                "other_network_accumulators.family_deductible_met",
            ),
            (
                "other_family_oop_met", "--other-network-family-oop-met",
                "The family's out-of-pocket met in the other network this period, dollars.",
                "other_network_accumulators.family_out_of_pocket_met",
            ),
        )
    ),
    SessionFlag(
        "units_today", "--units-today", int,
        "Units this plan covered earlier the same day (daily unit caps).",
        "units_billed_today", _set("units_billed_today"), default=0, panel=CLAUSES,
    ),
    SessionFlag(
        "same_day_code", "--same-day-code", list[str] | None,
        "Another procedure billed the same day, e.g. 98940; repeat for more.",
        "same_day_procedure_codes",
        lambda d, v: d.same_day_procedure_codes.extend(v or []), default=None,
        metavar="CODE", panel=CLAUSES,
    ),
    SessionFlag(
        "provider", "--provider", ProviderCredential | None,
        "Who renders the session; default: the clinic profile's (lmt for the sample clinic).",
        "provider_credential", _provider, default=None,
        parser=choice_parser(ProviderCredential), metavar=choice_metavar(ProviderCredential),
        panel=CLAUSES,
    ),
    SessionFlag(
        "eligibility", "--eligibility", str | None,
        "The payer's X12 271 for this client (a file, or - for stdin): what it says is "
        "remaining fills the met and used flags you leave out; disagreements with the rule "
        "table are listed.",
        "eligibility_271", _eligibility, default=None, parser=read_271_file,
        metavar="FILE.271", panel=ELIGIBILITY,
    ),
)  # fmt: skip

FIELD_FLAGS: Mapping[str, str] = {
    **{"session." + f.field: f.flag for f in SESSION_FLAGS},
    "session.date_of_service": "--date",
    "recurrence.start_date": "--date",
    "recurrence.session_count": "--sessions",
    "recurrence.every_days": "--every-days",
}
"""The flag a clerk typed for each request field the service may name (quote, plan, gfe)."""


class SessionFlags:
    """The session flag values one command was given."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def details(self, day: date | None, **fixed: Any) -> pb.SessionDetails:
        """The SessionDetails message the flags describe (range checks are the server's):
        dated `day` (None for a treatment plan, whose schedule dates it), with `fixed`
        values for the flags the command does not offer, the defaults for the rest."""
        details = pb.SessionDetails()
        for flag in SESSION_FLAGS:
            if flag.name in fixed:
                value = fixed[flag.name]
            elif flag.name in self._values:
                value = self._values[flag.name]
            elif flag.default is not REQUIRED:
                value = flag.default
            else:
                raise TypeError(f"{flag.flag} is neither offered nor fixed")
            flag.fill(details, value)
        if day is not None:
            details.date_of_service.CopyFrom(wire.date_to_proto(day))
        return details


def with_session_flags(*, self_pay: bool = False) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Give a command the session flags (only those for self-pay clients when `self_pay`),
    passed to it as `session: SessionFlags`; its own parameters follow them."""
    flags = [f for f in SESSION_FLAGS if f.self_pay or not self_pay]

    def decorate(command: Callable[..., R]) -> Callable[..., R]:
        signature = inspect.signature(command, eval_str=True)
        own = [
            p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
            for p in signature.parameters.values()
            if p.name != "session"
        ]

        @functools.wraps(command)
        def run(**kwargs: Any) -> R:
            values = {f.name: kwargs.pop(f.name) for f in flags}
            return command(session=SessionFlags(values), **kwargs)

        parameters = [f.parameter() for f in flags] + own
        run.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in parameters}
        return run

    return decorate
