"""What a start costs at scale: a filled store is not seeded again from the rule files, and a
reload rebuilds only the versions this process has not built yet; the answers stay those of a
full rebuild (on real SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import os
import pickle
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from service import rulefiles
from service.domain.index import RuleIndex
from service.domain.problems import Problem
from service.domain.versions import PlanVersions, check_publish, check_publish_batch
from service.rulefiles import ParsedRuleSet, load_rules_dir
from service.storage import RuleStore, builds, create_store
from service.usecases.publishing import plan_publish

from .rulesets import RULES_DIR, clinic, rule_set

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def test_a_filled_store_reads_only_the_clinic_at_start(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES_DIR, rules)
    first = create_store(db_url)
    first.migrate()
    assert first.seed_from_dir(rules) == 9
    # A file added (even a broken one) after the first start is not read at the next one:
    # the store is seeded once, and rule changes go through publishing.
    (rules / "acme-health" / "2031.yaml").write_text("payer: [not, valid\n", encoding="utf-8")

    def no_rule_files(*args: object, **kwargs: object) -> None:
        raise AssertionError("the rule files were parsed again")

    monkeypatch.setattr(rulefiles, "load_rules_dir", no_rule_files)
    again = create_store(db_url)
    assert again.seed_from_dir(rules) == 0
    assert again.clinic == first.clinic == clinic()
    assert again.load_versions() == first.load_versions()
    first.engine.dispose()
    again.engine.dispose()


def test_a_filled_store_still_needs_a_readable_clinic(db_url: str, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES_DIR, rules)
    store = create_store(db_url)
    store.migrate()
    store.seed_from_dir(rules)
    (rules / "clinic.yaml").write_text("name: [broken\n", encoding="utf-8")
    with pytest.raises(rulefiles.RuleFileError, match="not valid YAML"):
        create_store(db_url).seed_from_dir(rules)
    store.engine.dispose()


def test_reloads_reuse_built_versions_and_equal_a_full_rebuild(
    store: RuleStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a seed and a publish, this process's versions, and those a restart reads from
    the stored builds, equal the versions rebuilt from the stored text through every check;
    neither rebuilds anything."""
    store.seed_from_dir(RULES_DIR)
    store.publish(rule_set("2031.1", date(2031, 1, 1), None), "analyst", now=T0)
    reference = create_store(str(store.engine.url))  # the reference path: no stored builds
    reference.use_builds = False
    reference.clinic = store.clinic
    rebuilt = reference.load_versions()
    fresh = create_store(str(store.engine.url))  # a restart: reads the builds the publishes stored
    fresh.clinic = store.clinic
    rebuilds: list[str] = []
    real = rulefiles.parse_rule_set_content

    def counting(content: dict[str, object], source: str, c: object) -> ParsedRuleSet:
        rebuilds.append(source)
        return real(content, source, c)  # type: ignore[arg-type]

    monkeypatch.setattr(rulefiles, "parse_rule_set_content", counting)
    assert store.load_versions() == rebuilt
    assert rebuilds == []  # every version was built by this process's seed or publish
    assert fresh.load_versions() == rebuilt and rebuilds == []
    assert reference.load_versions() == rebuilt and rebuilds == []  # its own, in memory
    reference.engine.dispose()
    assert (
        RuleIndex.build(store.load_versions()).served_plans()
        == RuleIndex.build(rebuilt).served_plans()
    )
    fresh.engine.dispose()


def _batch_by_scan(
    candidates: list[ParsedRuleSet], published: list[ParsedRuleSet]
) -> list[Problem]:
    """check_publish_batch as it was: each candidate scanned against every version so far."""
    problems: list[Problem] = []
    seen = list(published)
    for cand in candidates:
        if not any(p.payer_id == cand.payer_id and p.checksum == cand.checksum for p in seen):
            problems.extend(check_publish(cand, seen))
            seen.append(cand)
    return problems


def test_plan_versions_map_gives_the_same_problems_as_the_scan() -> None:
    """check_publish with a prebuilt plan-id map finds exactly what it finds without one."""
    _, parsed = load_rules_dir(RULES_DIR)
    extra = [
        rule_set("2026.1", date(2026, 1, 1), date(2026, 12, 31)),  # a published label
        rule_set("2026.9", date(2026, 3, 1), date(2026, 6, 30)),  # a nested overlap
        rule_set("2040.1", date(2040, 1, 1), None, payer="other", plan_id="acme-ppo-gold"),
        rule_set("2029.1", date(2029, 1, 1), date(2029, 6, 30)),  # gaps on both sides
    ]
    plans = PlanVersions(parsed)
    for cand in extra:
        without = check_publish(cand, parsed)
        assert without, cand.version
        assert check_publish(cand, parsed, plans) == without
    candidates = [*parsed, *extra, extra[1]]
    assert check_publish_batch(candidates, []) == _batch_by_scan(candidates, [])
    assert check_publish_batch(extra, parsed) == _batch_by_scan(extra, parsed)
    plan = plan_publish(candidates, [], T0, "x", None)
    assert plan.problems == _batch_by_scan(candidates, [])
    assert plan.new == list(range(len(parsed) + len(extra)))  # the repeat is not new


def _builds(store: RuleStore) -> int:
    with store.engine.connect() as conn:
        return int(
            conn.execute(sa.text("SELECT count(*) FROM rule_set_version_build")).scalar_one()
        )


def test_a_hostile_or_foreign_build_is_never_used(store: RuleStore) -> None:
    """A build row that is not plain plans (say, a pickle that would run a command) is
    ignored and the version rebuilt through the checks; a build made for another clinic is
    never found."""
    store.seed_from_dir(RULES_DIR)
    assert _builds(store) == 9
    reference = create_store(str(store.engine.url))
    reference.use_builds = False
    expected = reference.load_versions(clinic())
    hostile = pickle.dumps((os.system, ("echo owned",)))
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE rule_set_version_build SET payload = :p"), {"p": hostile})
    restarted = create_store(str(store.engine.url))
    assert restarted.load_versions(clinic()) == expected  # rebuilt, nothing run
    other_clinic = dataclasses.replace(clinic(), name="Another clinic")
    assert builds.build_key("a", "1", "c", b"d", other_clinic) != builds.build_key(
        "a", "1", "c", b"d", clinic()
    )
    with pytest.raises(pickle.UnpicklingError, match="may not construct"):
        builds.load_built(hostile)
    reference.engine.dispose()
    restarted.engine.dispose()
