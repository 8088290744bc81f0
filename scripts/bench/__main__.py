"""Measure the service against references and print every ratio (docs/performance.md).

    .venv/bin/python -m scripts.bench            # the full run: 5 rounds, 10,000 x 5 corpus
    .venv/bin/python -m scripts.bench --quick    # a smoke run of every row, tiny inputs

The servers run on one core and h2load on the other (taskset) when two are available.
Rows that cannot be measured yet say "not available" and why; a measurement that fails its
own checks (a gRPC error counted as a success, ZEN disagreeing with the service) is
reported as failed, and the command then exits 1.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from massage_estimator.v1 import estimator_pb2 as pb

from scripts.bench import h2load, scale, workload, zen_compare
from scripts.bench.servers import ROOT, BenchError, Server, cpus, start_project, start_reference

SERVICE = "/massage_estimator.v1.EstimatorService"
UNARY = f"{SERVICE}/EstimateSession"
BATCH = f"{SERVICE}/EstimateSessions"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PARTS = ("unary", "batch", "zen", "scale", "processes")


@dataclass(frozen=True)
class Config:
    rounds: int = 5
    unary_seconds: float = 10.0  # per server and round, shared by the bodies
    unary_bodies: int = 8
    connections: int = 8
    streams: int = 8
    batch_seconds: float = 10.0
    batch_bodies: int = 1
    batch_size: int = 1000
    batch_connections: int = 4
    batch_streams: int = 1
    warmup: float = 2.0
    zen_inputs: int = 1000
    payers: int = 100
    plans: int = 100
    versions: int = 5
    start_timeout: float = 3600.0
    pg_url: str | None = DEFAULT_PG_URL
    parts: tuple[str, ...] = PARTS


QUICK = Config(
    rounds=2,
    unary_seconds=0.6,
    unary_bodies=2,
    batch_seconds=0.6,
    batch_bodies=1,
    batch_size=100,
    warmup=0.3,
    zen_inputs=60,
    payers=2,
    plans=4,
    versions=2,
    start_timeout=300.0,
)


@dataclass
class Row:
    key: str
    what: str
    ours: str = ""
    reference: str = ""
    ratio: str = ""
    status: str = "ok"
    note: str = ""
    values: dict[str, Any] = field(default_factory=dict)


def spread(values: Sequence[float], fmt: str = "{:,.0f}") -> str:
    """median (min-max) of the rounds."""
    if not values:
        return ""
    med = fmt.format(statistics.median(values))
    if len(values) == 1:
        return med
    return f"{med} ({fmt.format(min(values))}-{fmt.format(max(values))})"


@dataclass
class Body:
    path: Path
    message: bytes


class Bench:
    def __init__(self, cfg: Config, tmp: Path) -> None:
        self.cfg = cfg
        self.tmp = tmp
        self.logs = tmp / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        cores = cpus()
        self.server_cpu: int | None = cores[0] if len(cores) >= 2 else None
        self.load_cpu: int | None = cores[1] if len(cores) >= 2 else None
        self.expected: dict[tuple[str, Path], int] = {}
        self.pace: dict[tuple[str, str], float] = {}  # last calls/s seen per server and method
        self.clinic, self.versions = zen_compare.sample_rules()
        self.specs = workload.plan_specs(self.versions)
        self.rows: list[Row] = []

    # ------------------------------------------------------------------ bodies and checks

    def write_body(self, name: str, message: bytes) -> Body:
        path = self.tmp / f"{name}.bin"
        path.write_bytes(workload.frame(message))
        return Body(path, message)

    def expect(self, server: Server, method: str, body: Body, size: int | None = None) -> bytes:
        """Probe `body` once through grpcio (grpc-status must be 0) and remember the size."""
        answer = h2load.probe(server.target, method, body.message, metadata=server.metadata)
        if size is not None and len(answer) != size:
            raise BenchError(f"{server.name} answered {len(answer)} bytes, expected {size}")
        self.expected[(server.name, body.path)] = len(answer)
        return answer

    def run_h2load(
        self,
        server: Server,
        method: str,
        body: Body,
        seconds: float,
        *,
        batch: bool,
        load_cpu: int | str | None = "default",
    ) -> h2load.H2loadResult:
        cfg = self.cfg
        cpu = self.load_cpu if load_cpu == "default" else load_cpu
        connections = cfg.batch_connections if batch else cfg.connections
        streams = cfg.batch_streams if batch else cfg.streams
        in_flight = connections * streams
        # h2load runs a count of calls (see h2load.run): size it from the last rate seen so
        # the run lasts about `seconds`; the very first run is a short calibration.
        pace = self.pace.get((server.name, method))
        count = in_flight * 4 if pace is None else max(in_flight * 2, round(pace * seconds))
        result = h2load.run(
            f"http://{server.target}{method}",
            body.path,
            connections=connections,
            streams=streams,
            requests=count,
            cpu=cpu if isinstance(cpu, int) else None,
            headers=server.headers,
        )
        h2load.check(result, self.expected[(server.name, body.path)], f"{server.name} {method}")
        self.pace[(server.name, method)] = result.per_second
        return result

    def warm(
        self,
        server: Server,
        method: str,
        body: Body,
        seconds: float,
        *,
        batch: bool = False,
        load_cpu: int | str | None = "default",
    ) -> None:
        """A calibration run, then about `seconds` of load; checked, not counted."""
        self.run_h2load(server, method, body, seconds, batch=batch, load_cpu=load_cpu)
        self.run_h2load(server, method, body, seconds, batch=batch, load_cpu=load_cpu)

    def rate(
        self,
        server: Server,
        method: str,
        bodies: Sequence[Body],
        seconds: float,
        *,
        batch: bool = False,
        load_cpu: int | str | None = "default",
    ) -> float:
        """Successful calls per second over every body (each gets an equal share of time)."""
        done = 0
        elapsed = 0.0
        for body in bodies:
            r = self.run_h2load(
                server, method, body, seconds / len(bodies), batch=batch, load_cpu=load_cpu
            )
            done += r.succeeded
            elapsed += r.seconds
        return done / elapsed

    def rounds(
        self, a: Callable[[], float], b: Callable[[], float]
    ) -> tuple[list[float], list[float]]:
        """Interleaved rounds; the side that goes first alternates."""
        xs: list[float] = []
        ys: list[float] = []
        for n in range(self.cfg.rounds):
            if n % 2 == 0:
                xs.append(a())
                ys.append(b())
            else:
                ys.append(b())
                xs.append(a())
        return xs, ys

    # ------------------------------------------------------------------ sample-data servers

    def unary_and_batch(self) -> None:
        cfg = self.cfg
        want_unary, want_batch = "unary" in cfg.parts, "batch" in cfg.parts
        unary_row = Row("unary", "unary EstimateSession, requests/s")
        batch_row = Row(
            "batch", f"EstimateSessions, {cfg.batch_size:,} per call, quotes/s per process"
        )
        for row, wanted in ((unary_row, want_unary), (batch_row, want_batch)):
            if not wanted:
                row.status = "skipped (--only)"
            self.rows.append(row)
        if not (want_unary or want_batch):
            return
        project = reference = None
        try:
            project = start_project(
                "project",
                rules_dir=ROOT / "payer_rules",
                database_url=f"sqlite:///{self.tmp / 'project.db'}",
                log_dir=self.logs,
                cpu=self.server_cpu,
                timeout=120,
            )
            reqs = workload.requests(self.specs, self.clinic, cfg.unary_bodies, seed=101)
            unary = [
                self.write_body(f"unary-{i}", workload.unary_body(r)) for i, r in enumerate(reqs)
            ]
            answers = [self.expect(project, UNARY, b) for b in unary]
            mean = statistics.fmean(len(a) for a in answers)
            fixed_unary = min(answers, key=lambda a: abs(len(a) - mean))
            batches = [
                self.write_body(
                    f"batch-{k}",
                    workload.batch_body(
                        workload.requests(self.specs, self.clinic, cfg.batch_size, seed=200 + k)
                    ),
                )
                for k in range(cfg.batch_bodies)
            ]
            batch_answers = [self.expect(project, BATCH, b) for b in batches]
            for b, a in zip(batches, batch_answers, strict=True):
                parsed = pb.EstimateSessionsResponse.FromString(a)
                if parsed.failed_count or parsed.succeeded_count != cfg.batch_size:
                    raise BenchError(f"{b.path.name}: {parsed.failed_count} sessions failed")
            (self.tmp / "ref-unary.bin").write_bytes(fixed_unary)
            (self.tmp / "ref-batch.bin").write_bytes(batch_answers[0])
            reference = start_reference(
                "reference",
                unary=self.tmp / "ref-unary.bin",
                batch=self.tmp / "ref-batch.bin",
                log_dir=self.logs,
                cpu=self.server_cpu,
            )
            for b in unary:
                self.expect(reference, UNARY, b, size=len(fixed_unary))
            for b in batches:
                self.expect(reference, BATCH, b, size=len(batch_answers[0]))
            sizes = (
                f"responses {statistics.fmean(len(a) for a in answers):,.0f} B on average "
                f"vs a fixed {len(fixed_unary):,} B"
            )
            if want_unary:
                self._measure(
                    unary_row,
                    project,
                    reference,
                    UNARY,
                    unary,
                    cfg.unary_seconds,
                    1,
                    batch=False,
                    note=f"h2load -c {cfg.connections} -m {cfg.streams}, "
                    f"{len(unary)} request bodies; {sizes}",
                )
            if want_batch:
                self._measure(
                    batch_row,
                    project,
                    reference,
                    BATCH,
                    batches,
                    cfg.batch_seconds,
                    cfg.batch_size,
                    batch=True,
                    note=f"h2load -c {cfg.batch_connections} -m {cfg.batch_streams}, "
                    f"{len(batches)} bodies of {cfg.batch_size:,} varied sessions; "
                    f"responses {len(batch_answers[0]):,} B",
                )
        except BenchError as exc:
            for row in (unary_row, batch_row):
                if row.status == "ok" and not row.ours:
                    row.status = f"failed: {exc}"
        finally:
            for s in (reference, project):
                if s is not None:
                    s.stop()

    def _measure(
        self,
        row: Row,
        project: Server,
        reference: Server,
        method: str,
        bodies: list[Body],
        seconds: float,
        per_call: int,
        *,
        batch: bool,
        note: str,
    ) -> None:
        try:
            for s in (project, reference):  # warm-up, checked like every run
                self.warm(s, method, bodies[0], self.cfg.warmup, batch=batch)
            ours, ref = self.rounds(
                lambda: self.rate(project, method, bodies, seconds, batch=batch) * per_call,
                lambda: self.rate(reference, method, bodies, seconds, batch=batch) * per_call,
            )
        except BenchError as exc:
            row.status = f"failed: {exc}"
            return
        ratios = [o / r for o, r in zip(ours, ref, strict=True)]
        row.ours, row.reference, row.ratio = spread(ours), spread(ref), spread(ratios, "{:.3f}")
        row.note = f"reference: bare grpcio, fixed answer; {note}"
        row.values = {"ours": ours, "reference": ref, "ratios": ratios}

    # ------------------------------------------------------------------ ZEN

    def zen(self) -> None:
        row = Row("zen", "one decision in process, µs (service vs GoRules ZEN)")
        self.rows.append(row)
        if "zen" not in self.cfg.parts:
            row.status = "skipped (--only)"
            return
        try:
            result = zen_compare.compare(self.cfg.zen_inputs, self.cfg.rounds)
        except BenchError as exc:
            row.status = f"failed: {exc}"
            return
        ratios = result.ratios
        row.ours = spread(result.service_us, "{:.1f}")
        row.reference = spread(result.zen_us, "{:.1f}")
        row.ratio = spread(ratios, "{:.2f}") + " x faster"
        row.note = (
            f"zen-engine {_version('zen-engine')}, ZenEngine.evaluate; {result.inputs} inputs; "
            f"ZEN agrees with the service on {result.agreed}/{result.inputs} "
            f"({', '.join(result.fields)})"
        )
        row.values = {"ours_us": result.service_us, "zen_us": result.zen_us, "ratios": ratios}

    # ------------------------------------------------------------------ scale

    def scale(self) -> None:
        cfg = self.cfg
        size = f"{cfg.payers * cfg.plans:,} plans x {cfg.versions} versions"
        rows = {
            "seed": Row("scale.seed", f"start-up on a fresh store (SQLite), {size}, s"),
            "restart": Row("scale.restart", "restart on the filled store (SQLite), s"),
            "publish_sqlite": Row(
                "scale.publish.sqlite", "one publish into the filled store, SQLite, s"
            ),
            "seed_pg": Row("scale.seed.postgres", "start-up on a fresh store, PostgreSQL, s"),
            "publish_pg": Row(
                "scale.publish.postgres", "one publish into the filled store, PostgreSQL, s"
            ),
            "throughput": Row("scale.throughput", "unary requests/s, big corpus vs sample data"),
            "memory": Row("scale.memory", "resident memory per plan-version, KiB"),
        }
        self.rows.extend(rows.values())
        if "scale" not in cfg.parts:
            for row in rows.values():
                row.status = "skipped (--only)"
            return

        def throughput(big: Server, sample: Server) -> None:
            row = rows["throughput"]
            specs = scale.corpus_specs(self.versions, cfg.payers, cfg.plans, cfg.versions)
            big_bodies = [
                self.write_body(f"corpus-{i}", workload.unary_body(r))
                for i, r in enumerate(
                    workload.requests(specs, self.clinic, cfg.unary_bodies, seed=303)
                )
            ]
            sample_bodies = [
                self.write_body(f"sample-{i}", workload.unary_body(r))
                for i, r in enumerate(
                    workload.requests(self.specs, self.clinic, cfg.unary_bodies, seed=101)
                )
            ]
            try:
                for b in big_bodies:
                    self.expect(big, UNARY, b)
                for b in sample_bodies:
                    self.expect(sample, UNARY, b)
                self.warm(big, UNARY, big_bodies[0], cfg.warmup)
                self.warm(sample, UNARY, sample_bodies[0], cfg.warmup)
                ours, ref = self.rounds(
                    lambda: self.rate(big, UNARY, big_bodies, cfg.unary_seconds),
                    lambda: self.rate(sample, UNARY, sample_bodies, cfg.unary_seconds),
                )
            except BenchError as exc:
                row.status = f"failed: {exc}"
                return
            ratios = [o / r for o, r in zip(ours, ref, strict=True)]
            row.ours, row.reference, row.ratio = spread(ours), spread(ref), spread(ratios, "{:.3f}")
            row.note = "the same h2load runs; requests over the corpus's plans vs the sample plans"
            row.values = {"ours": ours, "reference": ref, "ratios": ratios}

        try:
            result = scale.run(
                tmp=self.tmp / "scale",
                payers=cfg.payers,
                plans=cfg.plans,
                versions=cfg.versions,
                pg_url=cfg.pg_url,
                cpu=self.server_cpu,
                timeout=cfg.start_timeout,
                sample_plan_versions=sum(len(v.plans) for v in self.versions),
                on_servers=throughput,
            )
        except BenchError as exc:
            for row in rows.values():
                if not row.ours:
                    row.status = f"failed: {exc}"
            return

        def timed(
            key: str, seconds: float | None, note: str, reference: float | None = None
        ) -> None:
            row = rows[key]
            if seconds is None:
                row.status = row.status if row.status != "ok" else "failed: not measured"
                return
            row.ours = f"{seconds:,.2f}"
            row.reference = "" if reference is None else f"{reference:,.2f}"
            row.note = note
            row.values = {"seconds": seconds, "reference_seconds": reference}

        timed(
            "seed",
            result.seed_s,
            f"reference: the sample-data server's fresh start; corpus of "
            f"{result.payers * result.versions:,} files generated in {result.generate_s:.1f} s; "
            "one run",
            result.sample_start_s,
        )
        timed("restart", result.restart_s, "one run")
        publish_note = (
            f"PublishRuleSet of the next yearly version of one payer ({cfg.plans} plans), "
            "answered after the index reload; one run"
        )
        timed("publish_sqlite", result.publish_sqlite_s, publish_note)
        if result.seed_pg_s is None:
            rows["seed_pg"].status = rows["publish_pg"].status = result.pg_note or "not available"
        else:
            pg_note = "a schema of its own in database `test`, dropped afterwards; one run"
            timed("seed_pg", result.seed_pg_s, pg_note)
            timed("publish_pg", result.publish_pg_s, f"{publish_note}; {pg_note}")
        per = result.rss_per_plan_version_kib
        memory = rows["memory"]
        if per is None or result.rss_big_kib is None or result.rss_sample_kib is None:
            memory.status = "failed: not measured"
            return
        memory.ours = f"{per:.2f}"
        memory.note = (
            f"(RSS {result.rss_big_kib / 1024:,.0f} MiB with {result.plan_versions:,} "
            f"plan-versions - {result.rss_sample_kib / 1024:,.0f} MiB with the sample's "
            f"{result.sample_plan_versions}) / the difference in plan-versions, after restart"
        )
        memory.values = {
            "rss_big_kib": result.rss_big_kib,
            "rss_sample_kib": result.rss_sample_kib,
            "per_plan_version_kib": per,
        }

    # ------------------------------------------------------------------ processes

    def processes(self) -> None:
        row = Row("processes", "2 processes vs 1 (unpinned), requests/s")
        self.rows.append(row)
        if "processes" not in self.cfg.parts:
            row.status = "skipped (--only)"
            return
        exe = str(Path(sys.executable).parent / "massage-estimator")
        helptext = subprocess.run(
            [exe, "serve", "--help"],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "COLUMNS": "200"},
        ).stdout
        if "--processes" not in helptext:
            row.status = "not available: `massage-estimator serve` has no --processes option yet"
            return
        servers: list[Server] = []
        try:
            for n in (1, 2):
                servers.append(
                    start_project(
                        f"processes-{n}",
                        rules_dir=ROOT / "payer_rules",
                        database_url=f"sqlite:///{self.tmp / f'processes-{n}.db'}",
                        log_dir=self.logs,
                        cpu=None,
                        timeout=120,
                        extra=["--processes", str(n)],
                    )
                )
            reqs = workload.requests(self.specs, self.clinic, self.cfg.unary_bodies, seed=101)
            bodies = [
                self.write_body(f"proc-{i}", workload.unary_body(r)) for i, r in enumerate(reqs)
            ]
            for s in servers:
                for b in bodies:
                    self.expect(s, UNARY, b)
                self.warm(s, UNARY, bodies[0], self.cfg.warmup, load_cpu=None)
            two, one = self.rounds(
                lambda: self.rate(servers[1], UNARY, bodies, self.cfg.unary_seconds, load_cpu=None),
                lambda: self.rate(servers[0], UNARY, bodies, self.cfg.unary_seconds, load_cpu=None),
            )
        except BenchError as exc:
            row.status = f"failed: {exc}"
            return
        finally:
            for s in servers:
                s.stop()
        ratios = [t / o for t, o in zip(two, one, strict=True)]
        row.ours, row.reference, row.ratio = spread(two), spread(one), spread(ratios, "{:.2f}")
        row.note = "ours: serve --processes 2; reference: serve --processes 1; h2load unpinned"
        row.values = {"ours": two, "reference": one, "ratios": ratios}


def _version(dist: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _loadavg() -> str:
    """The 1, 5 and 15-minute load averages, as `uptime` shows them."""
    return ", ".join(Path("/proc/loadavg").read_text().split()[:3])


def machine() -> dict[str, str]:
    cpu_model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    h2 = (
        subprocess.run(
            [h2load.ensure_h2load(), "--version"], capture_output=True, text=True, check=False
        )
        .stdout.strip()
        .splitlines()
    )
    return {
        "cpu": cpu_model,
        "cores": str(len(cpus())),
        "python": platform.python_version(),
        "grpcio": _version("grpcio"),
        "h2load": h2[0] if h2 else "",
    }


def render(rows: Sequence[Row]) -> str:
    head = ("what", "ours", "reference", "ratio median (range)")
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for r in rows:
        if r.status != "ok":
            lines.append(f"{r.what} | {r.status} | | ")
        else:
            lines.append(f"{r.what} | {r.ours} | {r.reference} | {r.ratio}")
    notes = [f"- {r.what}: {r.note}" for r in rows if r.note and r.status == "ok"]
    return "\n".join(["| " + line + " |" for line in lines] + [""] + notes)


def parse_args(argv: Sequence[str] | None) -> tuple[Config, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny inputs, short runs (a smoke test)"
    )
    parser.add_argument("--only", help=f"comma-separated parts of {', '.join(PARTS)}")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (5; quick 2)")
    parser.add_argument("--seconds", type=float, help="seconds per server and round (10)")
    parser.add_argument("--batch-size", type=int, help="sessions per batch call (1000)")
    parser.add_argument("--payers", type=int, help="corpus payers (100)")
    parser.add_argument("--plans", type=int, help="corpus plans per payer (100)")
    parser.add_argument("--versions", type=int, help="corpus yearly versions (5)")
    parser.add_argument(
        "--pg-url", default=DEFAULT_PG_URL, help="PostgreSQL for the publish timing"
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, corpus)")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else Config()
    changes: dict[str, Any] = {"pg_url": None if args.no_postgres else args.pg_url}
    if args.only:
        parts = tuple(p.strip() for p in args.only.split(",") if p.strip())
        unknown = [p for p in parts if p not in PARTS]
        if unknown:
            parser.error(f"unknown part {unknown[0]!r}; choose from {', '.join(PARTS)}")
        changes["parts"] = parts
    for name, attr in (
        ("rounds", "rounds"),
        ("batch_size", "batch_size"),
        ("payers", "payers"),
        ("plans", "plans"),
        ("versions", "versions"),
    ):
        if getattr(args, name) is not None:
            changes[attr] = getattr(args, name)
    if args.seconds is not None:
        changes["unary_seconds"] = changes["batch_seconds"] = args.seconds
    return replace(cfg, **changes), args


def main(argv: Sequence[str] | None = None) -> int:
    cfg, args = parse_args(argv)
    started = datetime.now(UTC)
    load_before = _loadavg()
    info = machine()
    with tempfile.TemporaryDirectory(prefix="massage-bench-") as tmp_name:
        tmp = Path(tmp_name)
        bench = Bench(cfg, tmp)
        t0 = time.perf_counter()
        bench.unary_and_batch()
        bench.zen()
        bench.scale()
        bench.processes()
        elapsed = time.perf_counter() - t0
        if args.keep:
            kept = Path(tempfile.mkdtemp(prefix="massage-bench-kept-"))
            subprocess.run(["cp", "-a", f"{tmp}/.", str(kept)], check=False)
            print(f"work folder kept in {kept}")
    load_after = _loadavg()
    pinning = (
        f"servers on core {bench.server_cpu}, h2load on core {bench.load_cpu}"
        if bench.server_cpu is not None
        else "one core: nothing pinned"
    )
    print(
        f"# massage-estimator benchmark, {started:%Y-%m-%d %H:%M} UTC, "
        f"{'quick' if args.quick else 'full'} mode, {cfg.rounds} rounds, {elapsed:,.0f} s"
    )
    print(
        f"machine: {info['cpu']}, {info['cores']} cores (shared), python {info['python']}, "
        f"grpcio {info['grpcio']}, {info['h2load']}; {pinning}"
    )
    print(f"load average before {load_before}, after {load_after}\n")
    print(render(bench.rows))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "started": started.isoformat(),
                    "mode": "quick" if args.quick else "full",
                    "config": asdict(cfg),
                    "machine": info,
                    "load_before": load_before,
                    "load_after": load_after,
                    "rows": [asdict(r) for r in bench.rows],
                },
                indent=2,
                default=str,
            )
        )
    failed = [r for r in bench.rows if r.status.startswith("failed")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
