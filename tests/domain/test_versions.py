"""Publish checks between versions and the analyst-readable diff (service.domain.versions).

The overlap rule exists so that RuleIndex (latest effective_from among the covering versions)
is never ambiguous; the property test at the end checks exactly that link.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from service.domain.model import (
    BenefitPeriodRule,
    CodeSet,
    CoverageBasis,
    DiagnosisLogic,
    DiagnosisRule,
    NetworkTerms,
    PeriodKind,
    PlanRules,
    ReferralRule,
    RuleSetVersion,
    UnitLimits,
    UnitMethod,
)
from service.domain.versions import (
    ChangeKind,
    Problem,
    PublishRejectedError,
    check_publish,
    check_publish_batch,
    diff_versions,
    overlap_is_allowed,
)
from service.rulefiles import load_rules_dir

RULES_DIR = Path(__file__).resolve().parents[2] / "payer_rules"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _plan(plan_id: str) -> PlanRules:
    return PlanRules(
        plan_id=plan_id,
        plan_name=plan_id,
        coverage_basis=CoverageBasis.MEDICAL_NECESSITY,
        benefit_period=BenefitPeriodRule(PeriodKind.CALENDAR_YEAR),
        covered_session_types=frozenset({"medical"}),
        referral=ReferralRule(required=False),
        diagnoses=DiagnosisRule(DiagnosisLogic.ANY_OF, (CodeSet(("M54",)),)),
        unit_method=UnitMethod.CMS_8_MINUTE,
        unit_limits=UnitLimits(per_visit=4),
        in_network=NetworkTerms(covered=True, ref=f"plans.{plan_id}.in_network"),
        out_of_network=None,
        visit_limit=None,
        prior_authorization=None,
        excluded_injuries=frozenset(),
        hsa_eligible=False,
        ref=f"plans.{plan_id}",
    )


def v(
    version: str,
    start: date,
    end: date | None = None,
    *,
    payer: str = "acme-health",
    plans: tuple[str, ...] = ("acme-ppo-gold",),
    checksum: str | None = None,
) -> RuleSetVersion:
    return RuleSetVersion(
        payer_id=payer,
        payer_name=payer.replace("-", " ").title(),
        version=version,
        effective_from=start,
        effective_to=end,
        plans=tuple(_plan(p) for p in plans),
        checksum=checksum or f"sha256:{payer}-{version}",
        published_at=T0,
    )


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.is_error]


Y2026 = v("2026.1", date(2026, 1, 1), date(2026, 12, 31))


# ---------------------------------------------------------------------------- overlap


def test_nothing_published_yet_is_fine() -> None:
    assert check_publish(Y2026, []) == []


def test_identical_version_is_not_a_problem() -> None:
    """Publishing the same content again is idempotent; the store returns the existing one."""
    assert check_publish(Y2026, [Y2026]) == []


def test_same_label_different_content_is_an_error() -> None:
    changed = replace(Y2026, checksum="sha256:other")
    [problem] = check_publish(changed, [Y2026])
    assert problem.is_error
    assert problem.source == "acme-health 2026.1"
    assert problem.field == "version"
    assert "already published with different content" in problem.message
    assert str(problem).startswith("acme-health 2026.1: version: ")


def test_mid_year_change_may_end_an_earlier_range() -> None:
    assert check_publish(v("2026.7", date(2026, 7, 1)), [Y2026]) == []
    assert check_publish(v("2026.7", date(2026, 7, 1), date(2026, 12, 31)), [Y2026]) == []
    assert check_publish(v("2026.7", date(2026, 7, 1), date(2027, 3, 31)), [Y2026]) == []
    # Taking over on the very last day is still a clean replacement.
    assert check_publish(v("2026.12", date(2026, 12, 31)), [Y2026]) == []


def test_publish_order_does_not_matter_for_the_allowed_overlap() -> None:
    """An earlier range entered after the later one is ended by it in the same way."""
    later = v("2026.7", date(2026, 7, 1))
    assert check_publish(Y2026, [later]) == []


def test_consecutive_ranges_touching_are_fine() -> None:
    assert check_publish(v("2027.1", date(2027, 1, 1)), [Y2026]) == []


def test_ambiguous_overlaps_are_errors_naming_both_versions_and_the_plan() -> None:
    cases = {
        "same start": v("2026.2", date(2026, 1, 1), date(2026, 12, 31)),
        "same start, open-ended": v("2026.2", date(2026, 1, 1)),
        "nested": v("2026.2", date(2026, 3, 1), date(2026, 9, 30)),
        "ends a day early": v("2026.2", date(2026, 7, 1), date(2026, 12, 30)),
        "encloses": v("2026.2", date(2025, 7, 1), date(2027, 6, 30)),
        "starts earlier, open-ended": v("2026.2", date(2025, 7, 1)),
    }
    for why, candidate in cases.items():
        [problem] = errors(check_publish(candidate, [Y2026]))
        assert problem.source == "acme-health 2026.2", why
        assert problem.field == "plans[acme-ppo-gold].effective_from", why
        assert "overlaps acme-health 2026.1" in problem.message, why
        assert "'acme-ppo-gold'" in problem.message, why
    same = errors(check_publish(cases["same start"], [Y2026]))[0]
    assert "both start on the same day" in same.message
    nested = errors(check_publish(cases["nested"], [Y2026]))[0]
    assert "ends before acme-health 2026.1 does" in nested.message


def test_overlap_is_per_plan() -> None:
    """Versions of one payer that share no plan may overlap freely."""
    silver = v("2026.s", date(2026, 1, 1), plans=("acme-ppo-silver",))
    assert check_publish(silver, [Y2026]) == []
    both = v("2026.b", date(2026, 3, 1), date(2026, 4, 30), plans=("acme-ppo-silver", "x"))
    assert check_publish(both, [Y2026]) == []


def test_plan_id_of_another_payer_is_an_error() -> None:
    other = v("1", date(2030, 1, 1), payer="birch-health", plans=("acme-ppo-gold",))
    [problem] = check_publish(other, [Y2026])
    assert problem.field == "plans[acme-ppo-gold]"
    assert "already belongs to payer acme-health" in problem.message


def test_range_ending_before_it_starts_and_duplicate_plans() -> None:
    [bad] = check_publish(v("x", date(2026, 5, 1), date(2026, 4, 30)), [])
    assert bad.field == "effective_to" and "before it starts" in bad.message
    dup = check_publish(v("y", date(2026, 1, 1), plans=("p", "p")), [])
    assert [p.field for p in dup] == ["plans[p]"]


# ---------------------------------------------------------------------------- gaps


def test_gap_after_the_previous_version_is_a_warning() -> None:
    [warning] = check_publish(v("2027.2", date(2027, 2, 1)), [Y2026])
    assert not warning.is_error
    assert warning.field == "plans[acme-ppo-gold].effective_from"
    assert "acme-health 2026.1 ends 2026-12-31" in warning.message
    assert "2027-01-01 to 2027-01-31 have no rules" in warning.message


def test_gap_before_the_next_version_is_a_warning() -> None:
    y2027 = v("2027.1", date(2027, 1, 1))
    [warning] = check_publish(v("2025.1", date(2025, 1, 1), date(2025, 11, 30)), [y2027])
    assert warning.field == "plans[acme-ppo-gold].effective_to"
    assert "2025-12-01 to 2026-12-31 have no rules" in warning.message


def test_no_gap_warning_when_an_open_ended_version_precedes() -> None:
    open_ended = v("2025.1", date(2025, 1, 1))
    assert check_publish(v("2027.1", date(2027, 1, 1)), [open_ended]) == []


def test_no_gap_warning_for_dates_an_earlier_longer_version_still_covers() -> None:
    # 2026.3 (Jul-Sep) overlaps 2026.1 ambiguously (an error), but the days after it, Oct-Dec,
    # are still covered by 2026.1: they must not be reported as a gap with "no rules".
    y2027 = v("2027.1", date(2027, 1, 1))
    problems = check_publish(v("2026.3", date(2026, 7, 1), date(2026, 9, 30)), [Y2026, y2027])
    assert [p for p in problems if not p.is_error] == []
    assert errors(problems), "the ambiguous overlap itself is still an error"


def test_gap_after_a_version_is_measured_from_the_furthest_covered_day() -> None:
    # 2026.1 covers 2026; the candidate covers Jan-Mar 2027; 2027.2 starts in June: the gap
    # is Apr-May 2027, right after the candidate.
    y2027_2 = v("2027.2", date(2027, 6, 1))
    [warning] = check_publish(v("2027.1", date(2027, 1, 1), date(2027, 3, 31)), [Y2026, y2027_2])
    assert warning.field == "plans[acme-ppo-gold].effective_to"
    assert "2027-04-01 to 2027-05-31 have no rules" in warning.message


def test_batch_checks_each_candidate_against_the_ones_before_it() -> None:
    a = v("2026.a", date(2026, 1, 1))
    b = v("2026.b", date(2026, 1, 1))
    problems = check_publish_batch([a, b], [])
    assert [p.source for p in errors(problems)] == ["acme-health 2026.b"]


def test_rejection_error_lists_every_error() -> None:
    problems = check_publish(v("2026.2", date(2026, 1, 1)), [Y2026])
    err = PublishRejectedError(problems)
    assert err.errors == problems
    assert "acme-health 2026.2: plans[acme-ppo-gold].effective_from" in str(err)


# ---------------------------------------------------------------------------- the index link


dates = st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 3, 31))


@st.composite
def ranges(draw: st.DrawFn) -> tuple[date, date | None]:
    start = draw(dates)
    end = draw(st.one_of(st.none(), st.integers(0, 60).map(lambda n: start + timedelta(n))))
    return start, end


@given(st.lists(ranges(), min_size=1, max_size=6))
def test_accepted_versions_give_each_day_one_unambiguous_answer(
    candidates: list[tuple[date, date | None]],
) -> None:
    """Publish whatever the checks accept, in order; then for every day the covering versions
    have distinct start dates, and the one with the latest start covers the day through to
    the end of every other covering version's range (no earlier version 'comes back')."""
    accepted: list[RuleSetVersion] = []
    for i, (start, end) in enumerate(candidates):
        cand = v(f"v{i}", start, end)
        if not errors(check_publish(cand, accepted)):
            accepted.append(cand)
    day = date(2026, 1, 1)
    while day <= date(2026, 6, 30):
        covering = [a for a in accepted if a.covers(day)]
        starts = [a.effective_from for a in covering]
        assert len(starts) == len(set(starts))
        if covering:
            winner = max(covering, key=lambda a: a.effective_from)
            for other in covering:
                if other is not winner:
                    assert overlap_is_allowed(winner, other)
                    assert winner.effective_to is None or (
                        other.effective_to is not None and winner.effective_to >= other.effective_to
                    )
        day += timedelta(days=1)


# ---------------------------------------------------------------------------- diff


def test_diff_of_the_sample_acme_versions_in_analyst_words() -> None:
    """Over the canonical content the store keeps (what DiffRuleSets compares)."""
    _, parsed = load_rules_dir(RULES_DIR)
    acme = {p.version: p for p in parsed if p.payer_id == "acme-health"}
    changes = [str(c) for c in diff_versions(acme["2026.1"], acme["2027.1"])]
    assert "plans[acme-ppo-gold].in_network.allowed_per_unit.97124: $31.00 -> $33.00" in changes
    assert "plans[acme-ppo-gold].in_network.allowed_per_unit.97140: $29.00 -> $30.50" in changes
    assert "plans[acme-ppo-gold].in_network.deductible: $500.00 -> $600.00" in changes
    assert "plans[acme-ppo-gold].visit_limit.visits: 20 -> 24" in changes
    assert "version: 2026.1 -> 2027.1" in changes
    assert "effective_from: 2026-01-01 -> 2027-01-01" in changes
    assert "effective_to: 2026-12-31 -> none" in changes
    assert "note: 2026 fee schedule -> 2027 fee schedule" in changes
    assert len(changes) == 8, changes
    # Unchanged fields are not mentioned.
    assert not any("out_of_network" in c for c in changes)


def test_diff_names_added_and_removed_plans_and_list_items() -> None:
    a = {
        "plans": [
            {"id": "gold", "covered_session_types": ["medical", "sports"], "hsa_eligible": False},
            {"id": "old", "copay": "10.00"},
        ]
    }
    b = {
        "plans": [
            {"id": "new", "copay": "25.00"},
            {
                "id": "gold",
                "covered_session_types": ["medical", "myofascial"],
                "hsa_eligible": True,
            },
        ]
    }
    changes = diff_versions(a, b)
    text = [str(c) for c in changes]
    assert "plans[old]: removed (was {id: old, copay: $10.00})" in text
    assert "plans[new]: added ({id: new, copay: $25.00})" in text
    assert "plans[gold].covered_session_types[sports]: removed (was sports)" in text
    assert "plans[gold].covered_session_types[myofascial]: added (myofascial)" in text
    assert "plans[gold].hsa_eligible: no -> yes" in text
    kinds = {c.path: c.kind for c in changes}
    assert kinds["plans[new]"] is ChangeKind.ADDED
    assert diff_versions(a, a) == []


def test_diff_shows_percentages_and_nested_rates() -> None:
    a = {"in_network": {"coinsurance_percent": "20", "allowed_per_unit": {"97124": "29.76"}}}
    b = {
        "in_network": {
            "coinsurance_percent": "12.5",
            "allowed_per_unit": {"97124": {"first_unit": "29.76", "later_units": "20.70"}},
        }
    }
    text = [str(c) for c in diff_versions(a, b)]
    assert "in_network.coinsurance_percent: 20% -> 12.5%" in text
    assert (
        "in_network.allowed_per_unit.97124: $29.76 -> {first_unit: $29.76, later_units: $20.70}"
        in text
    )


def test_diff_shows_a_coinsurance_below_one_percent_as_it_is() -> None:
    # coinsurance_percent is always a percentage (rule-format.md: "0.5" is half a percent).
    # The diff read any value up to 1 with a dot as a fraction and showed 0.5% as "50%".
    a = {"in_network": {"coinsurance_percent": "0.5"}}
    b = {"in_network": {"coinsurance_percent": "1"}}
    assert [str(c) for c in diff_versions(a, b)] == ["in_network.coinsurance_percent: 0.5% -> 1%"]
