"""The rule kinds one by one, and the assembler that binds them once per plan version."""

from __future__ import annotations

from datetime import date

import pytest

from service.domain.index import RuleIndex
from service.domain.model import (
    CodeSet,
    DiagnosisLogic,
    DiagnosisRule,
    Network,
    ReferralRule,
    add_months,
)
from service.domain.pieces import compile_plan
from service.domain.pieces.cost_share import (
    CopayInsteadOfDeductible,
    DeductibleThenCoinsurance,
    DeductibleThenCopay,
    Left,
)


def _kinds(index: RuleIndex, plan_id: str) -> list[str]:
    version, plan = index.resolve(plan_id, date(2026, 9, 1))
    return [type(c).__name__ for c in compile_plan(version, plan).checks]


def test_a_plan_is_bound_to_the_checks_its_rules_call_for_in_the_documented_order(
    index: RuleIndex,
) -> None:
    assert _kinds(index, "acme-ppo-gold") == [
        "NetworkCovered",
        "SessionTypeCovered",
        "InjuryNotExcluded",
        "DiagnosisQualifies",
        "ReferralValid",
        "VisitLimitNotReached",
        "BillableUnits",
    ]
    assert _kinds(index, "rainier-ump-classic") == [
        "NetworkCovered",
        "SessionTypeCovered",
        "InjuryNotExcluded",
        "DiagnosisQualifies",
        "ReferralValid",
        "ProviderEligible",
        "VisitLimitNotReached",
        "DailyUnitsLeft",
        "BillableUnits",
    ]
    assert _kinds(index, "lakeside-choice-ppo")[-3:] == [
        "VisitLimitNotReached",
        "BenefitMaximumNotReached",
        "BillableUnits",
    ]
    assert "ReferralValid" not in _kinds(index, "cedar-hdhp-hsa")  # no referral needed


@pytest.mark.parametrize(
    ("plan_id", "network", "shape"),
    [
        ("acme-ppo-gold", Network.IN, DeductibleThenCoinsurance),
        ("contoso-hmo-silver", Network.IN, CopayInsteadOfDeductible),
        ("lakeside-choice-ppo", Network.IN, CopayInsteadOfDeductible),
        ("birch-hdhp-copay", Network.IN, DeductibleThenCopay),
        ("birch-hdhp-copay", Network.OUT, DeductibleThenCoinsurance),
    ],
)
def test_each_network_gets_one_cost_share_shape(
    index: RuleIndex, plan_id: str, network: Network, shape: type
) -> None:
    version, plan = index.resolve(plan_id, date(2026, 9, 1))
    assert type(compile_plan(version, plan).networks[network].cost_share) is shape


def test_uncovered_or_unknown_networks_get_no_pricing(index: RuleIndex) -> None:
    version, plan = index.resolve("lakeside-choice-ppo", date(2026, 9, 1))
    assert set(compile_plan(version, plan).networks) == {Network.IN}  # out: covered: false
    version, plan = index.resolve("summit-ma-plus", date(2026, 9, 1))
    assert set(compile_plan(version, plan).networks) == {Network.IN}  # out: no terms at all


def test_the_index_compiles_each_plan_version_once(index: RuleIndex) -> None:
    first = index.resolve_compiled("birch-hdhp-copay", date(2026, 3, 1))
    again = index.resolve_compiled("birch-hdhp-copay", date(2026, 11, 30))
    assert first is again


@pytest.mark.parametrize(
    ("issued", "months", "last"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),  # no February 31st: the month's last day
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # a leap year
        (date(2025, 8, 31), 6, date(2026, 2, 28)),
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 1, 15), 12, date(2027, 1, 15)),
        (date(9999, 12, 15), 1, date.max),  # past the calendar's end
    ],
)
def test_calendar_months(issued: date, months: int, last: date) -> None:
    assert add_months(issued, months) == last
    assert ReferralRule(True, valid_days=None, valid_months=months).last_valid_day(issued) == last


def test_days_of_validity_near_the_calendar_end() -> None:
    assert ReferralRule(True, valid_days=90).last_valid_day(date(2026, 1, 1)) == date(2026, 4, 1)
    assert ReferralRule(True, valid_days=90).last_valid_day(date(9999, 12, 1)) == date.max


def test_code_sets_match_prefixes_and_category_ranges() -> None:
    wellness = CodeSet(ranges=(("Z00", "Z13"),))
    assert [wellness.matches(c) for c in ("Z00.00", "z13.89", "Z14.1", "Z3A.10", "M54.50")] == [
        True,
        True,
        False,
        False,
        False,
    ]
    low_back = CodeSet(prefixes=("M54.5",))
    assert low_back.matches("M54.59") and not low_back.matches("M54.2")


def test_diagnosis_logics() -> None:
    site, chronic = CodeSet(("M54.5",)), CodeSet(("G89.2", "G89.4"))
    all_of = DiagnosisRule(DiagnosisLogic.ALL_OF, (site, chronic))
    assert all_of.qualifies(("G89.29", "M54.50"))
    assert not all_of.qualifies(("M54.50", "M54.59"))
    any_except = DiagnosisRule(DiagnosisLogic.ANY_EXCEPT, (CodeSet(ranges=(("Z00", "Z13"),)),))
    assert any_except.qualifies(("Z00.00", "F41.1"))
    assert not any_except.qualifies(("Z00.00", "Z01.89"))
    assert not any_except.qualifies(())


def test_what_is_left_is_the_smaller_of_the_individuals_and_the_familys() -> None:
    assert Left(15000, 5000).amount == 5000 and Left(15000, 5000).family_binds
    assert Left(5000, 15000).amount == 5000 and not Left(5000, 15000).family_binds
    assert Left(5000, None).amount == 5000 and not Left(5000, None).family_binds
