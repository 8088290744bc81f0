"""The same session at two locations: their own prices and their own network participation
(docs/cost-rules.md, "Which network"); requests that name no location answer as before."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest

from service.domain.errors import InvalidRequestError
from service.domain.model import (
    Accumulators,
    Network,
    NetworkSource,
    ReferralKind,
    SessionRequest,
)
from service.domain.quoting import Quoter

DOS = date(2026, 3, 3)


def acme(**kw: object) -> SessionRequest:
    base = SessionRequest(
        plan_id="acme-ppo-gold",
        session_type="deep_tissue",
        minutes=60,
        date_of_service=DOS,
        referral_kind=ReferralKind.PRESCRIPTION,
        referral_date=DOS - timedelta(days=10),
        diagnosis_codes=("M54.50",),
        network_given=False,
    )
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def test_harbor_is_in_network_with_acme_and_eastside_is_not_yet(quoter: Quoter) -> None:
    harbor = quoter.estimate(acme(location_id="harbor"))
    # In network: 4 units x $31.00 = $124.00 allowed, all of it toward the $500 deductible.
    assert harbor.network_source is NetworkSource.LOCATION
    assert (harbor.allowed_amount, harbor.patient_pays, harbor.plan_pays) == (12400, 12400, 0)
    assert harbor.patient_cost.balance_billing == 0
    assert harbor.clinic_charge == 16000  # 4 x $40.00
    eastside = quoter.estimate(acme(location_id="harbor-eastside"))
    # Out of network until 2026-07-01: 4 x $25.00 = $100.00 allowed, all deductible, plus
    # balance billing 4 x $42.00 (Eastside's charge) - $100.00 = $68.00: $168.00 in all.
    assert eastside.network_source is NetworkSource.LOCATION
    assert (eastside.allowed_amount, eastside.patient_cost.deductible) == (10000, 10000)
    assert eastside.patient_cost.balance_billing == 6800
    assert eastside.patient_pays == 16800
    assert eastside.clinic_charge == 16800
    assert eastside.location_id == "harbor-eastside"
    assert eastside.clinic_version is not None
    assert (eastside.clinic_version.clinic_id, eastside.clinic_version.version) == ("harbor", "1")
    refs = [item.rule_ref for item in eastside.line_items if "balance" in item.description]
    assert refs and refs[0].endswith("clinic harbor-eastside 1 charge_per_unit.97124")


def test_eastside_joins_acme_on_july_first(quoter: Quoter) -> None:
    day = date(2026, 7, 1)
    est = quoter.estimate(
        acme(location_id="harbor-eastside", date_of_service=day, referral_date=day)
    )
    # In network from that day: 4 x $31.00 = $124.00 allowed, no balance billing.
    assert (est.allowed_amount, est.patient_pays, est.patient_cost.balance_billing) == (
        12400,
        12400,
        0,
    )


def test_an_explicit_network_wins_over_the_location(quoter: Quoter) -> None:
    est = quoter.estimate(
        acme(location_id="harbor-eastside", network=Network.IN, network_given=True)
    )
    assert est.network_source is NetworkSource.REQUEST
    assert (est.allowed_amount, est.patient_cost.balance_billing) == (12400, 0)


def test_cash_prices_differ_by_location(quoter: Quoter) -> None:
    relax = acme(session_type="swedish", network_given=True)  # not covered by Acme
    assert quoter.estimate(dataclasses.replace(relax, location_id="harbor")).patient_pays == 9500
    eastside = quoter.estimate(dataclasses.replace(relax, location_id="harbor-eastside"))
    assert eastside.patient_pays == 9900  # Eastside's 60-minute relaxation price, $99.00
    self_pay = quoter.estimate(
        SessionRequest("self-pay", "deep_tissue", 50, DOS, location_id="harbor-eastside")
    )
    # A 50-minute session is priced as 60: $115.00 at Eastside ($110.00 at Harbor).
    assert (self_pay.patient_pays, self_pay.network_source) == (11500, None)


def test_no_location_answers_as_before(quoter: Quoter) -> None:
    est = quoter.estimate(acme(network_given=False))
    # In network (as before locations), at the default location's prices, nothing new said.
    assert (est.allowed_amount, est.patient_pays) == (12400, 12400)
    assert (est.location_id, est.network_source, est.clinic_version) == ("", None, None)
    assert all("clinic harbor" not in item.rule_ref for item in est.line_items)


def test_an_unknown_location_is_refused_with_a_hint(quoter: Quoter) -> None:
    with pytest.raises(InvalidRequestError) as err:
        quoter.estimate(acme(location_id="harbor-eastsde"))
    assert err.value.violations[0].field == "location_id"
    assert "did you mean 'harbor-eastside'" in err.value.violations[0].description


def test_a_treatment_plan_crosses_the_start_of_participation(quoter: Quoter) -> None:
    template = acme(
        location_id="harbor-eastside",
        referral_date=date(2026, 6, 20),
        accumulators=Accumulators(deductible_met=0, out_of_pocket_met=0, visits_used=2),
    )
    plan = quoter.treatment_plan(template, [date(2026, 6, 24), date(2026, 7, 1)])
    june, july = plan.sessions
    # June 24, out of network: $100.00 allowed toward the $1,000 out-of-network deductible
    # plus $68.00 balance billing = $168.00.
    assert (june.allowed_amount, june.patient_pays) == (10000, 16800)
    # July 1, in network: the in-network deductible starts from $0 met ($100.00 went to the
    # out-of-network one): $124.00 allowed, all deductible.
    assert (july.allowed_amount, july.patient_pays, july.patient_cost.balance_billing) == (
        12400,
        12400,
        0,
    )
    assert july.accumulators_after.deductible_met == 12400
    assert july.accumulators_after.visits_used == 4  # 2 before + June + July, either network
    assert plan.total_patient_pays == 16800 + 12400


def lakeside(**kw: object) -> SessionRequest:
    return acme(plan_id="lakeside-choice-ppo", network_given=True, **kw)


def test_the_therapist_named_decides_who_renders(quoter: Quoter) -> None:
    # Lakeside pays massage by an LMT only. Ana is an LMT at Harbor: covered, 4 x $32.00 =
    # $128.00 allowed, a $20.00 copay; the plan pays $90.00 (its per-visit limit) and the
    # $18.00 above it is the member's: $38.00.
    ana = quoter.estimate(lakeside(location_id="harbor", therapist_id="ana-lmt"))
    assert (ana.covered, ana.allowed_amount, ana.plan_pays, ana.patient_pays) == (
        True,
        12800,
        9000,
        3800,
    )
    # Ben is a physical therapist: not covered, the 60-minute cash price $110.00.
    ben = quoter.estimate(lakeside(location_id="harbor", therapist_id="ben-pt"))
    assert (ben.covered, ben.patient_pays) == (False, 11000)
    assert "PROVIDER_NOT_ELIGIBLE" in [r.code for r in ben.reasons]
    # Without a location the default location's therapists are known too.
    assert quoter.estimate(lakeside(therapist_id="ben-pt")).patient_pays == 11000


def test_a_therapist_of_another_location_or_another_credential_is_refused(
    quoter: Quoter,
) -> None:
    from service.domain.model import ProviderCredential

    with pytest.raises(InvalidRequestError) as err:
        quoter.estimate(lakeside(location_id="harbor-eastside", therapist_id="ana-lmt"))
    (violation,) = err.value.violations
    assert violation.field == "therapist_id"
    assert "location harbor-eastside has no therapist 'ana-lmt'" in violation.description
    assert "therapists: cara-lmt" in violation.description
    with pytest.raises(InvalidRequestError) as err:
        quoter.estimate(lakeside(therapist_id="ana-lmt", provider=ProviderCredential.PT))
    assert err.value.violations[0].field == "provider_credential"


@pytest.mark.parametrize("location", ["harbor", "harbor-eastside"])
@pytest.mark.parametrize("plan_id", ["acme-ppo-gold", "birch-hdhp-copay", "self-pay"])
def test_the_fast_answer_names_the_location_as_the_reference_does(
    quoter: Quoter, location: str, plan_id: str
) -> None:
    from service.api import convert, fastconvert

    for day in (date(2026, 3, 3), date(2026, 8, 3)):
        request = SessionRequest(
            plan_id=plan_id,
            session_type="deep_tissue",
            minutes=60,
            date_of_service=day,
            diagnosis_codes=("M54.50",),
            network_given=False,
            location_id=location,
        )
        estimate = quoter.estimate(request)
        assert estimate.location_id == location
        fast = fastconvert.estimate_to_proto(estimate).SerializeToString(deterministic=True)
        reference = convert.estimate_to_proto(estimate).SerializeToString(deterministic=True)
        assert fast == reference


def test_a_271_is_read_for_the_network_the_location_decides(quoter: Quoter) -> None:
    from service.usecases.eligibility import reconcile
    from tests.interop.conftest import FIXTURES

    request = SessionRequest(
        plan_id="acme-ppo-gold",
        session_type="deep_tissue",
        minutes=60,
        date_of_service=date(2026, 3, 3),
        diagnosis_codes=("M54.50",),
        network_given=False,
        location_id="harbor-eastside",  # out of network with Acme until 2026-07-01
    )
    text = (FIXTURES / "acme-ppo-gold-active.271").read_text()
    done = reconcile(text, request, quoter.rules_for, decide_network=quoter.network_decided)
    applied = {a.field: a.amount for a in done.applied}
    # out of network: $1,000 - $1,000 remaining = $0 met; in network (the other network
    # here): $500 - $50 remaining = $450
    assert applied["deductible_met"] == "$0.00"
    assert applied["other_network.deductible_met"] == "$450.00"
    assert done.request.network_given is False  # the estimate still says the location decided
    estimate = quoter.estimate(done.request)
    assert estimate.network_source is not None and estimate.network_source.name == "LOCATION"
