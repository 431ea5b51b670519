#!/usr/bin/env bash
# Sets everything up (test tooling and Debian chromium included), then runs the whole suite,
# slow end-to-end and browser tests included.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh --test
echo "netdrift tests: ruff check" >&2
.venv/bin/ruff check --quiet src tests bench scripts conftest.py
echo "netdrift tests: mypy (src/netdrift, config in pyproject.toml)" >&2
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
