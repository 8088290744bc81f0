"""The sample clinic profile (payer_rules/clinics) beside the sample rule sets."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.domain.clinics import ClinicIndex, ClinicVersion
from service.domain.index import RuleIndex
from service.domain.model import Clinic
from service.domain.quoting import Quoter
from service.rulefiles import load_rules_dir
from service.rulefiles.clinics import ParsedClinicProfile, load_clinic_profiles_dir

RULES_DIR = Path(__file__).resolve().parents[2] / "payer_rules"
PUBLISHED_AT = datetime(2025, 11, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def catalogue_and_index() -> tuple[Clinic, RuleIndex]:
    clinic, parsed = load_rules_dir(RULES_DIR)
    return clinic, RuleIndex.build(p.to_version(PUBLISHED_AT, "tests") for p in parsed)


@pytest.fixture(scope="session")
def profile(catalogue_and_index: tuple[Clinic, RuleIndex]) -> ParsedClinicProfile:
    (parsed,) = load_clinic_profiles_dir(RULES_DIR / "clinics", catalogue_and_index[0])
    return parsed


@pytest.fixture(scope="session")
def clinic_version(profile: ParsedClinicProfile) -> ClinicVersion:
    return profile.to_version(PUBLISHED_AT, "tests")


@pytest.fixture
def quoter(catalogue_and_index: tuple[Clinic, RuleIndex], clinic_version: ClinicVersion) -> Quoter:
    clinic, index = catalogue_and_index
    return Quoter(index, clinic, ClinicIndex([clinic_version]))
