"""A service layer over the in-memory store, seeded like a first start: the shipped rule files
published at T0, a Quoter over their index, the refresher that keeps it current."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from service.domain.index import RuleIndex
from service.domain.model import Clinic
from service.domain.quoting import Quoter
from service.rulefiles import load_rules_dir
from service.usecases import IndexRefresher, RuleSetService
from tests.api.rules_helpers import SAMPLE_RULES_DIR

from .fakes import InMemoryStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Layer:
    store: InMemoryStore
    clinic: Clinic
    quoter: Quoter
    refresher: IndexRefresher
    rule_sets: RuleSetService


@pytest.fixture
def layer() -> Layer:
    clinic, parsed = load_rules_dir(SAMPLE_RULES_DIR)
    store = InMemoryStore()
    for p in parsed:
        store.publish(p, "sample-data", now=T0)
    quoter = Quoter(RuleIndex.build(store.load_versions(clinic)), clinic)
    refresher = IndexRefresher(store, clinic, quoter, store.latest_change_marker())
    rule_sets = RuleSetService(store, clinic, lambda: quoter.index, refresher.refresh)
    return Layer(store, clinic, quoter, refresher, rule_sets)
