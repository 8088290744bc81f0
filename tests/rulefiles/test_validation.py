"""Each mistake an analyst can make gives a Problem that names the file, the field path
(plans addressed by id) and the problem in words, and nothing is loaded."""

from __future__ import annotations

from typing import Any

import pytest

from service.domain.model import Clinic
from service.rulefiles import RuleFileError, parse_rule_set, validate_rule_set

from .conftest import RULES_DIR, Mutation, acme_plan, find, sample_data, to_yaml

SOURCE = "payer_rules/acme-health/2026-bad.yaml"
P = "plans[acme-ppo-gold]"


def plan_set(*path: str, value: Any) -> Mutation:
    """Set plans[0].<path> to value."""

    def mutate(data: dict[str, Any]) -> None:
        node = acme_plan(data)
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


def plan_del(*path: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        node = acme_plan(data)
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return mutate


def top_set(key: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        data[key] = value

    return mutate


def duplicate_plan(data: dict[str, Any]) -> None:
    data["plans"].append(dict(acme_plan(data)))


def copay_and_deductible(data: dict[str, Any]) -> None:
    acme_plan(data)["in_network"]["copay"] = "20.00"


def flat_without_visit_amount(data: dict[str, Any]) -> None:
    acme_plan(data)["units"]["method"] = "per_visit_flat"


def flat_zero_per_visit(data: dict[str, Any]) -> None:
    plan = acme_plan(data)
    plan["units"]["method"] = "per_visit_flat"
    for network in ("in_network", "out_of_network"):
        del plan[network]["allowed_per_unit"]
        plan[network]["allowed_per_visit"] = "0.00" if network == "in_network" else "60.00"


def missing_rate_for_covered_code(data: dict[str, Any]) -> None:
    del acme_plan(data)["in_network"]["allowed_per_unit"]["97140"]


def unknown_cpt(data: dict[str, Any]) -> None:
    acme_plan(data)["in_network"]["allowed_per_unit"]["97999"] = "10.00"


def plan_year_without_start(data: dict[str, Any]) -> None:
    acme_plan(data)["benefit_period"] = {"type": "plan_year"}


CASES: list[tuple[str, Mutation, str, str]] = [
    (
        "unknown key",
        plan_set("in_network", "deductable", value="500.00"),
        f"{P}.in_network.deductable",
        'unknown field "deductable". Did you mean "deductible"?',
    ),
    ("missing key", plan_del("units"), f"{P}.units", "required but missing"),
    ("missing payer", top_set("payer", None), "payer", "has no value"),
    (
        "float money",
        plan_set("in_network", "deductible", value=500.0),
        f"{P}.in_network.deductible",
        'write money in quotes with two decimals, like "500.00"',
    ),
    (
        "float money in a rate",
        plan_set("in_network", "allowed_per_unit", "97124", value=31.0),
        f"{P}.in_network.allowed_per_unit.97124",
        'like "31.00"',
    ),
    (
        "fraction of a cent",
        plan_set("in_network", "allowed_per_unit", "97124", value="31.005"),
        f"{P}.in_network.allowed_per_unit.97124",
        "fraction of a cent",
    ),
    (
        "not money",
        plan_set("in_network", "copay", value="twenty"),
        f"{P}.in_network.copay",
        "is not an amount of money",
    ),
    (
        "negative money",
        plan_set("out_of_network", "deductible", value="-5.00"),
        f"{P}.out_of_network.deductible",
        "negative",
    ),
    # A covered unit allowed $0.00 would quote "covered, plan pays $0, you pay $0": the
    # silent zero an estimate must never give. It loaded before; it is refused now.
    (
        "zero allowed per unit",
        plan_set("in_network", "allowed_per_unit", "97124", value="0.00"),
        f"{P}.in_network.allowed_per_unit.97124",
        "allowed $0.00",
    ),
    (
        "zero allowed for later units",
        plan_set(
            "out_of_network",
            "allowed_per_unit",
            "97140",
            value={"first_unit": "24.00", "later_units": "0"},
        ),
        f"{P}.out_of_network.allowed_per_unit.97140.later_units",
        "allowed $0.00",
    ),
    ("zero allowed per visit", flat_zero_per_visit, f"{P}.in_network.allowed_per_visit", "$0.00"),
    # More visits than the int32 visit_limit of an estimate loaded, then every quote of
    # the plan failed with INTERNAL.
    (
        "absurdly large visit limit",
        plan_set("visit_limit", "visits", value=3_000_000_000),
        f"{P}.visit_limit.visits",
        "must be at most 10000",
    ),
    # An amount past the int64 dollars of google.type.Money loaded, then every quote of the
    # plan failed with INTERNAL when the estimate was written to the wire.
    (
        "absurdly large money",
        plan_set("in_network", "allowed_per_unit", "97124", value="99999999999999999999.00"),
        f"{P}.in_network.allowed_per_unit.97124",
        "more than $1,000,000.00",
    ),
    (
        "coinsurance over 100",
        plan_set("in_network", "coinsurance_percent", value="120"),
        f"{P}.in_network.coinsurance_percent",
        "outside 0 to 100 percent",
    ),
    (
        "coinsurance below 0",
        plan_set("out_of_network", "coinsurance_percent", value=-1),
        f"{P}.out_of_network.coinsurance_percent",
        "outside 0 to 100 percent",
    ),
    (
        "maximum below deductible",
        plan_set("in_network", "out_of_pocket_max", value="400.00"),
        f"{P}.in_network.out_of_pocket_max",
        "out-of-pocket maximum $400.00 is below the deductible $500.00",
    ),
    (
        "effective_to before effective_from",
        top_set("effective_to", "2025-12-31"),
        "effective_to",
        "2025-12-31 is before effective_from 2026-01-01",
    ),
    ("not a date", top_set("effective_from", "next year"), "effective_from", "2026-01-01"),
    ("unknown CPT code", unknown_cpt, f"{P}.in_network.allowed_per_unit.97999", "97124, 97140"),
    (
        "malformed CPT code",
        plan_set("in_network", "allowed_per_unit", value={"9712": "31.00", "97140": "29.00"}),
        f"{P}.in_network.allowed_per_unit.9712",
        "is not a CPT code",
    ),
    (
        "unknown session type or group",
        plan_set("covered_session_types", value=["therapeutik"]),
        f"{P}.covered_session_types",
        'Did you mean "therapeutic"?',
    ),
    (
        "unknown referral kind",
        plan_set("referral", "accepted", value=["prescription", "doctor_note"]),
        f"{P}.referral.accepted[#2]",
        "use one of: prescription, physician_referral, integrative_care_plan",
    ),
    (
        "unknown injury",
        plan_set("excluded_injuries", value=["auto", "sports"]),
        f"{P}.excluded_injuries[#2]",
        "use one of: auto, work",
    ),
    (
        "unknown unit method",
        plan_set("units", "method", value="cms_8_minutes"),
        f"{P}.units.method",
        'use one of: cms_8_minute, ama_per_code, per_visit_flat. Did you mean "cms_8_minute"?',
    ),
    (
        "unknown coverage basis",
        plan_set("coverage_basis", value="wellness"),
        f"{P}.coverage_basis",
        "medical_necessity, integrative_care_program, supplemental_benefit",
    ),
    (
        "unknown shared service",
        plan_set("visit_limit", "shared_with", value=["chiro"]),
        f"{P}.visit_limit.shared_with[#1]",
        "chiropractic",
    ),
    ("duplicate plan id", duplicate_plan, "plans[#2].id", "appears more than once"),
    (
        "copay with deductible",
        copay_and_deductible,
        f"{P}.in_network.deductible_applies",
        "copay together with a deductible",
    ),
    (
        "per_visit_flat without allowed_per_visit",
        flat_without_visit_amount,
        f"{P}.in_network.allowed_per_visit",
        "per_visit_flat needs allowed_per_visit",
    ),
    (
        "per-unit method without a rate for a covered code",
        missing_rate_for_covered_code,
        f"{P}.in_network.allowed_per_unit",
        "no allowed amount for CPT code 97140",
    ),
    (
        "per-unit method without allowed_per_unit",
        plan_del("in_network", "allowed_per_unit"),
        f"{P}.in_network.allowed_per_unit",
        "needs allowed_per_unit",
    ),
    (
        "malformed ICD-10 prefix",
        plan_set("qualifying_diagnoses", value=["M54.5", "M545"]),
        f"{P}.qualifying_diagnoses",
        '"M545" is not an ICD-10 code prefix',
    ),
    (
        "lowercase ICD-10 prefix",
        plan_set("qualifying_diagnoses", value=["m54.5"]),
        f"{P}.qualifying_diagnoses",
        "write it in capitals",
    ),
    (
        "plan_year without start",
        plan_year_without_start,
        f"{P}.benefit_period.starts",
        'a plan_year needs the month and day it starts, like starts: "07-01"',
    ),
    (
        "plan_year with an impossible start",
        plan_set("benefit_period", value={"type": "plan_year", "starts": "02-30"}),
        f"{P}.benefit_period.starts",
        "is not a month and day",
    ),
    (
        "visit limit zero",
        plan_set("visit_limit", "visits", value=0),
        f"{P}.visit_limit.visits",
        "must be at least 1, not 0",
    ),
    (
        "visit limit negative",
        plan_set("visit_limit", "visits", value=-3),
        f"{P}.visit_limit.visits",
        "must be at least 1",
    ),
    (
        "prior authorization from visit 0",
        plan_set("prior_authorization", "from_visit", value=0),
        f"{P}.prior_authorization.from_visit",
        "must be at least 1, not 0",
    ),
    (
        "unquoted version that loses a zero",
        top_set("version", 2026.10),
        "version",
        "write the version in quotes",
    ),
    (
        "required referral without valid_days",
        plan_del("referral", "valid_days"),
        f"{P}.referral.valid_days",
        "needs valid_days",
    ),
    (
        "deductible without saying whether it applies",
        plan_del("in_network", "deductible_applies"),
        f"{P}.in_network.deductible_applies",
        "say whether the deductible applies",
    ),
    (
        "no coinsurance and no copay",
        plan_del("in_network", "coinsurance_percent"),
        f"{P}.in_network.coinsurance_percent",
        "give the coinsurance",
    ),
    (
        "balance billing in network",
        plan_set("in_network", "balance_billing", value=True),
        f"{P}.in_network.balance_billing",
        "may not balance bill",
    ),
    (
        "reserved plan id",
        plan_set("id", value="self-pay"),
        "plans[self-pay].id",
        "reserved",
    ),
    (
        "plan id with capitals",
        plan_set("id", value="Acme Gold"),
        "plans[Acme Gold].id",
        "use lowercase letters, digits and single dashes",
    ),
    (
        "max units zero",
        plan_set("units", "max_per_visit", value=0),
        f"{P}.units.max_per_visit",
        "must be at least 1",
    ),
    (
        "terms under a network that is not covered",
        plan_set("out_of_network", "covered", value=False),
        f"{P}.out_of_network.deductible",
        "not covered (covered: false)",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "field", "text"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_mistake_is_named(clinic: Clinic, mutate: Mutation, field: str, text: str) -> None:
    data = sample_data()
    mutate(data)
    with pytest.raises(RuleFileError) as excinfo:
        parse_rule_set(to_yaml(data), SOURCE, clinic)
    problem = find(excinfo.value.problems, field, text)
    assert problem.source == SOURCE
    assert problem.severity == "error"
    assert f"{SOURCE}: {field}: " in str(excinfo.value)


def test_all_problems_of_a_file_are_reported_together(clinic: Clinic) -> None:
    data = sample_data()
    plan = acme_plan(data)
    plan["in_network"]["coinsurance_percent"] = "150"
    plan["units"]["method"] = "eight_minute"
    plan["excluded_injuries"] = ["boating"]
    with pytest.raises(RuleFileError) as excinfo:
        parse_rule_set(to_yaml(data), SOURCE, clinic)
    fields = {p.field for p in excinfo.value.problems}
    assert {
        f"{P}.in_network.coinsurance_percent",
        f"{P}.units.method",
        f"{P}.excluded_injuries[#1]",
    } <= fields
    # the semantic checks also all report, not just the first
    data = sample_data()
    plan = acme_plan(data)
    plan["in_network"]["out_of_pocket_max"] = "1.00"
    plan["covered_session_types"] = ["therapeutic", "hot_rocks"]
    data["effective_to"] = "2025-01-01"
    with pytest.raises(RuleFileError) as excinfo:
        parse_rule_set(to_yaml(data), SOURCE, clinic)
    assert len(excinfo.value.errors) == 3
    assert str(excinfo.value).count("\n") == 2  # one line per problem


def test_yaml_syntax_error_names_the_line(clinic: Clinic) -> None:
    text = "payer: {id: acme-health, name: Acme Health}\nversion: [unclosed\n"
    with pytest.raises(RuleFileError) as excinfo:
        parse_rule_set(text, SOURCE, clinic)
    (problem,) = excinfo.value.problems
    assert problem.field.startswith("line ")
    assert "not valid YAML" in problem.message


def test_a_key_written_twice_is_an_error(clinic: Clinic) -> None:
    text = (RULES_DIR / "acme-health" / "2026.yaml").read_text(encoding="utf-8")
    text = text.replace("note: 2026 fee schedule\n", "note: 2026 fee schedule\nnote: again\n")
    with pytest.raises(RuleFileError) as excinfo:
        parse_rule_set(text, SOURCE, clinic)
    (problem,) = excinfo.value.problems
    assert "'note' appears twice" in problem.message
    assert problem.field.startswith("line ")


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "the file is empty"), ("- a\n- b\n", "must be a block of fields")],
)
def test_empty_or_non_mapping_file(clinic: Clinic, text: str, message: str) -> None:
    with pytest.raises(RuleFileError) as excinfo:
        parse_rule_set(text, SOURCE, clinic)
    assert message in str(excinfo.value)


def test_unused_rate_is_a_warning_not_an_error(clinic: Clinic) -> None:
    data = sample_data()
    acme_plan(data)["covered_session_types"] = ["medical", "deep_tissue"]  # 97124 only
    parsed, problems = validate_rule_set(to_yaml(data), SOURCE, clinic)
    assert parsed is not None
    warning = find(problems, f"{P}.in_network.allowed_per_unit.97140", "never used")
    assert warning.severity == "warning"
    assert parsed.warnings == tuple(problems)
    assert parsed.plans[0].covered_session_types == {"medical", "deep_tissue"}


def test_covered_session_types_mix_groups_and_types(clinic: Clinic) -> None:
    data = sample_data()
    acme_plan(data)["covered_session_types"] = ["relaxation", "myofascial"]
    parsed = parse_rule_set(to_yaml(data), SOURCE, clinic)
    assert parsed.plans[0].covered_session_types == {
        "swedish",
        "hot_stone",
        "prenatal",
        "myofascial",
    }


def test_money_spellings_that_mean_the_same_amount(clinic: Clinic) -> None:
    base = parse_rule_set(to_yaml(sample_data()), SOURCE, clinic)
    data = sample_data()
    plan = acme_plan(data)
    plan["in_network"]["deductible"] = 500  # a whole number of dollars
    plan["in_network"]["out_of_pocket_max"] = "$3,000"
    plan["in_network"]["coinsurance_percent"] = "20%"
    plan["in_network"]["allowed_per_unit"]["97124"] = {"first_unit": "31.0"}
    again = parse_rule_set(to_yaml(data), SOURCE, clinic)
    assert again.checksum == base.checksum
    assert again.plans == base.plans


def test_an_impossible_unquoted_date_names_its_line(clinic: Clinic) -> None:
    text = (RULES_DIR / "acme-health" / "2026.yaml").read_text(encoding="utf-8")
    text = text.replace("effective_to: 2026-12-31", "effective_to: 2026-02-30")
    line = text.splitlines().index(next(x for x in text.splitlines() if "2026-02-30" in x)) + 1
    with pytest.raises(RuleFileError) as excinfo:
        parse_rule_set(text, SOURCE, clinic)
    (problem,) = excinfo.value.problems
    assert problem.field.startswith(f"line {line},")
    assert "2026-02-30 is not a real date" in problem.message


def test_a_structural_error_in_one_plan_does_not_hide_another_plans_mistakes(
    clinic: Clinic,
) -> None:
    data = sample_data()
    second = dict(acme_plan(data), id="acme-ppo-silver")
    second["in_network"] = dict(second["in_network"], out_of_pocket_max="100.00")
    data["plans"].append(second)
    acme_plan(data)["units"] = {"method": "eight_minute", "max_per_visit": 4}  # structural
    data["effective_to"] = "2025-06-30"
    with pytest.raises(RuleFileError) as excinfo:
        parse_rule_set(to_yaml(data), SOURCE, clinic)
    problems = excinfo.value.problems
    find(problems, f"{P}.units.method", "eight_minute")
    find(problems, "plans[acme-ppo-silver].in_network.out_of_pocket_max", "below the deductible")
    find(problems, "effective_to", "is before effective_from")
    assert len(problems) == 3
