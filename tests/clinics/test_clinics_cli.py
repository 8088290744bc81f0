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


QUOTE = [
    "--plan", "acme-ppo-gold", "--session-type", "deep_tissue", "--minutes", "53",
    "--referral", "prescription", "--referral-date", "2026-02-01", "--diagnosis", "M54.50",
    "--date", "2026-03-03", "--deductible-met", "450", "--oop-met", "450", "--visits-used", "3",
]  # fmt: skip


def test_quote_and_batch_name_the_location(grpc_target: str, tmp_path: Path) -> None:
    east = run("quote", *QUOTE, "--location", "harbor-eastside", "--json", "--target", grpc_target)
    assert east.returncode == 0, east.stderr
    estimate = json.loads(east.stdout)["estimate"]
    # Out of network at Eastside in March: $100.00 deductible + $68.00 balance billing.
    assert estimate["patient_pays"] == {"currency_code": "USD", "units": "168", "nanos": 0}
    assert estimate["network_source"] == "CLINIC_NETWORK_SOURCE_LOCATION"
    assert estimate["clinic_version"]["version"] == "1"
    table = run("quote", *QUOTE, "--location", "harbor-eastside", "--target", grpc_target)
    assert "harbor-eastside (clinic harbor 1; network from the location)" in table.stdout
    typo = run("quote", *QUOTE, "--location", "harbor-eastsid", "--target", grpc_target)
    assert typo.returncode == 1
    assert "--location" in typo.stderr and "did you mean 'harbor-eastside'" in typo.stderr
    rows = tmp_path / "rows.csv"
    rows.write_text(
        "row_id,plan_id,session_type,minutes,referral,referral_date,diagnosis_codes,"
        "date_of_service,deductible_met,oop_met,visits_used,location_id\n"
        "a,acme-ppo-gold,deep_tissue,53,prescription,2026-02-01,M54.50,2026-03-03,450,450,3,\n"
        "b,acme-ppo-gold,deep_tissue,53,prescription,2026-02-01,M54.50,2026-03-03,450,450,3,"
        "harbor-eastside\n",
        encoding="utf-8",
    )
    out = run("batch", str(rows), "-o", "-", "--format", "jsonl", "--target", grpc_target)
    assert out.returncode == 0, out.stderr
    a, b = (json.loads(line) for line in out.stdout.splitlines())
    # Row a: in network as before ($50.00 deductible + 20% of $74.00 = $64.80).
    assert (a["patient_pays"], b["patient_pays"]) == ("64.80", "168.00")


def test_publish_list_diff_locations_and_plans_at_a_location(tmp_path: Path) -> None:
    from tests.api.rules_helpers import running_server

    with running_server(tmp_path / "clinics.db") as app:
        target = ["--target", app.target]
        listed = run("clinics", "list", *target)
        assert listed.returncode == 0, listed.stderr
        assert "harbor" in listed.stdout and "harbor, harbor-eastside" in listed.stdout
        v2 = tmp_path / "2.yaml"
        v2.write_text(
            SAMPLE.read_text(encoding="utf-8")
            .replace('version: "1"', 'version: "2"')
            .replace('therapeutic: {30: "68.00", 45: "92.00", 60: "115.00"',
                     'therapeutic: {30: "68.00", 45: "92.00", 60: "125.00"'),
            encoding="utf-8",
        )  # fmt: skip
        published = run("clinics", "publish", str(v2), "--by", "admin", *target)
        assert published.returncode == 0, published.stderr
        assert published.stdout.startswith(f"published: {v2}: harbor 2, effective 2000-01-01")
        again = run("clinics", "publish", str(v2), "--by", "admin", *target)
        assert again.stdout.startswith(f"already published: {v2}: harbor 2")
        clash = tmp_path / "clash.yaml"
        clash.write_text(v2.read_text().replace('"125.00"', '"126.00"'), encoding="utf-8")
        refused = run("clinics", "publish", str(clash), "--by", "admin", *target)
        assert refused.returncode == 1
        assert "ALREADY_EXISTS" in refused.stderr
        changed = run("clinics", "diff", "harbor", "1", "2", *target)
        assert changed.returncode == 0, changed.stderr
        assert "harbor 1 -> 2: 2 change(s)" in changed.stdout  # the version label and the price
        assert "locations[harbor-eastside].cash_prices.therapeutic.60" in changed.stdout
        assert "115.00" in changed.stdout and "125.00" in changed.stdout
        shown = run("clinics", "show", "harbor", "2", *target)
        assert "Bellevue, WA 98004" in shown.stdout
        locs = run("clinics", "locations", "--date", "2026-03-03", "--json", *target)
        answer = json.loads(locs.stdout)
        assert answer["clinic_version"]["version"] == "2"
        east = answer["locations"][1]
        assert (east["id"], east["npi"]) == ("harbor-eastside", "1987654328")
        in_effect = [p["payer_id"] for p in east["in_network"] if p.get("in_effect")]
        assert in_effect == ["birch-health", "cedar-mutual", "summit-medicare-advantage"]
        march = run("plans", "--location", "harbor-eastside", "--date", "2026-03-03", "--json",
                    *target)  # fmt: skip
        assert march.returncode == 0, march.stderr
        plan_ids = [p["plan_id"] for p in json.loads(march.stdout)["plans"]]
        assert plan_ids == ["birch-hdhp-copay", "cedar-hdhp-hsa", "summit-ma-plus"]
        july = run("plans", "--location", "harbor-eastside", "--date", "2026-07-01", "--json",
                   *target)  # fmt: skip
        plan_ids = [p["plan_id"] for p in json.loads(july.stdout)["plans"]]
        assert plan_ids == ["acme-ppo-gold", "birch-hdhp-copay", "cedar-hdhp-hsa", "summit-ma-plus"]


def test_every_clinics_command_has_examples() -> None:
    for name in ("validate", "publish", "list", "show", "diff", "locations"):
        result = run("clinics", name, "--help")
        assert result.returncode == 0
        assert "Example" in result.stdout and f"massage-estimator clinics {name}" in result.stdout
