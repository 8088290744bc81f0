"""Versions published before the rule format grew still load with their checksum and still
quote the same numbers: the stored canonical content of the original samples (as the store
keeps it) is rebuilt with today's code and priced over a fixed grid of requests, and every
figure, reason and line must equal what was recorded before the format changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from service.domain.index import RuleIndex
from service.domain.model import Clinic
from service.domain.quoting import Quoter
from service.rulefiles import content_checksum, load_rules_dir, parse_rule_set_content

from .conftest import PUBLISHED_AT, RULES_DIR
from .golden import answer, grid, recorded

STORED = Path(__file__).resolve().parents[1] / "fixtures" / "stored_versions"
STORED_FILES = sorted(STORED.glob("*.json"))


def _stored(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_the_fixtures_hold_every_original_version() -> None:
    assert [p.name for p in STORED_FILES] == [
        "acme-health--2026.1.json",
        "acme-health--2027.1.json",
        "cedar-mutual--2026.1.json",
        "contoso-health--2026-07.json",
        "summit-medicare-advantage--2026.1.json",
    ]


@pytest.mark.parametrize("path", STORED_FILES, ids=lambda p: p.stem)
def test_stored_content_rebuilds_with_its_checksum(clinic: Clinic, path: Path) -> None:
    stored = _stored(path)
    parsed = parse_rule_set_content(stored["content"], path.name, clinic)
    assert parsed.checksum == stored["checksum"]
    assert content_checksum(parsed.content) == stored["checksum"]
    assert parsed.content == stored["content"]


def test_the_sample_files_still_give_the_stored_checksums() -> None:
    _, parsed = load_rules_dir(RULES_DIR)
    checksums = {(p.payer_id, p.version): p.checksum for p in parsed}
    for path in STORED_FILES:
        stored = _stored(path)
        assert checksums[(stored["payer_id"], stored["version"])] == stored["checksum"]


def test_stored_versions_quote_exactly_what_they_quoted_before(clinic: Clinic) -> None:
    versions = [
        parse_rule_set_content(_stored(p)["content"], p.name, clinic).to_version(
            PUBLISHED_AT, "domain-tests"
        )
        for p in STORED_FILES
    ]
    quoter = Quoter(RuleIndex.build(versions), clinic)
    before = recorded()
    requests = grid()
    assert len(before) == len(requests) == 1800
    mismatches = [
        (i, want["request"]["plan_id"])
        for i, (request, want) in enumerate(zip(requests, before, strict=True))
        if _as_recorded(answer(quoter, request), {k: v for k, v in want.items() if k != "request"})
        != {k: v for k, v in want.items() if k != "request"}
    ]
    assert mismatches == []


EMPTY: tuple[Any, ...] = (None, 0, False, "", [], {})


def _as_recorded(now: Any, before: Any) -> Any:
    """`now` cut to the fields `before` had: fields added since must be empty (a later field
    with a value would be a changed answer), the rest compare as they are."""
    if isinstance(now, dict) and isinstance(before, dict):
        added = {k: v for k, v in now.items() if k not in before}
        if any(v not in EMPTY for v in added.values()):
            return now
        return {k: _as_recorded(now[k], v) if k in now else None for k, v in before.items()}
    if isinstance(now, list) and isinstance(before, list) and len(now) == len(before):
        return [_as_recorded(n, b) for n, b in zip(now, before, strict=True)]
    return now


def test_values_the_first_format_allowed_still_load(clinic: Clinic) -> None:
    """A limit added to an existing key would refuse versions published before it (the
    server would not start): a referral valid 4,000 days was valid, and still loads."""
    content = _stored(STORED / "acme-health--2026.1.json")["content"]
    content["plans"][0]["referral"]["valid_days"] = 4000
    parsed = parse_rule_set_content(content, "stored", clinic)
    assert parsed.checksum == content_checksum(content)
