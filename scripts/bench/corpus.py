"""A large rule corpus in today's rule format, shaped like the sample plans.

    python -m scripts.bench.corpus OUT_DIR [--payers 100] [--plans 100] [--versions 5]

writes OUT_DIR/clinic.yaml (the sample clinic) and one YAML file per payer version,
OUT_DIR/payer-NNN/YYYY.yaml, each holding all of that payer's plans: 100 payers x 100 plans
x 5 successive yearly versions by default (10,000 plans, 50,000 plan versions). Plan j of
every payer takes the shape of sample plan j mod 4 (PPO with deductible and coinsurance,
HDHP with reduced later units, integrative-care copay plan, Medicare Advantage flat per
visit) with its own rates, deductibles and limits, raised a little every year. The last
version is open-ended, as payers write them. `next_version()` makes the following year's
file, the one a publish benchmark adds to a filled store.
"""

from __future__ import annotations

import argparse
import copy
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from service.rulefiles import CLINIC_FILE_NAME, DEFAULT_RULES_DIR

FIRST_YEAR = 2026
# The sample plans whose shapes the corpus repeats (file, plan id).
SHAPES = (
    ("acme-health/2026.yaml", "acme-ppo-gold"),
    ("cedar-mutual/2026.yaml", "cedar-hdhp-hsa"),
    ("contoso-health/2026-07.yaml", "contoso-hmo-silver"),
    ("summit-medicare-advantage/2026.yaml", "summit-ma-plus"),
)


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _cents(text: str) -> int:
    whole, _, frac = str(text).partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def _shapes(rules_dir: Path) -> list[dict[str, Any]]:
    out = []
    for file, plan_id in SHAPES:
        data = yaml.safe_load((rules_dir / file).read_text())
        out.append(next(p for p in data["plans"] if p["id"] == plan_id))
    return out


def _shift_terms(terms: dict[str, Any], bump: int) -> None:
    """Raise every amount of a network block by `bump` cents (rates) or dollars (limits)."""
    if terms.get("covered") is False:
        return
    for code, rate in list(terms.get("allowed_per_unit", {}).items()):
        if isinstance(rate, dict):
            terms["allowed_per_unit"][code] = {
                "first_unit": _money(_cents(rate["first_unit"]) + bump),
                "later_units": _money(_cents(rate["later_units"]) + bump // 2),
            }
        else:
            terms["allowed_per_unit"][code] = _money(_cents(rate) + bump)
    if "allowed_per_visit" in terms:
        terms["allowed_per_visit"] = _money(_cents(terms["allowed_per_visit"]) + bump)
    for key in ("deductible", "out_of_pocket_max"):
        if key in terms:
            terms[key] = _money(_cents(terms[key]) + bump * 100)


def plan(shapes: list[dict[str, Any]], payer: int, index: int, year: int) -> dict[str, Any]:
    """Plan `index` of payer `payer` in `year`: a sample shape with its own numbers."""
    p = copy.deepcopy(shapes[index % len(shapes)])
    p["id"] = f"payer-{payer:03d}-plan-{index:03d}"
    p["name"] = f"Payer {payer:03d} {p['name'].split(' ', 1)[1]} {index:03d}"
    bump = (payer * 7 + index * 3) % 150 + (year - FIRST_YEAR) * 50  # cents
    _shift_terms(p["in_network"], bump)
    if "out_of_network" in p:
        _shift_terms(p["out_of_network"], bump // 2)
    if "visit_limit" in p:
        p["visit_limit"]["visits"] = p["visit_limit"]["visits"] + (index % 5)
    return p


def rule_set(
    shapes: list[dict[str, Any]], payer: int, plans: int, year: int, last: bool
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "payer": {"id": f"payer-{payer:03d}", "name": f"Payer {payer:03d} Health"},
        "version": f"{year}.1",
        "effective_from": date(year, 1, 1),
    }
    if not last:
        data["effective_to"] = date(year, 12, 31)
    data["note"] = f"{year} fee schedule"
    data["plans"] = [plan(shapes, payer, j, year) for j in range(plans)]
    return data


def dump(data: dict[str, Any]) -> str:
    # libyaml's dumper when PyYAML has it: the pure-Python one needs minutes for 500 files.
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, default_flow_style=None, width=100)


def generate(
    out_dir: Path,
    payers: int = 100,
    plans: int = 100,
    versions: int = 5,
    rules_dir: Path = DEFAULT_RULES_DIR,
) -> int:
    """Write the corpus; returns the number of files written (clinic.yaml aside)."""
    shapes = _shapes(rules_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(rules_dir / CLINIC_FILE_NAME, out_dir / CLINIC_FILE_NAME)
    written = 0
    for payer in range(payers):
        folder = out_dir / f"payer-{payer:03d}"
        folder.mkdir(exist_ok=True)
        for v in range(versions):
            year = FIRST_YEAR + v
            data = rule_set(shapes, payer, plans, year, last=v == versions - 1)
            (folder / f"{year}.yaml").write_text(dump(data))
            written += 1
    return written


def next_version(payer: int, plans: int, versions: int, rules_dir: Path = DEFAULT_RULES_DIR) -> str:
    """The YAML text of payer `payer`'s following yearly version (ends the open-ended one)."""
    year = FIRST_YEAR + versions
    return dump(rule_set(_shapes(rules_dir), payer, plans, year, last=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--payers", type=int, default=100)
    parser.add_argument("--plans", type=int, default=100, help="plans per payer")
    parser.add_argument("--versions", type=int, default=5, help="yearly versions per payer")
    args = parser.parse_args(argv)
    n = generate(args.out_dir, args.payers, args.plans, args.versions)
    print(f"wrote {n} rule files ({args.payers * args.plans} plans) to {args.out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
