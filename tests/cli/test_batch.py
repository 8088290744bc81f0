"""`massage-estimator batch`: the real console script against the real server (port 0).

Expected figures are literals from the sample rules (payer_rules/), the same hand-checked
numbers as test_cli.py's quote (acme-ppo-gold, 53 minutes: patient $64.80, plan $59.20) and
clinic.yaml's cash prices (self-pay deep tissue 60 minutes: $110.00); large batches are
cross-checked row by row against the single-session RPC.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from massage_estimator.v1 import estimator_pb2 as pb
from massage_estimator.v1 import estimator_pb2_grpc as pb_grpc

from service.domain.money import dollars_str
from service.wire import cents_from_money, date_to_proto, money_to_proto
from tests.cli.terminal import run_on_pty

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).with_name("massage-estimator")
SUMMARY = re.compile(
    r"(\d+) rows: (\d+) covered, (\d+) not covered, (\d+) errors.*?; "
    r"([\d.]+) s, ([\d,]+) quotes/s"
)

HEADER = (
    "row_id,plan_id,session_type,minutes,referral,referral_date,diagnosis_codes,"
    "date_of_service,network,injury,deductible_met,oop_met,visits_used,prior_auth_on_file"
)
GOOD = "good,acme-ppo-gold,deep_tissue,53,prescription,2026-02-01,M54.50,2026-03-03,in,none,450,450,3,false"  # noqa: E501
MIXED_ROWS = {
    "good": GOOD,
    "cash": "cash,self-pay,deep_tissue,60,,,,2026-03-03,,,,,,",
    "baddate": GOOD.replace("good,", "baddate,").replace("2026-03-03", "2026-02-30"),
    "typo": GOOD.replace("good,", "typo,").replace("deep_tissue", "deep_tisue"),
    "zero": GOOD.replace("good,", "zero,").replace(",53,", ",0,"),
    "plan": GOOD.replace("good,", "plan,").replace("acme-ppo-gold", "acme-ppo-gld"),
    "cents": GOOD.replace("good,", "cents,").replace(",450,450,", ",1.005,450,"),
    "norules": GOOD.replace("good,", "norules,")
    .replace("2026-03-03", "2025-03-03")
    .replace("2026-02-01", "2025-02-01"),
    "swedish": "swedish,acme-ppo-gold,swedish,60,,,,2026-03-03,in,none,0,0,0,no",
}


def command() -> list[str]:
    return [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "service.cli"]


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    for name in ("MASSAGE_ESTIMATOR_TARGET", "MASSAGE_ESTIMATOR_CONFIG", "MASSAGE_ESTIMATOR_TOKEN"):
        env.pop(name, None)
    return subprocess.run(
        [*command(), *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def mixed_csv(path: Path) -> Path:
    path.write_text(HEADER + "\n" + "\n".join(MIXED_ROWS.values()) + "\n")
    return path


def read_csv(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as fh:
        return {row["row_id"]: row for row in csv.DictReader(fh)}


def test_mixed_rows_get_the_right_status_and_the_batch_goes_on(
    grpc_target: str, tmp_path: Path
) -> None:
    out = tmp_path / "out.csv"
    result = run(
        "batch", str(mixed_csv(tmp_path / "in.csv")), "-o", str(out), "--target", grpc_target
    )
    assert result.returncode == 0, result.stderr
    rows = read_csv(out)
    assert list(rows) == list(MIXED_ROWS)  # every row, in input order

    good = rows["good"]
    assert good["status"] == "covered" and good["covered"] == "true"
    assert (good["patient_pays"], good["plan_pays"], good["allowed_amount"]) == (
        "64.80",  # $50.00 deductible + 20% of the remaining $74.00
        "59.20",
        "124.00",  # 4 units x $31.00
    )
    assert (good["billed_units"], good["covered_units"], good["sessions_remaining"]) == (
        "4",
        "4",
        "16",
    )
    assert good["rule_version"] == "acme-health 2026.1"
    assert good["prior_authorization_required"] == "false"
    assert "COVERED" in good["reasons"].split(";")
    assert good["error_code"] == good["error_message"] == ""

    cash = rows["cash"]
    assert cash["status"] == "not_covered" and cash["patient_pays"] == "110.00"
    assert cash["reasons"] == "SELF_PAY" and cash["rule_version"] == ""

    swedish = rows["swedish"]  # relaxation massage: not covered, the prescription is missing
    assert swedish["status"] == "not_covered" and swedish["patient_pays"] == "95.00"
    assert "PRESCRIPTION" in swedish["missing"].split(";")

    def error(row_id: str) -> tuple[str, str]:
        row = rows[row_id]
        assert row["status"] == "error", row
        assert row["patient_pays"] == "" and row["covered"] == ""
        return row["error_code"], row["error_message"]

    assert error("baddate") == (
        "INVALID_ARGUMENT",
        "date_of_service: '2026-02-30' is not a date (expected YYYY-MM-DD)",
    )
    code, message = error("typo")
    assert code == "INVALID_ARGUMENT"
    assert message.startswith("session_type: unknown session type 'deep_tisue'")
    assert "did you mean 'deep_tissue'?" in message
    assert error("zero") == ("INVALID_ARGUMENT", "minutes: must be between 1 and 240, got 0")
    code, message = error("plan")
    assert code == "NOT_FOUND"
    assert message == "plan_id: unknown plan 'acme-ppo-gld'; did you mean 'acme-ppo-gold'?"
    code, message = error("cents")
    assert code == "INVALID_ARGUMENT" and message.startswith("deductible_met: ")
    assert "fraction of a cent" in message
    code, message = error("norules")
    assert code == "FAILED_PRECONDITION" and "2025-03-03" in message

    summary = SUMMARY.search(result.stderr)
    assert summary is not None, result.stderr
    assert summary.group(1, 2, 3, 4) == ("9", "1", "2", "6")


def test_jsonl_in_and_out_keep_types(grpc_target: str, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    lines = [
        {
            "row_id": "a",
            "plan_id": "acme-ppo-gold",
            "session_type": "deep_tissue",
            "minutes": 53,
            "referral": "prescription",
            "referral_date": "2026-02-01",
            "diagnosis_codes": ["M54.50"],
            "date_of_service": "2026-03-03",
            "deductible_met": "450.00",
            "oop_met": 450,
            "visits_used": 3,
            "prior_auth_on_file": False,
        },
        {
            "row_id": "b",
            "plan_id": "self-pay",
            "session_type": "sports",
            "minutes": 45,
            "date_of_service": "2026-03-03",
        },
        {
            "row_id": "c",
            "plan_id": "self-pay",
            "session_type": "sports",
            "minutes": "many",
            "date_of_service": "2026-03-03",
        },
    ]
    source.write_text("\n".join(json.dumps(x) for x in lines) + "\n" + "this is not json\n")
    out = tmp_path / "out.jsonl"
    result = run("batch", str(source), "-o", str(out), "--target", grpc_target, "-q")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["row_id"] for r in rows] == ["a", "b", "c", "4"]
    a, b, c, bad = rows
    assert a["covered"] is True and a["status"] == "covered"
    assert a["patient_pays"] == "64.80" and a["plan_pays"] == "59.20"
    assert a["billed_units"] == 4 and a["sessions_remaining"] == 16
    assert isinstance(a["reasons"], list) and "COVERED" in a["reasons"]
    assert b["covered"] is False and b["patient_pays"] == "88.00"  # therapeutic, 45 minutes
    assert b["sessions_remaining"] is None
    assert c["status"] == "error" and c["error_message"] == "minutes: 'many' is not a whole number"
    assert bad["status"] == "error" and bad["error_message"].startswith("row: not a JSON object")
    assert "4 rows: 1 covered, 1 not covered, 2 errors" in result.stderr


def test_ten_thousand_rows_complete_with_throughput(
    grpc_target: str, grpc_stub: pb_grpc.EstimatorServiceStub, tmp_path: Path
) -> None:
    source = tmp_path / "big.csv"
    made = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "make_batch.py"),
            "10000",
            "-o",
            str(source),
            "--bad-every",
            "100",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    out = tmp_path / "big-out.csv"
    result = run("batch", str(source), "-o", str(out), "--target", grpc_target)
    assert result.returncode == 0, result.stderr
    summary = SUMMARY.search(result.stderr)
    assert summary is not None, result.stderr
    total, covered, not_covered, errors = (int(g) for g in summary.group(1, 2, 3, 4))
    assert total == 10000 and covered + not_covered + errors == 10000
    assert errors == 100  # every 100th row is made bad
    assert covered > 0 and not_covered > 0
    assert float(summary.group(5)) > 0 and int(summary.group(6).replace(",", "")) > 0

    with source.open(newline="") as fh:
        inputs = list(csv.DictReader(fh))
    outputs = list(read_csv(out).values())
    assert [o["row_id"] for o in outputs] == [i["row_id"] for i in inputs]
    assert sum(o["status"] == "error" for o in outputs) == 100

    # Every 97th row, priced alone through EstimateSession, gives the same answer.
    for source_row, output_row in list(zip(inputs, outputs, strict=True))[::97]:
        if output_row["status"] == "error":
            continue
        single = grpc_stub.EstimateSession(
            pb.EstimateSessionRequest(session=session_of(source_row)), timeout=30
        ).estimate
        assert output_row["patient_pays"] == dollars_str(cents_from_money(single.patient_pays))
        assert output_row["plan_pays"] == dollars_str(cents_from_money(single.plan_pays))
        assert output_row["covered"] == ("true" if single.covered else "false")
        assert output_row["billed_units"] == str(single.billed_units)


def session_of(row: dict[str, str]) -> pb.SessionDetails:
    """The request a make_batch.py row stands for, built independently of the CLI's parser."""
    from datetime import date

    from service.domain.money import parse_dollars

    kinds = {
        "": pb.REFERRAL_KIND_NONE,
        "prescription": pb.REFERRAL_KIND_PRESCRIPTION,
        "physician_referral": pb.REFERRAL_KIND_PHYSICIAN_REFERRAL,
        "integrative_care_plan": pb.REFERRAL_KIND_INTEGRATIVE_CARE_PLAN,
    }
    details = pb.SessionDetails(
        plan_id=row["plan_id"],
        session_type=row["session_type"],
        minutes=int(row["minutes"]),
        referral=pb.Referral(kind=kinds[row["referral"]]),
        diagnosis_codes=row["diagnosis_codes"].replace(";", " ").split(),
        date_of_service=date_to_proto(date.fromisoformat(row["date_of_service"])),
        network=pb.NETWORK_OUT if row["network"] == "out" else pb.NETWORK_IN,
        accumulators=pb.Accumulators(
            deductible_met=money_to_proto(parse_dollars(row["deductible_met"] or "0")),
            out_of_pocket_met=money_to_proto(parse_dollars(row["oop_met"] or "0")),
            visits_used=int(row["visits_used"] or 0),
        ),
    )
    if row["referral_date"]:
        details.referral.issue_date.CopyFrom(
            date_to_proto(date.fromisoformat(row["referral_date"]))
        )
    return details


def test_small_chunks_in_parallel_give_the_same_file(grpc_target: str, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "make_batch.py"),
            "500",
            "-o",
            str(source),
            "--bad-every",
            "37",
        ],
        check=True,
        capture_output=True,
    )
    one, many = tmp_path / "one.csv", tmp_path / "many.csv"
    first = run("batch", str(source), "-o", str(one), "--target", grpc_target)
    second = run(
        "batch", str(source), "-o", str(many), "--target", grpc_target,
        "--chunk-size", "7", "--concurrency", "5",
    )  # fmt: skip
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert one.read_text() == many.read_text()


def test_output_to_stdout_with_format(grpc_target: str, tmp_path: Path) -> None:
    result = run(
        "batch", str(mixed_csv(tmp_path / "in.csv")), "-o", "-", "--format", "jsonl",
        "--target", grpc_target,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["row_id"] for r in rows] == list(MIXED_ROWS)
    assert "written to stdout" in result.stderr


def test_unreachable_service_exits_1_and_leaves_no_file(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = run(
        "batch", str(mixed_csv(tmp_path / "in.csv")), "-o", str(out), "--target", "127.0.0.1:1",
        "--timeout", "5",
    )  # fmt: skip
    assert result.returncode == 1
    assert "cannot reach the estimator service" in result.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == [tmp_path / "in.csv"]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (HEADER.replace("session_type", "sesion_type"), "did you mean 'session_type'?"),
        (HEADER.replace(",minutes", ""), "missing required column minutes"),
    ],
)
def test_bad_columns_are_usage_errors(
    grpc_target: str, tmp_path: Path, header: str, expected: str
) -> None:
    source = tmp_path / "in.csv"
    source.write_text(header + "\n" + GOOD + "\n")
    result = run("batch", str(source), "-o", str(tmp_path / "o.csv"), "--target", grpc_target)
    assert result.returncode == 2, result.stderr
    assert expected in " ".join(result.stderr.split())
    assert not (tmp_path / "o.csv").exists()


def test_unknown_extension_and_missing_file_are_usage_errors(
    grpc_target: str, tmp_path: Path
) -> None:
    source = mixed_csv(tmp_path / "in.csv")
    assert (
        run("batch", str(source), "-o", str(tmp_path / "o.txt"), "--target", grpc_target).returncode
        == 2
    )
    missing = run("batch", str(tmp_path / "nope.csv"), "-o", str(tmp_path / "o.csv"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_the_documented_examples_run_and_agree(grpc_target: str, tmp_path: Path) -> None:
    docs = REPO / "docs"
    from_csv = run("batch", str(docs / "batch-example.csv"), "-o", "-", "--target", grpc_target)
    from_jsonl = run(
        "batch", str(docs / "batch-example.jsonl"), "-o", "-", "--format", "csv",
        "--target", grpc_target,
    )  # fmt: skip
    assert from_csv.returncode == from_jsonl.returncode == 0, from_csv.stderr + from_jsonl.stderr
    assert from_csv.stdout == from_jsonl.stdout
    assert "7 rows: 2 covered, 3 not covered, 2 errors" in from_csv.stderr
    rows = list(csv.DictReader(from_csv.stdout.splitlines()))
    assert rows[0]["row_id"] == "visit-001" and rows[0]["patient_pays"] == "64.80"
    assert [r["status"] for r in rows[-2:]] == ["error", "error"]


def test_docs_name_every_column() -> None:
    from service.cli.batch import COLUMNS, OUTPUT_COLUMNS

    text = (REPO / "docs" / "cli.md").read_text()
    for column in [*COLUMNS, *OUTPUT_COLUMNS]:
        assert f"`{column}`" in text, column
    header = (REPO / "docs" / "batch-example.csv").read_text().splitlines()[0].split(",")
    assert header == list(COLUMNS)


def test_stdin_in_stdout_out(grpc_target: str) -> None:
    result = subprocess.run(
        [*command(), "batch", "-", "-o", "-", "--target", grpc_target],
        input=HEADER + "\n" + GOOD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(result.stdout.splitlines()))
    assert len(rows) == 1 and rows[0]["patient_pays"] == "64.80"


def run_with_tty_stderr(*args: str) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal (as in a clerk's shell); its stderr text."""
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm"}
    return run_on_pty(*args, stdout_on_terminal=False, env=env)


def test_progress_bar_on_a_terminal_and_not_with_quiet(grpc_target: str, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_batch.py"), "3000", "-o", str(source)],
        check=True,
        capture_output=True,
    )
    code, shown = run_with_tty_stderr(
        "batch", str(source), "-o", str(tmp_path / "a.csv"), "--target", grpc_target,
        "--chunk-size", "100", "--concurrency", "1",
    )  # fmt: skip
    assert code == 0, shown
    assert "quoting" in shown and "/3000" in shown
    assert "3000 rows:" in shown
    code, quiet = run_with_tty_stderr(
        "batch", str(source), "-o", str(tmp_path / "b.csv"), "--target", grpc_target, "--quiet"
    )
    assert code == 0, quiet
    assert "quoting" not in quiet and "3000 rows:" in quiet


def test_a_row_with_several_bad_cells_names_every_one(grpc_target: str, tmp_path: Path) -> None:
    """The local checks name every bad cell of a row, as the service names every bad field,
    so a clerk fixes them all in one go."""
    source = tmp_path / "in.csv"
    source.write_text(
        "row_id,plan_id,session_type,minutes,network,deductible_met,visits_used,prior_auth_on_file\n"
        "many,acme-ppo-gld,swedish,abc,inn,1.234,x,maybe\n"
        "plan,acme-ppo-gld,swedish,60,in,0,0,no\n"
    )
    result = run("batch", str(source), "-o", "-", "-q", "--target", grpc_target)
    assert result.returncode == 0, result.stderr
    rows = {r["row_id"]: r for r in csv.DictReader(result.stdout.splitlines())}
    many = rows["many"]
    assert many["status"] == "error" and many["error_code"] == "INVALID_ARGUMENT"
    assert many["error_message"] == "; ".join(
        [
            "plan_id: unknown plan 'acme-ppo-gld'; did you mean 'acme-ppo-gold'?",
            "minutes: 'abc' is not a whole number",
            "network: 'inn' is not one of in, out",
            "deductible_met: '1.234' has a fraction of a cent",
            "visits_used: 'x' is not a whole number",
            "prior_auth_on_file: 'maybe' is not true or false",
        ]
    )
    only_plan = rows["plan"]  # an unknown plan alone is still NOT_FOUND
    assert only_plan["error_code"] == "NOT_FOUND"


def test_jsonl_whole_floats_count_and_non_objects_are_named(
    grpc_target: str, tmp_path: Path
) -> None:
    """60.0 (as many JSON writers put 60) is 60 minutes; a JSON array row says it is an
    array, not an object with the columns."""
    source = tmp_path / "in.jsonl"
    source.write_text(
        '{"plan_id": "self-pay", "session_type": "swedish", "minutes": 60.0}\n'
        "[1, 2]\n"
        "not json\n"
        '{"plan_id": "self-pay", "session_type": "swedish", "minutes": 60.5}\n'
    )
    result = run("batch", str(source), "-o", "-", "-q", "--target", grpc_target)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows[0]["status"] == "not_covered" and rows[0]["patient_pays"] == "95.00"
    assert rows[1]["error_message"] == "row: a JSON array, not an object with the columns"
    assert rows[2]["error_message"].startswith("row: not a JSON object (Expecting value")
    assert rows[3]["error_message"] == "minutes: '60.5' is not a whole number"


def test_an_output_that_cannot_be_written_is_a_usage_error(tmp_path: Path) -> None:
    """-o into a folder that does not exist ended in a FileNotFoundError traceback."""
    source = mixed_csv(tmp_path / "in.csv")
    missing = run("batch", str(source), "-o", str(tmp_path / "nope" / "out.csv"))
    assert missing.returncode == 2, missing.stderr
    assert "Traceback" not in missing.stderr
    assert "cannot write" in missing.stderr and "No such file or directory" in missing.stderr
    folder = run("batch", str(source), "-o", str(tmp_path), "--format", "csv")
    assert folder.returncode == 2, folder.stderr
    assert "is a folder" in folder.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_encodings_and_separators_from_spreadsheets(grpc_target: str, tmp_path: Path) -> None:
    """Files as Excel saves them: "Unicode Text" (UTF-16) is read; Windows-1252 and
    ';'-separated files are usage errors saying what to do (the first was a
    UnicodeDecodeError traceback, the last "unknown column 'plan_id;session_type;minutes'")."""
    text = "row_id,plan_id,session_type,minutes\nJosé,self-pay,swedish,60\n"
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes(text.encode("utf-16"))
    ok = run("batch", str(utf16), "-o", "-", "-q", "--target", grpc_target)
    assert ok.returncode == 0, ok.stderr
    (row,) = csv.DictReader(ok.stdout.splitlines())
    assert row["row_id"] == "José" and row["patient_pays"] == "95.00"

    cp1252 = tmp_path / "cp1252.csv"
    cp1252.write_bytes(text.encode("cp1252"))
    out = tmp_path / "out.csv"
    bad = run("batch", str(cp1252), "-o", str(out), "--target", grpc_target)
    assert bad.returncode == 2, bad.stderr
    assert "Traceback" not in bad.stderr
    assert "is not UTF-8 text" in bad.stderr and "CSV UTF-8" in bad.stderr
    assert not out.exists() and not list(tmp_path.glob(".out.csv.*"))

    semicolons = tmp_path / "semi.csv"
    semicolons.write_text(text.replace(",", ";"))
    refused = run("batch", str(semicolons), "-o", str(out), "--target", grpc_target)
    assert refused.returncode == 2
    assert "is separated by ';'" in refused.stderr
