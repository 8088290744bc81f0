"""The Good Faith Estimate as data: every element the No Surprises Act asks for.

Required elements (../shared/DOMAIN.md, 45 CFR 149.610): the client's name and date of
birth; a plain description of the service and its date(s); itemized lines with diagnosis
codes, service (CPT) codes, units and expected charges; the total; the provider's name, NPI,
TIN and location; the date issued; the standard disclaimers. Money is integer cents.
Text is kept to plain ASCII so the PDF core fonts render it on any machine.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from service.domain.model import Clinic
from service.domain.money import Cents, format_usd

DISPUTE_THRESHOLD_DOLLARS = 400
DISPUTE_WINDOW_DAYS = 120
LEARN_MORE_URL = "www.cms.gov/nosurprises"

DISCLAIMERS: tuple[str, ...] = (
    "This Good Faith Estimate shows the costs of items and services that are reasonably "
    "expected for your health care needs for the service(s) listed. The estimate is based on "
    "information known at the time the estimate was created.",
    "This is an estimate only, not a contract. It does not require you to obtain the listed "
    "items or services from this provider.",
    "The Good Faith Estimate does not include any unknown or unexpected costs that may arise "
    "during treatment. You could be charged more if complications or special circumstances "
    "occur.",
    "If you are billed for more than this Good Faith Estimate, you have the right to dispute "
    f"the bill. You may start a dispute resolution process if the bill is "
    f"${DISPUTE_THRESHOLD_DOLLARS} or more above this estimate. You must start the dispute "
    f"within {DISPUTE_WINDOW_DAYS} calendar days of the date on the original bill.",
    "This estimate is valid for the items and services listed above. If other items or "
    "services are recommended, they will be estimated separately.",
    "Keep a copy of this Good Faith Estimate in a safe place or take pictures of it. You may "
    "need it if you are billed a higher amount.",
    "For questions or more information about your right to a Good Faith Estimate, visit "
    f"{LEARN_MORE_URL}.",
)


class GfeError(ValueError):
    """The estimate cannot be issued as asked (an element is missing or wrong)."""


_SWAPS = {
    "\u2013": "-",
    "\u2014": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u00b7": "-",
    "\u2022": "-",
    "\u00a0": " ",
}


def unprintable(text: str) -> str:
    """The characters plain() would lose outright (not accents: whole letters, e.g. CJK)."""
    lost = []
    for ch in text:
        if ch in _SWAPS or unicodedata.combining(ch):
            continue
        if not unicodedata.normalize("NFKD", ch).encode("ascii", "ignore"):
            lost.append(ch)
    return "".join(lost)


def plain(text: str) -> str:
    """ASCII only: accents dropped, typographic dashes and quotes made plain (core fonts)."""
    text = "".join(_SWAPS.get(ch, ch) for ch in text)
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed.encode("ascii", "ignore").decode("ascii")


@dataclass(frozen=True)
class Provider:
    """Who gives the service: the clinic profile's name, NPI, TIN and address."""

    name: str
    npi: str
    tin: str
    address_lines: tuple[str, ...]


@dataclass(frozen=True)
class Client:
    """Who the estimate is for."""

    name: str
    date_of_birth: date


@dataclass(frozen=True)
class ServiceLine:
    """One expected session: when, what, why (diagnoses), the code, units and charge."""

    date_of_service: date
    description: str
    diagnosis_codes: tuple[str, ...]
    cpt_code: str
    units: int
    charge: Cents


@dataclass(frozen=True)
class GoodFaithEstimate:
    """Everything printed on the estimate, already checked."""

    client: Client
    provider: Provider
    issued_on: date
    service_description: str
    lines: tuple[ServiceLine, ...]
    disclaimers: tuple[str, ...] = DISCLAIMERS

    @property
    def total(self) -> Cents:
        return sum(line.charge for line in self.lines)

    @property
    def first_date(self) -> date:
        return self.lines[0].date_of_service

    @property
    def last_date(self) -> date:
        return self.lines[-1].date_of_service

    def dates_text(self) -> str:
        if len(self.lines) == 1:
            return self.first_date.isoformat()
        return (
            f"{len(self.lines)} sessions from {self.first_date.isoformat()} "
            f"to {self.last_date.isoformat()}"
        )


def usd(cents: Cents) -> str:
    return format_usd(cents)


def service_description(
    session_type: str, group: str, minutes: int, count: int, every_days: int | None
) -> str:
    """'Deep tissue massage (therapeutic massage), 60 minutes, one session' and the like."""
    what = f"{session_type.replace('_', ' ').capitalize()} massage ({group} massage), "
    what += f"{minutes} minutes"
    if count == 1:
        return what + ", one session"
    return what + f" per session, {count} sessions, one every {every_days} days"


def build_estimate(
    *,
    clinic: Clinic,
    client: Client,
    issued_on: date,
    session_type: str,
    minutes: int,
    lines: Sequence[ServiceLine],
    every_days: int | None = None,
) -> GoodFaithEstimate:
    """Check every element and assemble the estimate; a missing element is an error, never a
    blank or a $0 line on the page."""
    problems = _problems(clinic, client, issued_on, session_type, lines)
    if problems:
        raise GfeError("; ".join(problems))
    group = clinic.session_types[session_type].group
    return GoodFaithEstimate(
        client=Client(plain(client.name).strip(), client.date_of_birth),
        provider=Provider(
            plain(clinic.name),
            clinic.npi,
            clinic.tin,
            tuple(plain(a) for a in clinic.address_lines),
        ),
        issued_on=issued_on,
        service_description=plain(
            service_description(session_type, group, minutes, len(lines), every_days)
        ),
        lines=tuple(
            ServiceLine(
                line.date_of_service,
                plain(line.description),
                tuple(plain(c) for c in line.diagnosis_codes),
                line.cpt_code,
                line.units,
                line.charge,
            )
            for line in lines
        ),
    )


def _problems(
    clinic: Clinic,
    client: Client,
    issued_on: date,
    session_type: str,
    lines: Sequence[ServiceLine],
) -> list[str]:
    """Every element an estimate would miss or get wrong, in words."""
    problems: list[str] = []
    if not client.name.strip():
        problems.append("the client's name is required")
    elif unprintable(client.name):
        problems.append(
            f"the client's name has characters the estimate cannot print "
            f"({unprintable(client.name)!r}); give it in Latin letters"
        )
    if client.date_of_birth > issued_on:
        problems.append("the client's date of birth is after the issue date")
    for label, value in (("name", clinic.name), ("NPI", clinic.npi), ("TIN", clinic.tin)):
        if not value.strip():
            problems.append(f"the clinic profile has no {label}")
    if not clinic.address_lines:
        problems.append("the clinic profile has no address")
    if session_type not in clinic.session_types:
        problems.append(f"the clinic has no session type {session_type!r}")
    if not lines:
        problems.append("there is no session to estimate")
    for i, line in enumerate(lines, start=1):
        if line.charge <= 0:
            problems.append(f"session {i} has no expected charge")
        if not line.cpt_code:
            problems.append(f"session {i} has no service code")
        if line.units <= 0:
            problems.append(f"session {i} has no units")
    dates = [line.date_of_service for line in lines]
    if dates != sorted(dates):
        problems.append("the sessions are not in date order")
    return problems
