#!/usr/bin/env bash
# Check the Kubernetes manifests in deploy/k8s/ (CI runs this from .ci/run):
#   1. kubernetes-validate --strict against the schemas of the oldest Kubernetes they need
#      (1.30: the preStop `sleep` action is on by default from there) and of the newest one
#      kubernetes-validate knows; unknown fields are errors;
#   2. every checkov skip annotation names a check and gives its reason;
#   3. checkov scans them offline (--skip-download) and must report zero failed checks.
# checkov pins packaging<24 while pytest needs >=24, so it cannot join the dev dependencies: it is
# pinned here and installed into its own virtualenv, .venv-checkov (made on first use).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MANIFESTS="$ROOT/deploy/k8s"
CHECKOV_VERSION=3.3.30
CHECKOV_VENV="$ROOT/.venv-checkov"
KUBERNETES_VERSIONS=(1.30.0 1.37.0)

shopt -s nullglob
files=("$MANIFESTS"/*.yaml)
[ ${#files[@]} -gt 0 ] || { echo "no manifests in $MANIFESTS" >&2; exit 1; }

for version in "${KUBERNETES_VERSIONS[@]}"; do
  "$ROOT/.venv/bin/kubernetes-validate" --strict --quiet -k "$version" "${files[@]}"
  echo "kubernetes-validate --strict: ${#files[@]} files valid for Kubernetes $version"
done

# A skip is `checkov.io/skipN: CKV_..=<reason>`; one without a reason is refused.
if grep -n 'checkov.io/skip' "${files[@]}" | grep -Ev 'checkov\.io/skip[0-9]+: CKV2?_[A-Z0-9_]+=[^ ].{15,}$'; then
  echo "each checkov skip above must read 'checkov.io/skipN: CKV_ID=<why it does not apply>'" >&2
  exit 1
fi

if ! "$CHECKOV_VENV/bin/checkov" --version 2>/dev/null | grep -qx "$CHECKOV_VERSION"; then
  rm -rf "$CHECKOV_VENV"
  python3 -m venv "$CHECKOV_VENV"
  "$CHECKOV_VENV/bin/pip" install -q --disable-pip-version-check "checkov==$CHECKOV_VERSION" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
fi
"$CHECKOV_VENV/bin/checkov" --directory "$MANIFESTS" --framework kubernetes --skip-download \
  --compact --quiet
echo "checkov $CHECKOV_VERSION: no failed checks in deploy/k8s"
