#!/usr/bin/env bash
# No Docker engine runs on CI machines, so this replays the Dockerfile's build and run steps
# outside Docker: the same files copied (per .dockerignore), the same pinned codegen, a
# non-editable wheel install into a fresh virtualenv, the service started from another folder
# with the container's environment, then a health check and a real quote. It also lints the
# Dockerfile with hadolint.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d)"
PID=""
# Stop only the server this script started (a bare `kill 0` would signal the whole group).
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"' EXIT

"$ROOT/.venv/bin/hadolint" "$ROOT/Dockerfile"
echo "hadolint: Dockerfile clean"

mkdir -p "$WORK/src/scripts" "$WORK/app" "$WORK/data"
cp -r "$ROOT/pyproject.toml" "$ROOT/README.md" "$ROOT/protos" "$ROOT/service" "$WORK/src/"
cp "$ROOT/scripts/gen_protos.py" "$WORK/src/scripts/"
cp -r "$ROOT/payer_rules" "$WORK/app/"
find "$WORK/src" -name __pycache__ -prune -exec rm -rf {} +

python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q --disable-pip-version-check "grpcio-tools==1.85.1" "protobuf==7.36.2"
(cd "$WORK/src" && "$WORK/venv/bin/python" scripts/gen_protos.py)
"$WORK/venv/bin/pip" install -q --disable-pip-version-check "$WORK/src"

PORT="$("$WORK/venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cd "$WORK/app"
MASSAGE_ESTIMATOR_HOST=127.0.0.1 MASSAGE_ESTIMATOR_PORT="$PORT" \
MASSAGE_ESTIMATOR_RULES_DIR="$WORK/app/payer_rules" \
MASSAGE_ESTIMATOR_DATABASE_URL="sqlite:///$WORK/data/massage-estimator.db" \
  "$WORK/venv/bin/massage-estimator" serve >"$WORK/serve.log" 2>&1 &
PID=$!

# The Dockerfile's HEALTHCHECK command, taken from the Dockerfile itself, with the
# container's MASSAGE_ESTIMATOR_PORT (here a non-default port, as an operator may set).
HEALTHCHECK_PY="$(sed -n 's/^ *CMD \["python", "-c", "\(.*\)"\]$/\1/p' "$ROOT/Dockerfile")"
[ -n "$HEALTHCHECK_PY" ] || { echo "no HEALTHCHECK command found in the Dockerfile" >&2; exit 1; }
for _ in $(seq 60); do
  if MASSAGE_ESTIMATOR_PORT="$PORT" "$WORK/venv/bin/python" -c "$HEALTHCHECK_PY" 2>/dev/null; then
    break
  fi
  kill -0 "$PID" 2>/dev/null || { cat "$WORK/serve.log"; echo "the installed service exited" >&2; exit 1; }
  sleep 0.5
done

OUT="$("$WORK/venv/bin/massage-estimator" quote --plan acme-ppo-gold --session-type deep_tissue \
  --minutes 53 --referral prescription --referral-date 2026-02-01 --diagnosis M54.50 \
  --date 2026-03-03 --deductible-met 450 --oop-met 450 --visits-used 3 \
  --target "127.0.0.1:$PORT" --json)"
echo "$OUT" | "$WORK/venv/bin/python" -c '
import json, sys
est = json.load(sys.stdin)["estimate"]
pays = est["patient_pays"]
assert (pays["units"], pays.get("nanos", 0)) == ("64", 800000000), pays
print("installed service answers: patient pays $64.80, rule version", est["rule_version"]["version"])
'
