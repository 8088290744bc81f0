"""What a 271 fills into a quote, on written 271s against the sample Acme rules (the pure
module, no server): remaining against the table's total, met as stated, more remaining than
the table's total, the refusals, and every term compared."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from service.domain.errors import EstimateUnavailableError
from service.domain.index import RuleIndex
from service.domain.model import Network, PlanRules, RuleSetVersion, SessionRequest
from service.interop.x12.apply import apply_eligibility, refusal
from service.interop.x12.read271 import read_271
from service.resources import SAMPLE_RULES_DIR
from service.rulefiles import load_rules_dir

from .test_x12_read import HEAD, wrap

DAY = date(2026, 3, 3)


@pytest.fixture(scope="module")
def acme() -> tuple[RuleSetVersion, PlanRules]:
    _, parsed = load_rules_dir(SAMPLE_RULES_DIR)
    index = RuleIndex.build(p.to_version(datetime(2025, 11, 1, tzinfo=UTC), "t") for p in parsed)
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
