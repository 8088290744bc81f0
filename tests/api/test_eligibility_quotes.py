"""Quotes from a payer's 271 on a real server: what is left comes from the 271 (its remaining
amounts), prices from the rule version; a quote from a 271 equals the same quote with the
figures typed in, every disagreeing term is listed, and a 271 that says no is a clear
FAILED_PRECONDITION in the payer's words.

Sample 271s are tests/interop/fixtures; each figure below is read off the file by hand.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.explanationofbenefit import ExplanationOfBenefit
from google.protobuf import json_format
from google.rpc import code_pb2
from massage_estimator.v1 import estimator_pb2 as pb
from massage_estimator.v1 import estimator_pb2_grpc as pb_grpc

from service.app import Application
from tests.interop.conftest import FIXTURES

from .helpers import cents, d, error_info, field_violations, issue_example, rpc_error_status, usd
from .rules_helpers import Clients, clients_for, running_server


def text(name: str) -> str:
    return (FIXTURES / name).read_text()


def birch(**changes: object) -> pb.SessionDetails:
    """Birch HDHP copay, in network, a 60-minute deep tissue session on 2026-05-05."""
    session = pb.SessionDetails(
        plan_id="birch-hdhp-copay",
        session_type="deep_tissue",
        minutes=60,
        diagnosis_codes=["M54.50"],
        date_of_service=d("2026-05-05"),
        network=pb.NETWORK_IN,
    )
    for name, value in changes.items():
        if hasattr(value, "DESCRIPTOR"):
            getattr(session, name).CopyFrom(value)
        else:
            setattr(session, name, value)
    return session


# The Birch 271, in network: deductible $1,500 with $50 remaining (the table says $1,600: met
# = 1,600 - 50 = $1,550), family deductible $3,200 with $1,750 remaining (met $1,450, raised
# to the member's own $1,550: the family total includes it),
# out-of-pocket $4,000 with $2,550 remaining (met $1,450), family $8,000 with $6,550
# remaining (met $1,450), 30 visits with 26 remaining (4 used); out of network everything
# remains (met $0).
BIRCH_TYPED = pb.Accumulators(
    deductible_met=usd("1550.00"),
    out_of_pocket_met=usd("1450.00"),
    visits_used=4,
    family_deductible_met=usd("1550.00"),
    family_out_of_pocket_met=usd("1450.00"),
)
BIRCH_OTHER = pb.OtherNetworkAccumulators(
    deductible_met=usd("0.00"),
    out_of_pocket_met=usd("0.00"),
    family_deductible_met=usd("0.00"),
    family_out_of_pocket_met=usd("0.00"),
)


def quote(stub: pb_grpc.EstimatorServiceStub, session: pb.SessionDetails) -> pb.Estimate:
    response: pb.EstimateSessionResponse = stub.EstimateSession(
        pb.EstimateSessionRequest(session=session), timeout=10
    )
    return response.estimate


def without_check(estimate: pb.Estimate) -> pb.Estimate:
    copy = pb.Estimate()
    copy.CopyFrom(estimate)
    copy.ClearField("eligibility")
    return copy


def test_a_quote_from_a_271_equals_the_quote_with_the_figures_typed_in(
    grpc_stub: pb_grpc.EstimatorServiceStub,
) -> None:
    from_271 = quote(grpc_stub, birch(eligibility_271=text("birch-hdhp-copay.271")))
    typed = quote(
        grpc_stub, birch(accumulators=BIRCH_TYPED, other_network_accumulators=BIRCH_OTHER)
    )
    assert without_check(from_271) == typed
    assert not typed.HasField("eligibility")
    # $50 of deductible left: 4 units x $30.00 = $120.00 allowed; $50.00 deductible, then the
    # $30.00 copay on the $70.00 that remains: the patient pays $80.00, the plan $40.00.
    assert cents(from_271.allowed_amount) == 120_00
    assert cents(from_271.patient_pays) == 80_00
    assert cents(from_271.plan_pays) == 40_00
    check = from_271.eligibility
    assert check.priced_by == "the rule table: Birch Health 2026.1"
    assert {f.field: f.amount for f in check.applied} == {
        "deductible_met": "$1,550.00",
        "out_of_pocket_met": "$1,450.00",
        "family_deductible_met": "$1,550.00",
        "family_out_of_pocket_met": "$1,450.00",
        "visits_used": "4 visits",
        "other_network.deductible_met": "$0.00",
        "other_network.out_of_pocket_met": "$0.00",
        "other_network.family_deductible_met": "$0.00",
        "other_network.family_out_of_pocket_met": "$0.00",
    }
    deductible = next(f for f in check.applied if f.field == "deductible_met")
    assert "$1,600.00 minus the $50.00 remaining" in deductible.explanation


def test_the_reconciliation_lists_exactly_the_disagreeing_terms(
    grpc_stub: pb_grpc.EstimatorServiceStub,
) -> None:
    birch_check = quote(grpc_stub, birch(eligibility_271=text("birch-hdhp-copay.271"))).eligibility
    assert [
        (x.term, x.rule_value, x.eligibility_value, x.service_type)
        for x in birch_check.disagreements
    ] == [("deductible", "$1,600.00", "$1,500.00", "30")]
    summit = pb.SessionDetails(
        plan_id="summit-ma-plus",
        session_type="deep_tissue",
        minutes=60,
        diagnosis_codes=["M54.50"],
        date_of_service=d("2026-05-05"),
        referral=pb.Referral(kind=pb.REFERRAL_KIND_PRESCRIPTION, issue_date=d("2026-04-01")),
        prior_authorization_on_file=True,
        eligibility_271=text("summit-ma-copay-mismatch.271"),
    )
    estimate = quote(grpc_stub, summit)
    assert [
        (x.term, x.rule_value, x.eligibility_value, x.service_type)
        for x in estimate.eligibility.disagreements
    ] == [("copay", "$20.00", "$35.00", "BE")]
    # 6 visits, 4 remaining: 2 used; the table's $20.00 copay priced it, not the 271's $35.00.
    assert cents(estimate.patient_cost.copay) == 20_00
    assert [(f.field, f.amount) for f in estimate.eligibility.applied] == [
        ("visits_used", "2 visits")
    ]


def test_acme_271_gives_the_quickstart_figures_and_agrees_with_the_table(
    grpc_stub: pb_grpc.EstimatorServiceStub,
) -> None:
    bare = issue_example()
    bare.ClearField("accumulators")
    bare.eligibility_271 = text("acme-ppo-gold-active.271")
    from_271 = quote(grpc_stub, bare)
    # $500 - $50 remaining = $450 met; $3,000 - $2,550 = $450; 20 - 17 remaining = 3 visits.
    typed = quote(
        grpc_stub,
        issue_example(
            other_network_accumulators=pb.OtherNetworkAccumulators(
                deductible_met=usd("0.00"), out_of_pocket_met=usd("0.00")
            )
        ),
    )
    assert without_check(from_271) == typed
    assert list(from_271.eligibility.disagreements) == []


def test_typed_figures_win_over_the_271(grpc_stub: pb_grpc.EstimatorServiceStub) -> None:
    accumulators = pb.Accumulators(deductible_met=usd("100.00"))
    estimate = quote(
        grpc_stub,
        birch(eligibility_271=text("birch-hdhp-copay.271"), accumulators=accumulators),
    )
    fields = [f.field for f in estimate.eligibility.applied]
    assert "deductible_met" not in fields
    assert cents(estimate.accumulators_after.deductible_met) > 100_00  # from $100.00 typed
    # $1,500 deductible left: all 4 units ($120.00) go to the deductible.
    assert cents(estimate.patient_cost.deductible) == 120_00


@pytest.mark.parametrize(
    ("fixture", "plan", "reason", "words"),
    [
        ("cedar-hdhp-inactive.271", "cedar-hdhp-hsa", "ELIGIBILITY_INACTIVE", "not active"),
        ("summit-ma-aaa-rejected.271", "summit-ma-plus", "ELIGIBILITY_REJECTED", "rejected"),
    ],
)
def test_a_271_that_says_no_is_failed_precondition_in_the_payers_words(
    grpc_stub: pb_grpc.EstimatorServiceStub, fixture: str, plan: str, reason: str, words: str
) -> None:
    session = birch(plan_id=plan, eligibility_271=text(fixture))
    with pytest.raises(grpc.RpcError) as caught:
        quote(grpc_stub, session)
    assert caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    status = rpc_error_status(caught.value)
    assert error_info(status).reason == reason
    assert words in status.message


def test_an_unreadable_271_names_the_field(grpc_stub: pb_grpc.EstimatorServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        quote(grpc_stub, birch(eligibility_271="ISA*00*not a 271~"))
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    violations = field_violations(rpc_error_status(caught.value))
    assert list(violations) == ["session.eligibility_271"]
    assert violations["session.eligibility_271"].startswith("is not a readable 271")


def test_a_271_on_a_self_pay_quote_is_refused(grpc_stub: pb_grpc.EstimatorServiceStub) -> None:
    session = pb.SessionDetails(
        plan_id="self-pay",
        session_type="swedish",
        minutes=60,
        date_of_service=d("2026-05-05"),
        eligibility_271=text("acme-ppo-gold-active.271"),
    )
    with pytest.raises(grpc.RpcError) as caught:
        quote(grpc_stub, session)
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "session.eligibility_271" in field_violations(rpc_error_status(caught.value))


def test_batch_rows_and_treatment_plans_carry_their_271(
    grpc_stub: pb_grpc.EstimatorServiceStub,
) -> None:
    batch: pb.EstimateSessionsResponse = grpc_stub.EstimateSessions(
        pb.EstimateSessionsRequest(
            sessions=[
                birch(eligibility_271=text("birch-hdhp-copay.271")),
                birch(eligibility_271=text("cedar-hdhp-inactive.271")),
            ]
        ),
        timeout=10,
    )
    assert batch.succeeded_count == 1 and batch.failed_count == 1
    assert len(batch.results[0].estimate.eligibility.disagreements) == 1
    assert batch.results[1].error.code == code_pb2.FAILED_PRECONDITION

    template = birch(eligibility_271=text("birch-hdhp-copay.271"))
    template.ClearField("date_of_service")
    dates = pb.SessionDates(dates=[d("2026-05-05"), d("2026-05-12")])
    plan: pb.EstimateTreatmentPlanResponse = grpc_stub.EstimateTreatmentPlan(
        pb.EstimateTreatmentPlanRequest(session=template, dates=dates), timeout=10
    )
    typed = birch(accumulators=BIRCH_TYPED, other_network_accumulators=BIRCH_OTHER)
    typed.ClearField("date_of_service")
    plain: pb.EstimateTreatmentPlanResponse = grpc_stub.EstimateTreatmentPlan(
        pb.EstimateTreatmentPlanRequest(session=typed, dates=dates), timeout=10
    )
    assert plan.eligibility.priced_by == "the rule table: Birch Health 2026.1"
    plan.ClearField("eligibility")
    assert plan == plain
    # Session 1: $80.00 (above); session 2: deductible met, the $30.00 copay.
    assert cents(plain.total_patient_pays) == 110_00


@pytest.fixture
def saving(tmp_path: Path) -> Iterator[tuple[Application, Clients]]:
    with running_server(tmp_path / "quotes.db") as app, clients_for(app.target) as clients:
        yield app, clients


def test_a_saved_quote_keeps_what_the_271_filled_in_not_the_271(
    saving: tuple[Application, Clients],
) -> None:
    _, c = saving
    saved: pb.EstimateSessionResponse = c.estimator.EstimateSession(
        pb.EstimateSessionRequest(
            session=birch(eligibility_271=text("birch-hdhp-copay.271")), save_quote=True
        ),
        timeout=10,
    )
    got: pb.GetQuoteResponse = c.estimator.GetQuote(
        pb.GetQuoteRequest(quote_id=saved.quote_id), timeout=10
    )
    assert got.request.session.eligibility_271 == ""  # no member identity kept
    assert got.request.session.accumulators == BIRCH_TYPED
    assert got.request.session.other_network_accumulators == BIRCH_OTHER
    assert got.estimate == saved.estimate
    assert got.replay_matches


def test_saved_quotes_as_fhir(saving: tuple[Application, Clients]) -> None:
    _, c = saving
    insured: pb.EstimateSessionResponse = c.estimator.EstimateSession(
        pb.EstimateSessionRequest(session=issue_example(), save_quote=True), timeout=10
    )
    fhir: pb.GetQuoteFhirResponse = c.estimator.GetQuoteFhir(
        pb.GetQuoteFhirRequest(quote_id=insured.quote_id), timeout=30
    )
    assert fhir.resource_type == "ExplanationOfBenefit"
    eob = ExplanationOfBenefit.model_validate(json_format.MessageToDict(fhir.resource))
    assert eob.use == "predetermination"
    member = [
        a
        for a in eob.total or []
        if any(cd.code == "memberliability" for cd in a.category.coding or [])
    ]
    assert [str(m.amount.value) for m in member] == [
        str(cents(insured.estimate.patient_pays) / 100)
    ]
    self_pay = pb.SessionDetails(
        plan_id="self-pay", session_type="swedish", minutes=60, date_of_service=d("2026-05-05")
    )
    cash: pb.EstimateSessionResponse = c.estimator.EstimateSession(
        pb.EstimateSessionRequest(session=self_pay, save_quote=True), timeout=10
    )
    gfe: pb.GetQuoteFhirResponse = c.estimator.GetQuoteFhir(
        pb.GetQuoteFhirRequest(quote_id=cash.quote_id), timeout=30
    )
    assert gfe.resource_type == "Bundle"
    bundle = Bundle.model_validate(json.loads(json_format.MessageToJson(gfe.resource)))
    assert bundle.type == "collection"
    with pytest.raises(grpc.RpcError) as caught:
        c.estimator.GetQuoteFhir(
            pb.GetQuoteFhirRequest(quote_id="3f0c2d9e-6b1a-4c55-9d1e-2a7b8c9d0e1f"), timeout=10
        )
    assert caught.value.code() is grpc.StatusCode.NOT_FOUND
