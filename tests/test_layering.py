"""The layering DESIGN.md promises: dashboard -> storage -> engine, never the other way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def modules_after_import(stmt: str) -> set[str]:
    code = f"import sys; {stmt}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_engine_pulls_in_neither_storage_nor_ui():
    mods = modules_after_import(
        "import engine.scenario, engine.paper, engine.loaders, engine.simulation, engine.metrics")
    assert not {m for m in mods if m.split(".")[0] in {"streamlit", "sqlalchemy", "storage", "dashboard"}}


def test_storage_pulls_in_no_ui():
    mods = modules_after_import("import storage.repository, storage.database")
    assert not {m for m in mods if m.split(".")[0] in {"streamlit", "dashboard"}}


def test_the_cli_starts_without_loading_torch():
    # `netdrift topology ...`, `history ...` and `--help` must start fast: torch loads only
    # for the commands that train models.
    mods = modules_after_import("import cli.main; cli.main.build_parser()")
    assert "torch" not in mods and "streamlit" not in mods
