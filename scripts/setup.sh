#!/usr/bin/env bash
# Creates .venv and installs netdrift into it (idempotent: skips what is already done).
# Usage: scripts/setup.sh [--test]   (--test also installs the browser-test tooling)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

PY="${NETDRIFT_PYTHON:-}"
if [ -z "$PY" ]; then
  # The default python3 first (torch wheels exist for it), then any other 3.11+.
  for cand in python3 python3.11 python3.12 python3.13; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PY="$cand"; break
    fi
  done
fi
[ -n "$PY" ] || { echo "netdrift setup: Python 3.11 or newer is required" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  echo "netdrift setup: creating .venv with $PY" >&2
  "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
fi
PIP=(.venv/bin/python -m pip install -q --disable-pip-version-check)

# torch first, pinned: an unpinned requirement with nothing installed may pull a multi-GB CUDA
# build. Override with NETDRIFT_TORCH_SPEC (e.g. a CUDA build on a GPU workstation).
# (find_spec: importing torch just to see that it is there costs ~2.5 s on every start.)
if ! .venv/bin/python -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("torch") is None)'; then
  echo "netdrift setup: installing ${NETDRIFT_TORCH_SPEC:-torch==2.13.0}" >&2
  "${PIP[@]}" "${NETDRIFT_TORCH_SPEC:-torch==2.13.0}"
fi

extras=""
[ "$want_test" = 1 ] && extras="[test]"
stamp=".venv/.netdrift-setup-stamp$extras"
digest="$(sha256sum pyproject.toml | cut -d' ' -f1)"
# An install with the test extras covers the plain one (./test.sh then ./run.sh: no reinstall).
if [ "$want_test" = 0 ] && [ -f "$stamp[test]" ] && [ "$(cat "$stamp[test]")" = "$digest" ]; then
  stamp="$stamp[test]"
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
  echo "netdrift setup: installing netdrift$extras and its dependencies" >&2
  "${PIP[@]}" -e ".$extras"
  echo "$digest" > "$stamp"
fi

if [ "$want_test" = 1 ]; then
  # The browser tests drive Debian's Chromium through Playwright (no browser download); the
  # history tests start a throwaway PostgreSQL server from Debian's packages as an unprivileged user;
  # the Prometheus tests a throwaway Prometheus server on loopback.
  debs=()
  [ -x /usr/bin/chromium ] || debs+=(chromium chromium-driver)
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || debs+=(postgresql)
  # The Prometheus tests start Debian's server and backfill its TSDB with promtool.
  command -v promtool >/dev/null 2>&1 || debs+=(prometheus)
  if [ "${#debs[@]}" -gt 0 ]; then
    echo "netdrift setup: installing Debian ${debs[*]} for the tests" >&2
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${debs[@]}" >/dev/null
  fi
fi
