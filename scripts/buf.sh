#!/usr/bin/env bash
# buf lint and buf breaking for the protos (config: buf.yaml at the repository root).
#
#   scripts/buf.sh lint                 # STANDARD lint on protos/ (vendored google/ excluded)
#   scripts/buf.sh breaking             # no breaking change against the main branch
#   scripts/buf.sh breaking REF         # ... against any git ref (commit, tag, branch)
#   scripts/buf.sh <any buf args>       # run the pinned buf itself
#
# buf comes from npm (@bufbuild/buf, pinned below) into build/buf/node_modules; nothing is
# installed globally. Needs node + npm (installed from Debian when npm is missing).
#
# What "breaking" compares with: on a feature branch or with uncommitted proto changes, the
# main branch (`.git#branch=main`). On main itself with a clean tree (CI on a clone of main)
# main is the tree being checked, so the comparison is with the previous commit instead
# (HEAD~1), which catches a breaking change the moment it lands. Override with
# BUF_BREAKING_AGAINST=<buf input> or a REF argument. `subdir=protos` makes the comparison work
# against commits older than buf.yaml too.
set -euo pipefail

BUF_VERSION="1.75.0"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PREFIX="$ROOT/build/buf"
BUF="$PREFIX/node_modules/.bin/buf"
if [[ ! -x "$BUF" ]] || [[ "$("$BUF" --version 2>/dev/null)" != "$BUF_VERSION" ]]; then
  if ! command -v npm >/dev/null; then
    # A fresh Debian machine: Debian's own nodejs + npm (skip when another node is present,
    # e.g. NodeSource's, which bundles npm).
    SUDO=""
    [[ $(id -u) -eq 0 ]] || SUDO="sudo"
    echo "buf.sh: npm is missing; installing Debian's nodejs and npm" >&2
    $SUDO apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q nodejs npm >/dev/null
  fi
  mkdir -p "$PREFIX"
  echo "buf.sh: installing @bufbuild/buf@$BUF_VERSION into ${PREFIX#"$ROOT"/}" >&2
  npm install --prefix "$PREFIX" --no-audit --no-fund --no-save --silent "@bufbuild/buf@$BUF_VERSION" >&2
fi

cmd="${1:-lint}"
[[ $# -gt 0 ]] && shift
case "$cmd" in
  lint)
    "$BUF" lint "$@"
    echo "buf lint: clean"
    ;;
  breaking)
    if [[ -n "${BUF_BREAKING_AGAINST:-}" ]]; then
      against="$BUF_BREAKING_AGAINST"
    elif [[ $# -gt 0 ]]; then
      against=".git#ref=$(git rev-parse "$1"),subdir=protos"
      shift
    else
      branch="$(git rev-parse --abbrev-ref HEAD)"
      dirty="$(git status --porcelain -- protos buf.yaml)"
      if [[ "$branch" != "main" || -n "$dirty" ]]; then
        git rev-parse -q --verify main >/dev/null || {
          echo "buf.sh: no local branch main to compare with; pass a REF" >&2
          exit 2
        }
        against=".git#branch=main,subdir=protos"
      elif git rev-parse -q --verify HEAD~1 >/dev/null \
        || { [[ "$(git rev-parse --is-shallow-repository)" == "true" ]] \
             && git fetch -q --deepen=1 2>/dev/null \
             && git rev-parse -q --verify HEAD~1 >/dev/null; }; then
        against=".git#ref=$(git rev-parse HEAD~1),subdir=protos"
      else
        echo "buf.sh: a clean main with no parent commit (shallow clone?): nothing to compare; fetch with depth 2 or more" >&2
        exit 2
      fi
    fi
    echo "buf breaking --against '$against'" >&2
    "$BUF" breaking --against "$against" "$@"
    echo "buf breaking: no breaking change"
    ;;
  *)
    "$BUF" "$cmd" "$@"
    ;;
esac
