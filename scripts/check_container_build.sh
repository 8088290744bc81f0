#!/usr/bin/env bash
# No Docker engine runs on CI machines, so this lints both Dockerfiles with hadolint and replays
# their build and run steps outside Docker, reading the steps from the Dockerfiles themselves
# (scripts/dockerfile_facts.py):
#
# Service (Dockerfile): the build stage's COPY sources into a clean folder, the same
#   `pip wheel` (build isolation: grpcio-tools only in pip's build environment), the wheel into a
#   fresh virtualenv (which must not contain grpcio-tools), then the service started with the
#   run stage's ENV (/data and /opt/venv mapped to temporary folders, loopback, a free port), as
#   uid 10001 when run as root, from its WORKDIR; then the Dockerfile's HEALTHCHECK and a real
#   quote.
# Gateway (gateway/Dockerfile): its apt-get pins must be exactly the packages
#   scripts/build_gateway.sh needs (--print-packages) at the versions installed here; the build
#   stage's COPY sources into a clean folder and the same build (CGO off); the binary must be
#   static (the run stage is `scratch`); then it runs with the run stage's ENV (no flags) as
#   uid 10001 in front of the replayed service, its HEALTHCHECK must pass (and fail against a
#   port where no gateway listens), and a REST quote must answer.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
FACTS="$ROOT/scripts/dockerfile_facts.py"
WORK="$(mktemp -d)"
chmod 755 "$WORK"  # the replayed processes run as uid 10001 and must reach their files
SERVICE_PID=""
GATEWAY_PID=""
# Stop only the processes this script started (a bare `kill 0` would signal the whole group).
cleanup() {
  [ -n "$GATEWAY_PID" ] && kill "$GATEWAY_PID" 2>/dev/null
  [ -n "$SERVICE_PID" ] && kill "$SERVICE_PID" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

"$ROOT/.venv/bin/hadolint" "$ROOT/Dockerfile" "$ROOT/gateway/Dockerfile"
echo "hadolint: Dockerfile and gateway/Dockerfile clean"

# As the image's USER (10001) when this runs as root, as the current user otherwise.
as_image_user() {
  if [ "$(id -u)" -eq 0 ]; then
    setpriv --reuid=10001 --regid=10001 --clear-groups -- "$@"
  else
    "$@"
  fi
}

# The base image's interpreter stands in for python:3.11-slim's: when run as root it must be
# one uid 10001 can run (a pyenv under /root is not), e.g. Debian's /usr/bin/python3.
BASE_PYTHON="$(command -v python3)"
if [ "$(id -u)" -eq 0 ] && ! as_image_user "$BASE_PYTHON" -c '' 2>/dev/null; then
  BASE_PYTHON=/usr/bin/python3
fi

# pip warns about each configured index folder it cannot find; keep its real errors.
quiet_pip() { "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Copy the first stage's COPY sources (relative to the repository, the build context) into $2,
# standing for the stage's WORKDIR; drop what .dockerignore keeps out of the context.
replay_copies() {
  local dockerfile="$1" dest="$2" line
  mkdir -p "$dest"
  while read -r line; do
    read -r -a parts <<<"$line"
    local target="${parts[-1]}"
    unset 'parts[-1]'
    mkdir -p "$dest/$target"
    for src in "${parts[@]}"; do  # as Docker does: a folder's contents, a file itself
      if [ -d "$ROOT/$src" ]; then cp -r "$ROOT/${src%/}/." "$dest/$target/"
      else cp "$ROOT/$src" "$dest/$target/"; fi
    done
  done < <(python3 "$FACTS" copies "$dockerfile")
  find "$dest" -name __pycache__ -prune -exec rm -rf {} +
}

# The run stage's ENV as NAME=VALUE words, with the container's paths mapped to this replay's.
container_env() {
  local dockerfile="$1"
  python3 "$FACTS" env "$dockerfile" | sed \
    -e "s|/opt/venv|$WORK/venv|g" -e "s|/data|$WORK/data|g" -e "s|\$PATH|$PATH|g"
}

wait_for() {  # wait_for PID LOG COMMAND...: until COMMAND succeeds (or the process exits)
  local pid="$1" log="$2"
  shift 2
  for _ in $(seq 120); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "the replayed process exited" >&2; return 1; }
    sleep 0.5
  done
  cat "$log"
  echo "timed out waiting for: $*" >&2
  return 1
}

echo "== service image (Dockerfile): build stage"
replay_copies "$ROOT/Dockerfile" "$WORK/src"
"$BASE_PYTHON" -m venv "$WORK/build-venv"  # stands in for the base image's pip
quiet_pip "$WORK/build-venv/bin/pip" wheel -q --disable-pip-version-check --no-deps \
  --wheel-dir "$WORK/wheels" "$WORK/src"
"$BASE_PYTHON" -m venv "$WORK/venv"
quiet_pip "$WORK/venv/bin/pip" install -q --disable-pip-version-check \
  "$WORK"/wheels/massage_estimator-*.whl
if "$WORK/venv/bin/python" -c "import grpc_tools" 2>/dev/null; then
  echo "grpcio-tools is installed in the run-time virtualenv; it is a build dependency only" >&2
  exit 1
fi

echo "== service image: run stage (its ENV, uid 10001, WORKDIR /data)"
mkdir -p "$WORK/data"
[ "$(id -u)" -eq 0 ] && chown 10001:10001 "$WORK/data"
PORT="$(free_port)"
mapfile -t SERVICE_ENV < <(container_env "$ROOT/Dockerfile")
SERVICE_ENV+=(MASSAGE_ESTIMATOR_HOST=127.0.0.1 "MASSAGE_ESTIMATOR_PORT=$PORT")
cd "$WORK/data"
as_image_user env -i HOME=/nonexistent "${SERVICE_ENV[@]}" massage-estimator serve \
  >"$WORK/serve.log" 2>&1 &
SERVICE_PID=$!

# The Dockerfile's HEALTHCHECK, with the container's environment (its python is the venv's).
mapfile -d '' -t SERVICE_HEALTHCHECK < <(python3 "$FACTS" healthcheck "$ROOT/Dockerfile")
wait_for "$SERVICE_PID" "$WORK/serve.log" \
  env -i "${SERVICE_ENV[@]}" "${SERVICE_HEALTHCHECK[@]}"
echo "service HEALTHCHECK passes on port $PORT"

OUT="$("$WORK/venv/bin/massage-estimator" quote --plan acme-ppo-gold --session-type deep_tissue \
  --minutes 53 --referral prescription --referral-date 2026-02-01 --diagnosis M54.50 \
  --date 2026-03-03 --deductible-met 450 --oop-met 450 --visits-used 3 \
  --target "127.0.0.1:$PORT" --json)"
echo "$OUT" | python3 -c '
import json, sys
est = json.load(sys.stdin)["estimate"]
pays = est["patient_pays"]
assert (pays["units"], pays.get("nanos", 0)) == ("64", 800000000), pays
print("replayed service answers: patient pays $64.80, rule version", est["rule_version"]["version"])
'
[ -f "$WORK/data/massage-estimator.db" ] || { echo "the store is not in the /data volume" >&2; exit 1; }

echo "== gateway image (gateway/Dockerfile): pinned packages"
python3 "$FACTS" apt "$ROOT/gateway/Dockerfile" | sort >"$WORK/pinned.txt"
for package in $(bash "$ROOT/scripts/build_gateway.sh" --print-packages); do
  dpkg-query -W -f='${Package}=${Version}\n' "$package" 2>/dev/null || echo "$package=(not installed)"
done | sort >"$WORK/needed.txt"
if ! diff -u "$WORK/pinned.txt" "$WORK/needed.txt"; then
  echo "gateway/Dockerfile's apt-get pins (-) differ from what scripts/build_gateway.sh needs at" \
    "the versions installed here (+); run 'bash scripts/build_gateway.sh' and update the pins" >&2
  exit 1
fi
echo "gateway/Dockerfile pins the $(wc -l <"$WORK/pinned.txt") packages build_gateway.sh needs"

echo "== gateway image: build stage (CGO off, static binary)"
cd "$ROOT"
replay_copies "$ROOT/gateway/Dockerfile" "$WORK/gw"
mkdir -p "$ROOT/build/gateway"
(cd "$WORK/gw" && CGO_ENABLED=0 GOCACHE="$ROOT/build/gateway/gocache-static" \
  bash scripts/build_gateway.sh --no-install >/dev/null)
GATEWAY="$WORK/gw/build/gateway/massage-estimator-gateway"
if readelf -l "$GATEWAY" | grep -q "program interpreter"; then
  echo "the gateway binary is dynamically linked; the scratch run stage cannot run it" >&2
  exit 1
fi
chmod 755 "$WORK/gw" "$WORK/gw/build" "$WORK/gw/build/gateway"

echo "== gateway image: run stage (its ENV and no flags, uid 10001)"
HTTP_PORT="$(free_port)"
mapfile -t GATEWAY_ENV < <(container_env "$ROOT/gateway/Dockerfile")
GATEWAY_ENV+=("MASSAGE_ESTIMATOR_GATEWAY_LISTEN=127.0.0.1:$HTTP_PORT"
  "MASSAGE_ESTIMATOR_TARGET=127.0.0.1:$PORT")
as_image_user env -i "${GATEWAY_ENV[@]}" "$GATEWAY" >"$WORK/gateway.log" 2>&1 &
GATEWAY_PID=$!
mapfile -d '' -t GATEWAY_HEALTHCHECK < <(python3 "$FACTS" healthcheck "$ROOT/gateway/Dockerfile")
[ "${GATEWAY_HEALTHCHECK[0]}" = /massage-estimator-gateway ] || {
  echo "gateway HEALTHCHECK runs ${GATEWAY_HEALTHCHECK[0]}, not the binary" >&2; exit 1; }
GATEWAY_HEALTHCHECK[0]="$GATEWAY"
wait_for "$GATEWAY_PID" "$WORK/gateway.log" \
  as_image_user env -i "${GATEWAY_ENV[@]}" "${GATEWAY_HEALTHCHECK[@]}"
echo "gateway HEALTHCHECK passes on port $HTTP_PORT"
if env -i MASSAGE_ESTIMATOR_GATEWAY_LISTEN=127.0.0.1:1 "${GATEWAY_HEALTHCHECK[@]}" 2>/dev/null; then
  echo "gateway HEALTHCHECK passed where no gateway listens" >&2
  exit 1
fi

curl -sS -X POST "http://127.0.0.1:$HTTP_PORT/v1/estimates:session" \
  -H 'Content-Type: application/json' \
  -d '{"session": {"plan_id": "acme-ppo-gold", "session_type": "deep_tissue", "minutes": 53,
       "referral": {"kind": "REFERRAL_KIND_PRESCRIPTION", "issue_date": {"year": 2026, "month": 2, "day": 1}},
       "diagnosis_codes": ["M54.50"], "date_of_service": {"year": 2026, "month": 3, "day": 3},
       "accumulators": {"deductible_met": {"currency_code": "USD", "units": "450"},
                        "out_of_pocket_met": {"currency_code": "USD", "units": "450"}, "visits_used": 3}}}' \
  | python3 -c '
import json, sys
pays = json.load(sys.stdin)["estimate"]["patient_pays"]
assert (pays["units"], pays.get("nanos", 0)) == ("64", 800000000), pays
print("replayed gateway answers over REST: patient pays $64.80")
'
