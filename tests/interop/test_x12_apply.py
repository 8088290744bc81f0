"""What a 271 fills into a quote, on written 271s against the sample Acme rules (the pure
module, no server): remaining against the table's total, met as stated, more remaining than
the table's total, the refusals, and every term compared."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest

from service.domain.errors import EstimateUnavailableError, InvalidRequestError
from service.domain.index import RuleIndex
from service.domain.model import Network, PlanRules, RuleSetVersion, SessionRequest
from service.interop.x12.apply import apply_eligibility, refusal
from service.interop.x12.read271 import read_271
from service.resources import SAMPLE_RULES_DIR
from service.rulefiles import load_rules_dir

from .test_x12_read import HEAD, wrap

DAY = date(2026, 3, 3)


@pytest.fixture(scope="module")
def index() -> RuleIndex:
    _, parsed = load_rules_dir(SAMPLE_RULES_DIR)
    return RuleIndex.build(p.to_version(datetime(2025, 11, 1, tzinfo=UTC), "t") for p in parsed)


@pytest.fixture(scope="module")
def acme(index: RuleIndex) -> tuple[RuleSetVersion, PlanRules]:
    return index.resolve("acme-ppo-gold", DAY)


def session(network: Network = Network.IN) -> SessionRequest:
    return SessionRequest(
        plan_id="acme-ppo-gold",
        session_type="deep_tissue",
        minutes=53,
        date_of_service=DAY,
        network=network,
    )


def test_remaining_against_the_tables_total_and_met_as_stated(
    acme: tuple[RuleSetVersion, PlanRules],
) -> None:
    version, plan = acme
    found = read_271(
        wrap(
            [
                *HEAD,
                "EB*1**30",
                "EB*C*IND*30***23*600*****Y",  # the table says $500: a disagreement
                "EB*C*IND*30***29*700*****Y",  # more left than the table's total: $0 met
                "EB*G*IND*30***24*125.50*****Y",  # out-of-pocket met as stated: $125.50
                "EB*F*IND*BE***24***VS*5**Y",  # 5 visits used as stated
                "EB*A*IND*BE*****0.25****Y",  # the table says 20%
            ]
        )
    )
    done = apply_eligibility(session(), found, version, plan)
    acc = done.request.accumulators
    assert (acc.deductible_met, acc.out_of_pocket_met, acc.visits_used) == (0, 12550, 5)
    how = {a.field: a.how for a in done.applied}
    assert "more remains than the table's total" in how["deductible_met"]
    assert how["out_of_pocket_met"].startswith("met as the 271 states it")
    assert [(x.term, x.rule_value, x.eligibility_value) for x in done.disagreements] == [
        ("coinsurance", "20%", "25%"),
        ("deductible", "$500.00", "$600.00"),
    ]


def test_an_out_of_network_session_reads_out_of_network_figures(
    acme: tuple[RuleSetVersion, PlanRules],
) -> None:
    version, plan = acme
    found = read_271(
        wrap(
            [
                *HEAD,
                "EB*1**30",
                "EB*C*IND*30***29*50*****Y",
                "EB*C*IND*30***29*400*****N",
            ]
        )
    )
    done = apply_eligibility(session(network=Network.OUT), found, version, plan)
    # out of network: $1,000 - $400 = $600 met; in network (the other): $500 - $50 = $450
    assert done.request.accumulators.deductible_met == 60000
    assert done.request.other_network.deductible_met == 45000


def test_coverage_not_stated_is_refused(acme: tuple[RuleSetVersion, PlanRules]) -> None:
    version, plan = acme
    found = read_271(wrap([*HEAD, "EB*C*IND*30***29*50*****Y"]))
    refused = refusal(found)
    assert refused is not None and refused.reason == "ELIGIBILITY_STATUS_UNKNOWN"
    with pytest.raises(EstimateUnavailableError):
        apply_eligibility(session(), found, version, plan)


def test_a_combined_plan_takes_only_this_networks_remaining(index: RuleIndex) -> None:
    version, plan = index.resolve("rainier-ump-classic", DAY)
    found = read_271(
        wrap([*HEAD, "EB*1**30", "EB*C*IND*30***29*100*****Y", "EB*C*IND*30***29*100*****N"])
    )
    request = dataclasses.replace(session(), plan_id="rainier-ump-classic")
    done = apply_eligibility(request, found, version, plan)
    # $250 - $100 remaining = $150 met, counting both networks already; none added twice
    assert done.request.accumulators.deductible_met == 15000
    assert done.request.other_network.deductible_met == 0
    assert "counts both networks together" in done.notes[0]


def test_the_massage_figure_wins_over_the_plans_whatever_the_network_says(
    acme: tuple[RuleSetVersion, PlanRules],
) -> None:
    found = read_271(
        wrap(
            [
                *HEAD,
                "EB*1**30",
                "EB*F*IND*AE***29***VS*18**Y",  # physical medicine, in network: 18 left
                "EB*F*IND*BE***29***VS*2",  # massage, no network stated: 2 left
            ]
        )
    )
    done = apply_eligibility(session(), found, *acme)
    assert done.request.accumulators.visits_used == 18  # 20 - 2, from BE


def test_a_date_of_service_outside_the_271s_plan_dates_is_refused(
    acme: tuple[RuleSetVersion, PlanRules],
) -> None:
    found = read_271(wrap([*HEAD, "DTP*291*RD8*20250101-20251231", "EB*1**30"]))
    with pytest.raises(EstimateUnavailableError) as caught:
        apply_eligibility(session(), found, *acme)
    assert caught.value.reason == "ELIGIBILITY_DATES"
    assert "2026" not in str(caught.value)  # no date of service in an error


def test_lifetime_figures_are_not_read_as_the_years(acme: tuple[RuleSetVersion, PlanRules]) -> None:
    found = read_271(wrap([*HEAD, "EB*1**30", "EB*F*IND*BE***33***VS*50**Y"]))
    done = apply_eligibility(session(), found, *acme)
    assert done.applied == ()
    assert any("lifetime" in n for n in done.notes)


def test_family_figures_for_a_plan_without_family_amounts_are_listed(
    acme: tuple[RuleSetVersion, PlanRules],
) -> None:
    found = read_271(wrap([*HEAD, "EB*1**30", "EB*C*FAM*30***29*200*****Y"]))
    done = apply_eligibility(session(), found, *acme)
    assert [(x.term, x.rule_value, x.eligibility_value) for x in done.disagreements] == [
        ("family_deductible", "none", "$200.00 remaining")
    ]


def test_a_restriction_and_prior_authorization_are_disagreements(
    acme: tuple[RuleSetVersion, PlanRules],
) -> None:
    found = read_271(wrap([*HEAD, "EB*1**30", "EB*I**BE", "EB*B*IND*BE***27*0****N*Y"]))
    done = apply_eligibility(session(), found, *acme)
    terms = {x.term: (x.rule_value, x.eligibility_value) for x in done.disagreements}
    assert terms["coverage"] == ("covered", "non-covered (I)")
    # Acme requires it from visit 13; this 271 says it is not required
    assert terms["prior_authorization"] == ("required", "not required")


def test_a_figure_no_massage_benefit_has_is_refused(
    acme: tuple[RuleSetVersion, PlanRules],
) -> None:
    found = read_271(wrap([*HEAD, "EB*1**30", "EB*F*IND*BE***29***VS*3000000000**Y"]))
    with pytest.raises(InvalidRequestError) as caught:
        apply_eligibility(session(), found, *acme)
    assert caught.value.violations[0].field == "eligibility_271"
    overflow = read_271(wrap([*HEAD, "EB*1**30", "EB*C*IND*30***29*1E+999999999*****Y"]))
    assert apply_eligibility(session(), overflow, *acme).applied == ()  # noted, not read
