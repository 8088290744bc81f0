#!/usr/bin/env bash
# Run the gRPC service and the REST gateway together, in the foreground; Ctrl-C stops both.
#
#   scripts/run_with_gateway.sh                        # gRPC :50051, REST :8080, sample data
#   scripts/run_with_gateway.sh --grpc-port 6000 --http-port 9000
#   scripts/run_with_gateway.sh --http-host 0.0.0.0      # REST on every interface
#   MASSAGE_ESTIMATOR_DATABASE_URL=postgresql+psycopg://... scripts/run_with_gateway.sh
#
# Creates what it needs on a fresh machine: the virtualenv and generated code (make gen) and
# the gateway binary (scripts/build_gateway.sh, which installs the Debian Go packages).
# The service takes its other settings from MASSAGE_ESTIMATOR_* variables (service/settings.py).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

GRPC_PORT="${MASSAGE_ESTIMATOR_PORT:-50051}"
HTTP_PORT=8080
HTTP_HOST=127.0.0.1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --grpc-port) GRPC_PORT="${2:?}"; shift ;;
    --http-port) HTTP_PORT="${2:?}"; shift ;;
    --http-host) HTTP_HOST="${2:?}"; shift ;;
    -h|--help) sed -n '2,/^set /p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run_with_gateway.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

make -s gen
GATEWAY="$ROOT/build/gateway/massage-estimator-gateway"
needs_build=0
if [[ ! -x "$GATEWAY" ]]; then
  needs_build=1
elif [[ -n "$(find protos gateway scripts/build_gateway.sh -newer "$GATEWAY" \( -name '*.proto' -o -name '*.go' -o -name '*.sh' \) -print -quit)" ]]; then
  needs_build=1
fi
if [[ $needs_build -eq 1 ]]; then
  bash scripts/build_gateway.sh
fi

pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

.venv/bin/massage-estimator serve --port "$GRPC_PORT" &
pids+=($!)
"$GATEWAY" --listen "$HTTP_HOST:$HTTP_PORT" --grpc-target "127.0.0.1:$GRPC_PORT" &
pids+=($!)

# Ready when the gateway's /healthz says the service behind it is SERVING (rules indexed).
.venv/bin/python - "$HTTP_HOST" "$HTTP_PORT" <<'PY'
import sys, time, urllib.request, urllib.error

url = f"http://{sys.argv[1]}:{sys.argv[2]}/healthz"
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            if reply.status == 200:
                print(f"ready: REST {url.removesuffix('/healthz')}  (Ctrl-C stops both)", flush=True)
                sys.exit(0)
    except (urllib.error.URLError, OSError):
        pass
    time.sleep(0.2)
print(f"run_with_gateway.sh: {url} not healthy after 60 s", file=sys.stderr)
sys.exit(1)
PY

# Stop both when either ends.
wait -n "${pids[@]}"
