"""Run in a separate process by the concurrency test: publish one rule set and print the
outcome as one JSON line (created / rejected), so the test sees every process's result."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# rulesets is this folder's helper module, importable through the path entry above.
from rulesets import rule_set  # type: ignore[import-not-found]

from service.domain.versions import PublishRejectedError
from service.storage import create_store


def main() -> None:
    url, payer, version, start, allowed = sys.argv[1:6]
    store = create_store(url)
    parsed = rule_set(version, date.fromisoformat(start), payer=payer, allowed_97124=allowed)
    store.latest_change_marker()  # connect first, so the processes race only the publish
    print("ready", flush=True)
    sys.stdin.readline()  # the test says "go" to every process at once
    try:
        result = store.publish(parsed, published_by=f"worker-{version}")
        print(json.dumps({"version": version, "created": result.created}))
    except PublishRejectedError as exc:
        print(json.dumps({"version": version, "rejected": str(exc)}))
    finally:
        store.engine.dispose()


if __name__ == "__main__":
    main()
