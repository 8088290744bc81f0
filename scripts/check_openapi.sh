#!/usr/bin/env bash
# Fail when the committed OpenAPI files are not what the protos generate now, or when the
# OpenAPI 3 file does not pass Redocly's lint.
#
#   scripts/check_openapi.sh            # check (CI)
#   scripts/check_openapi.sh --update   # regenerate the committed files after a proto change
#
# openapi/massage_estimator.swagger.json (Swagger 2.0): protoc-gen-swagger from Debian's
#   grpc-gateway v1.6 (scripts/build_gateway.sh --swagger-only, the same generator and
#   descriptors as the gateway binary), finished by scripts/openapi_swagger.py from the
#   descriptors (required fields, the error body, each route's statuses).
# openapi/massage_estimator.openapi3.json (OpenAPI 3.0): converted from it by swagger2openapi
#   and linted by @redocly/cli, both pinned in tools/openapi/package-lock.json (npm ci).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SWAGGER="openapi/massage_estimator.swagger.json"
OPENAPI3="openapi/massage_estimator.openapi3.json"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"   # needs protobuf + googleapis-common-protos (make gen)
TOOLS="$ROOT/tools/openapi"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
bash "$ROOT/scripts/build_gateway.sh" --swagger-only "$TMP"
"$PYTHON" "$ROOT/scripts/openapi_swagger.py" "$TMP/protoc-gen-swagger.json" "$TMP/descriptors.pb" \
  "$TMP/swagger.json"

# The node tools, exactly as locked (npm ci again whenever the lock file changed).
lock_sum="$(sha256sum "$TOOLS/package-lock.json" | cut -d' ' -f1)"
if [[ "$(cat "$TOOLS/node_modules/.lock-sha256" 2>/dev/null)" != "$lock_sum" ]]; then
  (cd "$TOOLS" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_sum" >"$TOOLS/node_modules/.lock-sha256"
fi
node "$TOOLS/node_modules/swagger2openapi/swagger2openapi.js" --patch --outfile "$TMP/openapi3.json" \
  "$TMP/swagger.json"
# swagger2openapi writes JSON with 4-space indents and no final newline; normalise it.
"$PYTHON" -c 'import json, sys; p = sys.argv[1]; d = json.load(open(p)); open(p, "w").write(json.dumps(d, indent=2) + "\n")' \
  "$TMP/openapi3.json"
(cd "$TOOLS" && node node_modules/@redocly/cli/bin/cli.js lint --config "$TOOLS/redocly.yaml" \
  --format stylish "$TMP/openapi3.json")

if [[ "${1:-}" == "--update" ]]; then
  mkdir -p "$ROOT/openapi"
  cp "$TMP/swagger.json" "$ROOT/$SWAGGER"
  cp "$TMP/openapi3.json" "$ROOT/$OPENAPI3"
  echo "updated $SWAGGER and $OPENAPI3"
  exit 0
fi

status=0
for pair in "$SWAGGER:$TMP/swagger.json" "$OPENAPI3:$TMP/openapi3.json"; do
  committed="$ROOT/${pair%%:*}"
  fresh="${pair#*:}"
  if [[ ! -f "$committed" ]]; then
    echo "check_openapi: ${pair%%:*} is missing; run scripts/check_openapi.sh --update and commit it" >&2
    status=1
  elif ! diff -u "$committed" "$fresh" >"$TMP/diff"; then
    echo "check_openapi: ${pair%%:*} is stale (the protos or the generator changed). Differences:" >&2
    head -n 80 "$TMP/diff" >&2
    echo "run scripts/check_openapi.sh --update and commit the result" >&2
    status=1
  else
    echo "check_openapi: ${pair%%:*} is up to date"
  fi
done
exit $status
