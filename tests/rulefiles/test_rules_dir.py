"""Loading a whole rules directory: every problem of every file in one RuleFileError, and
checks across files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from service.rulefiles import RuleFileError, load_rules_dir

from .conftest import RULES_DIR, acme_plan, sample_data, to_yaml


@pytest.fixture()
def rules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(RULES_DIR, target)
    return target


def test_problems_of_several_bad_files_are_collected(rules_copy: Path) -> None:
    acme = sample_data(rules_copy / "acme-health" / "2026.yaml")
    acme_plan(acme)["in_network"]["coinsurance_percent"] = "120"
    (rules_copy / "acme-health" / "2026.yaml").write_text(to_yaml(acme), encoding="utf-8")
    cedar = sample_data(rules_copy / "cedar-mutual" / "2026.yaml")
    acme_plan(cedar)["visit_limit"]["visits"] = 0
    (rules_copy / "cedar-mutual" / "2026.yaml").write_text(to_yaml(cedar), encoding="utf-8")
    (rules_copy / "broken.yml").write_text("payer: [\n", encoding="utf-8")

    with pytest.raises(RuleFileError) as excinfo:
        load_rules_dir(rules_copy)
    by_file = {
        (Path(p.source).relative_to(rules_copy).as_posix(), p.field) for p in excinfo.value.errors
    }
    assert (
        "acme-health/2026.yaml",
        "plans[acme-ppo-gold].in_network.coinsurance_percent",
    ) in by_file
    assert ("cedar-mutual/2026.yaml", "plans[cedar-hdhp-hsa].visit_limit.visits") in by_file
    assert any(f == "broken.yml" for f, _ in by_file)
    assert len(excinfo.value.errors) == 3


def test_clinic_problems_stop_the_load(rules_copy: Path) -> None:
    text = (rules_copy / "clinic.yaml").read_text(encoding="utf-8")
    (rules_copy / "clinic.yaml").write_text(text.replace("1234567893", "1234567890"))
    with pytest.raises(RuleFileError) as excinfo:
        load_rules_dir(rules_copy)
    (problem,) = excinfo.value.problems
    assert problem.source.endswith("clinic.yaml")
    assert problem.field == "npi"
    assert "check digit" in problem.message


def test_missing_clinic_file(rules_copy: Path) -> None:
    (rules_copy / "clinic.yaml").unlink()
    with pytest.raises(RuleFileError, match=r"clinic\.yaml: \(file\): the file does not exist"):
        load_rules_dir(rules_copy)


def test_same_version_label_twice_is_an_error(rules_copy: Path) -> None:
    shutil.copy(rules_copy / "acme-health" / "2026.yaml", rules_copy / "acme-health" / "copy.yaml")
    with pytest.raises(RuleFileError) as excinfo:
        load_rules_dir(rules_copy)
    (problem,) = excinfo.value.errors
    assert problem.field == "version"
    assert 'version "2026.1" of acme-health is also defined in' in problem.message


def test_plan_id_of_another_payer_is_an_error(rules_copy: Path) -> None:
    data = sample_data(rules_copy / "cedar-mutual" / "2026.yaml")
    acme_plan(data)["id"] = "acme-ppo-gold"
    (rules_copy / "cedar-mutual" / "2026.yaml").write_text(to_yaml(data), encoding="utf-8")
    with pytest.raises(RuleFileError) as excinfo:
        load_rules_dir(rules_copy)
    (problem,) = excinfo.value.errors
    assert problem.field == "plans[acme-ppo-gold].id"
    assert "already used by payer acme-health" in problem.message


def test_file_in_another_payers_folder_is_a_warning_only(rules_copy: Path) -> None:
    shutil.move(
        rules_copy / "cedar-mutual" / "2026.yaml", rules_copy / "acme-health" / "cedar.yaml"
    )
    clinic, rule_sets = load_rules_dir(rules_copy)
    assert len(rule_sets) == 9
    assert clinic.name == "Harbor Integrative Massage"


def test_default_dir_is_the_repos_payer_rules() -> None:
    _clinic, rule_sets = load_rules_dir()
    assert {r.payer_id for r in rule_sets} == {
        "acme-health",
        "contoso-health",
        "cedar-mutual",
        "summit-medicare-advantage",
        "rainier-public",
        "lakeside-health",
        "birch-health",
        "pacific-advantage",
    }
    assert all(Path(r.source).is_relative_to(RULES_DIR) for r in rule_sets)


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="is not a directory"):
        load_rules_dir(tmp_path / "nowhere")
