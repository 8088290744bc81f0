"""A reload after a publish reuses the compiled plans of the versions it already held, and
answers exactly as an index built from scratch."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

from service.domain.index import RuleIndex
from service.domain.model import Accumulators, ReferralKind, SessionRequest
from service.domain.quoting import Quoter
from service.rulefiles import load_rules_dir


def test_reused_entries_and_identical_answers() -> None:
    clinic, parsed = load_rules_dir()
    at = datetime(2026, 1, 1, tzinfo=UTC)
    versions = [p.to_version(at, "test") for p in parsed]
    first = RuleIndex.build(versions[:-1])
    later = RuleIndex.build(versions, previous=first)
    scratch = RuleIndex.build(versions)
    for plan_id in scratch.plan_ids():
        for entry in later.entries(plan_id):
            old = [e for e in first.entries(plan_id) if e.version is entry.version]
            if old:  # held before: the very same compiled entry
                assert old[0] is entry
        assert [(e.version, e.plan) for e in later.entries(plan_id)] == [
            (e.version, e.plan) for e in scratch.entries(plan_id)
        ]
    assert later.entries(versions[-1].plans[0].plan_id)  # the new version is compiled
    # An equal but different version object is compiled afresh, never confused by id().
    copy = dataclasses.replace(versions[0])
    rebuilt = RuleIndex.build([copy, *versions[1:]], previous=later)
    assert all(
        e.version is copy for e in rebuilt.entries(copy.plans[0].plan_id) if e.version == copy
    )
    day = date(2026, 3, 3)
    for plan_id in scratch.plan_ids():
        request = SessionRequest(
            plan_id=plan_id,
            session_type="deep_tissue",
            minutes=53,
            date_of_service=day,
            referral_kind=ReferralKind.PRESCRIPTION,
            referral_date=date(2026, 2, 1),
            diagnosis_codes=("M54.50",),
            accumulators=Accumulators(deductible_met=45_000),
        )
        try:
            expected = Quoter(scratch, clinic).estimate(request)
        except Exception as exc:  # a plan not in force that day: the same refusal
            try:
                Quoter(later, clinic).estimate(request)
            except Exception as again:
                assert str(again) == str(exc)
            continue
        assert Quoter(later, clinic).estimate(request) == expected
