"""The real `massage-estimator clinics ...` console script."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_rules_cli import run

from .conftest import RULES_DIR

SAMPLE = RULES_DIR / "clinics" / "harbor" / "1.yaml"


def test_validate_offline_names_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        SAMPLE.read_text(encoding="utf-8")
        .replace('npi: "1987654328"', 'npi: "1987654320"')
        .replace("default_location: harbor\n", "default_location: harbour\n")
        .replace(
            "{payer: birch-health, effective_from: 2026-01-01}\n      - {payer: cedar",
            "{payer: birch-helth, effective_from: 2026-01-01}\n      - {payer: cedar",
        ),
        encoding="utf-8",
    )
    out = run("clinics", "validate", str(SAMPLE), str(bad))
    assert out.returncode == 1, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith(f"ok: {SAMPLE}: harbor 1, sha256:")
    assert f"invalid: {bad}: 2 error(s)" in lines
    assert f"  error: {bad}: default_location: " in out.stdout
    assert f"  error: {bad}: locations[harbor-eastside].npi: " in out.stdout
    assert (
        f"  warning: {bad}: locations[harbor-eastside].in_network[1].payer: no published rules "
        'know payer "birch-helth". Did you mean "birch-health"?' in lines
    )
    good = run("clinics", "validate", str(SAMPLE), "--json")
    assert good.returncode == 0, good.stderr
    (answer,) = json.loads(good.stdout)
    assert (answer["valid"], answer["clinic_id"], answer["version"]) == (True, "harbor", "1")
