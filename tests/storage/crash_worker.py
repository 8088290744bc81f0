"""Run as its own process by the kill -9 test: publish big batches of rule-set versions in a
loop, each batch in one transaction (RuleStore.publish_many, the server's publish path).

Prints "begin <round> <size>" right before a batch's write starts and "committed <round>
<seconds>" right after it commits, so the test can kill it inside a write."""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# rulesets is this folder's helper module, importable through the path entry above.
from rulesets import rule_set  # type: ignore[import-not-found]

from service.storage import create_store

BATCH = 40


def main() -> None:
    url, first_round = sys.argv[1], int(sys.argv[2])
    store = create_store(url)
    store.latest_change_marker()  # connected before the first write
    for round_ in range(first_round, first_round + 10_000):
        batch = [
            rule_set(f"{round_}.{k}", date(2026, 1, 1), payer=f"crash-{round_}-{k}")
            for k in range(BATCH)
        ]  # parsed before "begin": between the two lines there is only the write
        print(f"begin {round_} {BATCH}", flush=True)
        started = time.monotonic()
        store.publish_many(batch, published_by=f"crash-{round_}")
        print(f"committed {round_} {time.monotonic() - started:.3f}", flush=True)


if __name__ == "__main__":
    main()
