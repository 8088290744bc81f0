"""The shipped sample files load and carry exactly the numbers of issue 2 ("Sample data that
must ship"). Every plan's figures are spot-checked against the issue text."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from service.domain.model import (
    Clinic,
    CopayTier,
    CoverageBasis,
    Injury,
    PeriodKind,
    PlanRules,
    PriorAuthorizationRule,
    ReferralKind,
    UnitMethod,
)
from service.rulefiles import ParsedRuleSet, load_rules_dir

from .conftest import RULES_DIR

PAIN_LIST = (
    *("M54.5", "M54.2", "M79.7", "M15", "M16", "M17", "M18", "M19"),
    *("G89.3", "S13.4", "S16.1", "S33.5", "S39.01"),
)
THERAPEUTIC = frozenset(
    {"medical", "deep_tissue", "sports", "myofascial", "trigger_point", "lymphatic_drainage"}
)


@pytest.fixture(scope="module")
def loaded() -> tuple[Clinic, list[ParsedRuleSet]]:
    return load_rules_dir(RULES_DIR)


def version(loaded: tuple[Clinic, list[ParsedRuleSet]], payer: str, label: str) -> ParsedRuleSet:
    matches = [r for r in loaded[1] if r.payer_id == payer and r.version == label]
    assert len(matches) == 1, [(r.payer_id, r.version) for r in loaded[1]]
    return matches[0]


def only_plan(rs: ParsedRuleSet, plan_id: str) -> PlanRules:
    assert [p.plan_id for p in rs.plans] == [plan_id]
    return rs.plans[0]


def test_every_sample_loads_without_problems(loaded: tuple[Clinic, list[ParsedRuleSet]]) -> None:
    _, rule_sets = loaded
    assert [(r.payer_id, r.version) for r in rule_sets] == [
        ("acme-health", "2026.1"),
        ("acme-health", "2027.1"),
        ("birch-health", "2026.1"),
        ("cedar-mutual", "2026.1"),
        ("contoso-health", "2026-07"),
        ("lakeside-health", "2026.1"),
        ("pacific-advantage", "2026.1"),
        ("rainier-public", "2026.1"),
        ("summit-medicare-advantage", "2026.1"),
    ]
    assert all(r.warnings == () for r in rule_sets)
    assert all(r.checksum.startswith("sha256:") and len(r.checksum) == 71 for r in rule_sets)


def test_clinic(loaded: tuple[Clinic, list[ParsedRuleSet]]) -> None:
    clinic = loaded[0]
    assert clinic.name == "Harbor Integrative Massage"
    assert clinic.npi == "1234567893"
    assert clinic.tin == "12-3456789"
    assert clinic.address_lines == ("200 Harbor Way", "Seattle, WA 98101")
    assert dict(clinic.charge_per_unit) == {"97124": 4000, "97140": 4000}
    codes = {name: st.cpt_code for name, st in clinic.session_types.items()}
    assert codes == {
        "swedish": "97124",
        "hot_stone": "97124",
        "prenatal": "97124",
        "medical": "97124",
        "deep_tissue": "97124",
        "sports": "97124",
        "myofascial": "97140",
        "trigger_point": "97140",
        "lymphatic_drainage": "97140",
    }
    groups = {k: sorted(v) for k, v in clinic.groups().items()}
    assert groups == {
        "relaxation": ["hot_stone", "prenatal", "swedish"],
        "therapeutic": sorted(THERAPEUTIC),
    }
    prices = {g: [(c.minutes, c.price) for c in ps] for g, ps in clinic.cash_prices.items()}
    lengths = [30, 45, 60, 75, 90, 120]
    assert prices == {
        "relaxation": list(zip(lengths, [5500, 7500, 9500, 11500, 13500, 17500], strict=True)),
        "therapeutic": list(zip(lengths, [6500, 8800, 11000, 13300, 15500, 20000], strict=True)),
    }
    # not listed -> next longer listed length; over 120 minutes -> none
    price_50 = clinic.cash_price("deep_tissue", 50)
    assert price_50 is not None and price_50.price == 11000
    assert clinic.cash_price("swedish", 121) is None


def test_acme_2026(loaded: tuple[Clinic, list[ParsedRuleSet]]) -> None:
    rs = version(loaded, "acme-health", "2026.1")
    assert (rs.payer_name, rs.effective_from, rs.effective_to) == (
        "Acme Health",
        date(2026, 1, 1),
        date(2026, 12, 31),
    )
    p = only_plan(rs, "acme-ppo-gold")
    assert p.plan_name == "Acme PPO Gold"
    assert p.coverage_basis is CoverageBasis.MEDICAL_NECESSITY
    assert p.benefit_period.kind is PeriodKind.CALENDAR_YEAR
    assert p.covered_session_types == THERAPEUTIC
    assert p.referral.required
    assert p.referral.accepted_kinds == {ReferralKind.PRESCRIPTION, ReferralKind.PHYSICIAN_REFERRAL}
    assert p.referral.valid_days == 90
    assert sorted(p.diagnoses.groups[0].prefixes) == sorted(PAIN_LIST)
    assert p.unit_method is UnitMethod.CMS_8_MINUTE
    assert p.max_units_per_visit == 4
    inn = p.in_network
    assert inn.covered and inn.copay == ()
    assert {c: (r.first_unit, r.later_units) for c, r in inn.allowed.items()} == {
        "97124": (3100, 3100),
        "97140": (2900, 2900),
    }
    assert (inn.deductible, inn.deductible_applies, inn.coinsurance, inn.out_of_pocket_max) == (
        50000,
        True,
        Decimal("0.20"),
        300000,
    )
    assert not inn.balance_billing
    oon = p.out_of_network
    assert oon is not None and oon.covered
    assert {c: r.first_unit for c, r in oon.allowed.items()} == {"97124": 2500, "97140": 2400}
    assert (oon.deductible, oon.deductible_applies, oon.coinsurance, oon.out_of_pocket_max) == (
        100000,
        True,
        Decimal("0.40"),
        600000,
    )
    assert oon.balance_billing
    assert p.visit_limit is not None
    assert p.visit_limit.visits == 20
    assert set(p.visit_limit.shared_with) == {"chiropractic", "acupuncture"}
    assert p.prior_authorization == PriorAuthorizationRule(13)
    assert p.excluded_injuries == {Injury.AUTO, Injury.WORK}
    assert not p.hsa_eligible


def test_acme_2027_differs_from_2026_only_where_the_issue_says(
    loaded: tuple[Clinic, list[ParsedRuleSet]],
) -> None:
    old = only_plan(version(loaded, "acme-health", "2026.1"), "acme-ppo-gold")
    rs = version(loaded, "acme-health", "2027.1")
    assert (rs.effective_from, rs.effective_to) == (date(2027, 1, 1), None)
    new = only_plan(rs, "acme-ppo-gold")
    assert {c: r.first_unit for c, r in new.in_network.allowed.items()} == {
        "97124": 3300,
        "97140": 3050,
    }
    assert new.in_network.deductible == 60000
    assert new.visit_limit is not None and new.visit_limit.visits == 24
    # everything else is the same as 2026
    assert new.out_of_network == old.out_of_network
    assert new.in_network.coinsurance == old.in_network.coinsurance
    assert new.in_network.out_of_pocket_max == old.in_network.out_of_pocket_max
    assert new.visit_limit.shared_with == old.visit_limit.shared_with  # type: ignore[union-attr]
    for attr in (
        "coverage_basis",
        "benefit_period",
        "covered_session_types",
        "referral",
        "diagnoses",
        "unit_method",
        "max_units_per_visit",
        "prior_authorization",
        "excluded_injuries",
        "hsa_eligible",
    ):
        assert getattr(new, attr) == getattr(old, attr), attr


def test_contoso(loaded: tuple[Clinic, list[ParsedRuleSet]]) -> None:
    rs = version(loaded, "contoso-health", "2026-07")
    assert (rs.effective_from, rs.effective_to) == (date(2026, 7, 1), None)
    p = only_plan(rs, "contoso-hmo-silver")
    assert p.coverage_basis is CoverageBasis.INTEGRATIVE_CARE_PROGRAM
    assert (p.benefit_period.kind, p.benefit_period.start_month, p.benefit_period.start_day) == (
        PeriodKind.PLAN_YEAR,
        7,
        1,
    )
    assert p.benefit_period.period_containing(date(2026, 6, 30)) == (
        date(2025, 7, 1),
        date(2026, 6, 30),
    )
    assert p.referral.required
    assert p.referral.accepted_kinds == {ReferralKind.INTEGRATIVE_CARE_PLAN}
    assert p.referral.valid_days == 180
    assert sorted(p.diagnoses.groups[0].prefixes) == sorted([*PAIN_LIST, "F41", "F32", "F33"])
    assert p.covered_session_types == THERAPEUTIC
    assert (p.unit_method, p.max_units_per_visit) == (UnitMethod.AMA_PER_CODE, 4)
    inn = p.in_network
    assert inn.copay == (CopayTier(1, None, 2500, f"{p.ref}.in_network.copay"),)
    assert (inn.deductible, inn.deductible_applies, inn.coinsurance) == (0, False, Decimal(0))
    assert inn.out_of_pocket_max == 400000
    assert {c: (r.first_unit, r.later_units) for c, r in inn.allowed.items()} == {
        "97124": (2800, 2800),
        "97140": (2700, 2700),
    }
    assert p.out_of_network is not None and p.out_of_network.covered is False
    assert p.visit_limit is not None
    assert (p.visit_limit.visits, p.visit_limit.shared_with) == (12, ())
    assert p.prior_authorization is None
    assert p.excluded_injuries == frozenset()
    assert not p.hsa_eligible


def test_cedar(loaded: tuple[Clinic, list[ParsedRuleSet]]) -> None:
    rs = version(loaded, "cedar-mutual", "2026.1")
    assert (rs.effective_from, rs.effective_to) == (date(2026, 1, 1), None)
    p = only_plan(rs, "cedar-hdhp-hsa")
    assert p.benefit_period.kind is PeriodKind.CALENDAR_YEAR
    assert not p.referral.required
    assert sorted(p.diagnoses.groups[0].prefixes) == sorted(PAIN_LIST)
    assert p.covered_session_types == THERAPEUTIC
    assert (p.unit_method, p.max_units_per_visit) == (UnitMethod.CMS_8_MINUTE, 6)
    inn = p.in_network
    assert {c: (r.first_unit, r.later_units) for c, r in inn.allowed.items()} == {
        "97124": (2976, 2070),
        "97140": (2717, 1890),
    }
    assert inn.allowed["97124"].ref == "plans.cedar-hdhp-hsa.in_network.allowed_per_unit.97124"
    assert (inn.copay, inn.deductible, inn.deductible_applies) == ((), 300000, True)
    assert (inn.coinsurance, inn.out_of_pocket_max) == (Decimal("0.10"), 600000)
    assert p.out_of_network is None  # not given in the issue: estimate unavailable
    assert p.visit_limit is not None and p.visit_limit.visits == 30
    assert set(p.visit_limit.shared_with) == {"physical_therapy", "chiropractic"}
    assert p.hsa_eligible


def test_summit(loaded: tuple[Clinic, list[ParsedRuleSet]]) -> None:
    rs = version(loaded, "summit-medicare-advantage", "2026.1")
    assert (rs.effective_from, rs.effective_to) == (date(2026, 1, 1), None)
    p = only_plan(rs, "summit-ma-plus")
    assert p.coverage_basis is CoverageBasis.SUPPLEMENTAL_BENEFIT
    assert p.covered_session_types == {"medical", "deep_tissue", "myofascial"}
    assert p.referral.required
    assert p.referral.accepted_kinds == {ReferralKind.PRESCRIPTION}
    assert p.referral.valid_days == 90
    assert sorted(p.diagnoses.groups[0].prefixes) == sorted(PAIN_LIST)
    assert (p.unit_method, p.max_units_per_visit) == (UnitMethod.PER_VISIT_FLAT, 4)
    inn = p.in_network
    assert (inn.per_visit_allowed, inn.copay) == (
        6000,
        (CopayTier(1, None, 2000, f"{p.ref}.in_network.copay"),),
    )
    assert (inn.deductible, inn.deductible_applies, inn.coinsurance) == (0, False, Decimal(0))
    assert p.out_of_network is None
    assert p.visit_limit is not None
    assert (p.visit_limit.visits, p.visit_limit.shared_with) == (6, ())
    assert p.benefit_period.kind is PeriodKind.CALENDAR_YEAR
    assert not p.hsa_eligible


def test_refs_are_paths_into_the_file_by_plan_id(
    loaded: tuple[Clinic, list[ParsedRuleSet]],
) -> None:
    p = only_plan(version(loaded, "acme-health", "2026.1"), "acme-ppo-gold")
    assert p.ref == "plans.acme-ppo-gold"
    assert p.in_network.ref == "plans.acme-ppo-gold.in_network"
    assert p.in_network.allowed["97124"].ref == (
        "plans.acme-ppo-gold.in_network.allowed_per_unit.97124"
    )
    assert p.out_of_network is not None
    assert p.out_of_network.allowed["97140"].ref == (
        "plans.acme-ppo-gold.out_of_network.allowed_per_unit.97140"
    )


def test_to_version(loaded: tuple[Clinic, list[ParsedRuleSet]]) -> None:
    from datetime import UTC, datetime

    rs = version(loaded, "contoso-health", "2026-07")
    at = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    v = rs.to_version(at, "analyst@example.com")
    assert (v.payer_id, v.payer_name, v.version, v.checksum) == (
        "contoso-health",
        "Contoso Health",
        "2026-07",
        rs.checksum,
    )
    assert (v.published_at, v.published_by, v.note, v.source) == (
        at,
        "analyst@example.com",
        rs.note,
        rs.source,
    )
    assert v.plans == rs.plans
    assert v.covers(date(2026, 7, 1)) and not v.covers(date(2026, 6, 30))
    assert rs.to_version(at, note="replaced note").note == "replaced note"
