"""The real `massage-estimator eligibility` commands, run as subprocesses (no server)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from .conftest import FIXTURES

SCRIPT = Path(sys.executable).with_name("massage-estimator")
SUBSCRIBER = [
    "--payer-name", "Acme Health",
    "--payer-id", "60054",
    "--member-id", "ACM100200300",
    "--last-name", "Rivera",
    "--first-name", "Jordan",
    "--birth-date", "1985-04-12",
    "--gender", "f",
    "--date", "2026-03-03",
]  # fmt: skip


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "service.cli"]
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [*command, "eligibility", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        input=stdin,
        check=False,
    )


def test_request_writes_a_valid_270_to_stdout(x12_validate: Callable[[str], list[str]]) -> None:
    result = run("request", *SUBSCRIBER, "--control-number", "42")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ISA*00*          *00*          *ZZ*1234567893     *ZZ*60054   ")
    assert "NM1*1P*2*HARBOR INTEGRATIVE MASSAGE*****XX*1234567893~" in lines
    assert "TRN*1*000000042*1123456789~" in lines
    assert "NM1*IL*1*RIVERA*JORDAN****MI*ACM100200300~" in lines
    assert [line for line in lines if line.startswith("EQ")] == [
        "EQ*BE~",
        "EQ*AE~",
        "EQ*33~",
        "EQ*64~",
        "EQ*30~",
    ]
    assert x12_validate(result.stdout) == []


def test_request_for_a_dependant_to_a_file(
    tmp_path: Path, x12_validate: Callable[[str], list[str]]
) -> None:
    out = tmp_path / "larsen.270"
    result = run(
        "request",
        *SUBSCRIBER,
        "--dependent-last-name", "Rivera",
        "--dependent-first-name", "Sam",
        "--dependent-birth-date", "2014-06-01",
        "--test",
        "-o", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert re.fullmatch(rf"wrote {re.escape(str(out))} \(control number \d+\)\n", result.stderr)
    text = out.read_text()
    assert "NM1*03*1*RIVERA*SAM~" in text and "*T*:~" in text.splitlines()[0]
    assert x12_validate(text) == []
    assert [p.name for p in tmp_path.iterdir()] == ["larsen.270"]  # no temporary file left


def test_request_refuses_an_incomplete_dependant() -> None:
    result = run("request", *SUBSCRIBER, "--dependent-first-name", "Sam")
    assert result.returncode == 2
    assert "--dependent-last-name, --dependent-birth-date" in result.stderr
    assert "Traceback" not in result.stderr


def test_request_lists_every_problem_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "bad.270"
    args = [*SUBSCRIBER, "--date", "1980-01-01", "--payer-id", "X", "--last-name", "Ri*vera"]
    result = run("request", *args, "-o", str(out))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: the payer id must be 2 to 80 characters (it has 1)",
        "error: the subscriber's last name may not hold * ^ : ~, line breaks or non-ASCII "
        "characters",
        "error: the subscriber's date of birth is after the date of service",
        "error: the receiver id must be 2 to 15 characters (it has 1)",
    ]
    assert not out.exists()


def test_request_into_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = run("request", *SUBSCRIBER, "-o", str(tmp_path / "nope" / "x.270"))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: cannot write {tmp_path / 'nope' / 'x.270'}: ")


def test_request_gender_typo_suggests_the_word() -> None:
    result = run("request", *SUBSCRIBER[:-4], "--gender", "x", *SUBSCRIBER[-2:])
    assert result.returncode == 2
    assert "'x' is not one of f, m" in result.stderr


def test_read_shows_every_figure_of_an_active_ppo() -> None:
    result = run("read", str(FIXTURES / "acme-ppo-gold-active.271"))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(r"coverage\s+ACTIVE \(active coverage, 30 health benefit plan coverage\) - "
                     r"ACME PPO GOLD, preferred provider organization \(PPO\)", out)  # fmt: skip
    assert re.search(r"plan dates\s+2026-01-01 to 2026-12-31", out)
    assert re.search(r"answered by\s+BE massage therapy; 30 health benefit plan coverage", out)
    rows = [" ".join(line.split()) for line in out.splitlines()]
    for row in (
        "in individual deductible (calendar year) $500.00 $50.00 - 30",
        "in individual out-of-pocket maximum (calendar year) $3,000.00 $2,550.00 - 30",
        "in individual coinsurance 20% BE",
        "in individual visits (calendar year) 20 17 3 BE",
        "in individual prior authorization required BE",
        "out individual deductible (calendar year) $1,000.00 $1,000.00 - 30",
        "out individual coinsurance 40% BE",
        "BE massage therapy, in network: PRIOR AUTHORIZATION REQUIRED FROM VISIT 13",
    ):
        assert row in rows, row


def test_read_makes_a_rejection_impossible_to_miss() -> None:
    result = run("read", str(FIXTURES / "summit-ma-aaa-rejected.271"))
    assert result.returncode == 0, result.stderr
    assert "REJECTED: the payer did not answer the inquiry" in result.stdout
    assert (
        "subscriber: 75 subscriber/insured not found; please correct and resubmit" in result.stdout
    )


def test_read_says_why_coverage_is_inactive() -> None:
    result = run("read", str(FIXTURES / "cedar-hdhp-inactive.271"))
    assert re.search(
        r"coverage\s+INACTIVE \(inactive, 30 health benefit plan coverage\): COVERAGE "
        r"TERMINATED - EMPLOYMENT ENDED",
        result.stdout,
    )
    assert re.search(r"eligibility dates\s+2025-01-01 to 2026-03-31", result.stdout)


def test_read_json_from_standard_input() -> None:
    text = (FIXTURES / "birch-hdhp-copay.271").read_text()
    result = run("read", "-", "--json", stdin=text)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "active"
    in_ind = next(b for b in data["benefits"] if (b["network"], b["level"]) == ("in", "individual"))
    assert in_ind["deductible"] == {
        "value": "1500.00",
        "service_type": "30",
        "time_period": "23",
        "segment": 17,
    }
    assert in_ind["deductible_remaining"]["value"] == "50.00"
    assert in_ind["copay"]["value"] == "30.00"
    out_ind = next(
        b for b in data["benefits"] if (b["network"], b["level"]) == ("out", "individual")
    )
    assert out_ind["coinsurance"]["value"] == "0.40"
    assert data["member"]["member_id"] == "BH7788990"


def test_read_refuses_a_file_that_is_not_a_271(tmp_path: Path) -> None:
    bad = tmp_path / "inquiry.270"
    result = run("request", *SUBSCRIBER, "-o", str(bad))
    assert result.returncode == 0, result.stderr
    result = run("read", str(bad))
    assert result.returncode == 2
    assert result.stderr == (
        f"error: {bad} is not a readable 271: this is a 270 eligibility inquiry, not a 271 "
        "response\n"
    )
    missing = run("read", str(tmp_path / "none.271"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_the_group_is_listed_in_help() -> None:
    result = run("--help")
    assert result.returncode == 0
    assert re.search(r"request\s+Write a 270 eligibility inquiry", result.stdout)
    assert re.search(r"read\s+Show what a payer's 271", result.stdout)
