"""The layering DESIGN.md promises, checked statically: engine < storage < service < {cli, dashboard}.

Every module of a layered package is parsed and every import in it counted, wherever it is
(module level, inside functions, under ``if TYPE_CHECKING``): ``import x``, ``from x import y``,
relative imports (resolved against the module's package) and ``importlib.import_module`` /
``__import__`` calls with a literal name. A module may import its own package and the packages
of lower layers, never a higher one, nor one of the same layer (cli and dashboard are peers:
``netdrift dashboard`` starts Streamlit in a subprocess, it does not import the app). bench/ is
exempt (benchmarks may use anything). No exceptions are needed today; if one ever is, list it in
``ALLOWED`` with the reason.

The service is the only door from the user interfaces to the history: cli and dashboard may take
from storage only the database opener (:data:`OPENER`: ``from netdrift.storage.database import
open_database``, and ``missing_sqlite_file``, the opener's check that reading would create no
file); every query and write goes through :mod:`netdrift.service`.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: The scan's root: the ``src/`` folder holding the one installed package, ``netdrift``.
ROOT = REPO / "src"
PACKAGE = "netdrift"

#: Top-level package -> layer. Only lower layers (and the package itself) may be imported.
LAYERS = {"engine": 0, "storage": 1, "service": 2, "cli": 3, "dashboard": 3}
#: Our packages that no layered package may import (bench is exempt from the scan, not importable).
UNLAYERED = {"bench", "tests", "scripts"}
#: Third-party packages a layer must not import, whatever imports it allows otherwise.
FORBIDDEN = {
    "engine": {"streamlit", "sqlalchemy", "psycopg", "psycopg2", "alembic"},
    "storage": {"streamlit"},
}
#: (module path relative to ROOT, imported top-level package) pairs allowed despite the rules.
ALLOWED: set[tuple[str, str]] = set()
#: The user interfaces, which reach storage only through the service ...
INTERFACES = {"cli", "dashboard"}
#: ... but for the database opener: module -> the names they may import from it.
OPENER = {f"{PACKAGE}.storage.database": {"open_database", "missing_sqlite_file"}}


def module_name(path: Path, root: Path) -> tuple[str, str]:
    """Dotted name of the module at ``path`` and of the package a relative import starts from."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
        return ".".join(parts), ".".join(parts)
    return ".".join(parts), ".".join(parts[:-1])


def imports(tree: ast.AST, package: str) -> list[tuple[int, str, tuple[str, ...] | None]]:
    """(line, absolute dotted module, names taken from it or None for the whole module) of every
    import anywhere in ``tree``."""
    out: list[tuple[int, str, tuple[str, ...] | None]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names = tuple(alias.name for alias in node.names)
            if node.level == 0:
                out.append((node.lineno, node.module or "", names))
                continue
            base = package.split(".") if package else []
            if node.level - 1 > len(base) - 1:
                out.append((node.lineno, f"<relative import beyond the top-level package: "
                                         f"{'.' * node.level}{node.module or ''}>", names))
                continue
            base = base[: len(base) - (node.level - 1)]
            out.append((node.lineno, ".".join(base + ([node.module] if node.module else [])), names))
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            arg = node.args[0]
            if name in {"import_module", "__import__"} and isinstance(arg, ast.Constant) \
                    and isinstance(arg.value, str) and not arg.value.startswith("."):
                out.append((node.lineno, arg.value, None))
    return out


def imported_names(tree: ast.AST, package: str) -> list[tuple[int, str]]:
    """(line, absolute dotted name) of every import anywhere in ``tree``."""
    return [(line, name) for line, name, _ in imports(tree, package)]


def past_the_door(name: str, names: tuple[str, ...] | None) -> bool:
    """Whether importing ``names`` from ``name`` (a storage module) is more than the database opener.
    ``from netdrift.storage import database`` takes the whole module: also more."""
    allowed = OPENER.get(name)
    return allowed is None or names is None or not set(names) <= allowed


def layer_of(name: str) -> str:
    """The layer package a dotted name belongs to: ``netdrift.engine.x`` -> ``engine``; others: top name."""
    parts = name.split(".")
    if parts[0] == PACKAGE and len(parts) > 1:
        return parts[1]
    return parts[0]


def violations(root: Path) -> tuple[list[str], int]:
    """Every broken rule under ``root`` as ``file:line: message``, and how many modules were read."""
    found: list[str] = []
    n_modules = 0
    for pkg, layer in LAYERS.items():
        if not (root / PACKAGE / pkg).is_dir():
            continue
        for path in sorted((root / PACKAGE / pkg).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            n_modules += 1
            rel = path.relative_to(root).as_posix()
            _, package = module_name(path, root)
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
            for line, name, names in imports(tree, package):
                top = layer_of(name)
                if name.startswith("<"):
                    found.append(f"{rel}:{line}: {name}")
                elif (rel, top) in ALLOWED or top == pkg:
                    continue
                elif pkg in INTERFACES and top == "storage" and past_the_door(name, names):
                    what = name if names is None else f"{', '.join(names)} from {name}"
                    found.append(f"{rel}:{line}: {pkg} imports {what} (only the database opener: "
                                 f"{', '.join(f'{n} from {m}' for m, ns in OPENER.items() for n in sorted(ns))}; "
                                 f"everything else through netdrift.service; netdrift.service.history re-exports the "
                                 f"storage helpers)")
                elif top in LAYERS and LAYERS[top] >= layer:
                    found.append(f"{rel}:{line}: {pkg} (layer {layer}) imports {name} "
                                 f"({top} is layer {LAYERS[top]}; only lower layers may be imported)")
                elif top in UNLAYERED:
                    found.append(f"{rel}:{line}: {pkg} imports {name} ({top} is not a library layer)")
                elif top in FORBIDDEN.get(pkg, ()):
                    found.append(f"{rel}:{line}: {pkg} must not import {name}")
    return found, n_modules


def test_every_import_respects_the_layers():
    found, n_modules = violations(ROOT)
    assert n_modules > 50, f"only {n_modules} modules found: is the scan looking in the right place?"
    assert not found, f"{len(found)} layering violation(s):\n" + "\n".join(found)


def test_the_scan_catches_each_kind_of_violation(tmp_path):
    files = {
        "netdrift/__init__.py": "",
        "netdrift/engine/__init__.py": "",
        "netdrift/engine/forecasting/__init__.py": "",
        "netdrift/engine/ok.py": "import numpy\nfrom netdrift.engine.network.topology import Topology\nfrom . import routing\n",
        "netdrift/engine/ui.py": "def draw():\n    import streamlit as st\n",
        "netdrift/engine/forecasting/store.py": "from ....storage import repository\nfrom .. import routing\n",
        "netdrift/engine/lazy.py": "import importlib\nimportlib.import_module('netdrift.dashboard.app')\n",
        "netdrift/engine/typed.py": ("from typing import TYPE_CHECKING\n"
                                     "if TYPE_CHECKING:\n    from sqlalchemy.orm import Session\n"),
        "netdrift/engine/up.py": "from ..storage import models\n",
        "netdrift/storage/__init__.py": "from netdrift.storage.models import Base\nimport netdrift.engine.network.topology\n",
        "netdrift/storage/web.py": "from netdrift.dashboard import charts\n",
        "netdrift/cli/cmd.py": ("from netdrift.dashboard.serve import main\n"
                                "from netdrift.storage.repository import ScenarioRepository\n"),
        "netdrift/cli/opens.py": ("from netdrift.storage.database import open_database, missing_sqlite_file\n"
                                  "def f():\n    from netdrift.storage.database import open_database\n"),
        "netdrift/cli/reads.py": ("from netdrift.storage.database import open_database, display_url\n"
                                  "import netdrift.storage.database\n"
                                  "from netdrift.storage import database\n"),
        "netdrift/dashboard/views/page.py": "from ..state import get\nfrom netdrift.cli import main\n",
        "netdrift/dashboard/live/resume.py": ("def runs():\n    from ...storage.checkpoints import CheckpointRepository\n"),
        "bench/b.py": "import netdrift.dashboard, streamlit\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    found, n_modules = violations(tmp_path)
    assert n_modules == len(files) - 2  # bench and the namespace's own __init__ are not scanned
    assert [f.split(": ")[0] for f in found] == [
        "netdrift/engine/forecasting/store.py:1",  # relative import beyond the top-level package
        "netdrift/engine/lazy.py:2",  # import_module of a higher layer
        "netdrift/engine/typed.py:3",  # sqlalchemy, even for type hints only
        "netdrift/engine/ui.py:2",  # streamlit inside a function
        "netdrift/engine/up.py:1",  # a relative import up a layer
        "netdrift/storage/web.py:1",
        "netdrift/cli/cmd.py:1",  # cli and dashboard are peers
        "netdrift/cli/cmd.py:2",  # a repository: past the service
        "netdrift/cli/reads.py:1",  # the opener and more
        "netdrift/cli/reads.py:2",  # the opener's whole module
        "netdrift/cli/reads.py:3",
        "netdrift/dashboard/live/resume.py:2",  # a relative import of storage, inside a function
        "netdrift/dashboard/views/page.py:2",
    ], "\n".join(found)


def test_relative_imports_resolve_against_the_package():
    tree = ast.parse("from . import a\nfrom .b import c\nfrom .. import d\nfrom ..e.f import g\n")
    assert [n for _, n in imported_names(tree, "netdrift.dashboard.views")] == [
        "netdrift.dashboard.views", "netdrift.dashboard.views.b", "netdrift.dashboard", "netdrift.dashboard.e.f"]
    init = ROOT / "netdrift" / "engine" / "forecasting" / "__init__.py"
    assert module_name(init, ROOT) == ("netdrift.engine.forecasting",) * 2
    assert module_name(ROOT / "netdrift" / "engine" / "x.py", ROOT) == ("netdrift.engine.x", "netdrift.engine")


def modules_after(stmt: str) -> set[str]:
    code = f"import sys; {stmt}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize("stmt", ["import netdrift.engine.forecasting.catalogue",
                                  "import netdrift.cli.main; netdrift.cli.main.build_parser()"])
def test_light_imports_load_neither_torch_nor_streamlit(stmt):
    # Listing models and `netdrift topology ...` / `history ...` / `--help` must start fast:
    # torch loads only for the commands that train models, streamlit only in the dashboard.
    heavy = {m.split(".")[0] for m in modules_after(stmt)} & {"torch", "streamlit"}
    assert not heavy, f"`{stmt}` loads {sorted(heavy)}"
