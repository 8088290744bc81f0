"""The benchmark harness runs and refuses wrong measurements (it asserts no speed).

The quick mode runs every row on tiny inputs (a 2 x 4 plan corpus, 100-session batches,
sub-second h2load runs). The error-server test shows why the harness checks more than h2load
does: a server that answers every call with a gRPC error gets HTTP 200 for each, which h2load
counts as successes, and the harness must reject exactly that.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from massage_estimator.v1 import estimator_pb2 as pb

from scripts.bench import h2load, workload
from scripts.bench.__main__ import UNARY
from scripts.bench.servers import BenchError, Server, start_reference
from service.domain.model import SessionRequest

REPO_ROOT = Path(__file__).resolve().parents[2]
EVERY_ROW = {
    "unary",
    "batch",
    "zen",
    "scale.seed",
    "scale.restart",
    "scale.publish.sqlite",
    "scale.seed.postgres",
    "scale.publish.postgres",
    "scale.throughput",
    "scale.memory",
    "processes",
}


@pytest.fixture(scope="module")
def h2load_binary() -> str:
    """h2load, installed by the harness when we are root; otherwise skip (fail in CI)."""
    try:
        return h2load.ensure_h2load()
    except BenchError as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))


def test_quick_run_produces_every_row(h2load_binary: str, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "scripts.bench", "--quick", "--json", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {row["key"]: row for row in json.loads(out.read_text())["rows"]}
    assert set(rows) == EVERY_ROW
    for key, row in rows.items():
        assert row["status"] == "ok" or row["status"].startswith("not available"), (key, row)
        if row["status"] == "ok":
            assert row["ours"], key
            assert row["what"] in done.stdout
    # Rows measured against a reference carry a ratio per round.
    for key in ("unary", "batch", "zen", "scale.throughput"):
        assert len(rows[key]["values"]["ratios"]) == 2, key
    assert "agrees with the service on 60/60" in rows["zen"]["note"]
    if rows["processes"]["status"] != "ok":
        assert "--processes" in rows["processes"]["status"]


@pytest.fixture
def answers(tmp_path: Path) -> tuple[Path, Path]:
    unary = tmp_path / "unary.bin"
    batch = tmp_path / "batch.bin"
    unary.write_bytes(
        pb.EstimateSessionResponse(
            estimate=pb.Estimate(covered=True, cpt_code="97124")
        ).SerializeToString()
    )
    batch.write_bytes(pb.EstimateSessionsResponse(succeeded_count=1).SerializeToString())
    return unary, batch


def _reference(
    tmp_path: Path, answers: tuple[Path, Path], fail_with: str | None
) -> Iterator[Server]:
    server = start_reference(
        f"reference-{fail_with or 'ok'}",
        unary=answers[0],
        batch=answers[1],
        log_dir=tmp_path,
        cpu=None,
        fail_with=fail_with,
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def failing_server(tmp_path: Path, answers: tuple[Path, Path]) -> Iterator[Server]:
    yield from _reference(tmp_path, answers, "INTERNAL")


@pytest.fixture
def answering_server(tmp_path: Path, answers: tuple[Path, Path]) -> Iterator[Server]:
    yield from _reference(tmp_path, answers, None)


def _body(tmp_path: Path) -> tuple[bytes, Path]:
    from datetime import date

    message = workload.unary_body(
        SessionRequest(
            plan_id="self-pay", session_type="swedish", minutes=60, date_of_service=date(2026, 7, 1)
        )
    )
    path = tmp_path / "body.bin"
    path.write_bytes(workload.frame(message))
    return message, path


def test_error_answers_are_rejected_though_h2load_counts_them(
    h2load_binary: str, tmp_path: Path, failing_server: Server, answers: tuple[Path, Path]
) -> None:
    message, path = _body(tmp_path)
    with pytest.raises(BenchError, match=r"grpc-status 13 \(INTERNAL\)"):
        h2load.probe(failing_server.target, UNARY, message)

    result = h2load.run(
        f"http://{failing_server.target}{UNARY}",
        path,
        connections=2,
        streams=2,
        requests=400,
        cpu=None,
    )
    # h2load alone would report a clean run: every call an HTTP 2xx success...
    assert result.succeeded > 0
    assert result.status_2xx == result.succeeded
    assert result.failed == result.errored == 0
    # ...but no answer carried a message, and the harness says so.
    size = len(answers[0].read_bytes())
    with pytest.raises(BenchError, match="carried no message"):
        h2load.check(result, size, "failing server")


def test_the_same_check_passes_real_answers(
    h2load_binary: str, tmp_path: Path, answering_server: Server, answers: tuple[Path, Path]
) -> None:
    message, path = _body(tmp_path)
    answer = h2load.probe(answering_server.target, UNARY, message)
    assert answer == answers[0].read_bytes()
    result = h2load.run(
        f"http://{answering_server.target}{UNARY}",
        path,
        connections=2,
        streams=2,
        requests=400,
        cpu=None,
    )
    h2load.check(result, len(answer), "answering server")
    with pytest.raises(BenchError, match="different one"):
        h2load.check(result, len(answer) + 1, "answering server, wrong size expected")
