"""Half-up rounding, once per line item (cost-rules.md: only coinsurance makes fractions).

20% and 40% of a whole number of cents never end in exactly half a cent (x/5 and 2x/5 leave
fifths), so the exact half comes from Cedar's 10%: 10% of an amount ending in 5 cents.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from service.domain.model import SessionRequest
from service.domain.money import percent_of, round_half_up
from service.domain.quoting import Quoter

from .expect import acc, assert_money

CEDAR = SessionRequest(
    plan_id="cedar-hdhp-hsa",
    session_type="deep_tissue",
    minutes=60,
    date_of_service=date(2026, 4, 10),
    diagnosis_codes=("M54.50",),
)


def test_money_helpers_round_half_up() -> None:
    assert round_half_up(Decimal("418.5")) == 419
    assert round_half_up(Decimal("418.4999")) == 418
    assert round_half_up(Decimal("2.5")) == 3  # not banker's rounding (which gives 2)
    assert percent_of(4185, Decimal("0.10")) == 419
    assert percent_of(25, Decimal("0.10")) == 3  # 2.5 -> 3


def test_exact_half_cent_rounds_up(quoter: Quoter) -> None:
    est = quoter.estimate(replace(CEDAR, accumulators=acc(294999, 294999, 0)))
    # Allowed $91.86. Deductible left $3,000.00 - $2,949.99 = $50.01 -> deductible $50.01.
    # Coinsurance 10% x ($91.86 - $50.01 = $41.85) = $4.185 -> $4.19 (half up; half-even
    # would give $4.18). Cost share $50.01 + $4.19 = $54.20; plan $91.86 - $54.20 = $37.66.
    assert_money(
        est, allowed=9186, deductible=5001, coinsurance=419, plan_pays=3766, patient_pays=5420
    )


def test_exact_half_cent_even_neighbour_rounds_up(quoter: Quoter) -> None:
    est = quoter.estimate(replace(CEDAR, accumulators=acc(299999, 299999, 0)))
    # Deductible left $0.01; 10% x $91.85 = $9.185 -> $9.19 (half-even would keep $9.18).
    # Cost share $0.01 + $9.19 = $9.20; plan $91.86 - $9.20 = $82.66.
    assert_money(est, allowed=9186, deductible=1, coinsurance=919, plan_pays=8266, patient_pays=920)


def test_below_half_rounds_down(quoter: Quoter) -> None:
    est = quoter.estimate(replace(CEDAR, accumulators=acc(294998, 294998, 0)))
    # Deductible left $50.02; 10% x $41.84 = $4.184 -> $4.18; cost share $54.20; plan $37.66.
    assert_money(
        est, allowed=9186, deductible=5002, coinsurance=418, plan_pays=3766, patient_pays=5420
    )


@pytest.mark.parametrize(
    ("minutes", "allowed", "coinsurance"),
    [
        (15, 2976, 298),  # 1 unit $29.76; 10% = $2.976 -> $2.98
        (30, 5046, 505),  # $29.76 + $20.70 = $50.46; $5.046 -> $5.05
        (45, 7116, 712),  # $50.46 + $20.70 = $71.16; $7.116 -> $7.12
        (60, 9186, 919),  # $91.86; $9.186 -> $9.19
        (75, 11256, 1126),  # $112.56; $11.256 -> $11.26
        (90, 13326, 1333),  # $133.26; $13.326 -> $13.33
    ],
)
def test_coinsurance_rounded_once_on_the_whole_amount(
    quoter: Quoter, minutes: int, allowed: int, coinsurance: int
) -> None:
    # Deductible met: 10% of the whole allowed amount, rounded half up once.
    est = quoter.estimate(replace(CEDAR, minutes=minutes, accumulators=acc(300000, 300000, 0)))
    assert_money(
        est,
        allowed=allowed,
        coinsurance=coinsurance,
        plan_pays=allowed - coinsurance,
        patient_pays=coinsurance,
    )


def test_97140_reduced_units_coinsurance(quoter: Quoter) -> None:
    est = quoter.estimate(
        replace(CEDAR, session_type="myofascial", minutes=30, accumulators=acc(300000, 300000, 0))
    )
    # 2 units: $27.17 + $18.90 = $46.07; 10% = $4.607 -> $4.61; plan $41.46.
    assert_money(est, allowed=4607, coinsurance=461, plan_pays=4146, patient_pays=461)
