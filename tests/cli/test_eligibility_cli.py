"""A payer's 271 through the real CLI: `quote`, `plan` and `batch` take it, the disagreement
with the rule table is printed so it cannot be missed, typed flags still win, and a saved
quote prints as FHIR."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.cli.test_real_policies_cli import run
from tests.interop.conftest import FIXTURES

BIRCH_271 = str(FIXTURES / "birch-hdhp-copay.271")
BIRCH = [
    "--plan", "birch-hdhp-copay",
    "--session-type", "deep_tissue",
    "--minutes", "60",
    "--diagnosis", "M54.50",
    "--date", "2026-05-05",
]  # fmt: skip


def test_quote_with_a_271_boxes_the_disagreement(grpc_target: str) -> None:
    result = run("quote", *BIRCH, "--eligibility", BIRCH_271, "--target", grpc_target)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "THE PAYER'S 271 DISAGREES WITH THE RULE TABLE ON 1 TERM" in out
    assert "deductible" in out and "$1,600.00" in out and "$1,500.00" in out
    assert "priced by the rule table: Birch Health 2026.1" in out
    assert "deductible met: $1,550.00" in out
    # $50.00 of deductible left, then the $30.00 copay: the patient pays $80.00.
    assert out.index("DISAGREES") < out.index("patient pays")
    assert "$80.00" in out


def test_typed_flags_win_and_json_carries_the_check(grpc_target: str) -> None:
    result = run(
        "quote", *BIRCH, "--eligibility", BIRCH_271, "--deductible-met", "1600",
        "--json", "--target", grpc_target,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    est = json.loads(result.stdout)["estimate"]
    applied = [f["field"] for f in est["eligibility"]["applied"]]
    assert "deductible_met" not in applied and "out_of_pocket_met" in applied
    assert est["patient_cost"]["copay"] == {"currency_code": "USD", "units": "30", "nanos": 0}


def test_an_inactive_271_is_refused_in_the_payers_words(grpc_target: str) -> None:
    result = run(
        "quote", "--plan", "cedar-hdhp-hsa", "--session-type", "deep_tissue", "--minutes", "60",
        "--date", "2026-05-05", "--eligibility", str(FIXTURES / "cedar-hdhp-inactive.271"),
        "--target", grpc_target,
    )  # fmt: skip
    assert result.returncode == 1
    assert "coverage is not active" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_271_file_is_bad_usage(grpc_target: str, tmp_path: Path) -> None:
    result = run(
        "quote", *BIRCH, "--eligibility", str(tmp_path / "nope.271"), "--target", grpc_target
    )
    assert result.returncode == 2
    assert "cannot read" in result.stderr and "--eligibility" in result.stderr


def test_plan_and_batch_take_a_271(grpc_target: str, tmp_path: Path) -> None:
    plan = run(
        "plan", *[a for a in BIRCH if a not in ("--date", "2026-05-05")], "--date", "2026-05-05",
        "--sessions", "2", "--every-days", "7", "--eligibility", BIRCH_271,
        "--target", grpc_target,
    )  # fmt: skip
    assert plan.returncode == 0, plan.stderr
    assert "DISAGREES WITH THE RULE TABLE" in plan.stdout
    assert "$110.00" in plan.stdout  # $80.00, then the $30.00 copay
    rows = tmp_path / "rows.csv"
    rows.write_text(
        "row_id,plan_id,session_type,minutes,diagnosis_codes,date_of_service,eligibility\n"
        f"a,birch-hdhp-copay,deep_tissue,60,M54.50,2026-05-05,{BIRCH_271}\n"
        "b,birch-hdhp-copay,deep_tissue,60,M54.50,2026-05-05,\n"
    )
    out = tmp_path / "out.csv"
    result = run("batch", str(rows), "-o", str(out), "--target", grpc_target)
    assert result.returncode == 0, result.stderr
    answers = {r["row_id"]: r for r in csv.DictReader(out.open())}
    assert answers["a"]["patient_pays"] == "80.00"
    assert (
        answers["a"]["eligibility_disagreements"]
        == "deductible: rule table $1,600.00, 271 $1,500.00"
    )
    assert answers["b"]["patient_pays"] == "120.00"  # nothing met: all 4 units to the deductible
    assert answers["b"]["eligibility_disagreements"] == ""
