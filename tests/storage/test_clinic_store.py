"""Clinic profile versions in the store (SQLite and PostgreSQL): the migration moves today's
single profile in without touching a stored rule version, versions never change, and the
same content published again is the same version."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from service.domain.versions import PublishRejectedError
from service.rulefiles.clinics import load_clinic_profiles_dir
from service.storage import RuleStore, create_store
from service.storage.clinic_store import ClinicIntegrityError
from service.storage.store import MIGRATIONS_DIR

from .rulesets import RULES_DIR, clinic

T0 = datetime(2026, 1, 2, 9, 0, tzinfo=UTC)


def _sample() -> list:  # type: ignore[type-arg]
    return load_clinic_profiles_dir(RULES_DIR / "clinics", clinic())


def test_upgrading_a_store_of_revision_0001_keeps_every_rule_checksum(
    db_url: str, tmp_path: Path
) -> None:
    store = create_store(db_url)
    try:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            # the schema just before clinic profiles (today's code seeds through 0002's
            # withdrawal table, so the store starts there rather than at 0001)
            command.upgrade(cfg, "0002")
        store.use_builds = False  # the build cache's table (0005) does not exist yet
        assert store.seed_from_dir(RULES_DIR) == 9
        store.use_builds = True
        before = [(m.payer_id, m.version, m.checksum) for m in store.list_versions()]
        store.migrate()
        assert store.current_revision() == "0005"
        # A deployment whose rules folder has only clinic.yaml: it becomes one location.
        only_clinic_yaml = tmp_path / "rules"
        only_clinic_yaml.mkdir()
        (only_clinic_yaml / "clinic.yaml").write_text((RULES_DIR / "clinic.yaml").read_text())
        assert store.seed_clinics_from_dir(only_clinic_yaml, clinic()) == 1
        assert store.seed_clinics_from_dir(RULES_DIR, clinic()) == 0  # not empty any more
        after = [(m.payer_id, m.version, m.checksum) for m in store.list_versions()]
        assert after == before
        assert len(store.load_versions(clinic())) == 9  # rebuilt, checksums verified
        (version,) = store.load_clinic_versions(clinic())
        (main,) = version.locations
        assert (version.default_location, main.name, main.npi) == (
            "main",
            "Harbor Integrative Massage",
            "1234567893",
        )
        assert dict(main.cash_prices) == dict(clinic().cash_prices)
    finally:
        store.engine.dispose()


def test_publish_is_immutable_and_idempotent(store: RuleStore) -> None:
    assert store.latest_change_marker() == "0:0"
    assert store.seed_clinics_from_dir(RULES_DIR, clinic()) == 1
    marker = store.latest_change_marker()
    assert marker == "0:0/1:1"
    (parsed,) = _sample()
    again = store.publish_clinic(parsed, "someone")
    assert (again.created, again.version.version, again.version.published_by) == (
        False,
        "1",
        "sample-data",
    )
    content = dict(parsed.content)
    content["locations"] = [dict(loc) for loc in content["locations"]]
    content["locations"][1]["cash_prices"] = {
        "relaxation": {"60": "1.00"},
        "therapeutic": {"60": "2.00"},
    }
    from service.rulefiles.clinics import validate_clinic_profile_content

    changed, problems = validate_clinic_profile_content(content, "x.yaml", clinic())
    assert changed is not None, problems
    with pytest.raises(PublishRejectedError) as err:
        store.publish_clinic(changed, "someone")  # label "1" with other content
    assert [p.field for p in err.value.problems] == ["version"]
    content["version"] = "2"
    content["clinic"] = {"id": "other", "name": "Other"}
    other, _ = validate_clinic_profile_content(content, "y.yaml", clinic())
    assert other is not None
    with pytest.raises(PublishRejectedError) as err:
        store.publish_clinic(other, "someone")
    assert [p.field for p in err.value.problems] == ["clinic.id"]
    content["clinic"] = {"id": "harbor", "name": "Harbor Integrative Massage"}
    two, _ = validate_clinic_profile_content(content, "z.yaml", clinic())
    assert two is not None
    result = store.publish_clinic(two, "admin", now=T0)
    assert result.created and result.version.location_ids == ("harbor", "harbor-eastside")
    assert store.latest_change_marker() != marker
    versions = store.load_clinic_versions(clinic())
    assert [(v.version, v.published_by) for v in versions] == [("1", "sample-data"), ("2", "admin")]
    assert store.get_clinic_content("harbor", "2") == two.content


def test_a_changed_row_is_refused(store: RuleStore) -> None:
    store.seed_clinics_from_dir(RULES_DIR, clinic())
    content = store.get_clinic_content("harbor", "1")
    assert content is not None
    content["locations"][1]["charge_per_unit"]["97124"] = "1.00"
    with store.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE clinic_profile_version SET content = :c"), {"c": json.dumps(content)}
        )
    with pytest.raises(ClinicIntegrityError, match="published versions must never change"):
        store.load_clinic_versions(clinic())
