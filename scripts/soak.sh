#!/usr/bin/env bash
# A bounded soak of a local server: scripts/soak.sh [--rate N] [--minutes M | --seconds S]
# (see scripts/soak.py for the options and what is checked). Run from anywhere after `make gen`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
exec .venv/bin/python -m scripts.soak "$@"
