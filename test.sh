#!/usr/bin/env bash
# Sets everything up (test tooling and Debian chromium included), then runs the whole suite,
# slow end-to-end and browser tests included.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh --test
exec .venv/bin/python -m pytest "$@"
