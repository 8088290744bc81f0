"""Requests without a location answer exactly as before clinic versions existed, with the
sample clinic profile loaded (the grid of tests/domain/golden.py, recorded before)."""

from __future__ import annotations

from service.domain.clinics import ClinicIndex, ClinicVersion
from service.domain.model import Clinic
from service.domain.quoting import Quoter
from tests.domain.golden import answer, grid, recorded
from tests.domain.test_stored_versions import _as_recorded

from .conftest import PUBLISHED_AT, RULES_DIR


def test_the_golden_grid_is_unchanged_with_the_clinic_profile(
    clinic_version: ClinicVersion,
) -> None:
    from service.domain.index import RuleIndex
    from service.rulefiles import load_rules_dir

    clinic, parsed = load_rules_dir(RULES_DIR)
    index = RuleIndex.build(p.to_version(PUBLISHED_AT, "domain-tests") for p in parsed)
    quoter = Quoter(index, clinic, ClinicIndex([clinic_version]))
    before = recorded()
    requests = grid()
    mismatches = [
        i
        for i, (request, want) in enumerate(zip(requests, before, strict=True))
        if _as_recorded(answer(quoter, request), {k: v for k, v in want.items() if k != "request"})
        != {k: v for k, v in want.items() if k != "request"}
    ]
    assert mismatches == []


def test_the_default_location_has_the_prices_of_clinic_yaml(
    clinic_version: ClinicVersion,
) -> None:
    from service.rulefiles import load_clinic_file

    clinic: Clinic = load_clinic_file(RULES_DIR / "clinic.yaml")
    harbor = clinic_version.location(clinic_version.default_location)
    assert harbor is not None
    assert (harbor.name, harbor.npi, harbor.tin) == (clinic.name, clinic.npi, clinic.tin)
    assert harbor.address_lines == clinic.address_lines
    assert dict(harbor.charge_per_unit) == dict(clinic.charge_per_unit)
    assert dict(harbor.cash_prices) == dict(clinic.cash_prices)
    assert harbor.default_provider is clinic.default_provider
