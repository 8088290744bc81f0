"""The 271 reader on what the fixtures do not show: repeated elements, nested entity loops,
conflicts, what it refuses and why, and that no member data reaches an error message.

Repeated elements (EB03 `30^BE`) and 2115/2120 loops (III, LS ... LE) are valid 5010 that
pyx12 with its unreleased X279A1 map cannot check (it reads neither), so these texts are
read here without the validator; everything else in them is laid out as in the fixtures.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from service.interop.x12.eligibility import CoverageStatus, Level, Network, Term
from service.interop.x12.read271 import read_271
from service.interop.x12.segments import MAX_INTERCHANGE_BYTES, X12Error

from .conftest import FIXTURES

ISA = (
    "ISA*00*          *00*          *ZZ*ACMEHEALTH     *ZZ*HARBORMASSAGE  "
    "*260302*0815*^*00501*000000301*0*P*:~"
)
HEAD = [
    "BHT*0022*11*000000123*20260302*0815",
    "HL*1**20*1",
    "NM1*PR*2*ACME HEALTH*****PI*60054",
    "HL*2*1*21*1",
    "NM1*1P*2*HARBOR INTEGRATIVE MASSAGE*****XX*1234567893",
    "HL*3*2*22*0",
    "NM1*IL*1*RIVERA*JORDAN****MI*ACM100200300",
    "DMG*D8*19850412*F",
]


def wrap(body: list[str], *, st: str = "271", version: str = "005010X279A1") -> str:
    """A whole interchange around `body` (segments without terminators), counts right."""
    inner = [f"ST*{st}*0001*{version}", *body]
    segments = [
        ISA,
        f"GS*HB*ACMEHEALTH*HARBORMASSAGE*20260302*0815*301*X*{version}~",
        *(s + "~" for s in inner),
        f"SE*{len(inner) + 1}*0001~",
        "GE*1*301~",
        "IEA*1*000000301~",
    ]
    return "\n".join(segments) + "\n"


def test_a_repeated_service_type_answers_as_the_most_specific() -> None:
    e = read_271(wrap([*HEAD, "EB*1**30", "EB*C*IND*30^BE***23*500*****Y"]))
    fig = e.figure(Network.IN, Level.INDIVIDUAL, Term.DEDUCTIBLE)
    assert fig is not None and (fig.value, fig.service_type) == (50000, "BE")


def test_components_and_crlf_line_ends_are_read() -> None:
    text = wrap([*HEAD, "EB*1**30", "EB*B*IND*BE***27*30*****Y*HC:97124"])
    e = read_271(text.replace("\n", "\r\n").encode())
    assert e.figure(Network.IN, Level.INDIVIDUAL, Term.COPAY) is not None


def test_the_name_inside_an_entity_loop_is_not_taken_for_the_member() -> None:
    e = read_271(
        wrap(
            [
                *HEAD,
                "EB*1**30",
                "EB*L**30",
                "III*ZZ*11",
                "LS*2120",
                "NM1*P3*1*OKAFOR*ADA****XX*1987654320",
                "LE*2120",
                "EB*B*IND*BE***27*25*****Y",
            ]
        )
    )
    assert e.member is not None and e.member.last_name == "RIVERA"
    fig = e.figure(Network.IN, Level.INDIVIDUAL, Term.COPAY)
    assert fig is not None and fig.value == 2500


def test_two_different_figures_from_one_service_type_are_reported() -> None:
    e = read_271(
        wrap([*HEAD, "EB*1**30", "EB*B*IND*BE***27*30*****Y", "EB*B*IND*BE***27*45*****Y"])
    )
    fig = e.figure(Network.IN, Level.INDIVIDUAL, Term.COPAY)
    assert fig is not None and fig.value == 3000
    assert e.notes == (
        "segments 13 and 14 both give the in network individual copay for BE massage therapy "
        "($30.00 and $45.00); the first is shown",
    )


def test_a_benefit_for_another_procedure_is_not_taken_for_massage() -> None:
    e = read_271(
        wrap(
            [
                *HEAD,
                "EB*1**30",
                "EB*B*IND*AE***27*60*****Y*HC:98940",
                "EB*B*IND*AE***27*25*****Y*HC:97124",
            ]
        )
    )
    fig = e.figure(Network.IN, Level.INDIVIDUAL, Term.COPAY)
    assert fig is not None and (fig.value, fig.segment) == (2500, 14)
    assert e.notes == ("segment 13 (EB): a benefit for procedure 98940 only (EB13) is not read",)


def test_figures_it_cannot_read_are_said_not_dropped() -> None:
    e = read_271(
        wrap(
            [
                *HEAD,
                "EB*1**30",
                "EB*C*IND*BE***27*100*****Y",
                "EB*A*IND*BE*****20****Y",
                "EB*C*ESP*30***23*900*****Y",
                "EB*F*IND*BE***23***DY*10**Y",
                "EB*B*IND*98***27*40*****Y",
            ]
        )
    )
    assert e.benefits == ()
    assert e.notes == (
        "segment 13 (EB): a deductible for BE massage therapy with time period visit is not read",
        "segment 14 (EB): EB08 is not a coinsurance fraction between 0 and 1 (0.20 for 20%)",
        "segment 15 (EB): coverage level ESP (employee and spouse) is neither individual nor "
        "family; its figures are not read",
        "segment 16 (EB): a limitation counted in quantity qualifier DY is not read (only VS "
        "visits)",
    )
    assert e.other_service_types == ("98",)


def test_a_benefit_without_a_service_type_ranks_after_the_plan() -> None:
    e = read_271(wrap([*HEAD, "EB*1**30", "EB*A*IND******0.30****Y", "EB*A*IND*30*****0.20****Y"]))
    fig = e.figure(Network.IN, Level.INDIVIDUAL, Term.COINSURANCE)
    assert fig is not None and (fig.value, fig.service_type) == (Decimal("0.20"), "30")


def test_a_benefit_level_rejection_keeps_the_coverage_status() -> None:
    e = read_271(wrap([*HEAD, "EB*1**30", "EB*I**BE", "AAA*Y**53*C"]))
    assert e.status is CoverageStatus.ACTIVE
    assert [(r.loop, r.reason) for r in e.rejections] == [
        (
            "subscriber benefit (BE massage therapy)",
            "inquired benefit inconsistent with provider type",
        )
    ]
    assert [(r.code, r.words, r.service_type) for r in e.restrictions] == [
        ("I", "non-covered", "BE")
    ]


def test_the_subscribers_own_benefits_are_not_the_dependants() -> None:
    e = read_271(
        wrap(
            [
                *HEAD[:-3],
                "HL*3*2*22*1",
                "NM1*IL*1*RIVERA*JORDAN****MI*ACM100200300",
                "EB*B*IND*BE***27*99*****Y",
                "HL*4*3*23*0",
                "NM1*03*1*RIVERA*SAM",
                "EB*1**30",
                "EB*B*IND*BE***27*30*****Y",
            ]
        )
    )
    fig = e.figure(Network.IN, Level.INDIVIDUAL, Term.COPAY)
    assert fig is not None and fig.value == 3000
    assert e.member is not None and (e.member.first_name, e.member.member_id) == (
        "SAM",
        "ACM100200300",
    )
    assert e.notes == (
        "1 benefit segment(s) of the subscriber were not read: the patient is the dependent, "
        "whose own benefits are read",
    )


def test_the_member_never_shows_in_a_repr() -> None:
    e = read_271((FIXTURES / "acme-ppo-gold-active.271").read_bytes())
    text = repr(e)
    for secret in ("RIVERA", "JORDAN", "ACM100200300", "1985"):
        assert secret not in text
    assert "Member(<subscriber, redacted>)" in text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hello", "not an X12 interchange: it does not start with an ISA segment"),
        (ISA[:60], "the ISA segment is cut short (it is 106 characters long)"),
        (
            wrap([*HEAD]).replace("IEA*1*000000301~\n", ""),
            "the interchange has no IEA trailer: the file is incomplete",
        ),
        (
            wrap([*HEAD, "EB*1**30"]).replace("SE*11*", "SE*12*"),
            "SE01 says 12 segments but the transaction set has 11: the file is incomplete or "
            "was edited",
        ),
        (
            wrap(HEAD).replace("00501*000000301", "00401*000000301"),
            "the interchange is version 00401 (ISA12); only 00501 (HIPAA 5010) is read",
        ),
        (wrap(HEAD, version="004010X092A1"), "GS08 is 004010X092A1; only 005010X279A1 is read"),
        (
            wrap(HEAD, st="270").replace("GS*HB", "GS*HS"),
            "this is a 270 eligibility inquiry, not a 271 response",
        ),
        (
            wrap([*HEAD, "HL*4*2*22*0", "NM1*IL*1*ROE*ALEX****MI*ACM999"]),
            "segment 12 (HL): the 271 answers for more than one subscriber; give one patient's "
            "response per file",
        ),
        (
            wrap([*HEAD[:-1], "DMG*D8*19851312*F"]),
            "segment 11 (DMG): a date does not exist on the calendar",
        ),
        (wrap(HEAD[1:]), "the transaction set does not begin with a BHT segment"),
    ],
)
def test_what_it_refuses_and_why(text: str, message: str) -> None:
    with pytest.raises(X12Error) as caught:
        read_271(text)
    assert str(caught.value) == message
    for secret in ("RIVERA", "JORDAN", "ACM100200300", "1985"):
        assert secret not in str(caught.value)


def test_a_file_over_the_size_limit_is_refused() -> None:
    with pytest.raises(X12Error, match="an eligibility response is at most 1,000,000"):
        read_271(b" " * (MAX_INTERCHANGE_BYTES + 1))


def test_bytes_that_are_not_text_are_refused() -> None:
    with pytest.raises(X12Error, match="not text"):
        read_271(b"ISA\xff\xfe")
