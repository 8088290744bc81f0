"""Clinic profile files: every problem in one pass, naming the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.domain.index import RuleIndex
from service.domain.model import Clinic, ProviderCredential
from service.rulefiles import RuleFileError
from service.rulefiles.clinics import (
    ParsedClinicProfile,
    load_clinic_profiles_dir,
    profile_from_clinic,
    validate_clinic_profile,
)

from .conftest import RULES_DIR

BAD = """
clinic: {id: harbor, name: Harbor}
version: "2"
effective_from: 2026-01-01
effective_to: 2025-12-31
default_location: harbr
locations:
  - id: harbor
    name: Harbor
    npi: "1234567890"
    tin: "123456789"
    address: [200 Harbor Way]
    charge_per_unit: {"97124": "40.00"}
    cash_prices:
      therapeutic: {60: "110.00"}
      therapeutc: {60: "110.00"}
    in_network:
      - {payer: acme-helth, effective_from: 2026-07-01, effective_to: 2026-06-30}
      - {payer: acme-health, plans: [acme-ppo-gld], effective_from: 2026-01-01}
"""


def test_every_problem_is_named_in_one_pass(catalogue_and_index: tuple[Clinic, RuleIndex]) -> None:
    clinic, _ = catalogue_and_index
    plans = {"acme-health": frozenset({"acme-ppo-gold"})}
    parsed, problems = validate_clinic_profile(BAD, "bad.yaml", clinic, plans)
    assert parsed is None
    found = {(p.source, p.field, p.severity) for p in problems}
    at = "locations[harbor]"
    assert found >= {
        ("bad.yaml", "effective_to", "error"),
        ("bad.yaml", "default_location", "error"),
        ("bad.yaml", f"{at}.npi", "error"),
        ("bad.yaml", f"{at}.tin", "error"),
        ("bad.yaml", f"{at}.charge_per_unit", "error"),  # 97140 (myofascial) has no charge
        ("bad.yaml", f"{at}.cash_prices.therapeutc", "error"),
        ("bad.yaml", f"{at}.cash_prices", "error"),  # relaxation has no prices
        ("bad.yaml", f"{at}.in_network[0].effective_to", "error"),
        ("bad.yaml", f"{at}.in_network[0].payer", "warning"),
        ("bad.yaml", f"{at}.in_network[1].plans", "error"),
    }
    text = {p.field: p.message for p in problems}
    assert 'Did you mean "harbor"' in text["default_location"]
    assert 'Did you mean "therapeutic"' in text[f"{at}.cash_prices.therapeutc"]
    assert 'Did you mean "acme-ppo-gold"' in text[f"{at}.in_network[1].plans"]


def test_structure_errors_name_the_field(catalogue_and_index: tuple[Clinic, RuleIndex]) -> None:
    text = BAD.replace("name: Harbor\n    npi", "nme: Harbor\n    npi")
    parsed, problems = validate_clinic_profile(text, "bad.yaml", catalogue_and_index[0])
    assert parsed is None
    assert any("nme" in p.field or "nme" in p.message for p in problems)


def test_the_sample_profile(profile: ParsedClinicProfile) -> None:
    assert (profile.clinic_id, profile.version, profile.default_location) == (
        "harbor",
        "1",
        "harbor",
    )
    eastside = profile.locations[1]
    assert (eastside.id, eastside.npi) == ("harbor-eastside", "1987654328")
    assert eastside.therapists[0].credential is ProviderCredential.LMT
    assert profile.checksum.startswith("sha256:")
    assert profile.warnings == ()


def test_formatting_does_not_change_the_checksum(
    tmp_path: Path, profile: ParsedClinicProfile, catalogue_and_index: tuple[Clinic, RuleIndex]
) -> None:
    source = (RULES_DIR / "clinics" / "harbor" / "1.yaml").read_text(encoding="utf-8")
    folder = tmp_path / "harbor"
    folder.mkdir()
    (folder / "1.yaml").write_text("# reformatted\n" + source.replace("  # joins mid-year", ""))
    (again,) = load_clinic_profiles_dir(tmp_path, catalogue_and_index[0])
    assert again.checksum == profile.checksum
    (folder / "1.yaml").write_text(source.replace('"115.00"', '"116.00"'))
    (changed,) = load_clinic_profiles_dir(tmp_path, catalogue_and_index[0])
    assert changed.checksum != profile.checksum


def test_a_folder_with_a_bad_file_names_it(
    tmp_path: Path, catalogue_and_index: tuple[Clinic, RuleIndex]
) -> None:
    (tmp_path / "bad.yaml").write_text(BAD)
    with pytest.raises(RuleFileError) as err:
        load_clinic_profiles_dir(tmp_path, catalogue_and_index[0])
    assert all(p.source.endswith("bad.yaml") for p in err.value.problems)


def test_clinic_yaml_becomes_a_one_location_profile(
    catalogue_and_index: tuple[Clinic, RuleIndex],
) -> None:
    clinic = catalogue_and_index[0]
    parsed = profile_from_clinic(clinic)
    (main,) = parsed.locations
    assert (parsed.default_location, main.npi, dict(main.cash_prices)) == (
        "main",
        "1234567893",
        dict(clinic.cash_prices),
    )


def test_the_docs_example_is_a_valid_profile(catalogue_and_index: tuple[Clinic, RuleIndex]) -> None:
    import re

    doc = (RULES_DIR.parent / "docs" / "rule-format.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"```yml\n(.*?)```", doc, re.S)
    parsed, problems = validate_clinic_profile(example, "docs", catalogue_and_index[0])
    assert parsed is not None, problems
    assert [loc.id for loc in parsed.locations] == ["harbor-eastside"]
