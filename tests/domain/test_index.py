"""RuleIndex.resolve: the version effective on the date of service, as known at `as_of`."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from service.domain.errors import NoRuleVersionError, PlanNotFoundError
from service.domain.index import RuleIndex

from .conftest import PUBLISHED_AT


@pytest.mark.parametrize(
    ("plan_id", "day", "version"),
    [
        ("acme-ppo-gold", date(2026, 1, 1), "2026.1"),
        ("acme-ppo-gold", date(2026, 12, 31), "2026.1"),
        ("acme-ppo-gold", date(2027, 1, 1), "2027.1"),
        ("acme-ppo-gold", date(2031, 6, 1), "2027.1"),  # open-ended
        ("contoso-hmo-silver", date(2026, 7, 1), "2026-07"),
        ("cedar-hdhp-hsa", date(2026, 1, 1), "2026.1"),
        ("summit-ma-plus", date(2029, 1, 1), "2026.1"),
    ],
)
def test_resolves_effective_version(
    index: RuleIndex, plan_id: str, day: date, version: str
) -> None:
    found, plan = index.resolve(plan_id, day)
    assert found.version == version
    assert plan.plan_id == plan_id
    assert found.covers(day)


@pytest.mark.parametrize(
    ("plan_id", "day"),
    [
        ("acme-ppo-gold", date(2025, 12, 31)),
        ("contoso-hmo-silver", date(2026, 6, 30)),
        ("cedar-hdhp-hsa", date(2025, 12, 31)),
        ("summit-ma-plus", date(2025, 1, 1)),
    ],
)
def test_no_version_covers_the_day(index: RuleIndex, plan_id: str, day: date) -> None:
    with pytest.raises(NoRuleVersionError):
        index.resolve(plan_id, day)


def test_unknown_plan(index: RuleIndex) -> None:
    with pytest.raises(PlanNotFoundError):
        index.resolve("no-such-plan", date(2026, 3, 3))


def test_self_pay_is_not_a_rule_plan(index: RuleIndex) -> None:
    assert not index.has_plan("self-pay")
    assert set(index.plan_ids()) == {
        "acme-ppo-gold",
        "contoso-hmo-silver",
        "cedar-hdhp-hsa",
        "summit-ma-plus",
    }


def test_as_of_replays_what_was_known(index: RuleIndex) -> None:
    found, _ = index.resolve("acme-ppo-gold", date(2026, 3, 3), as_of=PUBLISHED_AT)
    assert found.version == "2026.1"
    with pytest.raises(NoRuleVersionError):
        index.resolve(
            "acme-ppo-gold", date(2026, 3, 3), as_of=datetime(2025, 10, 31, 23, 59, tzinfo=UTC)
        )
