"""Write a 005010X279A1 270 eligibility inquiry for the massage benefit.

One interchange, one functional group, one transaction set, one patient: the subscriber, or
a dependant under the subscriber (2000D). The inquiry asks for each massage service type in
its own 2110 loop (one EQ each) rather than one EQ with repeated EQ01 values: both are valid
5010, and separate loops are what every payer and the validator read. Delimiters are
`*` elements, `^` repetitions, `:` components and `~` segments, each segment on its own line.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from service.interop.x12 import codes
from service.interop.x12.read271 import VERSION

# Characters a value must not hold: the four delimiters and line breaks.
_FORBIDDEN = re.compile(r"[*^:~\r\n]")
_NPI = re.compile(r"^[0-9]{10}$")
_EIN = re.compile(r"^[0-9]{2}-?[0-9]{7}$")


class Gender(enum.Enum):
    FEMALE = "F"
    MALE = "M"


class InquiryError(ValueError):
    """The inquiry cannot be written as asked; `problems` lists every reason (no values of
    the member are echoed)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True, repr=False)
class Person:
    """A subscriber or a dependant (protected health information: never logged)."""

    last_name: str
    first_name: str
    birth_date: date
    gender: Gender | None = None
    middle_name: str = ""

    def __repr__(self) -> str:
        return "Person(<redacted>)"


@dataclass(frozen=True, repr=False)
class Inquiry:
    """What to ask: who, of which payer, from which provider, for which date of service."""

    payer_name: str
    payer_id: str  # the payer id the clearinghouse uses (NM109 with qualifier PI)
    provider_name: str
    provider_npi: str
    provider_tin: str  # EIN, for the trace number's originating company (TRN03)
    member_id: str
    subscriber: Person
    date_of_service: date
    dependent: Person | None = None
    service_types: tuple[str, ...] = codes.MASSAGE_SERVICE_TYPES

    def __repr__(self) -> str:
        return "Inquiry(<redacted>)"


@dataclass(frozen=True)
class Envelope:
    """Interchange addressing and control: what the clearinghouse assigned the clinic."""

    sender_id: str
    receiver_id: str
    control_number: int  # ISA13 and GS06 (1 to 999,999,999); also the trace number
    created_at: datetime
    production: bool = True  # ISA15 P, or T for a test interchange


def write_270(inquiry: Inquiry, envelope: Envelope) -> str:
    """The 270 as text, or InquiryError listing every problem."""
    _check(inquiry, envelope)
    control = f"{envelope.control_number:09d}"
    body = _transaction(inquiry, envelope, control)
    segments = [
        *_envelope_header(envelope, control),
        *body,
        ["GE", "1", str(envelope.control_number)],
        ["IEA", "1", control],
    ]
    return "".join(_segment(parts) for parts in segments)


def _envelope_header(envelope: Envelope, control: str) -> list[list[str]]:
    stamp = envelope.created_at
    sender = envelope.sender_id.strip().upper()
    receiver = envelope.receiver_id.strip().upper()
    isa = ["ISA", "00", " " * 10, "00", " " * 10, "ZZ", f"{sender:<15}", "ZZ", f"{receiver:<15}"]
    isa += [stamp.strftime("%y%m%d"), stamp.strftime("%H%M"), "^", "00501", control, "0"]
    isa += ["P" if envelope.production else "T", ":"]
    gs = ["GS", "HS", sender, receiver, stamp.strftime("%Y%m%d"), stamp.strftime("%H%M")]
    gs += [str(envelope.control_number), "X", VERSION]
    return [isa, gs]


def _transaction(inquiry: Inquiry, envelope: Envelope, control: str) -> list[list[str]]:
    """ST ... SE: payer, provider, subscriber and (for a dependant) the dependant."""
    stamp = envelope.created_at
    trace = ["TRN", "1", control, "1" + re.sub(r"\D", "", inquiry.provider_tin)]
    payer = ["NM1", "PR", "2", _clean(inquiry.payer_name), "", "", "", "", "PI"]
    provider = ["NM1", "1P", "2", _clean(inquiry.provider_name), "", "", "", "", "XX"]
    body = [
        ["ST", "270", "0001", VERSION],
        ["BHT", "0022", "13", control, stamp.strftime("%Y%m%d"), stamp.strftime("%H%M")],
        ["HL", "1", "", "20", "1"],
        [*payer, inquiry.payer_id],
        ["HL", "2", "1", "21", "1"],
        [*provider, inquiry.provider_npi],
        ["HL", "3", "2", "22", "1" if inquiry.dependent else "0"],
        trace,
        _nm1("IL", inquiry.subscriber, inquiry.member_id),
        _dmg(inquiry.subscriber),
    ]
    asks = [
        ["DTP", "291", "D8", inquiry.date_of_service.strftime("%Y%m%d")],
        *(["EQ", code] for code in inquiry.service_types),
    ]
    if inquiry.dependent is not None:
        dependent = inquiry.dependent
        body += [["HL", "4", "3", "23", "0"], trace, _nm1("03", dependent, None), _dmg(dependent)]
    body += asks
    body.append(["SE", str(len(body) + 1), "0001"])
    return body


def _segment(parts: Sequence[str]) -> str:
    values = list(parts)
    if values[0] != "ISA":
        while len(values) > 1 and values[-1] == "":
            values.pop()
    return "*".join(values) + "~\n"


def _clean(text: str) -> str:
    """Names as X12 expects them: upper case, single spaces."""
    return " ".join(text.split()).upper()


def _nm1(entity: str, person: Person, member_id: str | None) -> list[str]:
    parts = [
        "NM1",
        entity,
        "1",
        _clean(person.last_name),
        _clean(person.first_name),
        _clean(person.middle_name),
    ]
    if member_id is not None:
        parts += ["", "", "MI", member_id.strip()]
    return parts


def _dmg(person: Person) -> list[str]:
    parts = ["DMG", "D8", person.birth_date.strftime("%Y%m%d")]
    if person.gender is not None:
        parts.append(person.gender.value)
    return parts


def _text_problems(label: str, value: str, low: int, high: int) -> list[str]:
    value = " ".join(value.split())
    if not value:
        return [f"{label} is required"]
    out = []
    if not low <= len(value) <= high:
        out.append(f"{label} must be {low} to {high} characters (it has {len(value)})")
    if _FORBIDDEN.search(value) or not value.isascii() or not value.isprintable():
        out.append(f"{label} may not hold * ^ : ~, line breaks or non-ASCII characters")
    return out


def _check(inquiry: Inquiry, envelope: Envelope) -> None:
    problems: list[str] = []
    problems += _text_problems("the payer name", inquiry.payer_name, 1, 60)
    problems += _text_problems("the payer id", inquiry.payer_id, 2, 80)
    problems += _text_problems("the provider name", inquiry.provider_name, 1, 60)
    if not _NPI.match(inquiry.provider_npi):
        problems.append("the provider NPI must be 10 digits")
    if not _EIN.match(inquiry.provider_tin):
        problems.append("the provider TIN must be an EIN (NN-NNNNNNN)")
    problems += _text_problems("the member id", inquiry.member_id, 2, 80)
    people = [("the subscriber", inquiry.subscriber)]
    if inquiry.dependent is not None:
        people.append(("the dependant", inquiry.dependent))
    for who, person in people:
        problems += _text_problems(f"{who}'s last name", person.last_name, 1, 60)
        problems += _text_problems(f"{who}'s first name", person.first_name, 1, 35)
        if person.middle_name.strip():
            problems += _text_problems(f"{who}'s middle name", person.middle_name, 1, 25)
        if person.birth_date > inquiry.date_of_service:
            problems.append(f"{who}'s date of birth is after the date of service")
        if person.birth_date.year < 1900:
            problems.append(f"{who}'s date of birth is before 1900")
    if not inquiry.service_types:
        problems.append("at least one service type is required")
    for code in inquiry.service_types:
        if code not in codes.SERVICE_TYPES:
            problems.append(f"service type {code!r} is not one this service asks for")
    for label, value in (("sender id", envelope.sender_id), ("receiver id", envelope.receiver_id)):
        problems += _text_problems(f"the {label}", value, 2, 15)
    if not 1 <= envelope.control_number <= 999_999_999:
        problems.append("the control number must be 1 to 999999999")
    if problems:
        raise InquiryError(problems)
