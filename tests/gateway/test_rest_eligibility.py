"""A payer's 271 and FHIR through the REST gateway: the 271 travels as the session's
`eligibility_271` text, the reconciliation comes back as JSON, and a saved quote is served as
Da Vinci PCT FHIR at /v1/quotes/{id}:fhir."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.explanationofbenefit import ExplanationOfBenefit

from tests.interop.conftest import FIXTURES

from .helpers import Gateway, http
from .test_rest import day, usd

pytestmark = pytest.mark.gateway


def birch(**changes: Any) -> dict[str, Any]:
    session: dict[str, Any] = {
        "plan_id": "birch-hdhp-copay",
        "session_type": "deep_tissue",
        "minutes": 60,
        "diagnosis_codes": ["M54.50"],
        "date_of_service": day("2026-05-05"),
        "eligibility_271": (FIXTURES / "birch-hdhp-copay.271").read_text(),
    }
    session.update(changes)
    return session


def test_a_quote_from_a_271_and_its_fhir_form(gateway: Gateway) -> None:
    reply = http(
        "POST", gateway.url("/v1/estimates:session"), {"session": birch(), "save_quote": True}
    )
    assert reply.status == 200, reply.text
    est = reply.json["estimate"]
    assert est["patient_pays"] == usd(80)  # $50.00 deductible left, then the $30.00 copay
    check = est["eligibility"]
    assert check["priced_by"] == "the rule table: Birch Health 2026.1"
    assert [
        (x["term"], x["rule_value"], x["eligibility_value"]) for x in check["disagreements"]
    ] == [("deductible", "$1,600.00", "$1,500.00")]
    fhir = http("GET", gateway.url(f"/v1/quotes/{reply.json['quote_id']}:fhir"))
    assert fhir.status == 200, fhir.text
    assert fhir.json["resource_type"] == "ExplanationOfBenefit"
    eob = ExplanationOfBenefit.model_validate(fhir.json["resource"])
    assert eob.use == "predetermination"


def test_an_inactive_271_is_412_with_the_payers_reason(gateway: Gateway) -> None:
    inactive = (FIXTURES / "cedar-hdhp-inactive.271").read_text()
    reply = http(
        "POST",
        gateway.url("/v1/estimates:session"),
        {"session": birch(plan_id="cedar-hdhp-hsa", eligibility_271=inactive)},
    )
    assert reply.status == 412, reply.text
    assert "not active" in reply.json["message"]
