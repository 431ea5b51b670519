"""A wheel install (not only the editable checkout) finds the bundled topologies and their licence."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from netdrift.engine.network.loaders import bundled

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_the_bundled_topologies_with_their_attribution(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for name in ("src", "sample_topologies"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path / "w"),
         str(src)], capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    (wheel,) = (tmp_path / "w").glob("netdrift-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {Path(n).name for n in names if "/share/netdrift/sample_topologies/" in n}
    bundled_here = {p.name for p in (ROOT / "sample_topologies").iterdir() if p.is_file()}
    assert {"ATTRIBUTION.md", "LICENSE", "Geant2001.graphml", "Cogentco.graphml"} <= shipped
    assert shipped == bundled_here
    # What runs from the package at run time: the schema migrations, the map's land and its notice.
    pkg = ROOT / "src"
    migrations = {p.relative_to(pkg).as_posix() for p in (pkg / "netdrift" / "storage" / "migrations").rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts}
    assert {"netdrift/storage/migrations/env.py", "netdrift/storage/migrations/script.py.mako"} <= migrations
    assert migrations <= names
    assert {"netdrift/dashboard/static/land-110m.geo.json", "netdrift/dashboard/static/NOTICE",
            "netdrift/service/sweeps.py"} <= names
    # One namespace: nothing but netdrift (and its dist-info and data) at the top of the wheel.
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.startswith("netdrift-")} == {"netdrift"}, sorted(tops)


def test_installed_copy_is_found_when_there_is_no_checkout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    share = tmp_path / "prefix" / "share" / "netdrift" / "sample_topologies"
    share.mkdir(parents=True)
    (share / "Tiny.gml").write_text("graph [ node [ id 0 ] node [ id 1 ] edge [ source 0 target 1 ] ]")
    monkeypatch.delenv("NETDRIFT_SAMPLES_DIR", raising=False)
    # As installed from a wheel: the module sits in site-packages, no sample_topologies beside it.
    import netdrift

    monkeypatch.setattr(netdrift, "__file__", str(tmp_path / "site-packages" / "netdrift" / "__init__.py"))
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "prefix"))
    assert bundled.samples_dir() == share
    assert bundled.bundled_topologies() == {"tiny": share / "Tiny.gml"}
