"""The index refresher: swaps a rebuilt index in when the store changed, and only then."""

from __future__ import annotations

from tests.api.rules_helpers import mid_year_2026

from .conftest import Layer


def test_refresh_swaps_only_when_the_store_changed(layer: Layer) -> None:
    first = layer.quoter.index
    assert layer.refresher.refresh() is False and layer.quoter.index is first
    parsed = layer.rule_sets.validate(mid_year_2026(), "mid.yaml").parsed
    assert parsed is not None
    layer.store.publish(parsed, "another replica")  # behind this server's back
    assert layer.refresher.refresh() is True
    assert "2026.2" in [v.version for v in layer.quoter.index.versions]
    assert layer.refresher.refresh() is False
