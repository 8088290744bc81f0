"""Self-pay clients: the clinic's whole-session cash prices (issue 2, cost-rules.md §2)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from service.domain.engine import estimate_session
from service.domain.errors import EstimateUnavailableError
from service.domain.model import Clinic, CoverageBasis, SessionRequest
from service.domain.quoting import Quoter

from .expect import assert_money

BASE = SessionRequest(
    plan_id="self-pay",
    session_type="swedish",
    minutes=60,
    date_of_service=date(2026, 3, 3),
)

# Issue 2: relaxation 55/75/95/115/135/175, therapeutic 65/88/110/133/155/200 dollars at
# 30/45/60/75/90/120 minutes.
CASH = [
    ("swedish", 30, 5500),
    ("hot_stone", 45, 7500),
    ("prenatal", 60, 9500),
    ("swedish", 75, 11500),
    ("hot_stone", 90, 13500),
    ("prenatal", 120, 17500),
    ("medical", 30, 6500),
    ("deep_tissue", 45, 8800),
    ("sports", 60, 11000),
    ("myofascial", 75, 13300),
    ("trigger_point", 90, 15500),
    ("lymphatic_drainage", 120, 20000),
]


@pytest.mark.parametrize(("session_type", "minutes", "price"), CASH)
def test_listed_lengths(quoter: Quoter, session_type: str, minutes: int, price: int) -> None:
    est = quoter.estimate(replace(BASE, session_type=session_type, minutes=minutes))
    assert est.covered is False
    assert est.coverage_basis is CoverageBasis.SELF_PAY
    assert_money(est, allowed=0, not_covered=price, plan_pays=0, patient_pays=price)
    assert est.clinic_charge == price
    assert est.rule_version is None
    assert est.sessions_remaining is None
    assert est.visit_limit is None
    assert est.benefit_period is None
    assert est.prior_authorization_required is False


@pytest.mark.parametrize(
    ("session_type", "minutes", "price"),
    [
        ("swedish", 1, 5500),  # next listed length >= 1 is 30: $55.00
        ("deep_tissue", 31, 8800),  # -> 45: $88.00
        ("deep_tissue", 50, 11000),  # -> 60: $110.00
        ("swedish", 50, 9500),  # -> 60: $95.00
        ("myofascial", 61, 13300),  # -> 75: $133.00
        ("hot_stone", 91, 17500),  # -> 120: $175.00
        ("sports", 119, 20000),  # -> 120: $200.00
    ],
)
def test_unlisted_lengths_priced_at_next_longer(
    quoter: Quoter, session_type: str, minutes: int, price: int
) -> None:
    est = quoter.estimate(replace(BASE, session_type=session_type, minutes=minutes))
    assert_money(est, allowed=0, not_covered=price, plan_pays=0, patient_pays=price)


@pytest.mark.parametrize("minutes", [121, 240])
def test_over_120_minutes_no_cash_price(quoter: Quoter, minutes: int) -> None:
    with pytest.raises(EstimateUnavailableError) as info:
        quoter.estimate(replace(BASE, minutes=minutes))
    assert info.value.reason == "NO_CASH_PRICE"


def test_engine_prices_self_pay_without_plan(clinic: Clinic) -> None:
    est = estimate_session(
        replace(BASE, session_type="deep_tissue", minutes=50), None, None, clinic
    )
    # 50 minutes is priced as 60: therapeutic $110.00.
    assert_money(est, allowed=0, not_covered=11000, plan_pays=0, patient_pays=11000)
