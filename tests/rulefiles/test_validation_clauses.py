"""The clauses payers write: each mistake an analyst can make in them is named by field, in
plain words; the messages that once misled an analyst say what is meant; and a file with
several problems reports them all in one pass."""

from __future__ import annotations

from typing import Any

import pytest

from service.domain.model import Clinic
from service.rulefiles import RuleFileError, parse_rule_set, validate_rule_set

from .conftest import RULES_DIR, Mutation, acme_plan, find, sample_data, to_yaml
from .test_validation import SOURCE, P, plan_del, plan_set

LAKESIDE = RULES_DIR / "lakeside-health" / "2026.yaml"
BIRCH = RULES_DIR / "birch-health" / "2026.yaml"
L = "plans[lakeside-choice-ppo]"
B = "plans[birch-hdhp-copay]"


def lakeside(*path: str, value: Any) -> tuple[Any, Mutation]:
    def mutate(data: dict[str, Any]) -> None:
        node = acme_plan(data)
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return LAKESIDE, mutate


def birch(*path: str, value: Any = None, delete: bool = False) -> tuple[Any, Mutation]:
    def mutate(data: dict[str, Any]) -> None:
        node = acme_plan(data)
        for key in path[:-1]:
            node = node[key]
        if delete:
            del node[path[-1]]
        else:
            node[path[-1]] = value

    return BIRCH, mutate


TIER = {"from_visit": 1, "to_visit": 10, "amount": "20.00"}

ERRORS: list[tuple[str, tuple[Any, Mutation], str, str]] = [
    (
        "tiers with a gap",
        lakeside("in_network", "copay", value=[TIER, {"from_visit": 12, "amount": "40.00"}]),
        f"{L}.in_network.copay[#2].from_visit",
        "tier 2 starts at visit 12, but visit 11 is next",
    ),
    (
        "tiers that stop before the visit limit",
        lakeside(
            "in_network",
            "copay",
            value=[TIER, {"from_visit": 11, "to_visit": 20, "amount": "40.00"}],
        ),
        f"{L}.in_network.copay[#2].to_visit",
        "visits 21 to 24 of the 24-visit limit have no copay",
    ),
    (
        "an open tier before the last",
        lakeside(
            "in_network",
            "copay",
            value=[{"from_visit": 1, "amount": "20.00"}, {"from_visit": 11, "amount": "40.00"}],
        ),
        f"{L}.in_network.copay[#1].to_visit",
        "only the last tier may leave out to_visit",
    ),
    (
        "a tier's money as a bare number",
        lakeside("in_network", "copay", value=[{"from_visit": 1, "amount": 20.5}]),
        f"{L}.in_network.copay[#1].amount",
        'like "20.50"',
    ),
    (
        "a copay written as a block",
        lakeside("in_network", "copay", value={"visits_1_10": "20.00"}),
        f"{L}.in_network.copay",
        "or as a list of tiers by visit number",
    ),
    (
        "a copay and a deductible without saying which is first",
        birch("in_network", "copay_applies", delete=True),
        f"{B}.in_network.deductible_applies",
        "copay_applies: after_deductible charges the deductible first",
    ),
    (
        "a copay after a deductible that does not apply",
        birch("in_network", "deductible_applies", value=False),
        f"{B}.in_network.copay_applies",
        "a copay after the deductible needs the deductible",
    ),
    (
        "copay_applies without a copay",
        birch("out_of_network", "copay_applies", value="after_deductible"),
        f"{B}.out_of_network.copay_applies",
        "there is no copay to apply",
    ),
    (
        "a family deductible below the individual's",
        birch("in_network", "family_deductible", value="1000.00"),
        f"{B}.in_network.family_deductible",
        "the family deductible $1,000.00 is below the individual's $1,600.00",
    ),
    (
        "a family maximum without an individual one",
        birch("in_network", "out_of_pocket_max", delete=True),
        f"{B}.in_network.family_out_of_pocket_max",
        "needs the individual's",
    ),
    (
        "days and months of validity",
        (None, plan_set("referral", "valid_months", value=6)),
        f"{P}.referral.valid_months",
        "give either valid_days or valid_months, not both (months are calendar months",
    ),
    (
        "months of validity on a referral that is not required",
        (
            None,
            lambda d: acme_plan(d).update(referral={"required": False, "valid_months": 6}),
        ),
        f"{P}.referral.valid_months",
        "the referral is not required",
    ),
    (
        "two diagnosis logics",
        (
            None,
            plan_set("qualifying_diagnoses", value={"any_of": ["M54.5"], "any_except": ["Z00"]}),
        ),
        f"{P}.qualifying_diagnoses",
        "this block gives any_of and any_except",
    ),
    (
        "a single letter",
        (None, plan_set("qualifying_diagnoses", value=["M"])),
        f"{P}.qualifying_diagnoses",
        '"M" alone would match a whole chapter of ICD-10-CM; a prefix needs at least a letter '
        "and a digit, like M5 or M54",
    ),
    (
        "a lowercase placeholder",
        (None, plan_set("qualifying_diagnoses", value=["M54.5x"])),
        f"{P}.qualifying_diagnoses",
        "write codes in capitals; and X is ICD-10-CM's placeholder character, not a wildcard: "
        "to match every code under M54.5, write M54.5",
    ),
    (
        "a lowercase range",
        (None, plan_set("qualifying_diagnoses", value={"any_except": ["z00-z13"]})),
        f"{P}.qualifying_diagnoses.any_except",
        '"z00-z13": write it in capitals, Z00-Z13',
    ),
    (
        "no copay tiers",
        lakeside("in_network", "copay", value=[]),
        f"{L}.in_network.copay",
        "list at least one tier",
    ),
    (
        "a backward range",
        (None, plan_set("qualifying_diagnoses", value={"any_except": ["Z13-Z00"]})),
        f"{P}.qualifying_diagnoses.any_except",
        "the range runs backwards; write it as Z00-Z13",
    ),
    (
        "a zero deductible without saying whether it applies",
        (None, plan_del("in_network", "deductible_applies")),
        f"{P}.in_network.deductible_applies",
        "say whether the deductible applies",
    ),
    (
        "a same-day reduction to nothing",
        (
            None,
            plan_set(
                "same_day_reductions",
                value=[{"procedure_codes": ["98940"], "allowed_percent": "0"}],
            ),
        ),
        f"{P}.same_day_reductions[#1].allowed_percent",
        "0% would make the allowed amount $0.00",
    ),
    (
        "a code in two same-day reductions",
        (
            None,
            plan_set(
                "same_day_reductions",
                value=[
                    {"procedure_codes": ["98940"], "allowed_percent": "50"},
                    {"procedure_codes": ["98940", "98941"], "allowed_percent": "75"},
                ],
            ),
        ),
        f"{P}.same_day_reductions[#2].procedure_codes",
        "98940 is also listed in same_day_reductions[#1]",
    ),
    (
        "an empty payment limit",
        (None, plan_set("plan_payment_limit", value={})),
        f"{P}.plan_payment_limit",
        "give per_visit, per_benefit_period or both",
    ),
    (
        "a zero payment limit",
        (None, plan_set("plan_payment_limit", value={"per_visit": "0.00"})),
        f"{P}.plan_payment_limit.per_visit",
        "a limit of $0.00",
    ),
    (
        "no rendering providers",
        (None, plan_set("rendering_providers", value=[])),
        f"{P}.rendering_providers",
        "list at least one of lmt, pt, dc, md_do",
    ),
    (
        "an unknown provider",
        (None, plan_set("rendering_providers", value=["lmt", "rn"])),
        f"{P}.rendering_providers[#2]",
        '"rn" is not allowed here; use one of: lmt, pt, dc, md_do.',
    ),
    (
        "an unknown network accumulation",
        (None, plan_set("network_accumulation", value="cross")),
        f"{P}.network_accumulation",
        "use one of: separate, combined",
    ),
]


@pytest.mark.parametrize(
    ("source", "field", "text"), [(c[1], c[2], c[3]) for c in ERRORS], ids=[c[0] for c in ERRORS]
)
def test_clause_mistake_is_named(
    clinic: Clinic, source: tuple[Any, Mutation], field: str, text: str
) -> None:
    path, mutate = source
    data = sample_data(path) if path is not None else sample_data()
    mutate(data)
    with pytest.raises(RuleFileError) as excinfo:
        parse_rule_set(to_yaml(data), SOURCE, clinic)
    problem = find(excinfo.value.problems, field, text)
    assert problem.severity == "error"


WARNINGS: list[tuple[str, Mutation, str, str]] = [
    (
        "a placeholder X in a prefix",
        plan_set("qualifying_diagnoses", value=["M54.5X", "M54.2"]),
        f"{P}.qualifying_diagnoses",
        '"M54.5X": X is ICD-10-CM\'s placeholder character, not a wildcard, so "M54.5X" '
        "matches only codes written with that X (as S13.4XXA is under S13.4X). To match every "
        "code under M54.5, write M54.5",
    ),
    (
        "all_of with one group",
        plan_set("qualifying_diagnoses", value={"all_of": [["M54.5"]]}),
        f"{P}.qualifying_diagnoses.all_of",
        "all_of with one group means the same as a plain list",
    ),
    (
        "a daily cap below the visit cap",
        plan_set("units", "max_per_day", value=2),
        f"{P}.units.max_per_day",
        "the daily cap decides every visit",
    ),
    (
        "a massage code as a same-day procedure",
        plan_set(
            "same_day_reductions", value=[{"procedure_codes": ["97124"], "allowed_percent": "50"}]
        ),
        f"{P}.same_day_reductions[#1].procedure_codes",
        "97124 is a code the clinic bills for massage itself",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "field", "text"), [c[1:] for c in WARNINGS], ids=[c[0] for c in WARNINGS]
)
def test_clause_warning_is_named(clinic: Clinic, mutate: Mutation, field: str, text: str) -> None:
    data = sample_data()
    mutate(data)
    parsed, problems = validate_rule_set(to_yaml(data), SOURCE, clinic)
    assert parsed is not None, problems
    assert find(problems, field, text).severity == "warning"


def test_an_unknown_field_is_matched_to_its_own_concept(clinic: Clinic) -> None:
    data = sample_data()
    acme_plan(data)["in_network"]["max_plan_payment_per_visit"] = "90.00"
    with pytest.raises(RuleFileError) as excinfo:
        parse_rule_set(to_yaml(data), SOURCE, clinic)
    problem = find(
        excinfo.value.problems, f"{P}.in_network.max_plan_payment_per_visit", "unknown field"
    )
    assert "allowed_per_visit?" not in problem.message
    assert (
        'Did you mean "plan_payment_limit.per_visit"? It is written in the plan, not here.'
        in problem.message
    )


def test_a_field_in_the_wrong_block_is_pointed_to_its_block(clinic: Clinic) -> None:
    data = sample_data()
    acme_plan(data)["valid_months"] = 6
    with pytest.raises(RuleFileError) as excinfo:
        parse_rule_set(to_yaml(data), SOURCE, clinic)
    find(
        excinfo.value.problems,
        f"{P}.valid_months",
        '"valid_months" is written at referral.valid_months in the plan, not here.',
    )


def test_a_block_given_as_a_list_reads_as_yaml(clinic: Clinic) -> None:
    data = sample_data()
    acme_plan(data)["visit_limit"] = [20]
    with pytest.raises(RuleFileError) as excinfo:
        parse_rule_set(to_yaml(data), SOURCE, clinic)
    find(
        excinfo.value.problems,
        f"{P}.visit_limit",
        "must be a block of fields (key: value lines), not a list: [20]",
    )


def test_every_problem_of_a_file_in_one_pass(clinic: Clinic) -> None:
    """Structural errors (a bad tier amount, an unknown field) and checks of meaning (a
    deductible without saying whether it applies, both kinds of validity, a bad diagnosis
    prefix) all come back from one call."""
    data = sample_data(LAKESIDE)
    plan = acme_plan(data)
    plan["in_network"]["copay"] = [TIER, {"from_visit": 11, "amount": 40.0}]
    plan["in_network"]["max_plan_payment_per_visit"] = "90.00"
    plan["out_of_network"] = {
        "deductible": "100.00",
        "coinsurance_percent": "40",
        "allowed_per_unit": {"97124": "20.00", "97140": "20.00"},
    }
    plan["referral"]["valid_months"] = 3
    plan["qualifying_diagnoses"] = ["M", "M54.5"]
    parsed, problems = validate_rule_set(to_yaml(data), SOURCE, clinic)
    assert parsed is None
    fields = {p.field for p in problems}
    assert {
        f"{L}.in_network.copay[#2].amount",
        f"{L}.in_network.max_plan_payment_per_visit",
        f"{L}.out_of_network.deductible_applies",
        f"{L}.referral.valid_months",
        f"{L}.qualifying_diagnoses",
    } <= fields, problems


def test_one_pass_through_broken_lists_and_a_broken_method(clinic: Clinic) -> None:
    """A broken item of a list (a tier, a reduction, a code) hides none of the checks of the
    others, and a broken unit method hides none of the checks of the network terms."""
    data = sample_data(LAKESIDE)
    plan = acme_plan(data)
    plan["in_network"]["copay"] = [
        TIER,
        {"from_visit": 12, "to_visit": 20, "amount": "30.00"},
        {"from_visit": 21, "amount": 40.5},
    ]
    plan["in_network"]["copay_applies"] = "after_deductible"
    plan["same_day_reductions"] = [
        {"procedure_codes": ["98940", "9894"], "allowed_percent": "150"},
        {"procedure_codes": ["98940"], "allowed_percent": "0"},
    ]
    plan["qualifying_diagnoses"] = ["m54.5", "M545", 54.2, "G89.2"]
    plan["units"]["method"] = "cms8"
    plan["in_network"]["family_out_of_pocket_max"] = "100.00"
    parsed, problems = validate_rule_set(to_yaml(data), SOURCE, clinic)
    assert parsed is None
    for field, text in [
        # the structural pass
        (f"{L}.in_network.copay[#3].amount", 'like "40.50"'),
        (f"{L}.same_day_reductions[#1].procedure_codes[#2]", "is not a CPT code"),
        (f"{L}.same_day_reductions[#1].allowed_percent", "outside 0 to 100 percent"),
        (f"{L}.qualifying_diagnoses[#3]", "must be text"),
        (f"{L}.units.method", '"cms8" is not allowed here'),
        # the checks of meaning, in the same pass
        (f"{L}.in_network.copay[#2].from_visit", "tier 2 starts at visit 12, but visit 11"),
        (f"{L}.in_network.copay_applies", "a copay after the deductible needs the deductible"),
        (f"{L}.same_day_reductions[#2].allowed_percent", "0% would make the allowed amount"),
        (f"{L}.same_day_reductions[#2].procedure_codes", "98940 is also listed in"),
        (f"{L}.qualifying_diagnoses", '"m54.5": write it in capitals, M54.5'),
        (f"{L}.qualifying_diagnoses", '"M545" is not an ICD-10 code prefix'),
        (f"{L}.in_network.family_out_of_pocket_max", "is below the individual's $4,000.00"),
    ]:
        find(problems, field, text)


@pytest.mark.parametrize(
    ("block", "name", "hint"),
    [
        ((), "max_units_per_day", 'Did you mean "units.max_per_day"? It is written in the plan'),
        ((), "max_per_day", '"max_per_day" is written at units.max_per_day in the plan'),
        (("in_network",), "copay_after_deductible", 'Did you mean "copay_applies"?'),
        ((), "copay_tiers", 'Did you mean "copay"? It is written in in_network / out_of_network'),
        ((), "benefit_maximum", 'Did you mean "plan_payment_limit"?'),
        ((), "per_visit_maximum", 'Did you mean "plan_payment_limit.per_visit"?'),
        (("in_network",), "oop_max", 'Did you mean "out_of_pocket_max"?'),
        (("in_network",), "allowed", 'Did you mean "allowed_per_unit"?'),
        ((), "visit_limits", 'Did you mean "visit_limit"?'),
        (("units",), "max_per_dy", 'Did you mean "max_per_day"?'),
    ],
)
def test_unknown_fields_are_matched_by_concept(
    clinic: Clinic, block: tuple[str, ...], name: str, hint: str
) -> None:
    data = sample_data(RULES_DIR / "rainier-public" / "2026.yaml")
    node = acme_plan(data)
    for key in block:
        node = node[key]
    node[name] = "1"
    _, problems = validate_rule_set(to_yaml(data), SOURCE, clinic)
    at = ".".join(("plans[rainier-ump-classic]", *block, name))
    find(problems, at, f'unknown field "{name}".')
    find(problems, at, hint)
