#!/usr/bin/env python3
"""Write a large batch input file (CSV or JSON Lines) for `massage-estimator batch`.

The rows cycle through realistic sessions of the sample plans (covered, not covered,
self-pay) so a load test exercises the whole engine; --bad-every N makes every Nth row bad
in one of several ways (a date that does not exist, an unknown session type, minutes out of
range, an unknown plan) to show that bad rows do not stop a batch. Deterministic: the same
arguments always write the same file.

    python scripts/make_batch.py 10000 -o /tmp/batch.csv
    python scripts/make_batch.py 10000 -o /tmp/batch.jsonl --bad-every 100
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import date, timedelta
from pathlib import Path

COLUMNS = (
    "row_id",
    "plan_id",
    "session_type",
    "minutes",
    "referral",
    "referral_date",
    "diagnosis_codes",
    "date_of_service",
    "network",
    "injury",
    "deductible_met",
    "oop_met",
    "visits_used",
    "prior_auth_on_file",
)

# Sessions of the shipped sample plans (payer_rules/), varied by minutes and accumulators.
# A template with a referral gets one issued a few weeks before its date of service, so most
# insured rows price as covered (the engine's full path), as in a clinic's real day.
TEMPLATES: tuple[dict[str, str], ...] = (
    {
        "plan_id": "acme-ppo-gold",
        "session_type": "deep_tissue",
        "referral": "prescription",
        "diagnosis_codes": "M54.50",
        "network": "in",
    },
    {"plan_id": "acme-ppo-gold", "session_type": "swedish", "network": "in"},
    {"plan_id": "self-pay", "session_type": "sports"},
    {
        "plan_id": "acme-ppo-gold",
        "session_type": "myofascial",
        "referral": "prescription",
        "diagnosis_codes": "M54.50;M62.830",
        "network": "out",
    },
    {"plan_id": "cedar-hdhp-hsa", "session_type": "medical", "diagnosis_codes": "M79.7"},
    {
        "plan_id": "contoso-hmo-silver",
        "session_type": "trigger_point",
        "referral": "integrative_care_plan",
        "diagnosis_codes": "F41.1",
    },
    {
        "plan_id": "summit-ma-plus",
        "session_type": "medical",
        "referral": "prescription",
        "diagnosis_codes": "M54.2",
    },
    {"plan_id": "self-pay", "session_type": "hot_stone"},
)

BAD_KINDS = (
    ("date_of_service", "2026-02-30"),
    ("session_type", "deep_tisue"),
    ("minutes", "999"),
    ("plan_id", "acme-ppo-gld"),
)


def make_rows(count: int, bad_every: int) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    start = date(2026, 7, 1)  # every sample plan has rules from here on
    for i in range(count):
        row = dict.fromkeys(COLUMNS, "")
        row.update(TEMPLATES[i % len(TEMPLATES)])
        row["row_id"] = f"r{i + 1:07d}"
        row["minutes"] = str(30 + (i * 7) % 61)  # 30..90
        day = start + timedelta(days=i % 180)
        row["date_of_service"] = day.isoformat()
        if row["referral"]:
            row["referral_date"] = (day - timedelta(days=i % 60)).isoformat()
        row["deductible_met"] = f"{(i * 37) % 600}.{i % 100:02d}"
        row["oop_met"] = row["deductible_met"]
        row["visits_used"] = str(i % 12)
        if bad_every and (i + 1) % bad_every == 0:
            column, value = BAD_KINDS[((i + 1) // bad_every) % len(BAD_KINDS)]
            row[column] = value
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("count", type=int, help="how many rows")
    parser.add_argument("-o", "--output", type=Path, required=True, help=".csv or .jsonl")
    parser.add_argument("--bad-every", type=int, default=0, help="make every Nth row bad")
    args = parser.parse_args(argv)
    if args.count < 0:
        parser.error("count must be 0 or more")
    rows = make_rows(args.count, args.bad_every)
    if args.output.suffix.lower() == ".csv":
        with args.output.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    elif args.output.suffix.lower() in (".jsonl", ".ndjson"):
        with args.output.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps({k: v for k, v in row.items() if v != ""}) + "\n")
    else:
        parser.error("the output must end in .csv or .jsonl")
    print(f"wrote {len(rows)} rows to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
