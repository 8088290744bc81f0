"""PreviewImpact on the sample payers, over the in-memory store (issue 11).

Acme PPO Gold (payer_rules/acme-health/2026.yaml): in network, 97124 is allowed $31.00 a
15-minute unit and 97140 $29.00, a $500 deductible, then 20% coinsurance. Every changed
figure below is a literal with its arithmetic.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from service.api.impact import saved_request
from service.domain.errors import InvalidRequestError
from service.domain.model import Accumulators, ReferralKind, SessionRequest
from service.usecases.errors import RuleSetInvalidError
from service.usecases.impact import (
    BatchSessions,
    ImpactPreviewService,
    ImpactReport,
    SavedQuoteRange,
    Totals,
)
from service.usecases.ports import NewQuote
from tests.api.rules_helpers import SAMPLE_RULES_DIR

from .conftest import Layer

ACME_2026 = (SAMPLE_RULES_DIR / "acme-health" / "2026.yaml").read_text()
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

# S0: 53 minutes of deep tissue (97124, 4 units by the 8-minute rule), $450 of the $500
# deductible met. S1: 38 minutes (3 units), deductible met. S2: 60 minutes of myofascial
# (97140, 4 units), deductible met.
S0 = SessionRequest(
    plan_id="acme-ppo-gold",
    session_type="deep_tissue",
    minutes=53,
    date_of_service=date(2026, 3, 3),
    referral_kind=ReferralKind.PRESCRIPTION,
    referral_date=date(2026, 2, 1),
    diagnosis_codes=("M54.50",),
    accumulators=Accumulators(deductible_met=45000, out_of_pocket_met=45000, visits_used=3),
)
MET = Accumulators(deductible_met=50000, out_of_pocket_met=50000, visits_used=3)
S1 = replace(S0, minutes=38, accumulators=MET, diagnosis_codes=("M54.2",))
S2 = replace(S0, session_type="myofascial", minutes=60, accumulators=MET)
BATCH = BatchSessions([S0, S1, S2])


def service(layer: Layer) -> ImpactPreviewService:
    return ImpactPreviewService(
        layer.store, layer.clinic, lambda: layer.quoter.index, saved_request, clock=lambda: NOW
    )


def edited(old: str, new: str) -> str:
    assert ACME_2026.count(old) == 1, old
    return ACME_2026.replace(old, new)


def amounts(report: ImpactReport) -> list[tuple[int, int, int, int]]:
    out = []
    for line in report.largest_changes:
        assert line.before is not None and line.after is not None
        out.append(
            (
                line.before.patient_pays,
                line.after.patient_pays,
                line.patient_change,
                line.batch_index,
            )
        )
    return out


def test_raising_the_97124_rate_changes_each_97124_session_by_its_arithmetic(
    layer: Layer,
) -> None:
    draft = edited('"97124": "31.00"\n        "97140"', '"97124": "35.00"\n        "97140"')
    report = service(layer).preview(draft, "2026.yaml", BATCH)
    assert (report.payer_id, report.draft_version) == ("acme-health", "2026.1")
    assert report.session_count == 3
    assert report.changed_count == 2  # the 97140 session is untouched
    # S0: allowed 4 x $31.00 = $124.00 -> 4 x $35.00 = $140.00. The patient pays the $50.00 of
    #   deductible left plus 20% of the rest: 50.00 + 0.2 x 74.00 = $64.80 -> 50.00 +
    #   0.2 x 90.00 = $68.00 (+$3.20); the plan 124.00 - 64.80 = $59.20 -> 140.00 - 68.00 = $72.00.
    # S1: 3 x $31.00 = $93.00 -> 3 x $35.00 = $105.00, 20% coinsurance: $18.60 -> $21.00
    #   (+$2.40); the plan $74.40 -> $84.00.
    # S2: 4 x $29.00 = $116.00, 20%: $23.20, the plan $92.80, before and after.
    assert amounts(report) == [(6480, 6800, 320, 0), (1860, 2100, 240, 1)]
    assert report.before == Totals(patient_pays=6480 + 1860 + 2320, plan_pays=5920 + 7440 + 9280)
    assert report.after == Totals(patient_pays=6800 + 2100 + 2320, plan_pays=7200 + 8400 + 9280)
    assert report.before == Totals(10660, 22640)
    assert report.after == Totals(11220, 24880)
    assert report.coverage_flips == ()
    assert report.failures == ()


def test_dropping_a_diagnosis_lists_the_coverage_flips(layer: Layer) -> None:
    draft = edited("qualifying_diagnoses: [M54.5, M54.2,", "qualifying_diagnoses: [M54.2,")
    report = service(layer).preview(draft, "2026.yaml", BATCH)
    # S0 and S2 carry M54.50 (now not qualifying): covered -> not covered. S1 (M54.2) stays.
    flips = [(line.batch_index, line.before, line.after) for line in report.coverage_flips]
    assert [(i, b.covered, a.covered) for i, b, a in flips if a and b] == [
        (0, True, False),
        (2, True, False),
    ]
    assert report.changed_count == 2
    s0 = report.coverage_flips[0]
    assert s0.after is not None and s0.before is not None
    assert "DIAGNOSIS_NOT_QUALIFYING" in s0.after.reason_codes
    assert s0.after.plan_pays == 0
    # Not covered, the client pays the therapeutic cash price of a 53-minute session: the
    # next listed length, 60 minutes, $110.00 (clinic.yaml); $64.80 before.
    assert (s0.before.patient_pays, s0.after.patient_pays) == (6480, 11000)
    # S2 (60 minutes of myofascial, deductible met): $23.20 -> the same $110.00.
    s2 = report.coverage_flips[1]
    assert s2.before is not None and s2.after is not None
    assert (s2.before.patient_pays, s2.after.patient_pays) == (2320, 11000)
    assert report.before == Totals(10660, 22640)
    # After: 110.00 + 18.60 + 110.00 for the patients; the plans pay only S1's $74.40.
    assert report.after == Totals(11000 + 1860 + 11000, 7440)


def test_an_unchanged_draft_changes_nothing(layer: Layer) -> None:
    report = service(layer).preview(ACME_2026, "2026.yaml", BATCH)
    assert report.session_count == 3
    assert report.changed_count == 0
    assert report.largest_changes == ()
    assert report.coverage_flips == ()
    assert report.before == report.after == Totals(10660, 22640)
    assert report.problems == ()


def test_saved_quotes_are_chosen_by_plan_and_the_day_they_were_saved(layer: Layer) -> None:
    record = {
        "session": {
            "plan_id": "acme-ppo-gold",
            "session_type": "deep_tissue",
            "minutes": 53,
            "referral": {
                "kind": "REFERRAL_KIND_PRESCRIPTION",
                "issue_date": {"year": 2026, "month": 2, "day": 1},
            },
            "diagnosis_codes": ["M54.50"],
            "date_of_service": {"year": 2026, "month": 3, "day": 3},
            "network": "NETWORK_IN",
            "accumulators": {
                "deductible_met": {"currency_code": "USD", "units": "450"},
                "out_of_pocket_met": {"currency_code": "USD", "units": "450"},
                "visits_used": 3,
            },
        }
    }
    other_plan = {"session": dict(record["session"], plan_id="summit-ma-plus")}
    store = layer.store
    inside = store.save_quote(
        NewQuote(record, {}, "acme-ppo-gold"), now=datetime(2026, 3, 2, 23, 59, tzinfo=UTC)
    )
    store.save_quote(NewQuote(record, {}, "acme-ppo-gold"), now=datetime(2026, 3, 3, tzinfo=UTC))
    store.save_quote(NewQuote(record, {}, "acme-ppo-gold"), now=datetime(2026, 2, 28, tzinfo=UTC))
    store.save_quote(
        NewQuote(other_plan, {}, "summit-ma-plus"), now=datetime(2026, 3, 2, tzinfo=UTC)
    )
    draft = edited('"97124": "31.00"\n        "97140"', '"97124": "35.00"\n        "97140"')
    chosen = SavedQuoteRange(date(2026, 3, 1), date(2026, 3, 2))
    report = service(layer).preview(draft, "2026.yaml", chosen)
    assert report.session_count == 1  # not Feb 28, not Mar 3, not another payer's plan
    (line,) = report.largest_changes
    assert (line.quote_id, line.plan_id, line.date_of_service) == (
        inside.id,
        "acme-ppo-gold",
        date(2026, 3, 3),
    )
    assert (line.patient_change, report.before, report.after) == (
        320,
        Totals(6480, 5920),
        Totals(6800, 7200),
    )


def test_a_session_no_version_covers_is_a_failure_line_not_a_silent_zero(layer: Layer) -> None:
    early = replace(S1, date_of_service=date(2025, 12, 15), referral_date=date(2025, 12, 1))
    report = service(layer).preview(ACME_2026, "2026.yaml", BatchSessions([S1, early]))
    (failure,) = report.failures
    assert (failure.batch_index, failure.error_before, failure.error_after) == (
        1,
        "NO_RULE_VERSION",
        "NO_RULE_VERSION",
    )
    assert report.before == Totals(1860, 7440)  # only S1, priced on both sides


def test_an_invalid_draft_is_refused_with_its_problems(layer: Layer) -> None:
    with pytest.raises(RuleSetInvalidError):
        service(layer).preview(edited('deductible: "500.00"', 'deductible: "lots"'), "x", BATCH)
    with pytest.raises(InvalidRequestError):
        service(layer).preview("  ", "x", BATCH)


def test_nothing_is_published(layer: Layer) -> None:
    before = layer.store.list_versions()
    draft = edited('"97124": "31.00"\n        "97140"', '"97124": "35.00"\n        "97140"')
    service(layer).preview(draft, "2026.yaml", BATCH)
    assert layer.store.list_versions() == before
    assert layer.quoter.estimate(S0).patient_pays == 6480
