"""Saved quotes as Da Vinci PCT resources: every amount and balance as a literal, the
profiles declared, the structure checked by fhir.resources (R4B), and a JSON round trip."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.explanationofbenefit import ExplanationOfBenefit
from pydantic import ValidationError

from service.domain.index import RuleIndex
from service.domain.model import Accumulators, Network, ReferralKind, SessionRequest
from service.domain.quoting import Quoter
from service.interop.fhir.pct import (
    AEOB_PROFILE,
    GFE_BUNDLE_PROFILE,
    GFE_PROFESSIONAL_PROFILE,
    GFE_SUMMARY_PROFILE,
    FhirBuildError,
    SavedQuote,
    advanced_eob,
    gfe_bundle,
    quote_resource,
    to_json,
)
from service.rulefiles import load_rules_dir

RULES = Path(__file__).resolve().parents[2] / "payer_rules"
QUOTE_ID = "3f0c2d9e-6b1a-4c55-9d1e-2a7b8c9d0e1f"
SAVED_AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def quoter() -> Quoter:
    clinic, parsed = load_rules_dir(RULES)
    versions = [p.to_version(datetime(2025, 11, 1, tzinfo=UTC), "fhir-tests") for p in parsed]
    return Quoter(RuleIndex.build(versions), clinic)


def saved(quoter: Quoter, request: SessionRequest) -> SavedQuote:
    return SavedQuote(QUOTE_ID, SAVED_AT, request, quoter.estimate(request), quoter.clinic)


def acme(network: Network = Network.IN) -> SessionRequest:
    """The README's quote: 53 minutes of deep tissue, $450 of the $500 deductible met."""
    return SessionRequest(
        plan_id="acme-ppo-gold",
        session_type="deep_tissue",
        minutes=53,
        date_of_service=date(2026, 3, 3),
        referral_kind=ReferralKind.PRESCRIPTION,
        referral_date=date(2026, 2, 1),
        diagnosis_codes=("M54.50",),
        network=network,
        accumulators=Accumulators(deductible_met=45000, out_of_pocket_met=45000, visits_used=3),
    )


def self_pay() -> SessionRequest:
    return SessionRequest(
        plan_id="self-pay",
        session_type="deep_tissue",
        minutes=53,
        date_of_service=date(2026, 3, 3),
        diagnosis_codes=("M54.50", "M62.830"),
    )


def amounts(adjudications: list[dict[str, Any]]) -> dict[str, Decimal]:
    return {
        a["category"]["coding"][0]["code"]: Decimal(str(a["amount"]["value"]))
        for a in adjudications
    }


def as_data(resource: ExplanationOfBenefit | Bundle) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(to_json(resource))
    return data


def test_insured_quote_is_an_advanced_eob(quoter: Quoter) -> None:
    eob = quote_resource(saved(quoter, acme()))
    assert isinstance(eob, ExplanationOfBenefit)
    data = as_data(eob)
    assert data["meta"]["profile"] == [AEOB_PROFILE]
    assert AEOB_PROFILE == "http://hl7.org/fhir/us/davinci-pct/StructureDefinition/davinci-pct-aeob"
    assert (data["use"], data["status"], data["outcome"]) == (
        "predetermination",
        "active",
        "complete",
    )
    assert data["created"] == "2026-03-01T09:30:00Z"
    assert data["benefitPeriod"] == {"start": "2026-01-01", "end": "2026-12-31"}
    item = data["item"][0]
    assert item["productOrService"]["coding"][0]["code"] == "97124"
    assert (item["servicedDate"], item["quantity"]["value"]) == ("2026-03-03", 4)
    # $160.00 charge; $124.00 allowed = 4 x $31.00; $50.00 deductible + 20% of $74.00 = $14.80
    assert amounts(item["adjudication"]) == {
        "submitted": Decimal("160.00"),
        "eligible": Decimal("124.00"),
        "deductible": Decimal("50.00"),
        "copay": Decimal("0.00"),
        "coinsurance": Decimal("14.80"),
        "noncovered": Decimal("0.00"),
        "memberliability": Decimal("64.80"),
        "benefit": Decimal("59.20"),
    }
    assert amounts(data["total"]) == {
        "submitted": Decimal("160.00"),
        "memberliability": Decimal("64.80"),
        "eligible": Decimal("124.00"),
        "benefit": Decimal("59.20"),
    }
    rule = data["supportingInfo"][0]["valueReference"]
    assert rule["identifier"] == {
        "system": "urn:massage-estimator:rule-version",
        "value": "acme-health 2026.1",
    }
    assert rule["display"].startswith(
        "Acme Health (acme-health) 2026.1, effective 2026-01-01 to 2026-12-31, checksum sha256:"
    )
    notes = [n["text"] for n in data["processNote"]]
    assert notes[0].startswith("An estimate only")
    assert (
        "deductible: deductible: $50.00 of $500.00 left before this visit: $50.00 "
        "[plans.acme-ppo-gold.in_network.deductible]" in notes
    )


def test_the_benefit_balance_is_as_if_this_session_were_paid(quoter: Quoter) -> None:
    data = as_data(advanced_eob(saved(quoter, acme())))
    (balance,) = data["benefitBalance"]
    assert balance["category"]["coding"][0]["code"] == "BE"
    assert balance["category"]["text"] == "Massage Therapy"
    assert balance["network"]["coding"][0]["code"] == "in"
    assert (balance["unit"]["coding"][0]["code"], balance["term"]["coding"][0]["code"]) == (
        "individual",
        "annual",
    )
    got: dict[str, tuple[object, ...]] = {}
    for f in balance["financial"]:
        kind = f["type"]["coding"][0]["code"]
        remaining = f["extension"][0]
        if "allowedUnsignedInt" in f:
            got[kind] = (
                f["allowedUnsignedInt"],
                f["usedUnsignedInt"],
                remaining["valueUnsignedInt"],
            )
        else:
            got[kind] = tuple(
                Decimal(str(m["value"]))
                for m in (f["allowedMoney"], f["usedMoney"], remaining["valueMoney"])
            )
    assert got == {
        "visit": (20, 4, 16),  # 3 used + this one, of 20
        "deductible": (Decimal("500.00"), Decimal("500.00"), Decimal("0.00")),  # 450 + 50
        # 450 + 64.80 = 514.80 of 3,000.00
        "out-of-pocket-maximum": (Decimal("3000.00"), Decimal("514.80"), Decimal("2485.20")),
    }


def test_an_out_of_network_quote_says_so(quoter: Quoter) -> None:
    data = as_data(advanced_eob(saved(quoter, acme(Network.OUT))))
    assert data["benefitBalance"][0]["network"]["coding"][0]["code"] == "out"
    deductible = next(
        f
        for f in data["benefitBalance"][0]["financial"]
        if f["type"]["coding"][0]["code"] == "deductible"
    )
    assert Decimal(str(deductible["allowedMoney"]["value"])) == Decimal("1000.00")


def test_the_patient_holds_nothing_the_quote_does_not(quoter: Quoter) -> None:
    data = as_data(advanced_eob(saved(quoter, acme())))
    patient = next(r for r in data["contained"] if r["resourceType"] == "Patient")
    absent = {
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                "valueCode": "unsupported",
            }
        ]
    }
    assert patient == {
        "resourceType": "Patient",
        "id": "patient",
        "name": [absent],
        "gender": "unknown",
        "_birthDate": absent,
    }
    assert data["patient"] == {"reference": "#patient"}


def test_self_pay_quote_is_a_gfe_bundle(quoter: Quoter) -> None:
    bundle = quote_resource(saved(quoter, self_pay()))
    assert isinstance(bundle, Bundle)
    data = as_data(bundle)
    assert data["meta"]["profile"] == [GFE_BUNDLE_PROFILE]
    assert (data["type"], data["timestamp"]) == ("collection", "2026-03-01T09:30:00Z")
    kinds = [
        (e["resource"]["resourceType"], e["resource"].get("meta", {}).get("profile", [None])[0])
        for e in data["entry"]
    ]
    assert kinds == [
        ("Claim", GFE_SUMMARY_PROFILE),
        ("Claim", GFE_PROFESSIONAL_PROFILE),
        ("Patient", None),
        ("Organization", "http://hl7.org/fhir/us/davinci-pct/StructureDefinition/davinci-pct-organization"),
        ("Coverage", "http://hl7.org/fhir/us/davinci-pct/StructureDefinition/davinci-pct-coverage"),
    ]  # fmt: skip
    summary, claim = data["entry"][0]["resource"], data["entry"][1]["resource"]
    assert summary["type"]["coding"][0]["code"] == "estimate-summary"
    # the clinic's cash price for therapeutic massage of 60 minutes: 53 minutes round up to 60
    assert summary["total"] == {"value": 110.0, "currency": "USD"}
    assert claim["total"] == {"value": 110.0, "currency": "USD"}
    item = claim["item"][0]
    assert (item["unitPrice"]["value"], item["net"]["value"], item["quantity"]["value"]) == (
        110.0,
        110.0,
        1,
    )
    assert item["productOrService"]["coding"][0]["code"] == "97124"
    assert [d["diagnosisCodeableConcept"]["coding"][0]["code"] for d in claim["diagnosis"]] == [
        "M54.50",
        "M62.830",
    ]
    assert len([e for e in claim["extension"] if e["url"].endswith("gfeDisclaimer")]) == 7
    assert claim["supportingInfo"][0]["valueReference"]["identifier"]["value"] == (
        "clinic cash_prices.therapeutic.60"
    )
    coverage = data["entry"][4]["resource"]
    assert coverage["type"]["coding"][0]["code"] == "81"


def test_every_bundle_reference_resolves_inside_the_bundle(quoter: Quoter) -> None:
    """The GFE Bundle profile's pct-gfe-bundle-2: references point at entries' fullUrls."""
    data = as_data(gfe_bundle(saved(quoter, self_pay())))
    urls = {e["fullUrl"] for e in data["entry"]}

    def references(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["reference"]] if isinstance(node.get("reference"), str) else []
            return found + [r for v in node.values() for r in references(v)]
        if isinstance(node, list):
            return [r for v in node for r in references(v)]
        return []

    found = references(data["entry"])
    assert found and set(found) <= urls


@pytest.mark.parametrize("build", [advanced_eob, gfe_bundle])
def test_resources_round_trip_through_fhir_resources(quoter: Quoter, build: Any) -> None:
    request = acme() if build is advanced_eob else self_pay()
    resource = build(saved(quoter, request))
    text = to_json(resource)
    again = type(resource).model_validate_json(text)
    assert to_json(again) == text
    assert again == resource


def test_structural_validation_can_fail(quoter: Quoter) -> None:
    data = as_data(advanced_eob(saved(quoter, acme())))
    del data["patient"]
    with pytest.raises(ValidationError, match="patient"):
        ExplanationOfBenefit.model_validate(data)


def test_the_wrong_shape_is_refused(quoter: Quoter) -> None:
    with pytest.raises(FhirBuildError, match="self-pay quotes are Good Faith Estimates"):
        advanced_eob(saved(quoter, self_pay()))
    with pytest.raises(FhirBuildError, match="for self-pay quotes"):
        gfe_bundle(saved(quoter, acme()))
