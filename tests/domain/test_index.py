"""RuleIndex.resolve: the version effective on the date of service, as known at `as_of`."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from service.domain.errors import NoRuleVersionError, PlanNotFoundError
from service.domain.index import RuleIndex
from service.domain.model import RuleSetVersion

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
    assert "self-pay" not in index.plan_ids()
    assert set(index.plan_ids()) == {
        "acme-ppo-gold",
        "contoso-hmo-silver",
        "cedar-hdhp-hsa",
        "summit-ma-plus",
        "rainier-ump-classic",
        "lakeside-choice-ppo",
        "birch-hdhp-copay",
        "pacific-ma-chronic-pain",
    }


def test_as_of_replays_what_was_known(index: RuleIndex) -> None:
    found, _ = index.resolve("acme-ppo-gold", date(2026, 3, 3), as_of=PUBLISHED_AT)
    assert found.version == "2026.1"
    with pytest.raises(NoRuleVersionError):
        index.resolve(
            "acme-ppo-gold", date(2026, 3, 3), as_of=datetime(2025, 10, 31, 23, 59, tzinfo=UTC)
        )


def test_as_of_picks_only_versions_published_by_then(versions: list[RuleSetVersion]) -> None:
    # Publish the 2027 Acme version later (2026-06-01) than everything else (2025-11-01):
    # a replay as of 2026-03-01 did not know 2027 rates yet, so 2027 dates had no version.
    later = datetime(2026, 6, 1, tzinfo=UTC)
    shifted = [replace(v, published_at=later) if v.version == "2027.1" else v for v in versions]
    index = RuleIndex.build(shifted)
    with pytest.raises(NoRuleVersionError):
        index.resolve("acme-ppo-gold", date(2027, 2, 1), as_of=datetime(2026, 3, 1, tzinfo=UTC))
    found, _ = index.resolve("acme-ppo-gold", date(2027, 2, 1), as_of=later)
    assert found.version == "2027.1"
    # 2026 dates are answered by 2026.1 at either moment.
    found, _ = index.resolve(
        "acme-ppo-gold", date(2026, 3, 3), as_of=datetime(2026, 3, 1, tzinfo=UTC)
    )
    assert found.version == "2026.1"
