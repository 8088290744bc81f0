"""Every 271 fixture validates with pyx12 and reads to exactly the figures it carries.

The fixtures are written from the 005010X279A1 loop structure for the sample payers. Each
figure below is the literal the file states, in cents (EB07 dollars x 100), visits or a
Decimal fraction (EB08), with the service type that answered it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from service.interop.x12.eligibility import (
    CoverageStatus,
    Eligibility,
    Figure,
    Level,
    Network,
    Term,
)
from service.interop.x12.read271 import read_271

from .conftest import FIXTURES

IN, OUT, ANY = Network.IN, Network.OUT, Network.NOT_STATED
IND, FAM = Level.INDIVIDUAL, Level.FAMILY

FIXTURE_NAMES = (
    "acme-ppo-gold-active.271",
    "birch-hdhp-copay.271",
    "cedar-hdhp-inactive.271",
    "contoso-hmo-silver-visits.271",
    "rainier-ump-family-dependent.271",
    "summit-ma-aaa-rejected.271",
    "summit-ma-copay-mismatch.271",
)


def read(name: str) -> Eligibility:
    return read_271((FIXTURES / name).read_bytes())


def figures(e: Eligibility) -> dict[tuple[Network, Level, Term], tuple[object, str]]:
    """Every figure read, as (value, service type that answered)."""
    return {
        (b.network, b.level, term): (fig.value, fig.service_type)
        for b in e.benefits
        for term, fig in b.figures.items()
    }


def test_the_fixture_list_is_complete() -> None:
    assert sorted(p.name for p in FIXTURES.glob("*.271")) == sorted(FIXTURE_NAMES)


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_validates_with_pyx12(name: str, x12_validate: Callable[[str], list[str]]) -> None:
    assert x12_validate((FIXTURES / name).read_text()) == []


def test_the_validator_catches_a_wrong_segment_count(
    x12_validate: Callable[[str], list[str]],
) -> None:
    """The check above could not pass by accident: an edited file fails it."""
    text = (FIXTURES / "acme-ppo-gold-active.271").read_text()
    errors = x12_validate(text.replace("SE*30*0001~", "SE*29*0001~"))
    assert any("SE count" in e for e in errors), errors


def test_the_validator_catches_a_bad_code(x12_validate: Callable[[str], list[str]]) -> None:
    text = (FIXTURES / "acme-ppo-gold-active.271").read_text()
    errors = x12_validate(text.replace("EB*C*IND*30***29*50*****Y~", "EB*C*IND*30***99*50*****Y~"))
    assert any("Time Period Qualifier" in e for e in errors), errors


def test_acme_ppo_active_with_deductible_and_out_of_pocket_remaining() -> None:
    e = read("acme-ppo-gold-active.271")
    assert (e.status, e.status_code, e.status_words) == (
        CoverageStatus.ACTIVE,
        "1",
        "active coverage",
    )
    assert (e.plan_description, e.insurance_type) == ("ACME PPO GOLD", "PR")
    assert (e.plan_dates.plan_begin, e.plan_dates.plan_end) == (
        date(2026, 1, 1),
        date(2026, 12, 31),
    )
    assert (e.payer.name, e.payer.id_qualifier, e.payer.identifier) == (
        "ACME HEALTH",
        "PI",
        "60054",
    )
    assert e.provider is not None and e.provider.identifier == "1234567893"
    assert e.group_number == "ACM4410"
    assert e.trace_numbers == ("000000123",)
    assert e.control_number == "0001"
    assert figures(e) == {
        (IN, IND, Term.DEDUCTIBLE): (50000, "30"),
        (IN, IND, Term.DEDUCTIBLE_REMAINING): (5000, "30"),
        (IN, IND, Term.OUT_OF_POCKET_MAX): (300000, "30"),
        (IN, IND, Term.OUT_OF_POCKET_REMAINING): (255000, "30"),
        (IN, IND, Term.COINSURANCE): (Decimal("0.20"), "BE"),
        (IN, IND, Term.VISIT_LIMIT): (20, "BE"),
        (IN, IND, Term.VISITS_REMAINING): (17, "BE"),
        (IN, IND, Term.VISITS_USED): (3, "BE"),
        (IN, IND, Term.PRIOR_AUTHORIZATION): ("Y", "BE"),
        (OUT, IND, Term.DEDUCTIBLE): (100000, "30"),
        (OUT, IND, Term.DEDUCTIBLE_REMAINING): (100000, "30"),
        (OUT, IND, Term.OUT_OF_POCKET_MAX): (600000, "30"),
        (OUT, IND, Term.OUT_OF_POCKET_REMAINING): (600000, "30"),
        (OUT, IND, Term.COINSURANCE): (Decimal("0.40"), "BE"),
    }
    assert [(m.text, m.service_type, m.network) for m in e.messages] == [
        ("VISITS SHARED WITH CHIROPRACTIC AND ACUPUNCTURE", "BE", IN),
        ("PRIOR AUTHORIZATION REQUIRED FROM VISIT 13", "BE", IN),
    ]
    assert e.answered_by == ("BE", "30")
    assert (e.rejections, e.restrictions, e.notes, e.other_service_types) == ((), (), (), ())
    member = e.member
    assert member is not None
    assert (member.last_name, member.first_name, member.member_id) == (
        "RIVERA",
        "JORDAN",
        "ACM100200300",
    )
    assert (member.birth_date, member.gender, member.is_dependent) == (
        date(1985, 4, 12),
        "F",
        False,
    )


def test_family_plan_for_a_dependant() -> None:
    """The patient is the dependant (2000D); the family and individual totals are given for
    both networks at once (EB12 W), so their network is not stated."""
    e = read("rainier-ump-family-dependent.271")
    assert e.status is CoverageStatus.ACTIVE
    assert (e.plan_description, e.insurance_type, e.plan_number) == (
        "UMP CLASSIC",
        "PR",
        "UMPC2026",
    )
    assert (e.plan_dates.plan_begin, e.plan_dates.plan_end) == (
        date(2026, 1, 1),
        date(2026, 12, 31),
    )
    member = e.member
    assert member is not None
    assert (member.last_name, member.first_name, member.is_dependent) == ("LARSEN", "MAJA", True)
    assert (member.member_id, member.birth_date) == ("RPB55501234", date(2012, 6, 14))
    assert figures(e) == {
        (ANY, IND, Term.DEDUCTIBLE): (25000, "30"),
        (ANY, IND, Term.DEDUCTIBLE_REMAINING): (10000, "30"),
        (ANY, FAM, Term.DEDUCTIBLE): (75000, "30"),
        (ANY, FAM, Term.DEDUCTIBLE_REMAINING): (30000, "30"),
        (ANY, IND, Term.OUT_OF_POCKET_MAX): (250000, "30"),
        (ANY, IND, Term.OUT_OF_POCKET_REMAINING): (214000, "30"),
        (ANY, FAM, Term.OUT_OF_POCKET_MAX): (500000, "30"),
        (ANY, FAM, Term.OUT_OF_POCKET_REMAINING): (390000, "30"),
        (IN, IND, Term.COINSURANCE): (Decimal("0.15"), "BE"),
        (OUT, IND, Term.COINSURANCE): (Decimal("0.40"), "BE"),
        (IN, IND, Term.VISIT_LIMIT): (16, "BE"),  # from HSD*VS*16***23
        (IN, IND, Term.VISITS_REMAINING): (11, "BE"),
    }
    assert [m.text for m in e.messages] == ["LIMIT OF 4 UNITS PER DAY"]
    assert e.trace_numbers == ("000000124",)
    assert e.notes == ()


def test_hmo_with_visits_remaining_answered_by_a_fallback_service_type() -> None:
    """No BE segment: copay, coinsurance and visits come from AE physical medicine, the
    out-of-pocket figures from 30; the plan year is a service year (EB06 22)."""
    e = read("contoso-hmo-silver-visits.271")
    assert (e.status, e.plan_description, e.insurance_type) == (
        CoverageStatus.ACTIVE,
        "HMO SILVER",
        "HM",
    )
    assert (e.plan_dates.plan_begin, e.plan_dates.plan_end) == (date(2026, 7, 1), date(2027, 6, 30))
    assert (e.plan_dates.eligibility_begin, e.plan_dates.eligibility_end) == (
        date(2026, 7, 1),
        None,
    )
    assert figures(e) == {
        (IN, IND, Term.COPAY): (2500, "AE"),
        (IN, IND, Term.COINSURANCE): (Decimal("0"), "AE"),
        (IN, IND, Term.VISIT_LIMIT): (12, "AE"),
        (IN, IND, Term.VISITS_REMAINING): (8, "AE"),
        (IN, IND, Term.OUT_OF_POCKET_MAX): (400000, "30"),
        (IN, IND, Term.OUT_OF_POCKET_REMAINING): (390000, "30"),
    }
    visits = e.figure(IN, IND, Term.VISIT_LIMIT)
    assert visits == Figure(12, "AE", 19, "22")
    assert e.answered_by == ("AE", "30")
    assert [m.text for m in e.messages] == [
        "INTEGRATIVE CARE PLAN REQUIRED",
        "VISITS SHARED WITH CHIROPRACTIC AND ACUPUNCTURE",
    ]


def test_inactive_coverage_with_the_payers_reason() -> None:
    e = read("cedar-hdhp-inactive.271")
    assert (e.status, e.status_code, e.status_words, e.status_service_type) == (
        CoverageStatus.INACTIVE,
        "6",
        "inactive",
        "30",
    )
    assert e.status_messages == ("COVERAGE TERMINATED - EMPLOYMENT ENDED",)
    assert (e.plan_dates.eligibility_begin, e.plan_dates.eligibility_end) == (
        date(2025, 1, 1),
        date(2026, 3, 31),
    )
    assert (e.benefits, e.messages, e.rejections) == ((), (), ())


FIX = "please correct and resubmit"


def test_aaa_rejection_with_codes_in_words() -> None:
    e = read("summit-ma-aaa-rejected.271")
    assert e.status is CoverageStatus.REJECTED
    assert [
        (r.loop, r.valid_request, r.reason_code, r.reason, r.follow_up_code, r.follow_up)
        for r in e.rejections
    ] == [
        ("subscriber", False, "75", "subscriber/insured not found", "C", FIX),
        ("subscriber", False, "58", "invalid/missing date-of-birth", "C", FIX),
    ]
    assert e.benefits == ()


def test_copay_that_disagrees_with_the_rule_table() -> None:
    """summit-ma-plus's rule table says a $20.00 copay; its payer's 271 says $35.00."""
    e = read("summit-ma-copay-mismatch.271")
    assert (e.status, e.plan_description, e.insurance_type) == (
        CoverageStatus.ACTIVE,
        "SUMMIT MA PLUS",
        "HN",
    )
    assert figures(e) == {
        (IN, IND, Term.COPAY): (3500, "BE"),
        (IN, IND, Term.VISIT_LIMIT): (6, "BE"),
        (IN, IND, Term.VISITS_REMAINING): (4, "BE"),
        (IN, IND, Term.PRIOR_AUTHORIZATION): ("N", "BE"),
    }


def test_birch_copay_after_deductible() -> None:
    """The issue's example: the rule table says $1,600 / $3,200; the 271 says a $1,500
    deductible with $50 remaining (the family total agrees at $3,200)."""
    e = read("birch-hdhp-copay.271")
    assert (e.status, e.plan_description, e.group_number) == (
        CoverageStatus.ACTIVE,
        "BIRCH HDHP COPAY",
        "BH220",
    )
    assert figures(e) == {
        (IN, IND, Term.DEDUCTIBLE): (150000, "30"),
        (IN, IND, Term.DEDUCTIBLE_REMAINING): (5000, "30"),
        (IN, FAM, Term.DEDUCTIBLE): (320000, "30"),
        (IN, FAM, Term.DEDUCTIBLE_REMAINING): (175000, "30"),
        (IN, IND, Term.OUT_OF_POCKET_MAX): (400000, "30"),
        (IN, IND, Term.OUT_OF_POCKET_REMAINING): (255000, "30"),
        (IN, FAM, Term.OUT_OF_POCKET_MAX): (800000, "30"),
        (IN, FAM, Term.OUT_OF_POCKET_REMAINING): (655000, "30"),
        (IN, IND, Term.COPAY): (3000, "BE"),
        (IN, IND, Term.VISIT_LIMIT): (30, "BE"),
        (IN, IND, Term.VISITS_REMAINING): (26, "BE"),
        (OUT, IND, Term.DEDUCTIBLE): (320000, "30"),
        (OUT, IND, Term.DEDUCTIBLE_REMAINING): (320000, "30"),
        (OUT, FAM, Term.DEDUCTIBLE): (640000, "30"),
        (OUT, FAM, Term.DEDUCTIBLE_REMAINING): (640000, "30"),
        (OUT, IND, Term.OUT_OF_POCKET_MAX): (1000000, "30"),
        (OUT, IND, Term.OUT_OF_POCKET_REMAINING): (1000000, "30"),
        (OUT, FAM, Term.OUT_OF_POCKET_MAX): (2000000, "30"),
        (OUT, FAM, Term.OUT_OF_POCKET_REMAINING): (2000000, "30"),
        (OUT, IND, Term.COINSURANCE): (Decimal("0.40"), "BE"),
    }
    assert [m.text for m in e.messages] == ["COPAY APPLIES AFTER DEDUCTIBLE IS MET"]
