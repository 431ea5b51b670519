"""Topology files counted without loading them, and synthetic traffic refused before a too-large
file is loaded (issue 14)."""

from __future__ import annotations

from pathlib import Path

import pytest

from netdrift.engine.errors import InputError
from netdrift.engine.network.loaders import load_topology
from netdrift.engine.network.loaders.precount import count_topology_file
from netdrift.engine.traffic.sources import check_synthetic_fits

ROOT = Path(__file__).resolve().parents[2]
FILES = [ROOT / "sample_topologies" / f for f in ("Abilene.graphml", "Geant2001.graphml", "Cogentco.graphml")]
FILES += [ROOT / "tests" / "fixtures" / "topologies" / f for f in ("mini_sndlib.xml", "quirks.gml", "quirks.graphml")]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_count_bounds_what_the_loader_finds(path):
    count = count_topology_file(path, 1 << 30)
    topo = load_topology(path)
    assert count is not None
    assert count.nodes == len(topo.nodes)  # no file here repeats a node id
    assert count.edges >= len(topo.links)  # parallel edges merge, self-loops drop


def test_formats_that_are_not_counted(tmp_path):
    assert count_topology_file(ROOT / "tests" / "fixtures" / "topologies" / "handwritten.json", 1 << 30) is None
    assert count_topology_file(tmp_path / "missing.graphml", 1 << 30) is None
    assert count_topology_file(FILES[0], 10) is None  # over the size limit: the loader says so itself
    check_synthetic_fits("abilene", 10**5)  # a bundled name is counted in its file
    with pytest.raises(InputError, match=r"synthetic traffic on 'abilene' \(11 nodes counted before loading, "
                                         r"110 node pairs, "
                                         r"99999999999 steps\): would need about .* TiB"):
        check_synthetic_fits("abilene", 99_999_999_999)


def ring_graphml(path: Path, n: int) -> Path:
    nodes = "".join(f'<node id="{i}"/>' for i in range(n))
    edges = "".join(f'<edge source="{i}" target="{(i + 1) % n}"/>' for i in range(n))
    path.write_text(f'<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph edgedefault="undirected">'
                    f"{nodes}{edges}</graph></graphml>")
    return path


def test_synthetic_traffic_for_a_large_file_refused_before_loading(tmp_path):
    p = ring_graphml(tmp_path / "ring.graphml", 2000)
    # 2000 nodes, 3,998,000 pairs x 288 steps x 4 bytes = 4.3 GiB of demands alone
    with pytest.raises(InputError) as err:
        check_synthetic_fits(p, 288, budget_bytes=2 * 1024**3)
    assert err.value.what == (f"synthetic traffic on '{p}' (2000 nodes counted before loading, "
                              "3998000 node pairs, 288 steps)")
    assert "over the memory budget of 2.00 GiB" in err.value.problem
    check_synthetic_fits(p, 2, budget_bytes=2 * 1024**3)  # the same file with few steps fits
