"""Domain model helpers: benefit periods at the edges of the calendar."""

from __future__ import annotations

from datetime import date

from service.domain.model import BenefitPeriodRule, PeriodKind


def test_plan_year_in_the_last_representable_year_ends_on_the_last_date() -> None:
    # The period starting 9999-07-01 would end the day before 10000-07-01, which date
    # cannot hold: the period runs to the last date there is instead of crashing.
    rule = BenefitPeriodRule(PeriodKind.PLAN_YEAR, 7, 1)
    assert rule.period_containing(date(9999, 8, 1)) == (date(9999, 7, 1), date.max)
    assert rule.period_containing(date(9999, 6, 30)) == (date(9998, 7, 1), date(9999, 6, 30))


def test_plan_year_before_its_first_anniversary_in_year_one() -> None:
    # 0001-03-01 falls before the 0001-07-01 start; the period began in year 0, which date
    # cannot hold either: it runs from the first date there is.
    rule = BenefitPeriodRule(PeriodKind.PLAN_YEAR, 7, 1)
    assert rule.period_containing(date(1, 3, 1)) == (date.min, date(1, 6, 30))
