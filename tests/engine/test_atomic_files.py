"""Exported files are written whole or not at all, and readable like any file the user writes."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from netdrift.engine.atomic_files import atomic_path
from netdrift.engine.network.loaders import load_topology, save_topology_json

SAMPLES = Path(__file__).resolve().parents[2] / "sample_topologies"


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_finished_file_has_the_mode_open_would_give(tmp_path: Path, umask_022: None) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("x")  # what the user's own tools would create: 0644 under umask 022
    target = tmp_path / "out.txt"
    with atomic_path(target) as tmp:
        tmp.write_text("x")
    assert _mode(target) == _mode(plain) == 0o644


def test_an_error_leaves_the_earlier_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("earlier")
    with pytest.raises(OSError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise OSError(28, "No space left on device")
    assert target.read_text() == "earlier"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_a_saved_topology_is_readable_by_others(tmp_path: Path, umask_022: None) -> None:
    topo = load_topology(SAMPLES / "Abilene.graphml")
    out = save_topology_json(topo, tmp_path / "up.json")
    assert _mode(out) & stat.S_IROTH
    assert len(load_topology(out).links) == len(topo.links)
