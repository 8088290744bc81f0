"""A bounded soak: a local `massage-estimator serve` under a fixed rate of EstimateSession
calls for a given time, reporting errors and resident memory at the start and the end.

    .venv/bin/python -m scripts.soak --rate 200 --minutes 1
    scripts/soak.sh --rate 2400 --minutes 10          # the figures in docs/operations.md

Load: h2load (Debian's nghttp2-client, installed when missing and root), `--connections`
connections each held to rate/connections requests per second (`--rps`), for exactly
rate x duration requests (a count, not a duration, so every answer can be checked). The
request is the README's quickstart quote.

Errors are counted three ways, and the soak fails unless all three say zero: h2load's own
(failed, errored, timed out, non-2xx), its received bytes (a gRPC error answers HTTP 200 with
no message: the bytes must be exactly requests x the answer's size) and the server's own
grpc_server_handled_total from its /metrics (every call OK, as many as were sent).

Memory: the server's VmRSS from /proc, after a warm-up (start), every 10 s, and at the end.
RSS is "flat" when the end is within --max-rss-growth-mib of the start (default 16 MiB).
Exit status 0 when there were no errors and RSS stayed flat, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from massage_estimator.v1 import estimator_pb2 as pb

from scripts.bench import h2load
from scripts.bench.servers import BenchError, clean_env
from scripts.bench.workload import frame

ROOT = Path(__file__).resolve().parent.parent
METHOD = "/massage_estimator.v1.EstimatorService/EstimateSession"
LISTENING = re.compile(r"listening on (\S+): \d+ rule versions")
METRICS_AT = re.compile(r"metrics on http://(\S+)/metrics")


def quickstart_request() -> bytes:
    """The README's quickstart quote (acme-ppo-gold, deep tissue, 53 minutes)."""
    from google.type import date_pb2, money_pb2

    def day(y: int, m: int, d: int) -> date_pb2.Date:
        return date_pb2.Date(year=y, month=m, day=d)

    usd450 = money_pb2.Money(currency_code="USD", units=450)
    session = pb.SessionDetails(
        plan_id="acme-ppo-gold",
        session_type="deep_tissue",
        minutes=53,
        referral=pb.Referral(kind=pb.REFERRAL_KIND_PRESCRIPTION, issue_date=day(2026, 2, 1)),
        diagnosis_codes=["M54.50"],
        date_of_service=day(2026, 3, 3),
        network=pb.NETWORK_IN,
        injury=pb.INJURY_NONE,
        accumulators=pb.Accumulators(
            deductible_met=usd450, out_of_pocket_met=usd450, visits_used=3
        ),
    )
    return pb.EstimateSessionRequest(session=session).SerializeToString()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise BenchError(f"no VmRSS for pid {pid}")


def handled(metrics: str) -> dict[str, float]:
    """grpc_code -> EstimateSession calls handled, from the server's /metrics."""
    with urllib.request.urlopen(f"http://{metrics}/metrics", timeout=10) as response:
        text = response.read().decode()
    counts: dict[str, float] = {}
    pattern = re.compile(r"^grpc_server_handled_total\{(.*)\} (\S+)$", re.MULTILINE)
    for labels, value in pattern.findall(text):
        if 'grpc_method="EstimateSession"' in labels:
            code = re.search(r'grpc_code="(\w+)"', labels)
            if code:
                counts[code.group(1)] = float(value)
    return counts


@dataclass
class Served:
    process: subprocess.Popen[str]
    target: str
    metrics: str
    workdir: tempfile.TemporaryDirectory[str]


def start_server(extra: list[str]) -> Served:
    """`serve` on free ports over its own SQLite store in a temporary folder."""
    workdir = tempfile.TemporaryDirectory(prefix="soak-")
    exe = Path(sys.executable).parent / "massage-estimator"
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "service.cli"]
    process = subprocess.Popen(
        [*command, "serve", "--port", "0", "--metrics-port", "0", *extra],
        cwd=workdir.name,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # as in production (deploy/k8s): JSON lines, an access line per call
        env=clean_env(MASSAGE_ESTIMATOR_LOG_FORMAT="json"),
    )
    target = metrics = ""
    deadline = time.monotonic() + 120
    assert process.stderr is not None
    while time.monotonic() < deadline and not (target and metrics):
        line = process.stderr.readline()
        if not line:
            break
        if match := LISTENING.search(line):
            target = match.group(1)
        if match := METRICS_AT.search(line):
            metrics = match.group(1)
    if not (target and metrics):
        process.kill()
        raise BenchError("the server did not report its addresses")
    # keep reading its stderr so it never blocks on a full pipe
    threading.Thread(target=_drain, args=(process,), daemon=True).start()
    return Served(process, target, metrics, workdir)


def _drain(process: subprocess.Popen[str]) -> None:
    for _ in process.stderr or ():
        pass


@dataclass
class Report:
    rate: float
    seconds: float
    connections: int
    requests: int
    achieved_per_second: float = 0.0
    h2load_errors: int = 0
    byte_check: str = ""
    server_ok: int = 0
    server_errors: dict[str, float] = field(default_factory=dict)
    rss_start_mib: float = 0.0
    rss_end_mib: float = 0.0
    rss_max_mib: float = 0.0
    rss_samples_mib: list[float] = field(default_factory=list)
    errors: int = 0
    rss_flat: bool = False
    passed: bool = False


def soak(rate: float, seconds: float, connections: int, max_growth_mib: float) -> Report:
    connections = max(1, min(connections, int(rate)))
    requests = max(connections, round(rate * seconds))
    report = Report(rate=rate, seconds=seconds, connections=connections, requests=requests)
    server = start_server([])
    try:
        message = quickstart_request()
        answer = h2load.probe(server.target, METHOD, message)
        with tempfile.NamedTemporaryFile(suffix=".grpc", delete=False) as body:
            body.write(frame(message))
        url = f"http://{server.target}{METHOD}"
        # warm-up: caches, thread pool and allocator arenas settle before RSS is taken
        warm = h2load.run(url, Path(body.name), connections=connections, streams=1,
                          requests=min(2000, requests), cpu=None)  # fmt: skip
        h2load.check(warm, len(answer), "warm-up")
        before = handled(server.metrics)
        pid = server.process.pid
        report.rss_start_mib = rss_kib(pid) / 1024
        samples: list[float] = [report.rss_start_mib]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(10):
                samples.append(rss_kib(pid) / 1024)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        result = _paced(url, Path(body.name), connections, requests, rate)
        done.set()
        sampler.join()
        report.rss_end_mib = rss_kib(pid) / 1024
        samples.append(report.rss_end_mib)
        report.rss_samples_mib = [round(s, 1) for s in samples]
        report.rss_max_mib = max(samples)
        report.achieved_per_second = round(result.succeeded / result.seconds, 1)
        report.h2load_errors = (
            (result.total - result.succeeded) + result.failed + result.errored + result.timeout
        )
        try:
            h2load.check(result, len(answer), "soak")
            report.byte_check = "ok"
        except BenchError as exc:
            report.byte_check = str(exc)
        after = handled(server.metrics)
        report.server_ok = int(after.get("OK", 0) - before.get("OK", 0))
        report.server_errors = {
            code: after[code] - before.get(code, 0)
            for code in after
            if code != "OK" and after[code] != before.get(code, 0)
        }
        os.unlink(body.name)
    finally:
        server.process.terminate()
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
        server.workdir.cleanup()
    report.errors = (
        report.h2load_errors
        + int(sum(report.server_errors.values()))
        + abs(report.requests - report.server_ok)
        + (0 if report.byte_check == "ok" else 1)
    )
    report.rss_flat = report.rss_end_mib - report.rss_start_mib <= max_growth_mib
    report.passed = report.errors == 0 and report.rss_flat
    return report


def _paced(
    url: str, body: Path, connections: int, requests: int, rate: float
) -> h2load.H2loadResult:
    """h2load at `rate` requests per second in total (each connection at rate/connections)."""
    exe = h2load.ensure_h2load()
    per_connection = max(1, round(rate / connections))
    cmd = [exe, "-c", str(connections), "-m", "1", "-t", "1", "-n", str(requests),
           "--rps", str(per_connection), "-d", str(body)]  # fmt: skip
    for header in h2load.GRPC_HEADERS:
        cmd += ["-H", header]
    cmd.append(url)
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"h2load failed ({done.returncode}): {done.stderr or done.stdout}")
    return h2load.parse(done.stdout)


def _measure_peak(requests: int) -> int:
    """The single-process peak the soak rate is set from (80% of it in docs/operations.md)."""
    server = start_server([])
    try:
        message = quickstart_request()
        answer = h2load.probe(server.target, METHOD, message)
        with tempfile.NamedTemporaryFile(suffix=".grpc", delete=False) as body:
            body.write(frame(message))
        url = f"http://{server.target}{METHOD}"
        rates = []
        for _ in range(3):
            result = h2load.run(url, Path(body.name), connections=8, streams=8,
                                requests=requests, cpu=None)  # fmt: skip
            h2load.check(result, len(answer), "peak")
            rates.append(result.per_second)
        os.unlink(body.name)
    finally:
        server.process.terminate()
        server.process.wait(timeout=30)
        server.workdir.cleanup()
    print(
        f"peak: {', '.join(f'{r:.0f}' for r in rates)} requests/s (median {sorted(rates)[1]:.0f})"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second in all")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--minutes", type=float, help="how long (default 1 minute)")
    length.add_argument("--seconds", type=float, help="how long, in seconds")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--max-rss-growth-mib", type=float, default=16.0)
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument(
        "--measure-peak",
        type=int,
        metavar="N",
        help="instead of a soak: N unpaced calls (8 connections x 8 streams, as scripts/bench) "
        "against the same server, and print the requests per second",
    )
    args = parser.parse_args(argv)
    if args.measure_peak:
        return _measure_peak(args.measure_peak)
    seconds = args.seconds if args.seconds is not None else 60 * (args.minutes or 1.0)
    if args.rate <= 0 or seconds <= 0:
        parser.error("--rate and the duration must be positive")
    try:
        report = soak(args.rate, seconds, args.connections, args.max_rss_growth_mib)
    except BenchError as exc:
        print(f"soak: {exc}", file=sys.stderr)
        return 1
    print(
        f"soak: {report.requests} EstimateSession calls at {report.rate:g}/s target "
        f"({report.achieved_per_second:g}/s achieved) over {report.connections} connections\n"
        f"  errors: {report.errors} (h2load {report.h2load_errors}, bytes {report.byte_check}, "
        f"server OK {report.server_ok} of {report.requests}, server errors "
        f"{report.server_errors or 'none'})\n"
        f"  RSS MiB: start {report.rss_start_mib:.1f}, end {report.rss_end_mib:.1f}, "
        f"max {report.rss_max_mib:.1f} ({'flat' if report.rss_flat else 'GREW'}; "
        f"limit +{args.max_rss_growth_mib:g})\n"
        f"  {'PASS' if report.passed else 'FAIL'}"
    )
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=2) + "\n")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
