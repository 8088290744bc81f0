"""One decision in process: the service's Quoter against GoRules ZEN on the same inputs.

    python -m scripts.bench.zen_compare [--inputs 1000] [--rounds 5]

Both answer the same requests (scripts.bench.workload over the sample plans): the service
through Quoter.estimate (validation, version choice, the cost engine), ZEN through the
committed model scripts/bench/zen/estimate-session.json (tables and expressions generated
from the same rule files). Before anything is timed, every answer is compared field by field
(the figures, the reasons, what is missing) and the committed model is compared with a fresh
generation from payer_rules/; any difference stops the comparison. ZEN is called the fastest
way its Python binding offers for one decision (ZenEngine.evaluate with a static loader,
which keeps the compiled model; ZenDecision.evaluate measured 3 to 4 times slower here).
Rounds alternate which side runs first.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from scripts.bench import workload, zen_model
from scripts.bench.servers import BenchError
from service.domain.index import RuleIndex
from service.domain.model import Clinic, RuleSetVersion
from service.domain.quoting import Quoter
from service.rulefiles import DEFAULT_RULES_DIR, load_rules_dir

MODEL_KEY = "estimate-session"


def sample_rules() -> tuple[Clinic, list[RuleSetVersion]]:
    """The sample versions whose plans the ZEN table can say (zen_model.expressible): both
    sides decide the same plans."""
    clinic, parsed = load_rules_dir(DEFAULT_RULES_DIR)
    published = datetime(2025, 1, 1, tzinfo=UTC)
    versions = [p.to_version(published, "bench") for p in parsed]
    return clinic, [v for v in versions if all(map(zen_model.expressible, v.plans))]


@dataclass(frozen=True)
class ZenResult:
    inputs: int
    service_us: list[float]  # per round, one decision
    zen_us: list[float]
    agreed: int
    fields: tuple[str, ...]

    @property
    def ratios(self) -> list[float]:
        """How many times faster the service is, per round."""
        return [z / s for z, s in zip(self.zen_us, self.service_us, strict=True)]


def _engine() -> Any:
    import zen

    text = zen_model.MODEL_PATH.read_text()
    if text != zen_model.dumps(zen_model.sample_model()):
        raise BenchError(
            f"{zen_model.MODEL_PATH.name} no longer matches payer_rules/: regenerate it with "
            "`.venv/bin/python -m scripts.bench.zen_model`"
        )
    loader: Any = {"type": "static", "content": {MODEL_KEY: json.loads(text)}}
    return zen.ZenEngine({"loader": loader})


def compare(inputs: int = 1000, rounds: int = 5, seed: int = 29) -> ZenResult:
    clinic, versions = sample_rules()
    quoter = Quoter(RuleIndex.build(versions), clinic)
    requests = workload.requests(workload.plan_specs(versions), clinic, inputs, seed=seed)
    engine = _engine()
    zen_inputs = [zen_model.zen_input(r) for r in requests]
    for r, z in zip(requests, zen_inputs, strict=True):
        ours = zen_model.service_answer(quoter.estimate(r))
        theirs = zen_model.zen_answer(engine.evaluate(MODEL_KEY, z))
        if ours != theirs:
            diff = {k: (ours[k], theirs[k]) for k in ours if ours[k] != theirs[k]}
            raise BenchError(f"ZEN disagrees with the service on {r}: (service, ZEN) {diff}")

    def run_service() -> float:
        t0 = time.perf_counter()
        for r in requests:
            quoter.estimate(r)
        return (time.perf_counter() - t0) / len(requests) * 1e6

    def run_zen() -> float:
        evaluate = engine.evaluate
        t0 = time.perf_counter()
        for z in zen_inputs:
            evaluate(MODEL_KEY, z)
        return (time.perf_counter() - t0) / len(zen_inputs) * 1e6

    run_service()  # warm both
    run_zen()
    service_us: list[float] = []
    zen_us: list[float] = []
    for n in range(rounds):
        if n % 2 == 0:
            service_us.append(run_service())
            zen_us.append(run_zen())
        else:
            zen_us.append(run_zen())
            service_us.append(run_service())
    return ZenResult(len(requests), service_us, zen_us, len(requests), zen_model.COMPARED)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    result = compare(args.inputs, args.rounds)
    print(
        f"ZEN agrees with the service on {result.agreed}/{result.inputs} inputs "
        f"({', '.join(result.fields)})"
    )
    print(
        f"service  µs per decision: median {statistics.median(result.service_us):.1f} "
        f"(range {min(result.service_us):.1f}-{max(result.service_us):.1f})"
    )
    print(
        f"ZEN      µs per decision: median {statistics.median(result.zen_us):.1f} "
        f"(range {min(result.zen_us):.1f}-{max(result.zen_us):.1f})"
    )
    r = result.ratios
    print(f"service faster by x{statistics.median(r):.2f} (range {min(r):.2f}-{max(r):.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
