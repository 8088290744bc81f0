"""The clauses of the real payer policies through the real CLI: the new session flags reach
the service and change the figures as hand-computed, a batch carries them as columns, and
`rules validate --offline` lists every problem of a file at once with no service running."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(sys.executable).with_name("massage-estimator")


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "service.cli"]
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    for name in ("MASSAGE_ESTIMATOR_TARGET", "MASSAGE_ESTIMATOR_CONFIG", "MASSAGE_ESTIMATOR_TOKEN"):
        env.pop(name, None)
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


BIRCH = [
    "--plan", "birch-hdhp-copay",
    "--session-type", "deep_tissue",
    "--minutes", "60",
    "--diagnosis", "M62.830",
    "--date", "2026-06-08",
]  # fmt: skip


def money(dollars: str) -> dict[str, object]:
    """A whole-dollar google.type.Money as --json prints it."""
    return {"currency_code": "USD", "units": dollars, "nanos": 0}


def _estimate(result: subprocess.CompletedProcess[str]) -> dict:  # type: ignore[type-arg]
    assert result.returncode == 0, result.stderr
    data: dict = json.loads(result.stdout)  # type: ignore[type-arg]
    return data["estimate"]  # type: ignore[no-any-return]


def test_family_totals_and_the_copay_after_the_deductible(grpc_target: str) -> None:
    est = _estimate(
        run(
            "quote", *BIRCH, "--deductible-met", "1000", "--oop-met", "1000",
            "--family-deductible-met", "3150", "--family-oop-met", "3150",
            "--json", "--target", grpc_target,
        )
    )  # fmt: skip
    # The family has $3,200 - $3,150 = $50.00 of deductible left: $50.00, then the $30.00
    # copay on the $70.00 left; plan $40.00 (tests/domain/test_engine_birch.py).
    assert est["patient_cost"]["deductible"] == money("50")
    assert est["patient_cost"]["copay"] == money("30")
    assert est["plan_pays"] == money("40")
    assert est["accumulators_after"]["family_deductible_met"] == money("3200")


def test_same_day_code_units_today_and_provider(grpc_target: str) -> None:
    reduced = _estimate(
        run(
            "quote", *BIRCH, "--deductible-met", "1600", "--oop-met", "1600",
            "--same-day-code", "98941", "--json", "--target", grpc_target,
        )
    )  # fmt: skip
    # $120.00 at 50% = $60.00; copay $30.00; plan $30.00.
    assert reduced["allowed_amount"] == money("60")
    assert any(i["kind"] == "LINE_ITEM_KIND_REDUCTION" for i in reduced["line_items"])
    ineligible = _estimate(
        run("quote", *BIRCH, "--provider", "md_do", "--json", "--target", grpc_target)
    )
    assert "PROVIDER_NOT_ELIGIBLE" in [r["code"] for r in ineligible["reasons"]]
    capped = _estimate(
        run(
            "quote", "--plan", "rainier-ump-classic", "--session-type", "deep_tissue",
            "--minutes", "60", "--referral", "prescription", "--referral-date", "2026-01-15",
            "--diagnosis", "M54.50", "--date", "2026-05-04", "--deductible-met", "250",
            "--oop-met", "250", "--units-today", "2", "--json", "--target", grpc_target,
        )
    )  # fmt: skip
    assert (capped["covered_units"], capped["billed_units"]) == (2, 4)


def test_the_table_shows_what_is_left_of_the_plans_maximum(grpc_target: str) -> None:
    result = run(
        "quote", "--plan", "lakeside-choice-ppo", "--session-type", "deep_tissue",
        "--minutes", "60", "--referral", "prescription", "--referral-date", "2026-03-01",
        "--diagnosis", "M54.50", "--date", "2026-03-02", "--benefit-paid", "1150",
        "--visits-used", "4", "--target", grpc_target,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "plan maximum left     $0.00 this benefit period" in result.stdout
    assert "patient pays          $78.00" in result.stdout
    assert "above the plan's maximum of $1,200.00 a benefit period" in result.stdout


def test_other_network_totals_count_on_a_combined_plan(grpc_target: str) -> None:
    est = _estimate(
        run(
            "quote", "--plan", "rainier-ump-classic", "--session-type", "deep_tissue",
            "--minutes", "60", "--referral", "prescription", "--referral-date", "2026-01-15",
            "--diagnosis", "M54.50", "--date", "2026-05-04", "--deductible-met", "100",
            "--oop-met", "100", "--other-network-deductible-met", "150",
            "--other-network-oop-met", "150", "--json", "--target", grpc_target,
        )
    )  # fmt: skip
    # $100 + $150 = $250.00 met: 15% of $120.00 = $18.00.
    assert est["patient_pays"] == money("18")


def test_a_bad_new_flag_value_names_the_flag(grpc_target: str) -> None:
    result = run("quote", *BIRCH, "--provider", "nurse", "--target", grpc_target)
    assert result.returncode == 2
    assert "--provider" in result.stderr
    result = run("quote", *BIRCH, "--units-today", "200", "--target", grpc_target)
    assert result.returncode == 1, result.stdout  # refused by the service
    assert "--units-today" in result.stderr and "between 0 and 96" in result.stderr


def test_batch_columns_carry_the_clauses(grpc_target: str, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(
        "row_id,plan_id,session_type,minutes,diagnosis_codes,date_of_service,deductible_met,"
        "oop_met,family_deductible_met,same_day_procedure_codes,provider_credential\n"
        "a,birch-hdhp-copay,deep_tissue,60,M62.830,2026-06-08,1000,1000,3150,,\n"
        "b,birch-hdhp-copay,deep_tissue,60,M62.830,2026-06-08,1600,1600,,98940;97161,\n"
        "c,birch-hdhp-copay,deep_tissue,60,M62.830,2026-06-08,0,0,,,md_do\n"
        "d,birch-hdhp-copay,deep_tissue,60,M62.830,2026-06-08,0,0,,,nurse\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    result = run("batch", str(source), "-o", str(out), "--target", grpc_target)
    assert result.returncode == 0, result.stderr
    rows = {r["row_id"]: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert (rows["a"]["patient_pays"], rows["a"]["plan_pays"]) == ("80.00", "40.00")
    assert (rows["b"]["allowed_amount"], rows["b"]["plan_pays"]) == ("60.00", "30.00")
    assert rows["c"]["status"] == "not_covered" and "PROVIDER_NOT_ELIGIBLE" in rows["c"]["reasons"]
    assert rows["d"]["status"] == "error"
    assert "provider_credential" in rows["d"]["error_message"]


def test_batch_writes_what_is_left_of_the_plans_maximum(grpc_target: str, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(
        "plan_id,session_type,minutes,referral,referral_date,diagnosis_codes,date_of_service,"
        "visits_used,benefit_paid\n"
        "lakeside-choice-ppo,deep_tissue,60,prescription,2026-03-01,M54.50,2026-03-02,0,0\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    assert run("batch", str(source), "-o", str(out), "--target", grpc_target).returncode == 0
    (row,) = csv.DictReader(out.open(encoding="utf-8"))
    assert (row["patient_pays"], row["benefit_remaining"]) == ("38.00", "1110.00")


def test_validate_offline_lists_every_problem_without_a_service(tmp_path: Path) -> None:
    draft = tmp_path / "lakeside-draft.yaml"
    draft.write_text(
        """payer: {id: lakeside-health, name: Lakeside Health}
version: "2026.9"
effective_from: 2026-01-01
plans:
  - id: lakeside-choice-ppo
    name: Lakeside Choice PPO
    coverage_basis: medical_necessity
    benefit_period: {type: calendar_year}
    covered_session_types: [therapeutic]
    referral: {required: true, accepted: [prescription], valid_days: 90, valid_months: 3}
    qualifying_diagnoses: [M, M54.5X]
    units: {method: cms_8_minute, max_per_visit: 4}
    in_network:
      allowed_per_unit: {"97124": "32.00", "97140": "30.00"}
      copay:
        - {from_visit: 1, to_visit: 10, amount: "20.00"}
        - {from_visit: 11, amount: 40.0}
      max_plan_payment_per_visit: "90.00"
      deductible: "0.00"
    visit_limit: {visits: 24}
""",
        encoding="utf-8",
    )
    # No --target and no server: the checks run here. An unreachable target proves it.
    result = run("rules", "validate", str(draft), "--offline", "--target", "127.0.0.1:9")
    assert result.returncode == 1, result.stderr
    lines = [line.strip() for line in result.stdout.splitlines()]
    p = f"{draft}: plans[lakeside-choice-ppo]"
    assert f"invalid: {draft}: 5 error(s)" in lines
    for where, what in [
        ("in_network.copay[#2].amount", 'write money in quotes with two decimals, like "40.00"'),
        ("in_network.max_plan_payment_per_visit", 'Did you mean "plan_payment_limit.per_visit"?'),
        ("referral.valid_months", "give either valid_days or valid_months, not both"),
        ("qualifying_diagnoses", '"M" alone would match a whole chapter'),
        ("in_network.deductible_applies", "say whether the deductible applies to massage"),
    ]:
        assert any(line.startswith(f"error: {p}.{where}: ") and what in line for line in lines), (
            where,
            result.stdout,
        )
    assert any(line.startswith(f"warning: {p}.qualifying_diagnoses: ") for line in lines)
    assert "checked offline" in result.stdout


def test_validate_offline_against_another_clinic(tmp_path: Path) -> None:
    clinic = Path(__file__).resolve().parents[2] / "payer_rules" / "clinic.yaml"
    text = clinic.read_text(encoding="utf-8").replace('"97140": "40.00"', '"97999": "40.00"')
    other = tmp_path / "clinic.yaml"
    other.write_text(text.replace('"97140"', '"97999"'), encoding="utf-8")
    acme = Path(__file__).resolve().parents[2] / "payer_rules" / "acme-health" / "2026.yaml"
    assert run("rules", "validate", str(acme), "--offline").returncode == 0
    result = run("rules", "validate", str(acme), "--offline", "--clinic", str(other))
    assert result.returncode == 1
    assert "unknown CPT code 97140: the clinic bills 97124, 97999" in result.stdout
    missing = run("rules", "validate", str(acme), "--offline", "--clinic", str(tmp_path / "no"))
    assert missing.returncode == 2 and "cannot read the clinic profile" in missing.stderr


def test_validate_offline_checks_the_files_against_each_other(tmp_path: Path) -> None:
    rules = Path(__file__).resolve().parents[2] / "payer_rules"
    birch = (rules / "birch-health" / "2026.yaml").read_text(encoding="utf-8")
    again = tmp_path / "birch-again.yaml"  # the same label, other content
    again.write_text(birch.replace('"1600.00"', '"1700.00"', 1), encoding="utf-8")
    stolen = tmp_path / "acme-with-birch-plan.yaml"  # a plan id of another payer
    stolen.write_text(
        birch.replace("id: birch-health", "id: acme-health").replace('"2026.1"', '"2026.9"'),
        encoding="utf-8",
    )
    result = run(
        "rules", "validate", str(rules / "birch-health" / "2026.yaml"), str(again), str(stolen),
        "--offline",
    )  # fmt: skip
    assert result.returncode == 1, result.stdout
    assert f'version "2026.1" of birch-health is also defined in {rules}' in result.stdout
    assert 'plan id "birch-hdhp-copay" is already used by payer birch-health' in result.stdout
