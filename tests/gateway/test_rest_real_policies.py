"""The clauses of real payer policies through the REST gateway: the new request fields in
JSON reach the service, and the estimate's new figures come back as JSON."""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import Gateway, http
from .test_rest import day, usd

pytestmark = pytest.mark.gateway


def lakeside(**changes: Any) -> dict[str, Any]:
    session: dict[str, Any] = {
        "plan_id": "lakeside-choice-ppo",
        "session_type": "deep_tissue",
        "minutes": 60,
        "referral": {"kind": "REFERRAL_KIND_PRESCRIPTION", "issue_date": day("2026-03-01")},
        "diagnosis_codes": ["M54.50"],
        "date_of_service": day("2026-03-02"),
    }
    session.update(changes)
    return session


def test_a_payment_limit_and_what_is_left_of_it(gateway: Gateway) -> None:
    reply = http(
        "POST",
        gateway.url("/v1/estimates:session"),
        {"session": lakeside(accumulators={"visits_used": 4, "benefit_paid": usd(1150)})},
    )
    assert reply.status == 200, reply.text
    est = reply.json["estimate"]
    # copay $20.00; the plan owes $108.00, at most the $50.00 left of its $1,200.00: $58.00
    # above it; $78.00 in all; nothing left after (tests/domain/test_engine_lakeside.py).
    assert est["patient_pays"] == usd(78)
    assert est["plan_pays"] == usd(50)
    assert est["benefit_remaining"] == usd(0)
    assert est["accumulators_after"]["benefit_paid"] == usd(1200)
    assert "ABOVE_PLAN_MAXIMUM" in [r["code"] for r in est["reasons"]]


def test_family_other_network_same_day_and_provider_fields(gateway: Gateway) -> None:
    session = {
        "plan_id": "birch-hdhp-copay",
        "session_type": "deep_tissue",
        "minutes": 60,
        "diagnosis_codes": ["M62.830"],
        "date_of_service": day("2026-06-08"),
        "accumulators": {
            "deductible_met": usd(1600),
            "out_of_pocket_met": usd(1600),
            "family_deductible_met": usd(1600),
        },
        "other_network_accumulators": {"deductible_met": usd(100)},
        "same_day_procedure_codes": ["98940"],
        "provider_credential": "PROVIDER_CREDENTIAL_DC",
    }
    reply = http("POST", gateway.url("/v1/estimates:session"), {"session": session})
    assert reply.status == 200, reply.text
    est = reply.json["estimate"]
    # Half of $120.00 allowed the same day as 98940: $60.00; copay $30.00; plan $30.00.
    assert (est["allowed_amount"], est["plan_pays"]) == (usd(60), usd(30))
    kinds = [item["kind"] for item in est["line_items"]]
    assert "LINE_ITEM_KIND_REDUCTION" in kinds


def test_a_bad_provider_name_is_a_400(gateway: Gateway) -> None:
    reply = http(
        "POST",
        gateway.url("/v1/estimates:session"),
        {"session": lakeside(provider_credential="PROVIDER_CREDENTIAL_NURSE")},
    )
    assert reply.status == 400, reply.text
