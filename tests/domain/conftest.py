"""Shared fixtures for the domain tests: the real sample rule files, loaded once per session.

Building the RuleIndex and Quoter from payer_rules/ (not from hand-built dataclasses) means
these tests also prove that the shipped sample files carry the numbers of issue 2.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.domain.index import RuleIndex
from service.domain.model import Clinic, RuleSetVersion
from service.domain.quoting import Quoter
from service.rulefiles import load_rules_dir

RULES_DIR = Path(__file__).resolve().parents[2] / "payer_rules"
# Published well before every sample date of service, so `as_of=None` (now) sees them all.
PUBLISHED_AT = datetime(2025, 11, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def sample_rules() -> tuple[Clinic, list[RuleSetVersion]]:
    """The clinic and every published version from the sample files."""
    clinic, parsed = load_rules_dir(RULES_DIR)
    versions = [p.to_version(PUBLISHED_AT, "domain-tests") for p in parsed]
    return clinic, versions


@pytest.fixture(scope="session")
def clinic(sample_rules: tuple[Clinic, list[RuleSetVersion]]) -> Clinic:
    return sample_rules[0]


@pytest.fixture(scope="session")
def versions(sample_rules: tuple[Clinic, list[RuleSetVersion]]) -> list[RuleSetVersion]:
    return sample_rules[1]


@pytest.fixture(scope="session")
def index(versions: list[RuleSetVersion]) -> RuleIndex:
    return RuleIndex.build(versions)


@pytest.fixture(scope="session")
def quoter(index: RuleIndex, clinic: Clinic) -> Quoter:
    return Quoter(index, clinic)
