"""The saved-quote use cases over the in-memory store: which moment's rules price a saved
quote, what is kept with it, and its replay."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from service.domain.errors import InvalidRequestError
from service.domain.model import Estimate, ReferralKind, SessionRequest
from service.usecases import NotFoundError, QuoteService, known_at
from service.usecases.quotes import quote_id_from_text
from tests.api.rules_helpers import mid_year_2026

from .conftest import Layer

SAVED_AT = datetime(2026, 6, 1, tzinfo=UTC)
AUGUST = SessionRequest(
    plan_id="acme-ppo-gold",
    session_type="deep_tissue",
    minutes=53,
    date_of_service=date(2026, 8, 3),
    referral_kind=ReferralKind.PRESCRIPTION,
    referral_date=date(2026, 7, 15),
    diagnosis_codes=("M54.50",),
)


def record(estimate: Estimate) -> Mapping[str, Any]:
    return {"patient_pays": estimate.patient_pays, "version": estimate.rule_version is not None}


def service(layer: Layer, caught_up: list[int]) -> QuoteService:
    return QuoteService(
        layer.quoter,
        layer.store,
        record,
        clock=lambda: SAVED_AT,
        catch_up=lambda: caught_up.append(1),
    )


def test_a_saved_quote_keeps_the_version_that_answered(layer: Layer) -> None:
    caught_up: list[int] = []
    estimate, saved = service(layer, caught_up).save(AUGUST, None, {"sent": True})
    assert caught_up == [1]  # the index caught up before the answer
    assert saved.created_at == SAVED_AT and saved.quote.request == {"sent": True}
    assert saved.quote.response == record(estimate)
    assert (saved.quote.payer_id, saved.quote.version) == ("acme-health", "2026.1")
    self_pay = replace(AUGUST, plan_id="self-pay", referral_kind=ReferralKind.NONE)
    _, cash = service(layer, caught_up).save(self_pay, None, {})
    assert cash.quote.payer_id is None and cash.quote.version is None


def test_the_replay_ignores_versions_published_after_the_save(layer: Layer) -> None:
    quotes = service(layer, [])
    estimate, saved = quotes.save(AUGUST, None, {})
    layer.rule_sets.publish(mid_year_2026("34.00"), "mid.yaml", "ana", "")
    assert layer.quoter.estimate(AUGUST).patient_pays != estimate.patient_pays
    again, _ = quotes.replay(AUGUST, known_at(None, quotes.get(saved.id).created_at))
    assert again == estimate


def test_a_future_rules_as_of_means_the_rules_known_when_saved() -> None:
    later = SAVED_AT + timedelta(days=30)
    earlier = SAVED_AT - timedelta(days=30)
    assert known_at(later, SAVED_AT) == SAVED_AT
    assert known_at(earlier, SAVED_AT) == earlier
    assert known_at(None, SAVED_AT) == SAVED_AT


def test_an_invalid_request_is_refused_before_anything_is_saved(layer: Layer) -> None:
    with pytest.raises(InvalidRequestError):
        service(layer, []).save(replace(AUGUST, minutes=0), None, {})
    assert layer.store.quotes == {}


def test_unknown_and_malformed_quote_ids(layer: Layer) -> None:
    with pytest.raises(NotFoundError) as caught:
        service(layer, []).get("00000000-0000-0000-0000-000000000000")
    assert caught.value.reason == "QUOTE_NOT_FOUND"
    with pytest.raises(InvalidRequestError) as bad:
        quote_id_from_text("nope")
    assert bad.value.violations[0].field == "quote_id"
    assert quote_id_from_text(" 3F0C2D9E-6B1A-4C55-9D1E-2A7B8C9D0E1F ") == (
        "3f0c2d9e-6b1a-4c55-9d1e-2a7b8c9d0e1f"
    )
