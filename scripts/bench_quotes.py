"""Benchmark quotes: the engine in-process, and a real server over gRPC (unary and batch).

Speed is measured here, not by timed tests. Run on the sample rules:

    .venv/bin/python scripts/bench_quotes.py            # defaults: a few seconds
    .venv/bin/python scripts/bench_quotes.py --quotes 50000 --json

The server runs as its own process (`massage-estimator serve`) on a free loopback port with
a temporary SQLite database, so client and server do not share a GIL. Every figure printed
names what was measured; numbers depend on the machine (2 cores here).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import grpc
from google.type import date_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from massage_estimator.v1 import estimator_pb2 as pb
from massage_estimator.v1 import estimator_pb2_grpc as pb_grpc

from service.domain.index import RuleIndex
from service.domain.model import Accumulators, ReferralKind, SessionRequest
from service.domain.quoting import Quoter
from service.rulefiles import DEFAULT_RULES_DIR, load_rules_dir

ROOT = Path(__file__).resolve().parent.parent
PLANS = ["acme-ppo-gold", "cedar-hdhp-hsa", "contoso-hmo-silver", "summit-ma-plus", "self-pay"]
TYPES = ["deep_tissue", "medical", "myofascial", "sports", "swedish"]
REFERRAL = {
    "contoso-hmo-silver": ReferralKind.INTEGRATIVE_CARE_PLAN,
}


def sample_requests(n: int, seed: int = 7) -> list[SessionRequest]:
    """A repeatable mix of plans, types, lengths and accumulators on 2026 dates."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        plan = rng.choice(PLANS)
        day = date(2026, 7, 1) + timedelta(days=rng.randrange(180))
        out.append(
            SessionRequest(
                plan_id=plan,
                session_type=rng.choice(TYPES),
                minutes=rng.choice([30, 45, 53, 60, 75, 90]),
                date_of_service=day,
                referral_kind=REFERRAL.get(plan, ReferralKind.PRESCRIPTION),
                referral_date=day - timedelta(days=rng.randrange(60)),
                diagnosis_codes=(rng.choice(["M54.50", "M54.2", "F41.1", "M79.7"]),),
                accumulators=Accumulators(
                    deductible_met=rng.randrange(0, 100_000),
                    out_of_pocket_met=rng.randrange(0, 100_000),
                    visits_used=rng.randrange(0, 12),
                ),
            )
        )
    return out


def to_proto(r: SessionRequest) -> pb.SessionDetails:
    def d(x: date) -> date_pb2.Date:
        return date_pb2.Date(year=x.year, month=x.month, day=x.day)

    acc = r.accumulators
    return pb.SessionDetails(
        plan_id=r.plan_id,
        session_type=r.session_type,
        minutes=r.minutes,
        date_of_service=d(r.date_of_service),
        referral=pb.Referral(
            kind=pb.REFERRAL_KIND_PRESCRIPTION
            if r.referral_kind is ReferralKind.PRESCRIPTION
            else pb.REFERRAL_KIND_INTEGRATIVE_CARE_PLAN,
            issue_date=d(r.referral_date or r.date_of_service),
        ),
        diagnosis_codes=list(r.diagnosis_codes),
        accumulators=pb.Accumulators(
            deductible_met={
                "currency_code": "USD",
                "units": acc.deductible_met // 100,
                "nanos": acc.deductible_met % 100 * 10_000_000,
            },
            out_of_pocket_met={
                "currency_code": "USD",
                "units": acc.out_of_pocket_met // 100,
                "nanos": acc.out_of_pocket_met % 100 * 10_000_000,
            },
            visits_used=acc.visits_used,
        ),
    )


def percentiles(samples_s: list[float]) -> dict[str, float]:
    ordered = sorted(samples_s)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e6

    return {"p50_us": at(0.50), "p99_us": at(0.99), "mean_us": statistics.fmean(ordered) * 1e6}


def bench_engine(n: int) -> dict[str, float]:
    clinic, parsed = load_rules_dir(DEFAULT_RULES_DIR)
    published = datetime(2025, 11, 1, tzinfo=UTC)
    quoter = Quoter(RuleIndex.build(p.to_version(published, "bench") for p in parsed), clinic)
    requests = sample_requests(n)
    for r in requests[:200]:  # warm up
        quoter.estimate(r)
    times = []
    start = time.perf_counter()
    for r in requests:
        t0 = time.perf_counter()
        quoter.estimate(r)
        times.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start
    plan_template = replace(requests[0], plan_id="acme-ppo-gold", referral_date=date(2026, 1, 1))
    dates = [date(2026, 1, 5) + timedelta(days=7 * i) for i in range(52)]
    t0 = time.perf_counter()
    for _ in range(50):
        quoter.treatment_plan(plan_template, dates)
    plan_elapsed = (time.perf_counter() - t0) / 50
    return {
        "quotes": n,
        "quotes_per_s": n / elapsed,
        **percentiles(times),
        "treatment_plan_52_sessions_ms": plan_elapsed * 1e3,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "MASSAGE_ESTIMATOR_DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
        "MASSAGE_ESTIMATOR_LOG_LEVEL": "WARNING",
    }
    exe = Path(sys.executable).parent / "massage-estimator"
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port)], env=env, cwd=ROOT)
    target = f"127.0.0.1:{port}"
    channel = grpc.insecure_channel(target)
    health = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + 30
    while True:
        try:
            if health.Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1:
                break
        except grpc.RpcError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise SystemExit("the server did not become healthy within 30 s")
        time.sleep(0.2)
    channel.close()
    return proc, target


def bench_grpc(target: str, n: int, threads: int) -> dict[str, float]:
    sessions = [to_proto(r) for r in sample_requests(n, seed=11)]
    channel = grpc.insecure_channel(target)
    stub = pb_grpc.EstimatorServiceStub(channel)  # type: ignore[no-untyped-call]
    for s in sessions[:200]:
        stub.EstimateSession(pb.EstimateSessionRequest(session=s))

    times = []
    t0 = time.perf_counter()
    for s in sessions:
        t = time.perf_counter()
        stub.EstimateSession(pb.EstimateSessionRequest(session=s))
        times.append(time.perf_counter() - t)
    sequential = time.perf_counter() - t0

    def worker(chunk: list[pb.SessionDetails]) -> None:
        for s in chunk:
            stub.EstimateSession(pb.EstimateSessionRequest(session=s))

    chunks = [sessions[i::threads] for i in range(threads)]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, chunks))
    concurrent = time.perf_counter() - t0

    batch_size = 1000
    batches = [sessions[i : i + batch_size] for i in range(0, len(sessions), batch_size)]
    t0 = time.perf_counter()
    answered = 0
    for batch in batches:
        reply = stub.EstimateSessions(pb.EstimateSessionsRequest(sessions=batch), timeout=60)
        answered += len(reply.results)
    batched = time.perf_counter() - t0
    channel.close()
    return {
        "unary_sequential_per_s": n / sequential,
        **{f"unary_{k}": v for k, v in percentiles(times).items()},
        f"unary_{threads}_threads_per_s": n / concurrent,
        "batch_1000_quotes_per_s": answered / batched,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quotes", type=int, default=5000, help="quotes per measurement")
    parser.add_argument(
        "--threads", type=int, default=8, help="client threads for the concurrent run"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    results: dict[str, dict[str, float]] = {"engine": bench_engine(args.quotes)}
    with tempfile.TemporaryDirectory() as tmp:
        proc, target = start_server(Path(tmp))
        try:
            results["grpc"] = bench_grpc(target, args.quotes, args.threads)
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for group, figures in results.items():
            print(group)
            for name, value in figures.items():
                print(f"  {name:34s} {value:12,.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
