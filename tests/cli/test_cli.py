"""The real `massage-estimator` console script, run as a subprocess against a real server."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).with_name("massage-estimator")

EXAMPLE = [
    "--plan", "acme-ppo-gold",
    "--session-type", "deep_tissue",
    "--minutes", "53",
    "--referral", "prescription",
    "--referral-date", "2026-02-01",
    "--diagnosis", "M54.50",
    "--date", "2026-03-03",
    "--network", "in",
    "--injury", "none",
    "--deductible-met", "450",
    "--oop-met", "450",
    "--visits-used", "3",
]  # fmt: skip


def command() -> list[str]:
    """The installed console script, or the module when the venv has no script."""
    if SCRIPT.exists():
        return [str(SCRIPT)]
    return [sys.executable, "-m", "service.cli"]


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    env.pop("MASSAGE_ESTIMATOR_TARGET", None)
    return subprocess.run(
        [*command(), *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def test_quote_prints_a_readable_table(grpc_target: str) -> None:
    result = run("quote", *EXAMPLE, "--target", grpc_target)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "covered" in out and "yes (medical necessity)" in out
    assert re.search(r"allowed amount\s+\$124\.00", out)
    assert re.search(r"plan pays\s+\$59\.20", out)
    assert re.search(r"patient pays\s+\$64\.80", out)
    assert re.search(r"deductible.*\$50\.00", out)
    assert re.search(r"coinsurance.*\$14\.80", out)
    assert re.search(r"sessions remaining\s+16 of 20", out)
    assert "Reasons" in out
    assert "rule version: Acme Health (acme-health) 2026.1" in out


def test_self_pay_quote_shows_no_unspecified_enum(grpc_target: str) -> None:
    """A self-pay estimate has no unit method; the table printed "(unspecified)"."""
    result = run(
        "quote", "--plan", "self-pay", "--session-type", "swedish", "--minutes", "60",
        "--date", "2026-03-03", "--target", grpc_target,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "unspecified" not in result.stdout
    assert re.search(r"units\s+97124: 4 billed, 0 covered\s*$", result.stdout, re.M)


def test_quote_json_uses_proto_field_names(grpc_target: str) -> None:
    result = run("quote", *EXAMPLE, "--target", grpc_target, "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    est = body["estimate"]
    for field in (
        "covered", "allowed_amount", "plan_pays", "patient_pays", "billed_units",
        "covered_units", "sessions_remaining", "prior_authorization_required",
        "hsa_eligible", "rule_version",
    ):  # fmt: skip
        assert field in est, field
    assert "allowedAmount" not in est
    assert est["covered"] is True
    assert est["patient_pays"] == {"currency_code": "USD", "units": "64", "nanos": 800000000}
    assert est["plan_pays"] == {"currency_code": "USD", "units": "59", "nanos": 200000000}
    assert est["billed_units"] == 4 and est["covered_units"] == 4
    assert est["sessions_remaining"] == 16
    assert est["prior_authorization_required"] is False
    assert est["rule_version"]["plan_id"] == "acme-ppo-gold"
    assert est["rule_version"]["effective_from"] == {"year": 2026, "month": 1, "day": 1}


def test_dollar_amounts_are_exact_cents(grpc_target: str) -> None:
    args = [a if a != "450" else "450.00" for a in EXAMPLE]
    result = run("quote", *args, "--target", grpc_target, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["estimate"]["patient_pays"]["units"] == "64"


def test_plan_table_and_json(grpc_target: str) -> None:
    args = ["plan", *EXAMPLE, "--sessions", "4", "--every-days", "7", "--target", grpc_target]
    table = run(*args)
    assert table.returncode == 0, table.stderr
    assert "2026-03-03" in table.stdout and "2026-03-24" in table.stdout
    assert re.search(r"total\s+4 covered", table.stdout)
    result = run(*args, "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    sessions = body["sessions"]
    assert [s["date_of_service"]["day"] for s in sessions] == [3, 10, 17, 24]
    total = sum(
        int(s["patient_pays"]["units"]) * 100 + s["patient_pays"]["nanos"] // 10**7
        for s in sessions
    )
    paid = body["total_patient_pays"]
    assert int(paid["units"]) * 100 + paid["nanos"] // 10**7 == total == 6480 + 3 * 2480
    assert body["covered_session_count"] == 4


def test_invalid_input_from_the_server_exits_1_with_field_violations(grpc_target: str) -> None:
    args = [a if a != "53" else "0" for a in EXAMPLE]
    result = run("quote", *args, "--target", grpc_target)
    assert result.returncode == 1
    assert "INVALID_ARGUMENT" in result.stderr
    assert "session.minutes: must be between 1 and 240" in result.stderr
    assert "Traceback" not in result.stderr


def test_field_violations_name_the_flag_the_clerk_typed(grpc_target: str) -> None:
    """The service names request fields (recurrence.session_count); a clerk typed --sessions.
    A bare "reason: INVALID_ARGUMENT" line repeated the status and is left out."""
    args = [a if a != "53" else "0" for a in EXAMPLE]
    result = run("plan", *args, "--sessions", "0", "--target", grpc_target)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "error: INVALID_ARGUMENT: the request has 2 invalid fields:"
    assert "  - recurrence.session_count: must be 1 to 366, not 0 (--sessions)" in lines
    assert "  - session.minutes: must be between 1 and 240, got 0 (--minutes)" in lines
    assert not any(line.strip() == "reason: INVALID_ARGUMENT" for line in lines)
    diagnosis = run("quote", *EXAMPLE, "--diagnosis", "xx", "--target", grpc_target)
    assert re.search(r"session\.diagnosis_codes\[1\]: .* \(--diagnosis\)$", diagnosis.stderr, re.M)


def test_unknown_plan_exits_1_with_not_found(grpc_target: str) -> None:
    args = [a if a != "acme-ppo-gold" else "acme-ppo-gld" for a in EXAMPLE]
    result = run("quote", *args, "--target", grpc_target)
    assert result.returncode == 1
    assert "NOT_FOUND" in result.stderr and "did you mean 'acme-ppo-gold'" in result.stderr


def test_date_without_rules_exits_1_with_failed_precondition(grpc_target: str) -> None:
    args = [a if a != "2026-03-03" else "2025-03-03" for a in EXAMPLE]
    args = [a if a != "2026-02-01" else "2025-02-01" for a in args]
    result = run("quote", *args, "--target", grpc_target)
    assert result.returncode == 1
    assert "FAILED_PRECONDITION" in result.stderr and "2025-03-03" in result.stderr


@pytest.mark.parametrize(
    "bad",
    [
        ["--network", "sideways"],
        ["--injury", "boat"],
        ["--deductible-met", "1.005"],
        ["--oop-met", "lots"],
        ["--date", "2026-13-01"],
        ["--minutes", "fifty"],
    ],
)
def test_bad_usage_exits_2(grpc_target: str, bad: list[str]) -> None:
    result = run("quote", *EXAMPLE, *bad, "--target", grpc_target)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("command_args", "flag", "value"),
    [
        (["quote", *EXAMPLE], "--date", "2026-02-30"),
        (["quote", *EXAMPLE], "--referral-date", "02/01/2026"),
        (["plan", *EXAMPLE, "--sessions", "2"], "--date", "2026-13-01"),
        (
            ["gfe", "--client-name", "Jane", "--session-type", "swedish", "--minutes", "60"],
            "--client-dob",
            "1985-02-29",
        ),
    ],
)
def test_a_day_that_does_not_exist_is_named_in_words(
    command_args: list[str], flag: str, value: str
) -> None:
    """Typer's date type answered "Value error, '2026-02-30' does not match the formats
    '%Y-%m-%d'." for a real-looking date; a clerk needs to hear that the day does not exist."""
    result = run(*command_args, flag, value, "--target", "127.0.0.1:1")
    assert result.returncode == 2, result.stdout + result.stderr
    text = " ".join(result.stderr.replace("│", " ").split())
    assert f"{value!r} is not a date (expected YYYY-MM-DD)" in text, text
    assert "Value error" not in text and "%Y" not in text


@pytest.mark.parametrize(
    ("flag", "value", "hint"),
    [
        ("--referral", "prescripton", "(did you mean 'prescription'?)"),
        ("--network", "inn", "(did you mean 'in'?)"),
        ("--injury", "wrok", "(did you mean 'work'?)"),
    ],
)
def test_a_mistyped_choice_gets_did_you_mean(flag: str, value: str, hint: str) -> None:
    """A mistyped word names the nearest one, not just "is not one of ..."."""
    result = run("quote", *EXAMPLE, flag, value, "--target", "127.0.0.1:1")
    assert result.returncode == 2, result.stderr
    text = " ".join(result.stderr.replace("│", " ").split())
    assert f"{value!r} is not one of " in text and hint in text, text
    assert "Value error" not in text


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["batch", "docs/batch-example.csv", "-o", "-", "--format", "jsnl"], "'jsonl'"),
        (["batch", "docs/batch-example.csv", "-o", "-", "--input-format", "cvs"], "'csv'"),
        (["rules", "show", "acme-health", "2026.1", "--format", "ymal"], "'yaml'"),
    ],
)
def test_a_mistyped_format_gets_did_you_mean(args: list[str], hint: str) -> None:
    result = run(*args, "--target", "127.0.0.1:1")
    assert result.returncode == 2, result.stderr
    text = " ".join(result.stderr.replace("│", " ").split())
    assert f"(did you mean {hint}?)" in text and "Value error" not in text, text


def test_choices_are_case_insensitive(grpc_target: str) -> None:
    args = [a.upper() if a in ("prescription", "in", "none") else a for a in EXAMPLE]
    assert "PRESCRIPTION" in args and "IN" in args
    result = run("quote", *args, "--json", "--target", grpc_target)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["estimate"]["patient_pays"]["units"] == "64"


def test_missing_required_flag_exits_2() -> None:
    result = run("quote", "--plan", "acme-ppo-gold")
    assert result.returncode == 2


def test_unreachable_service_exits_1() -> None:
    result = run("quote", *EXAMPLE, "--target", "127.0.0.1:1", "--timeout", "5")
    assert result.returncode == 1
    assert "cannot reach" in result.stderr


def test_serve_starts_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    db = tmp_path / "served.db"
    env = {**os.environ, "MASSAGE_ESTIMATOR_SHUTDOWN_GRACE_SECONDS": "1"}
    proc = subprocess.Popen(
        [*command(), "serve", "--port", "0", "--database-url", f"sqlite:///{db}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        target = None
        deadline = time.monotonic() + 30
        assert proc.stderr is not None
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            match = re.search(r"listening on (\S+): 9 rule versions, 8 plans", line)
            if match:
                target = match.group(1)
                break
        assert target is not None, "serve never reported its address"
        result = run("quote", *EXAMPLE, "--target", target, "--json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["estimate"]["patient_pays"]["units"] == "64"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0


def test_serve_with_a_bad_setting_exits_2(tmp_path: Path) -> None:
    result = run("serve", "--port", "70000", "--database-url", f"sqlite:///{tmp_path}/x.db")
    assert result.returncode == 2
    assert "port" in result.stderr


def test_a_bad_log_level_reads_as_words(tmp_path: Path) -> None:
    """pydantic's "Value error, " prefix was printed as part of the operator's message."""
    result = run("serve", "--log-level", "verbose", "--database-url", f"sqlite:///{tmp_path}/x.db")
    assert result.returncode == 2
    assert result.stderr.startswith("error: setting log_level: log_level must be one of ")
    assert "Value error" not in result.stderr


def test_serve_with_broken_rule_files_exits_1_naming_the_problem(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "clinic.yaml").write_text("name: [unclosed\n")
    result = run(
        "serve",
        "--port",
        "0",
        "--database-url",
        f"sqlite:///{tmp_path}/x.db",
        "--rules-dir",
        str(rules),
    )
    assert result.returncode == 1
    assert "cannot start" in result.stderr and "clinic.yaml" in result.stderr
    assert "Traceback" not in result.stderr
