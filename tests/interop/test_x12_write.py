"""The 270 writer: the exact inquiry for a subscriber, a dependant's shape, and that every
270 it writes validates with pyx12."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import pytest

from service.interop.x12.write270 import (
    Envelope,
    Gender,
    Inquiry,
    InquiryError,
    Person,
    write_270,
)

ENVELOPE = Envelope("HARBORMASSAGE", "ACMEHEALTH", 123, datetime(2026, 3, 1, 9, 30))


def inquiry(**changes: object) -> Inquiry:
    values: dict[str, object] = {
        "payer_name": "Acme Health",
        "payer_id": "60054",
        "provider_name": "Harbor Integrative Massage",
        "provider_npi": "1234567893",
        "provider_tin": "12-3456789",
        "member_id": "ACM100200300",
        "subscriber": Person("Rivera", "Jordan", date(1985, 4, 12), Gender.FEMALE),
        "date_of_service": date(2026, 3, 3),
    }
    values.update(changes)
    return Inquiry(**values)  # type: ignore[arg-type]


SUBSCRIBER_270 = """\
ISA*00*          *00*          *ZZ*HARBORMASSAGE  *ZZ*ACMEHEALTH     *260301*0930*^*00501*000000123*0*P*:~
GS*HS*HARBORMASSAGE*ACMEHEALTH*20260301*0930*123*X*005010X279A1~
ST*270*0001*005010X279A1~
BHT*0022*13*000000123*20260301*0930~
HL*1**20*1~
NM1*PR*2*ACME HEALTH*****PI*60054~
HL*2*1*21*1~
NM1*1P*2*HARBOR INTEGRATIVE MASSAGE*****XX*1234567893~
HL*3*2*22*0~
TRN*1*000000123*1123456789~
NM1*IL*1*RIVERA*JORDAN****MI*ACM100200300~
DMG*D8*19850412*F~
DTP*291*D8*20260303~
EQ*BE~
EQ*AE~
EQ*33~
EQ*64~
EQ*30~
SE*17*0001~
GE*1*123~
IEA*1*000000123~
"""  # noqa: E501


def test_a_subscriber_inquiry_is_exactly_this() -> None:
    text = write_270(inquiry(), ENVELOPE)
    assert text == SUBSCRIBER_270
    assert len(text.splitlines()[0]) == 106  # the ISA is fixed width


def test_a_subscriber_inquiry_validates(x12_validate: Callable[[str], list[str]]) -> None:
    assert x12_validate(write_270(inquiry(), ENVELOPE)) == []


def test_a_dependant_inquiry_asks_at_the_dependants_level(
    x12_validate: Callable[[str], list[str]],
) -> None:
    text = write_270(
        inquiry(dependent=Person("Rivera", "Sam", date(2014, 6, 1), Gender.MALE)),
        Envelope("HARBORMASSAGE", "ACMEHEALTH", 7, datetime(2026, 3, 1, 9, 30), production=False),
    )
    lines = text.splitlines()
    assert lines[0].endswith("*000000007*0*T*:~")
    assert lines[8:] == [
        "HL*3*2*22*1~",
        "TRN*1*000000007*1123456789~",
        "NM1*IL*1*RIVERA*JORDAN****MI*ACM100200300~",
        "DMG*D8*19850412*F~",
        "HL*4*3*23*0~",
        "TRN*1*000000007*1123456789~",
        "NM1*03*1*RIVERA*SAM~",
        "DMG*D8*20140601*M~",
        "DTP*291*D8*20260303~",
        "EQ*BE~",
        "EQ*AE~",
        "EQ*33~",
        "EQ*64~",
        "EQ*30~",
        "SE*21*0001~",
        "GE*1*7~",
        "IEA*1*000000007~",
    ]
    assert x12_validate(text) == []


def test_every_problem_is_listed_without_the_members_data() -> None:
    with pytest.raises(InquiryError) as caught:
        write_270(
            inquiry(
                payer_id="6",
                member_id="ACM*100",
                provider_npi="12345",
                subscriber=Person("", "Jordan~", date(2027, 1, 1)),
            ),
            Envelope("H", "ACMEHEALTH", 0, datetime(2026, 3, 1)),
        )
    assert caught.value.problems == [
        "the payer id must be 2 to 80 characters (it has 1)",
        "the provider NPI must be 10 digits",
        "the member id may not hold * ^ : ~, line breaks or non-ASCII characters",
        "the subscriber's last name is required",
        "the subscriber's first name may not hold * ^ : ~, line breaks or non-ASCII characters",
        "the subscriber's date of birth is after the date of service",
        "the sender id must be 2 to 15 characters (it has 1)",
        "the control number must be 1 to 999999999",
    ]
    assert "ACM" not in str(caught.value) and "Jordan" not in str(caught.value)


def test_the_inquiry_never_shows_in_a_repr() -> None:
    assert "Rivera" not in repr(inquiry()) and "ACM100200300" not in repr(inquiry())
