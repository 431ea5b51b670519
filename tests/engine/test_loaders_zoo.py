"""Every real Topology Zoo file the project has (../shared/data/topologyzoo) and every bundled one
loads with sane counts. Expected counts come from scanning the file text with regular
expressions, independently of the XML loader."""

import os
import re
from pathlib import Path

import pytest

from netdrift.engine.network.loaders import bundled_topologies, load_topology, samples_dir
from netdrift.engine.network.topology import DEFAULT_CAPACITY_MBPS

REPO = Path(__file__).resolve().parents[2]
ZOO = REPO.parent / "shared" / "data" / "topologyzoo"
ZOO_FILES = sorted(ZOO.glob("*.graphml")) if ZOO.is_dir() else []
BUNDLED = ["Abilene", "Geant2001", "Geant2009", "Geant2012", "Cogentco", "Kdl", "Nsfnet"]


def _scan(path: Path) -> tuple[int, int, int]:
    """(nodes, distinct non-loop node pairs, edge elements) counted from the raw text."""
    text = path.read_text(encoding="utf-8")
    nodes = len(re.findall(r"<node\s", text))
    edges = re.findall(r'<edge\s+source="([^"]+)"\s+target="([^"]+)"', text)
    pairs = {frozenset(e) for e in edges if e[0] != e[1]}
    return nodes, len(pairs), len(re.findall(r"<edge\s", text))


def _check_sane(t, path: Path) -> None:
    nodes, pairs, edge_elements = _scan(path)
    assert len(t.nodes) == nodes
    assert len(t.links) == pairs
    assert len(t.links) <= edge_elements
    assert len({l.id for l in t.links}) == len(t.links)
    assert all(l.capacity_mbps > 0 and l.weight == 1.0 for l in t.links)
    pos = {n.id: n for n in t.nodes}
    for l in t.links:
        located = all(pos[x].lat is not None and pos[x].lon is not None for x in (l.u, l.v))
        assert (l.length_km is not None) == located
        if located:
            assert 0 <= l.length_km < 20_040  # at most half the Earth's circumference
        assert l.id == f"{l.u}-{l.v}"
    if edge_elements > pairs:
        assert any("parallel" in w for w in t.warnings)


@pytest.mark.skipif(not ZOO_FILES, reason=f"{ZOO} not present")
def test_all_nineteen_shared_files_are_there():
    assert len(ZOO_FILES) == 19


@pytest.mark.parametrize("path", ZOO_FILES, ids=[p.stem for p in ZOO_FILES])
def test_every_shared_zoo_file_loads(path):
    t = load_topology(path)
    assert t.name == path.stem
    _check_sane(t, path)


@pytest.mark.skipif(not ZOO_FILES, reason=f"{ZOO} not present")
def test_documented_quirks_of_the_shared_files():
    get = {p.stem: load_topology(p) for p in ZOO_FILES}
    cogent = get["Cogentco"]
    assert sum(1 for n in cogent.nodes if n.lat is None) == 11  # hyperedge pseudo-nodes kept
    assert any("parallel" in w for w in cogent.warnings)
    g12 = get["Geant2012"]
    assert sum(1 for n in g12.nodes if n.lat is None) == 3
    assert [w for w in g12.warnings if "no stated speed" in w] == [
        f"22 of 61 links have no stated speed: assumed {DEFAULT_CAPACITY_MBPS:g} Mbit/s"
    ]
    assert any("disconnected" in w for w in get["DeutscheTelekom"].warnings)
    assert all(n.lat is None for n in get["Nordu"].nodes)
    assert all(l.length_km is None for l in get["Cesnet2"].links)
    for name in ("Geant2001", "Geant2009"):
        assert get[name].warnings == ()
        assert all(n.lat is not None for n in get[name].nodes)
    # Abilene states "OC-192c" only: 192 x 51.84 Mbit/s
    assert all(l.capacity_mbps == pytest.approx(192 * 51.84) for l in get["Abilene"].links)
    assert len(get["Kdl"].nodes) == 754


def test_bundled_topologies_are_byte_copies_with_attribution():
    found = bundled_topologies()
    assert sorted(found) == sorted(n.lower() for n in BUNDLED)
    folder = samples_dir()
    assert (folder / "LICENSE").is_file()
    attribution = (folder / "ATTRIBUTION.md").read_text()
    assert "The Internet Topology Zoo" in attribution and "CC BY 4.0" in attribution
    if ZOO_FILES:
        assert (folder / "LICENSE").read_bytes() == (ZOO / "LICENSE").read_bytes()
        for name in BUNDLED:
            assert found[name.lower()].read_bytes() == (ZOO / f"{name}.graphml").read_bytes()


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_names_load_case_insensitively(name):
    t = load_topology(name.lower())
    assert t == load_topology(name.upper()) == load_topology(samples_dir() / f"{name}.graphml")
    assert t.name == name
    _check_sane(t, samples_dir() / f"{name}.graphml")


def test_geant2001_is_the_european_preset():
    t = load_topology("geant2001")
    assert (len(t.nodes), len(t.links)) == (27, 38)
    assert all(30 < n.lat < 70 and -25 < n.lon < 45 for n in t.nodes)  # Europe (and Israel)
    assert t.warnings == ()


def test_samples_dir_can_be_moved(monkeypatch, tmp_path):
    (tmp_path / "Tiny.gml").write_text("graph [ node [ id 0 ] node [ id 1 ] edge [ source 0 target 1 ] ]")
    (tmp_path / "README.md").write_text("not a topology")
    monkeypatch.setenv("NETDRIFT_SAMPLES_DIR", str(tmp_path))
    assert bundled_topologies() == {"tiny": tmp_path / "Tiny.gml"}
    assert len(load_topology("TINY").links) == 1
    monkeypatch.setenv("NETDRIFT_SAMPLES_DIR", str(tmp_path / "missing"))
    assert bundled_topologies() == {}


def test_existing_file_wins_over_a_bundled_name(monkeypatch, tmp_path):
    (tmp_path / "abilene").write_text("graph [ node [ id 0 ] ]")
    monkeypatch.chdir(tmp_path)
    assert len(load_topology("abilene").nodes) == 1
    assert os.listdir(tmp_path) == ["abilene"]


def test_cogentco_hyperedge_nodes_get_a_readable_label_not_the_text_none():
    t = load_topology("cogentco")
    labels = {n.id: n.label for n in t.nodes}
    assert "None" not in labels.values()
    # node 148 is a hyperedge pseudo-node whose label the file writes as the text "None"
    assert labels["148"] == "hyperedge 148"
    assert labels["154"] == "Washington"
