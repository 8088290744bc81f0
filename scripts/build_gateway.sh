#!/usr/bin/env bash
# Generate and build the REST/JSON gateway (grpc-gateway v1.6, Debian 12) from protos/.
#
#   scripts/build_gateway.sh            # installs missing Debian packages (needs root/sudo),
#                                       # generates into build/gateway, builds the binary
#   scripts/build_gateway.sh --no-install   # fail instead of installing packages
#   scripts/build_gateway.sh --swagger-only DIR  # only write the raw Swagger file and the
#                                       # descriptor set into DIR (scripts/check_openapi.sh)
#   scripts/build_gateway.sh --print-packages    # the Debian packages it needs, one a line
#                                       # (gateway/Dockerfile pins the same list)
#
# Output (nothing generated is committed except openapi/, see scripts/check_openapi.sh):
#   build/gateway/massage-estimator-gateway         the binary (--listen, --grpc-target)
#   build/gateway/gopath/src/massageestimator/...   generated Go code + a copy of gateway/main.go
#   build/gateway/swagger/protoc-gen-swagger.json, descriptors.pb  (scripts/check_openapi.sh)
#
# Why the descriptor round trip: Debian's Go generators (protoc-gen-go 1.3, protoc-gen-swagger
# 1.6) predate proto3 `optional` and protoc refuses to run them on files that use it. A proto3
# optional field is, on the wire and in JSON, exactly a field alone in a oneof (the
# "synthetic oneof" protoc already declares for it), so we compile the protos once to a
# descriptor set, clear the `proto3_optional` flag (the synthetic oneof becomes a real one)
# and feed that descriptor set to the old generators. Comments and field numbers are kept.
# The Python code and buf still see the protos exactly as written.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

INSTALL=1
SWAGGER_ONLY=""
PRINT_PACKAGES=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-install) INSTALL=0 ;;
    --swagger-only) SWAGGER_ONLY="${2:?--swagger-only needs a directory}"; shift ;;
    --print-packages) PRINT_PACKAGES=1 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "build_gateway.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

# Debian 12 packages: Go 1.19, protoc 3.21, grpc-gateway v1.6 (+ protoc-gen-swagger), grpc-go,
# the APIv1 Go protobuf and genproto (google.type / google.rpc Go types). Everything builds
# offline from /usr/share/gocode. python3 runs helper steps.
PACKAGES=(golang-go golang-grpc-gateway golang-github-grpc-ecosystem-grpc-gateway-dev
  golang-google-grpc-dev golang-goprotobuf-dev golang-google-protobuf-dev
  golang-google-genproto-dev protobuf-compiler libprotobuf-dev protoc-gen-go-grpc python3
  golang-github-prometheus-client-golang-dev  # the gateway's /metrics (gateway/metrics.go)
  curl)  # curl: the tests run docs/rest-gateway.md's curl examples against the gateway
if [[ $PRINT_PACKAGES -eq 1 ]]; then
  printf '%s\n' "${PACKAGES[@]}"
  exit 0
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ $INSTALL -eq 0 ]]; then
    echo "build_gateway.sh: missing Debian packages: ${missing[*]}" >&2
    exit 3
  fi
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  echo "build_gateway.sh: installing ${missing[*]}" >&2
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

BUILD="$ROOT/build/gateway"
GOPATH_DIR="$BUILD/gopath"
GOMOD="massageestimator"                    # import path root, from the protos' go_package
GEN_DIR="$GOPATH_DIR/src/$GOMOD/gen/go/massage_estimator/v1"
MAIN_DIR="$GOPATH_DIR/src/$GOMOD/gateway"
WELL_KNOWN=/usr/include                     # google/protobuf/*.proto (libprotobuf-dev)

mapfile -t PROTOS < <(cd protos && find massage_estimator -name '*.proto' | LC_ALL=C sort)
if [[ ${#PROTOS[@]} -eq 0 ]]; then
  echo "build_gateway.sh: no protos under protos/massage_estimator" >&2
  exit 1
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# 1. One descriptor set (with imports and comments), proto3_optional cleared.
protoc -Iprotos -I"$WELL_KNOWN" --include_imports --include_source_info \
  --descriptor_set_out="$WORK/raw.pb" "${PROTOS[@]}"
# Our protos are passed too so their custom options (google.api.http, ...) are known to the
# text format and survive the round trip instead of turning into unparseable field numbers.
protoc -Iprotos -I"$WELL_KNOWN" --decode=google.protobuf.FileDescriptorSet \
  google/protobuf/descriptor.proto "${PROTOS[@]}" <"$WORK/raw.pb" \
  | grep -v '^ *proto3_optional: true$' >"$WORK/set.txt"
protoc -Iprotos -I"$WELL_KNOWN" --encode=google.protobuf.FileDescriptorSet \
  google/protobuf/descriptor.proto "${PROTOS[@]}" <"$WORK/set.txt" >"$WORK/set.pb"

run_protoc() { protoc --descriptor_set_in="$WORK/set.pb" "$@" "${PROTOS[@]}"; }

# 2. Swagger (one merged file for every service; proto field names, as the gateway emits).
swagger_out="${SWAGGER_ONLY:-$BUILD/swagger}"
mkdir -p "$swagger_out"
mkdir -p "$WORK/swagger"
run_protoc --swagger_out="allow_merge=true,merge_file_name=massage_estimator:$WORK/swagger"
# protoc-gen-swagger writes "<merge_file_name>.swagger.json". That raw file and the descriptor
# set (with proto3 `optional` and every option, e.g. google.api.field_behavior) are what
# scripts/openapi_swagger.py turns into the committed file (scripts/check_openapi.sh): v1.6
# cannot be told the API's title, its error body or the required fields.
cp "$WORK/swagger/massage_estimator.swagger.json" "$swagger_out/protoc-gen-swagger.json"
cp "$WORK/raw.pb" "$swagger_out/descriptors.pb"
if [[ -n "$SWAGGER_ONLY" ]]; then
  exit 0
fi

# 3. Go code: messages + gRPC client (protoc-gen-go 1.3 plugins=grpc) and the reverse proxy.
rm -rf "$GOPATH_DIR/src/$GOMOD"
mkdir -p "$GEN_DIR" "$MAIN_DIR" "$WORK/go"
# protoc 3.21's well-known types name the APIv2 Go packages (google.golang.org/protobuf/types/
# known/...), which the APIv1 runtime of grpc-gateway v1.6 cannot use (it panics decoding a
# Timestamp). Map them to the APIv1 packages Debian ships instead.
WKT_MAP=""
for wkt in any duration empty struct timestamp wrappers; do
  WKT_MAP+=",Mgoogle/protobuf/$wkt.proto=github.com/golang/protobuf/ptypes/$wkt"
done
WKT_MAP+=",Mgoogle/protobuf/field_mask.proto=google.golang.org/genproto/protobuf/field_mask"
WKT_MAP+=",Mgoogle/protobuf/descriptor.proto=github.com/golang/protobuf/protoc-gen-go/descriptor"
run_protoc --go_out="plugins=grpc$WKT_MAP:$WORK/go" --grpc-gateway_out="logtostderr=true:$WORK/go"
cp "$WORK"/go/"$GOMOD"/gen/go/massage_estimator/v1/*.go "$GEN_DIR/"
# An APIv2 import compiles fine next to APIv1 but panics at run time; refuse it here.
if grep -l '"google.golang.org/protobuf/' "$GEN_DIR"/*.go; then
  echo "build_gateway.sh: generated code imports APIv2 google.golang.org/protobuf (above);" \
    "map that proto's Go package to an APIv1 one in WKT_MAP" >&2
  exit 1
fi

# The list of Register*HandlerFromEndpoint functions gateway/main.go registers, so a new
# service in the protos is exposed without editing main.go.
{
  echo "// Code generated by scripts/build_gateway.sh. DO NOT EDIT."
  echo
  echo "package $(sed -n 's/^package \([a-z0-9_]*\).*/\1/p' "$GEN_DIR"/*.pb.go | head -1)"
  echo
  echo 'import ('
  echo '	"context"'
  echo
  echo '	"github.com/grpc-ecosystem/grpc-gateway/runtime"'
  echo '	"google.golang.org/grpc"'
  echo ')'
  echo
  echo '// GatewayRegistrations registers every service of the API on a gateway mux.'
  echo 'var GatewayRegistrations = []func(context.Context, *runtime.ServeMux, string, []grpc.DialOption) error{'
  grep -ho '^func Register[A-Za-z0-9]*HandlerFromEndpoint' "$GEN_DIR"/*.pb.gw.go | sed 's/^func \(.*\)/	\1,/' | LC_ALL=C sort
  echo '}'
  echo
  echo '// ProtoFiles names the API'"'"'s proto files, whose descriptors give the routes and the'
  echo '// request checker (gateway/routes.go).'
  echo 'var ProtoFiles = []string{'
  grep -ho 'proto.RegisterFile("[^"]*"' "$GEN_DIR"/*.pb.go | sed 's/^proto.RegisterFile(\(.*\)/	\1,/' | LC_ALL=C sort
  echo '}'
} >"$GEN_DIR/registrations.go"
cp gateway/*.go "$MAIN_DIR/"
# The booking-page widget, embedded in the binary (gateway/widget.go).
rm -rf "$MAIN_DIR/widget" && cp -r gateway/widget "$MAIN_DIR/widget"

# 4. Build in GOPATH mode, offline, against Debian's Go sources.
export GO111MODULE=off GOPROXY=off GOFLAGS=
export GOPATH="$GOPATH_DIR:/usr/share/gocode"
export GOCACHE="${GOCACHE:-$BUILD/gocache}"
(cd "$MAIN_DIR" && go vet . && go build -o "$BUILD/massage-estimator-gateway" .)
echo "built $BUILD/massage-estimator-gateway"
