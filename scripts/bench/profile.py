"""Where the time goes: per request (in process) and at start-up (py-spy on a real load).

    python -m scripts.bench.profile requests [--n 5000]
    python -m scripts.bench.profile startup --rules-dir DIR --database-url URL

`requests` times each stage of a unary EstimateSession as the servicer runs it (decode,
request -> domain, quote, domain -> proto, encode) over the benchmark's varied requests, then
prints cProfile's top functions for the whole handler and for a 1,000-session batch.
`startup` runs the service's start-up (migrate, seed when empty, load and index every
version) under py-spy and prints the share of samples in each function (inclusive) and the
top self-time functions; point it at a filled store to profile a restart.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from massage_estimator.v1 import estimator_pb2 as pb

from scripts.bench import workload, zen_compare


def _per_call(fn: Callable[[Any], Any], items: Sequence[Any]) -> tuple[float, list[Any]]:
    t0 = time.perf_counter()
    out = [fn(x) for x in items]
    return (time.perf_counter() - t0) / len(items) * 1e6, out


def requests(n: int) -> None:
    from service.api import convert, fastconvert
    from service.api.estimator import EstimatorServicer
    from service.domain.index import RuleIndex
    from service.domain.quoting import Quoter

    clinic, versions = zen_compare.sample_rules()
    quoter = Quoter(RuleIndex.build(versions), clinic)
    servicer = EstimatorServicer(quoter)
    reqs = workload.requests(workload.plan_specs(versions), clinic, n, seed=101)
    wire = [workload.unary_body(r) for r in reqs]
    ctx: Any = None  # no request here fails, so the servicer never touches its context

    def handler(b: bytes) -> bytes:
        return servicer.EstimateSession(
            pb.EstimateSessionRequest.FromString(b), ctx
        ).SerializeToString()

    for _ in range(2):  # warm
        _per_call(handler, wire)
    stages: list[tuple[str, float]] = []
    us, msgs = _per_call(pb.EstimateSessionRequest.FromString, wire)
    stages.append(("decode the request (protobuf)", us))
    us, parsed = _per_call(lambda m: convert.session_from_proto(m.session, "session.")[0], msgs)
    stages.append(("request -> domain (convert.session_from_proto)", us))
    us, estimates = _per_call(quoter.estimate, parsed)
    stages.append(("quote: validate, resolve version, engine (Quoter.estimate)", us))
    ref_us, _ = _per_call(convert.estimate_to_proto, estimates)
    us, protos = _per_call(fastconvert.estimate_to_proto, estimates)
    stages.append(("domain -> proto (fastconvert.estimate_to_proto, the handlers' path)", us))
    us, _ = _per_call(lambda p: pb.EstimateSessionResponse(estimate=p).SerializeToString(), protos)
    stages.append(("wrap and encode the response", us))
    total, _ = _per_call(handler, wire)
    print(f"per request, in process, {n} varied requests (µs per request):")
    for name, value in stages:
        print(f"  {value:7.1f}  {name}")
    print(f"  {sum(v for _, v in stages):7.1f}  sum of the stages")
    print(f"  {total:7.1f}  the whole handler, decode to encode")
    print(f"  {ref_us:7.1f}  (the reference convert.estimate_to_proto, not in the sum)\n")

    profiler = cProfile.Profile()
    profiler.enable()
    for b in wire:
        handler(b)
    profiler.disable()
    _print_stats(profiler, f"cProfile, {n} unary handler calls, top by own time")

    batch = pb.EstimateSessionsRequest(sessions=[workload.to_proto(r) for r in reqs[:1000]])
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(3):
        servicer.EstimateSessions(batch, ctx).SerializeToString()
    profiler.disable()
    _print_stats(profiler, "cProfile, 3 batch calls of 1,000 sessions, top by own time")


def _print_stats(profiler: cProfile.Profile, title: str, top: int = 18) -> None:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    total = stats.total_tt  # type: ignore[attr-defined]
    print(f"{title} (total {total:.2f} s under the profiler):")
    body = out.getvalue()
    start = body.find("   ncalls")
    print(body[start:].rstrip() + "\n")


_FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^:]+)(?::\d+)?\)$")


def _frame_name(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m.group("file")
    for marker in ("site-packages/", "/service/", "/scripts/"):
        if marker in path:
            path = (
                path.split(marker, 1)[1]
                if marker == "site-packages/"
                else marker.strip("/") + "/" + path.split(marker, 1)[1]
            )
            break
    return f"{m.group('func')} ({path})"


def _package(name: str) -> str:
    """The library (or `service`) a frame belongs to, for the own-time summary."""
    where = name.rsplit("(", 1)[-1].rstrip(")")
    if where.startswith("service/"):
        return "service (the project)"
    if where.startswith("<frozen") or "importlib" in where:
        return "imports"
    return where.split("/", 1)[0] if "/" in where else where


def summarize_raw(raw: str, top: int = 20) -> str:
    """Inclusive shares of the project's functions and own time by library and function,
    from py-spy's raw (collapsed) stacks."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    by_package: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_name(f) for f in stack.split(";")]
        frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        for name in set(frames):
            if "(service/" in name:
                inclusive[name] += count
        own[frames[-1]] += count
        by_package[_package(frames[-1])] += count
    lines = [f"{total} samples"]
    lines.append("the project's functions, inclusive (share of samples with it on the stack):")
    lines += [f"  {100 * c / total:5.1f}%  {name}" for name, c in inclusive.most_common(top)]
    lines.append("own time by library:")
    lines += [f"  {100 * c / total:5.1f}%  {name}" for name, c in by_package.most_common(8)]
    lines.append("own time by function:")
    lines += [f"  {100 * c / total:5.1f}%  {name}" for name, c in own.most_common(top)]
    return "\n".join(lines)


def load(rules_dir: Path, database_url: str) -> None:
    """The service's start-up up to a ready index (what `serve` does before it listens)."""
    from service.app import build_quoter
    from service.settings import Settings

    t0 = time.perf_counter()
    quoter, rules = build_quoter(Settings(rules_dir=rules_dir, database_url=database_url))
    rules.store.engine.dispose()
    print(
        f"loaded {len(quoter.index.versions)} versions, {len(quoter.index.plan_ids())} plans "
        f"(seeded {rules.seeded}) in {time.perf_counter() - t0:.1f} s"
    )


def startup(rules_dir: Path, database_url: str, rate: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "stacks.txt"
        cmd = [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--format",
            "raw",
            "--rate",
            str(rate),
            "--output",
            str(raw),
            "--",
            sys.executable,
            "-m",
            "scripts.bench.profile",
            "load",
            "--rules-dir",
            str(rules_dir),
            "--database-url",
            database_url,
        ]
        subprocess.run(cmd, check=True)
        print(summarize_raw(raw.read_text()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    r = sub.add_parser("requests")
    r.add_argument("--n", type=int, default=5000)
    for name in ("startup", "load"):
        s = sub.add_parser(name)
        s.add_argument("--rules-dir", type=Path, required=True)
        s.add_argument("--database-url", required=True)
        s.add_argument("--rate", type=int, default=50, help="py-spy samples per second")
    args = parser.parse_args(argv)
    if args.what == "requests":
        requests(args.n)
    elif args.what == "load":
        load(args.rules_dir, args.database_url)
    else:
        startup(args.rules_dir, args.database_url, args.rate)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
