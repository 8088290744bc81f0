"""The rule-set use cases over the in-memory store: validate, publish, list, show, diff and
the plans served, with the refusals a transport maps to statuses."""

from __future__ import annotations

from datetime import date

import pytest

from service.domain.errors import InvalidRequestError
from service.domain.versions import ChangeKind
from service.usecases import NotFoundError, RuleSetInvalidError, RuleSetRejectedError
from tests.api.rules_helpers import ACME_2026_FILE, acme_variant, mid_year_2026

from .conftest import Layer


def test_validate_names_the_file_and_says_when_it_is_published_already(layer: Layer) -> None:
    shipped = layer.rule_sets.validate(ACME_2026_FILE.read_text(), "acme.yaml")
    assert shipped.valid and shipped.already_published
    new = layer.rule_sets.validate(mid_year_2026(), " ")
    assert new.valid and not new.already_published
    assert new.parsed is not None and new.parsed.source == "upload"
    broken = layer.rule_sets.validate("payer: [", "broken.yaml")
    assert not broken.valid and broken.parsed is None
    assert {p.source for p in broken.problems} == {"broken.yaml"}


def test_publish_serves_the_new_version_before_it_returns(layer: Layer) -> None:
    before = layer.quoter.index
    result = layer.rule_sets.publish(mid_year_2026(), "mid.yaml", " ana ", "July rates")
    assert result.created and result.version.version == "2026.2"
    assert result.version.published_by == "ana" and result.version.note == "July rates"
    assert layer.quoter.index is not before
    assert "2026.2" in [v.version for v in layer.quoter.index.versions]
    again = layer.rule_sets.publish(mid_year_2026(), "mid.yaml", "ana", "")
    assert not again.created and layer.refresher.refresh() is False


def test_publish_refuses_bad_fields_all_at_once_and_writes_nothing(layer: Layer) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        layer.rule_sets.publish("  ", "x.yaml", "", "a\x00b")
    assert [v.field for v in caught.value.violations] == ["content", "published_by", "note"]
    with pytest.raises(InvalidRequestError) as long_name:
        layer.rule_sets.publish(mid_year_2026(), "x.yaml", "a" * 201, "")
    assert "at most 200" in long_name.value.violations[0].description
    assert len(layer.store.published) == 9  # the sample rule sets, nothing more


def test_an_invalid_file_is_refused_with_its_own_problems(layer: Layer) -> None:
    with pytest.raises(RuleSetInvalidError) as caught:
        layer.rule_sets.publish("payer: [", "broken.yaml", "ana", "")
    assert caught.value.source == "broken.yaml" and caught.value.errors
    assert "nothing was written" in str(caught.value)


def test_a_taken_version_label_is_a_conflict(layer: Layer) -> None:
    other = acme_variant("2026.1", date(2026, 1, 1), date(2026, 12, 31), allowed_97124="99.00")
    with pytest.raises(RuleSetRejectedError) as caught:
        layer.rule_sets.publish(other, "other.yaml", "ana", "")
    assert caught.value.label == "acme-health 2026.1"
    assert [p.field for p in caught.value.conflicts] == ["version"]


def test_an_overlap_is_rejected_without_a_conflict(layer: Layer) -> None:
    nested = acme_variant("2026.9", date(2026, 3, 1), date(2026, 4, 30))
    with pytest.raises(RuleSetRejectedError) as caught:
        layer.rule_sets.publish(nested, "nested.yaml", "ana", "")
    assert not caught.value.conflicts and caught.value.errors


def test_show_and_diff_name_what_is_not_published(layer: Layer) -> None:
    meta, content = layer.rule_sets.get("acme-health", "2026.1")
    assert meta.plan_ids == ("acme-ppo-gold",) and content["version"] == "2026.1"
    with pytest.raises(NotFoundError) as caught:
        layer.rule_sets.get("acme-health", "2030.1")
    assert caught.value.resource_type == "rule_set" and "2026.1, 2027.1" in str(caught.value)
    with pytest.raises(NotFoundError):
        layer.rule_sets.diff("acme-health", "2026.1", "2030.1")
    with pytest.raises(InvalidRequestError) as missing:
        layer.rule_sets.diff("", "2026.1", "")
    assert [v.field for v in missing.value.violations] == ["payer_id", "to_version"]


def test_diff_lists_the_changed_rate(layer: Layer) -> None:
    layer.rule_sets.publish(mid_year_2026("34.00"), "mid.yaml", "ana", "")
    diff = layer.rule_sets.diff("acme-health", "2026.1", "2026.2")
    assert (diff.before.version, diff.after.version) == ("2026.1", "2026.2")
    rate = [c for c in diff.changes if c.path.endswith("allowed_per_unit.97124")]
    assert [(c.kind, c.before, c.after) for c in rate] == [(ChangeKind.CHANGED, "$31.00", "$34.00")]


def test_list_versions_filters_by_payer_and_plan(layer: Layer) -> None:
    assert [m.version for m in layer.rule_sets.list_versions("acme-health", "")] == [
        "2026.1",
        "2027.1",
    ]
    assert layer.rule_sets.list_versions("", "contoso-hmo-silver")[0].payer_id == ("contoso-health")


def test_served_plans_say_which_version_takes_over_from_when(layer: Layer) -> None:
    layer.rule_sets.publish(mid_year_2026(), "mid.yaml", "ana", "")
    (acme,) = layer.rule_sets.served_plans("acme-health")
    assert acme.plan_id == "acme-ppo-gold" and acme.plan_name == "Acme PPO Gold"
    taken = [
        (s.version.version, s.superseded_by and s.superseded_by.version) for s in acme.versions
    ]
    assert taken == [("2026.1", "2026.2"), ("2026.2", None), ("2027.1", None)]
    assert len(layer.rule_sets.served_plans()) == 8


def test_a_diff_of_a_later_key_back_to_its_default_reads_as_a_change(layer: Layer) -> None:
    """Canonical content leaves a later key out at its default; the diff still says what it
    changed from and to, not that it was removed."""
    text = (ACME_2026_FILE.parents[1] / "pacific-advantage" / "2026.yaml").read_text(
        encoding="utf-8"
    )
    relaxed = (
        text.replace('version: "2026.1"', 'version: "2026.2"')
        .replace("effective_from: 2026-01-01", "effective_from: 2026-07-01")
        .replace("required_for_coverage: true", "required_for_coverage: false")
    )
    layer.rule_sets.publish(relaxed, "pacific-2026.2.yaml", "analyst", "")
    changes = [
        str(c) for c in layer.rule_sets.diff("pacific-advantage", "2026.1", "2026.2").changes
    ]
    assert changes == [
        "effective_from: 2026-01-01 -> 2026-07-01",
        "plans[pacific-ma-chronic-pain].prior_authorization.required_for_coverage: yes -> no",
        "version: 2026.1 -> 2026.2",
    ]
