#!/usr/bin/env bash
# Sets everything up, then starts the netdrift dashboard on a bundled topology.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
exec .venv/bin/netdrift dashboard "$@"
