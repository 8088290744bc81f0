"""A saved quote as FHIR R4 (fhir.resources.R4B) in the Da Vinci Patient Cost Transparency
shapes: an Advanced EOB (ExplanationOfBenefit, use predetermination) for an insured client,
a Good Faith Estimate Bundle (a summary Claim and a professional Claim) for a self-pay one.

Profiles are PCT STU 2 (2.0.1) and are declared in meta.profile; what is checked here is the
structure (fhir.resources parses and serialises it), since no profile validator runs
offline. The resources carry only what the quote holds: amounts, codes, the date of service,
the diagnosis codes, the clinic and the rule version. The quote holds no patient name, birth
date or member id, so the patient is a placeholder that says so (data-absent-reason
"unsupported") rather than invented data: contained in the Advanced EOB, a Bundle entry in
the GFE (whose profile requires the entry). Money is exact: cents become Decimal dollars.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.explanationofbenefit import ExplanationOfBenefit

from service.domain.model import (
    Clinic,
    Estimate,
    Network,
    NetworkTerms,
    PlanRules,
    RuleSetVersion,
    SessionRequest,
)
from service.domain.money import Cents, format_usd
from service.gfe.document import DISCLAIMERS, service_description

PCT = "http://hl7.org/fhir/us/davinci-pct"
PCT_VERSION = "2.0.1"
AEOB_PROFILE = f"{PCT}/StructureDefinition/davinci-pct-aeob"
GFE_BUNDLE_PROFILE = f"{PCT}/StructureDefinition/davinci-pct-gfe-bundle"
GFE_SUMMARY_PROFILE = f"{PCT}/StructureDefinition/davinci-pct-gfe-summary"
GFE_PROFESSIONAL_PROFILE = f"{PCT}/StructureDefinition/davinci-pct-gfe-professional"
ORGANIZATION_PROFILE = f"{PCT}/StructureDefinition/davinci-pct-organization"
COVERAGE_PROFILE = f"{PCT}/StructureDefinition/davinci-pct-coverage"

EXT_GFE_REFERENCE = f"{PCT}/StructureDefinition/gfeReference"
EXT_SERVICE_DESCRIPTION = f"{PCT}/StructureDefinition/serviceDescription"
EXT_REMAINING = f"{PCT}/StructureDefinition/remaining-benefit"
EXT_PROCESS_NOTE_CLASS = f"{PCT}/StructureDefinition/processNoteClass"
EXT_GFE_DISCLAIMER = f"{PCT}/StructureDefinition/gfeDisclaimer"
EXT_PROVIDER_TAXONOMY = f"{PCT}/StructureDefinition/providerTaxonomy"
EXT_SELF_PAY = f"{PCT}/StructureDefinition/selfPayDeclared"
EXT_COVERAGE_KIND = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Coverage.kind"
EXT_ABSENT = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"

CS_ADJ_CATEGORY = f"{PCT}/CodeSystem/PCTAdjudicationCategoryCS"
CS_PCT_ADJUDICATION = f"{PCT}/CodeSystem/PCTAdjudication"
CS_FINANCIAL = f"{PCT}/CodeSystem/PCTFinancialType"
CS_ESTIMATE_TYPE = f"{PCT}/CodeSystem/PCTEstimateTypeSummaryCSTemporaryTrialUse"
CS_PROCESS_NOTE = f"{PCT}/CodeSystem/PCTAEOBProcessNoteCS"
CS_ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
CS_CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
CS_PRIORITY = "http://terminology.hl7.org/CodeSystem/processpriority"
CS_ORG_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
CS_V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
CS_COVERAGE_CLASS = "http://terminology.hl7.org/CodeSystem/coverage-class"
CS_BENEFIT_UNIT = "http://terminology.hl7.org/CodeSystem/benefit-unit"
CS_BENEFIT_TERM = "http://terminology.hl7.org/CodeSystem/benefit-term"
CS_BENEFIT_NETWORK = "http://terminology.hl7.org/CodeSystem/benefit-network"
CS_DIAGNOSIS_TYPE = "http://terminology.hl7.org/CodeSystem/ex-diagnosistype"
CS_SERVICE_TYPE = "https://x12.org/codes/service-type-codes"
CS_CPT = "http://www.ama-assn.org/go/cpt"
CS_ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
CS_POS = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
CS_NUCC = "http://nucc.org/provider-taxonomy"
CS_SOPT = "urn:oid:2.16.840.1.113883.3.221.5"  # Source of Payment Typology
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
TIN_SYSTEM = "urn:oid:2.16.840.1.113883.4.4"
UUID_SYSTEM = "urn:ietf:rfc:3986"
# Where rule-set versions and clinic price rows are named: "acme-health 2026.1" and the like.
RULE_VERSION_SYSTEM = "urn:massage-estimator:rule-version"

CPT_WORDS = {"97124": "Massage therapy", "97140": "Manual therapy techniques"}


class FhirBuildError(ValueError):
    """The quote cannot be expressed in the shape asked for (e.g. an EOB for self-pay)."""


@dataclass(frozen=True)
class SavedQuote:
    """A saved quote: its id, when it was saved, the request and the estimate it gave, and
    the clinic that would give the service."""

    quote_id: str  # a UUID
    created_at: datetime
    request: SessionRequest
    estimate: Estimate
    clinic: Clinic


def quote_resource(quote: SavedQuote) -> ExplanationOfBenefit | Bundle:
    """The Advanced EOB for an insured quote, the GFE Bundle for a self-pay one."""
    if quote.request.is_self_pay:
        return gfe_bundle(quote)
    return advanced_eob(quote)


def to_json(resource: ExplanationOfBenefit | Bundle) -> str:
    return str(resource.model_dump_json(indent=2))


# ---------------------------------------------------------------------------- pieces


def _money(cents: Cents) -> dict[str, Any]:
    return {"value": Decimal(cents).scaleb(-2), "currency": "USD"}


def _coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def _concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    return {"coding": [_coding(system, code, display)]}


def _absent(code: str = "unsupported") -> dict[str, Any]:
    return {"extension": [{"url": EXT_ABSENT, "valueCode": code}]}


def _uuid_identifier(quote_id: str) -> dict[str, Any]:
    return {"system": UUID_SYSTEM, "value": f"urn:uuid:{quote_id}"}


def _instant(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.isoformat()


def _patient(resource_id: str) -> dict[str, Any]:
    """The quote holds no name, birth date or member id: the Patient says so."""
    return {
        "resourceType": "Patient",
        "id": resource_id,
        "name": [_absent()],
        "gender": "unknown",
        "birthDate__ext": _absent(),
    }


def _clinic_org(clinic: Clinic, resource_id: str) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "id": resource_id,
        "meta": {"profile": [ORGANIZATION_PROFILE]},
        "identifier": [
            {"system": NPI_SYSTEM, "value": clinic.npi},
            {"type": _concept(CS_V2_0203, "TAX"), "system": TIN_SYSTEM, "value": clinic.tin},
        ],
        "active": True,
        "type": [_concept(CS_ORG_TYPE, "prov", "Healthcare Provider")],
        "name": clinic.name,
        "address": [{"line": list(clinic.address_lines), "country": "US"}],
    }


def _rule_reference(estimate: Estimate) -> dict[str, Any]:
    """The rule version that priced the quote (or the clinic price row, for self-pay)."""
    version = estimate.rule_version
    if version is None:
        refs = sorted({li.rule_ref for li in estimate.line_items if li.rule_ref})
        return {
            "identifier": {"system": RULE_VERSION_SYSTEM, "value": "; ".join(refs) or "clinic"},
            "display": "the clinic's own prices (" + ("; ".join(refs) or "clinic profile") + ")",
        }
    return {
        "identifier": {"system": RULE_VERSION_SYSTEM, "value": version.label()},
        "display": _version_words(version),
    }


def _version_words(version: RuleSetVersion) -> str:
    ends = version.effective_to.isoformat() if version.effective_to else "open-ended"
    return (
        f"{version.payer_name} ({version.payer_id}) {version.version}, effective "
        f"{version.effective_from.isoformat()} to {ends}, checksum {version.checksum}"
    )


def _rule_info(estimate: Estimate) -> dict[str, Any]:
    return {
        "sequence": 1,
        "category": {"text": "rule version that priced this estimate"},
        "valueReference": _rule_reference(estimate),
    }


def _service_words(quote: SavedQuote) -> str:
    request, clinic = quote.request, quote.clinic
    group = clinic.session_types[request.session_type].group
    return service_description(request.session_type, group, request.minutes, 1, None)


def _cpt(code: str) -> dict[str, Any]:
    return _concept(CS_CPT, code, CPT_WORDS.get(code, f"CPT {code}"))


def _plan(quote: SavedQuote) -> tuple[RuleSetVersion, PlanRules, NetworkTerms]:
    version = quote.estimate.rule_version
    plan = version.plan(quote.estimate.plan_id) if version else None
    terms = plan.terms_for(quote.request.network) if plan else None
    if version is None or plan is None or terms is None:
        raise FhirBuildError(
            "an Advanced EOB needs the rule version, plan and network terms that priced the "
            "quote; this quote has none (self-pay quotes are Good Faith Estimates)"
        )
    return version, plan, terms


# ---------------------------------------------------------------------------- AEOB


def advanced_eob(quote: SavedQuote) -> ExplanationOfBenefit:
    """A PCT Advanced EOB for an insured quote (use predetermination)."""
    version, plan, terms = _plan(quote)
    estimate, request = quote.estimate, quote.request
    period = estimate.benefit_period or plan.benefit_period.period_containing(
        request.date_of_service
    )
    data: dict[str, Any] = {
        "resourceType": "ExplanationOfBenefit",
        "id": quote.quote_id,
        "meta": {"profile": [AEOB_PROFILE]},
        "contained": [
            _patient("patient"),
            _payer_org(version),
            _clinic_org(quote.clinic, "provider"),
            _coverage(plan, version, period),
        ],
        "extension": [
            {
                "url": EXT_GFE_REFERENCE,
                "valueReference": {
                    "identifier": _uuid_identifier(quote.quote_id),
                    "display": "the clinic's saved quote this estimate answers",
                },
            },
            {"url": EXT_SERVICE_DESCRIPTION, "valueString": _service_words(quote)},
        ],
        "identifier": [{"type": _concept(CS_V2_0203, "UCID"), **_uuid_identifier(quote.quote_id)}],
        "status": "active",
        "type": _concept(CS_CLAIM_TYPE, "professional"),
        "use": "predetermination",
        "patient": {"reference": "#patient"},
        "billablePeriod": {"start": request.date_of_service.isoformat()},
        "created": _instant(quote.created_at),
        "insurer": {"reference": "#payer"},
        "provider": {"reference": "#provider"},
        "outcome": "complete",
        "claim": {"identifier": _uuid_identifier(quote.quote_id)},
        "supportingInfo": [_rule_info(estimate)],
        "insurance": [{"focal": True, "coverage": {"reference": "#coverage"}}],
        "item": [_eob_item(quote)],
        "total": _eob_totals(estimate),
        "processNote": _process_notes(estimate),
        "benefitPeriod": {"start": period[0].isoformat(), "end": period[1].isoformat()},
        "benefitBalance": [_benefit_balance(estimate, terms, request.network)],
    }
    if request.diagnosis_codes:
        data["diagnosis"] = _diagnoses(request.diagnosis_codes)
    return ExplanationOfBenefit.model_validate(data)


def _payer_org(version: RuleSetVersion) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "id": "payer",
        "meta": {"profile": [ORGANIZATION_PROFILE]},
        "active": True,
        "type": [_concept(CS_ORG_TYPE, "pay", "Payer")],
        "name": version.payer_name,
    }


def _coverage(
    plan: PlanRules, version: RuleSetVersion, period: tuple[date, date]
) -> dict[str, Any]:
    return {
        "resourceType": "Coverage",
        "id": "coverage",
        "meta": {"profile": [COVERAGE_PROFILE]},
        "extension": [{"url": EXT_COVERAGE_KIND, "valueCode": "insurance"}],
        "status": "active",
        "subscriberId__ext": _absent(),
        "beneficiary": {"reference": "#patient"},
        "period": {"start": period[0].isoformat(), "end": period[1].isoformat()},
        "payor": [{"reference": "#payer"}],
        "class": [
            {
                "type": _concept(CS_COVERAGE_CLASS, "plan"),
                "value": plan.plan_id,
                "name": f"{plan.plan_name} ({version.payer_name} {version.version})",
            }
        ],
    }


def _adjudication(system: str, code: str, cents: Cents) -> dict[str, Any]:
    return {"category": _concept(system, code), "amount": _money(cents)}


def _eob_item(quote: SavedQuote) -> dict[str, Any]:
    estimate = quote.estimate
    cost = estimate.patient_cost
    adjudication = [
        _adjudication(CS_ADJUDICATION, "submitted", estimate.clinic_charge),
        _adjudication(CS_ADJUDICATION, "eligible", estimate.allowed_amount),
        _adjudication(CS_ADJUDICATION, "deductible", cost.deductible),
        _adjudication(CS_ADJUDICATION, "copay", cost.copay),
        _adjudication(CS_PCT_ADJUDICATION, "coinsurance", cost.coinsurance),
        _adjudication(CS_PCT_ADJUDICATION, "noncovered", cost.not_covered),
        _adjudication(CS_ADJ_CATEGORY, "memberliability", estimate.patient_pays),
        _adjudication(CS_ADJUDICATION, "benefit", estimate.plan_pays),
    ]
    return {
        "extension": [{"url": EXT_SERVICE_DESCRIPTION, "valueString": _service_words(quote)}],
        "sequence": 1,
        "productOrService": _cpt(estimate.cpt_code),
        "servicedDate": estimate.date_of_service.isoformat(),
        "quantity": {"value": estimate.billed_units, "unit": "15-minute units"},
        "net": _money(estimate.clinic_charge),
        "adjudication": adjudication,
    }


def _eob_totals(estimate: Estimate) -> list[dict[str, Any]]:
    totals = [
        _adjudication(CS_ADJUDICATION, "submitted", estimate.clinic_charge),
        _adjudication(CS_ADJ_CATEGORY, "memberliability", estimate.patient_pays),
        _adjudication(CS_ADJUDICATION, "eligible", estimate.allowed_amount),
        _adjudication(CS_ADJUDICATION, "benefit", estimate.plan_pays),
    ]
    if estimate.patient_cost.not_covered:
        totals.append(
            _adjudication(CS_PCT_ADJUDICATION, "noncovered", estimate.patient_cost.not_covered)
        )
    return totals


def _note(number: int, text: str, kind: str) -> dict[str, Any]:
    return {
        "extension": [
            {"url": EXT_PROCESS_NOTE_CLASS, "valueCodeableConcept": _concept(CS_PROCESS_NOTE, kind)}
        ],
        "number": number,
        "type": "display",
        "text": text,
    }


def _process_notes(estimate: Estimate) -> list[dict[str, Any]]:
    """The disclaimer first, then every line item and reason of the estimate, in words."""
    texts: list[tuple[str, str]] = [
        (
            "An estimate only, from the clinic's copy of the plan's rules (the rule version "
            "below), not a payer's determination or a guarantee of payment.",
            "disclaimer",
        )
    ]
    if estimate.rule_version is not None:
        texts.append((f"Rule version: {_version_words(estimate.rule_version)}.", "other"))
    for li in estimate.line_items:
        ref = f" [{li.rule_ref}]" if li.rule_ref else ""
        texts.append((f"{li.kind.value}: {li.description}: {format_usd(li.amount)}{ref}", "other"))
    for reason in estimate.reasons:
        texts.append((f"{reason.code}: {reason.message}", "adjudication-note"))
    for need in estimate.missing:
        texts.append((f"Missing {need.code}: {need.message}", "conditional"))
    return [_note(i, text, kind) for i, (text, kind) in enumerate(texts, start=1)]


def _financial(kind: str, allowed: Any, used: Any, remaining: Any) -> dict[str, Any]:
    suffix = "Money" if isinstance(allowed, dict) else "UnsignedInt"
    return {
        "extension": [{"url": EXT_REMAINING, f"value{suffix}": remaining}],
        "type": _concept(CS_FINANCIAL, kind),
        f"allowed{suffix}": allowed,
        f"used{suffix}": used,
    }


def _benefit_balance(estimate: Estimate, terms: NetworkTerms, network: Network) -> dict[str, Any]:
    """Visits and money allowed, used and left after this session (as if it were paid)."""
    after = estimate.accumulators_after
    financial = []
    if estimate.visit_limit is not None:
        left = estimate.sessions_remaining
        financial.append(
            _financial(
                "visit",
                estimate.visit_limit,
                after.visits_used,
                left if left is not None else max(estimate.visit_limit - after.visits_used, 0),
            )
        )
    deductible = terms.deductible if terms.deductible_applies else 0
    financial.append(
        _financial(
            "deductible",
            _money(deductible),
            _money(after.deductible_met),
            _money(max(deductible - after.deductible_met, 0)),
        )
    )
    if terms.out_of_pocket_max is not None:
        top = terms.out_of_pocket_max
        financial.append(
            _financial(
                "out-of-pocket-maximum",
                _money(top),
                _money(after.out_of_pocket_met),
                _money(max(top - after.out_of_pocket_met, 0)),
            )
        )
    return {
        "category": {
            **_concept(CS_SERVICE_TYPE, "BE", "Massage Therapy"),
            "text": "Massage Therapy",
        },
        "network": _concept(CS_BENEFIT_NETWORK, network.value),
        "unit": _concept(CS_BENEFIT_UNIT, "individual"),
        "term": _concept(CS_BENEFIT_TERM, "annual"),
        "financial": financial,
    }


# ---------------------------------------------------------------------------- GFE


def gfe_bundle(quote: SavedQuote) -> Bundle:
    """A PCT GFE Bundle for a self-pay quote: the summary Claim first (the profile asks for
    it), then the professional Claim, the patient, the clinic and the self-pay coverage."""
    if not quote.request.is_self_pay:
        raise FhirBuildError("a Good Faith Estimate Bundle is for self-pay quotes")
    try:
        base = uuid.UUID(quote.quote_id)
    except ValueError:
        raise FhirBuildError("a saved quote's id is a UUID") from None
    ids = {name: f"urn:uuid:{uuid.uuid5(base, name)}" for name in _GFE_PARTS}
    resources = {
        "summary": _gfe_summary(quote, ids),
        "claim": _gfe_claim(quote, ids),
        "patient": _patient("patient"),
        "provider": _clinic_org(quote.clinic, "provider"),
        "coverage": _self_pay_coverage(ids),
    }
    data = {
        "resourceType": "Bundle",
        "id": quote.quote_id,
        "meta": {"profile": [GFE_BUNDLE_PROFILE]},
        "identifier": _uuid_identifier(quote.quote_id),
        "type": "collection",
        "timestamp": _instant(quote.created_at),
        "entry": [{"fullUrl": ids[name], "resource": resources[name]} for name in _GFE_PARTS],
    }
    return Bundle.model_validate(data)


_GFE_PARTS = ("summary", "claim", "patient", "provider", "coverage")


def _gfe_common(quote: SavedQuote, ids: dict[str, str]) -> dict[str, Any]:
    return {
        "status": "active",
        "use": "predetermination",
        "patient": {"reference": ids["patient"]},
        "billablePeriod": {"start": quote.request.date_of_service.isoformat()},
        "created": _instant(quote.created_at),
        "priority": _concept(CS_PRIORITY, "normal"),
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": ids["coverage"]}}],
        "diagnosis": _diagnoses(quote.request.diagnosis_codes),
        "total": _money(quote.estimate.patient_pays),
    }


def _gfe_summary(quote: SavedQuote, ids: dict[str, str]) -> dict[str, Any]:
    data = {
        "resourceType": "Claim",
        "id": "summary",
        "meta": {"profile": [GFE_SUMMARY_PROFILE]},
        "extension": [{"url": EXT_SERVICE_DESCRIPTION, "valueString": _service_words(quote)}],
        "type": _concept(CS_ESTIMATE_TYPE, "estimate-summary", "Estimate Summary"),
        "provider": _absent("not-applicable"),
        **_gfe_common(quote, ids),
    }
    if not data["diagnosis"]:
        del data["diagnosis"]
    return data


def _gfe_claim(quote: SavedQuote, ids: dict[str, str]) -> dict[str, Any]:
    estimate = quote.estimate
    data = {
        "resourceType": "Claim",
        "id": "claim",
        "meta": {"profile": [GFE_PROFESSIONAL_PROFILE]},
        "extension": [{"url": EXT_GFE_DISCLAIMER, "valueString": text} for text in DISCLAIMERS],
        "identifier": [{"type": _concept(CS_V2_0203, "PLAC"), **_uuid_identifier(quote.quote_id)}],
        "type": _concept(CS_CLAIM_TYPE, "professional"),
        "provider": {
            "reference": ids["provider"],
            "extension": [
                {
                    "url": EXT_PROVIDER_TAXONOMY,
                    "valueCodeableConcept": _concept(CS_NUCC, "225700000X", "Massage Therapist"),
                }
            ],
        },
        "supportingInfo": [_rule_info(estimate)],
        "item": [_gfe_item(quote)],
        **_gfe_common(quote, ids),
    }
    if not data["diagnosis"]:
        del data["diagnosis"]
    return data


def _gfe_item(quote: SavedQuote) -> dict[str, Any]:
    """One line: the session at the clinic's cash price (a whole-session price, so one
    session rather than units; the units are in the description)."""
    estimate = quote.estimate
    words = f"{_service_words(quote)}; {estimate.billed_units} units of {estimate.cpt_code}"
    item = {
        "extension": [{"url": EXT_SERVICE_DESCRIPTION, "valueString": words}],
        "sequence": 1,
        "productOrService": _cpt(estimate.cpt_code),
        "servicedDate": estimate.date_of_service.isoformat(),
        "locationCodeableConcept": _concept(CS_POS, "11", "Office"),
        "quantity": {"value": 1, "unit": "session"},
        "unitPrice": _money(estimate.patient_pays),
        "net": _money(estimate.patient_pays),
    }
    if quote.request.diagnosis_codes:
        item["diagnosisSequence"] = list(range(1, len(quote.request.diagnosis_codes) + 1))
    return item


def _diagnoses(codes: tuple[str, ...]) -> list[dict[str, Any]]:
    out = []
    for i, code in enumerate(codes, start=1):
        entry: dict[str, Any] = {
            "sequence": i,
            "diagnosisCodeableConcept": _concept(CS_ICD10CM, code),
        }
        if i == 1:
            entry["type"] = [_concept(CS_DIAGNOSIS_TYPE, "principal")]
        out.append(entry)
    return out


def _self_pay_coverage(ids: dict[str, str]) -> dict[str, Any]:
    return {
        "resourceType": "Coverage",
        "id": "coverage",
        "meta": {"profile": [COVERAGE_PROFILE]},
        "extension": [
            {"url": EXT_COVERAGE_KIND, "valueCode": "self-pay"},
            {"url": EXT_SELF_PAY, "valueBoolean": True},
        ],
        "status": "active",
        "type": _concept(CS_SOPT, "81", "Self-pay"),
        "subscriberId__ext": _absent("not-applicable"),
        "beneficiary": {"reference": ids["patient"]},
        "payor": [{"reference": ids["patient"]}],
    }
