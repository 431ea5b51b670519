"""Each topology format, the normalisation rules and the weight schemes, on small hand-written
fixtures whose expected values are worked out by hand (see the fixture comments)."""

import json
import math
from pathlib import Path

import pytest

from netdrift.engine.network.loaders import (
    load_topology,
    load_topology_bytes,
    save_topology_json,
    topology_from_dict,
    topology_to_dict,
)
from netdrift.engine.network.topology import DEFAULT_CAPACITY_MBPS, Link, Node, Topology

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "topologies"
R = 6371.0088
ONE_DEGREE_KM = 2 * math.pi * R / 360  # along a meridian or the equator


def _deg_km(lat1, lon1, lat2, lon2):
    """Great-circle distance by the spherical law of cosines (independent of netdrift.engine.network.geo)."""
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    c = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return R * math.acos(min(1.0, c))


def _warning(t, fragment):
    hits = [w for w in t.warnings if fragment in w]
    assert len(hits) == 1, (fragment, t.warnings)
    return hits[0]


# --- Topology Zoo GraphML and GML: every quirk -----------------------------------------------
@pytest.mark.parametrize("fixture", ["quirks.graphml", "quirks.gml"])
def test_zoo_quirks(fixture):
    t = load_topology(FIX / fixture)
    assert t.name == "quirks"
    assert [n.id for n in t.nodes] == ["0", "1", "2", "3", "4", "5"]
    # the Zoo writes the text "None" as a hyperedge pseudo-node's label: shown as "hyperedge <id>"
    assert [n.label for n in t.nodes] == ["Equator West", "Equator East", "North", "hyperedge 3", "Island", "Island"]
    # hyperedge pseudo-node kept, without coordinates
    assert t.nodes[3].lat is None and t.nodes[3].lon is None
    assert (t.nodes[2].lat, t.nodes[2].lon) == (1.0, 1.0)

    by_id = {l.id: l for l in t.links}
    # 0-1 twice (once reversed) merged; 1-1 dropped; ids keep the file's endpoint order
    assert list(by_id) == ["0-1", "1-2", "2-3", "3-0", "4-5"]
    assert (by_id["0-1"].u, by_id["0-1"].v) == ("0", "1")
    # LinkSpeedRaw 1e9 bit/s beats its "OC-3" label: 1000; plus the reversed edge's OC-48 = 48 x 51.84
    assert by_id["0-1"].capacity_mbps == pytest.approx(1000 + 48 * 51.84)
    assert by_id["1-2"].capacity_mbps == pytest.approx(2500.0)  # LinkSpeedRaw 0 = unknown -> LinkSpeed 2.5 G
    assert by_id["2-3"].capacity_mbps == DEFAULT_CAPACITY_MBPS  # "Purple Link"
    assert by_id["3-0"].capacity_mbps == pytest.approx(155.0)
    assert by_id["4-5"].capacity_mbps == DEFAULT_CAPACITY_MBPS  # no attributes at all

    assert by_id["0-1"].length_km == pytest.approx(ONE_DEGREE_KM, rel=1e-9)
    assert by_id["1-2"].length_km == pytest.approx(ONE_DEGREE_KM, rel=1e-9)
    assert by_id["4-5"].length_km == pytest.approx(_deg_km(10, 10, 10, 10.5), rel=1e-9)
    assert by_id["2-3"].length_km is None and by_id["3-0"].length_km is None
    assert all(l.weight == 1.0 for l in t.links)  # hop by default

    assert "1-1" in _warning(t, "self-loop")
    assert "0-1" in _warning(t, "parallel")
    assert _warning(t, "no stated speed").startswith("2 of 5 links")
    assert "2 components" in _warning(t, "disconnected")
    assert len(t.warnings) == 4


def test_graphml_and_gml_agree():
    a, b = load_topology(FIX / "quirks.graphml"), load_topology(FIX / "quirks.gml")
    assert a == b and a.warnings == b.warnings


def test_graphml_defaults_and_directed_pairs(tmp_path):
    # <default> values apply; in a directed graph a->b and b->a are one link's two directions.
    p = tmp_path / "d.graphml"
    p.write_text(
        """<?xml version="1.0"?><graphml xmlns="http://graphml.graphdrawing.org/xmlns">
        <key id="s" for="edge" attr.name="LinkLabel" attr.type="string"><default>1 Gbps</default></key>
        <graph edgedefault="directed">
          <node id="a"/><node id="b"/><node id="c"/>
          <edge source="a" target="b"/><edge source="b" target="a"/>
          <edge source="b" target="c"><data key="s">10 Gbps</data></edge>
          <edge source="b" target="c"><data key="s">10 Gbps</data></edge>
        </graph></graphml>"""
    )
    t = load_topology(p)
    assert [(l.id, l.capacity_mbps) for l in t.links] == [("a-b", 1000.0), ("b-c", 20000.0)]
    assert [n.label for n in t.nodes] == ["a", "b", "c"]  # no label -> the id
    _warning(t, "opposite edges")
    _warning(t, "parallel")


# --- SNDlib -----------------------------------------------------------------------------------
@pytest.mark.parametrize("fixture", ["mini_sndlib.txt", "mini_sndlib.xml"])
def test_sndlib(fixture):
    t = load_topology(FIX / fixture)
    assert t.name == "mini_sndlib"
    assert [n.id for n in t.nodes] == ["Berlin", "Hamburg", "Munich", "Cologne"]
    berlin = t.nodes[0]
    assert (berlin.lat, berlin.lon) == (52.52, 13.40)  # x is the longitude
    by_id = {l.id: l for l in t.links}
    assert list(by_id) == ["L1", "L2", "L3", "L4"]  # the file's ids; L5 merged into L1
    assert by_id["L1"].capacity_mbps == pytest.approx(2500 + 1000)
    assert by_id["L1"].weight == 2.0  # the cheaper of the parallel routing costs 3 and 2
    assert [by_id[i].weight for i in ("L2", "L3", "L4")] == [7.0, 5.0, 4.0]
    assert by_id["L2"].capacity_mbps == 9920.0
    assert by_id["L3"].capacity_mbps == DEFAULT_CAPACITY_MBPS  # nothing pre-installed
    assert (by_id["L3"].u, by_id["L3"].v) == ("Munich", "Berlin")
    assert by_id["L2"].length_km == pytest.approx(_deg_km(53.55, 10.00, 48.14, 11.58), rel=1e-9)
    assert "L5" in _warning(t, "parallel")
    assert _warning(t, "no stated speed").startswith("1 of 4 links")
    assert len(t.warnings) == 2


def test_sndlib_explicit_weights_override_routing_costs():
    t = load_topology(FIX / "mini_sndlib.txt", weights="hop")
    assert [l.weight for l in t.links] == [1.0] * 4


def test_sndlib_zero_routing_costs_mean_hop(tmp_path):
    text = (FIX / "mini_sndlib.txt").read_text()
    for cost in ("3.00", "7.00", "5.00", "4.00", "2.00"):
        text = text.replace(f" 0.00 {cost} 0.00 (", " 0.00 0.00 0.00 (")
    p = tmp_path / "zero.txt"
    p.write_text(text)
    assert [l.weight for l in load_topology(p).links] == [1.0] * 4


# --- weight schemes ---------------------------------------------------------------------------
def test_distance_weights_use_lengths_and_median_fallback():
    t = load_topology(FIX / "quirks.graphml", weights="distance")
    w = {l.id: l.weight for l in t.links}
    lengths = sorted([ONE_DEGREE_KM, ONE_DEGREE_KM, _deg_km(10, 10, 10, 10.5)])
    median = lengths[1]
    assert w["0-1"] == pytest.approx(ONE_DEGREE_KM)
    assert w["4-5"] == pytest.approx(_deg_km(10, 10, 10, 10.5))
    assert w["2-3"] == pytest.approx(median) and w["3-0"] == pytest.approx(median)
    assert "2 of 5 links have no length" in _warning(t, "median")


def test_distance_weights_without_any_coordinates(tmp_path):
    p = tmp_path / "nocoord.gml"
    p.write_text("graph [ node [ id 0 ] node [ id 1 ] edge [ source 0 target 1 ] ]")
    t = load_topology(p, weights="distance")
    assert t.links[0].weight == 1.0
    _warning(t, "no link has a length")


def test_inv_capacity_weights_follow_ospf_auto_cost():
    t = load_topology(FIX / "quirks.graphml", weights="inv-capacity")
    w = {l.id: l.weight for l in t.links}
    assert w["0-1"] == 28.0  # 100000 / 3488.32 = 28.67 -> 28
    assert w["1-2"] == 40.0  # 100000 / 2500
    assert w["2-3"] == 10.0  # 100000 / 10000
    assert w["3-0"] == 645.0  # 100000 / 155 = 645.16


def test_inv_capacity_never_below_one():
    t = Topology("big", (Node("a", "a"), Node("b", "b")), (Link("a-b", "a", "b", 400_000.0),))
    assert topology_from_dict(topology_to_dict(t), weights="inv-capacity").links[0].weight == 1.0


def test_colocated_routers_get_a_positive_distance_weight(tmp_path):
    p = tmp_path / "same.gml"
    p.write_text(
        'graph [ node [ id 0 Latitude 1 Longitude 1 ] node [ id 1 Latitude 1 Longitude 1 ] edge [ source 0 target 1 ] ]'
    )
    link = load_topology(p, weights="distance").links[0]
    assert link.length_km == 0.0 and link.weight > 0


# --- netdrift JSON ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "source", [FIX / "quirks.graphml", FIX / "mini_sndlib.xml", "geant2012", "cogentco", "abilene"]
)
def test_json_round_trip_is_exact(tmp_path, source):
    t = load_topology(source)
    path = save_topology_json(t, tmp_path / "t.json")
    back = load_topology(path)
    assert back == t
    assert back.warnings == t.warnings
    assert topology_to_dict(back) == topology_to_dict(t)
    assert [l.weight for l in back.links] == [l.weight for l in t.links]
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_json_round_trip_keeps_file_weights_until_a_scheme_is_named(tmp_path):
    t = load_topology(FIX / "mini_sndlib.txt")
    path = save_topology_json(t, tmp_path / "w.json")
    assert [l.weight for l in load_topology(path).links] == [2.0, 7.0, 5.0, 4.0]
    hop = load_topology(path, weights="hop")
    assert [l.weight for l in hop.links] == [1.0] * 4
    assert hop.warnings == t.warnings


def test_json_document_shape():
    d = topology_to_dict(load_topology(FIX / "quirks.graphml"))
    assert set(d) >= {"name", "nodes", "links", "warnings"}
    assert set(d["nodes"][0]) == {"id", "label", "lat", "lon"}
    assert set(d["links"][0]) == {"id", "u", "v", "capacity_mbps", "weight", "length_km"}
    json.dumps(d, allow_nan=False)


def test_handwritten_json_fills_in_what_it_leaves_out():
    t = load_topology(FIX / "handwritten.json")
    assert t.name == "hand"
    assert [n.label for n in t.nodes] == ["Alpha", "b", "c"]
    ab, bc = t.links
    assert (ab.id, ab.capacity_mbps, ab.weight) == ("a-b", 400.0, 1.0)
    assert ab.length_km == pytest.approx(2 * ONE_DEGREE_KM)
    assert (bc.id, bc.capacity_mbps, bc.length_km) == ("bc", DEFAULT_CAPACITY_MBPS, None)
    assert _warning(t, "no stated speed").startswith("1 of 2 links")


def test_load_from_bytes_like_an_upload():
    data = (FIX / "quirks.gml").read_bytes()
    t = load_topology_bytes(data, "upload.gml")
    assert t.name == "upload"
    assert t.links == load_topology(FIX / "quirks.gml").links


def test_format_sniffed_when_the_ending_says_nothing(tmp_path):
    for fixture in ("quirks.graphml", "quirks.gml", "mini_sndlib.txt", "mini_sndlib.xml", "handwritten.json"):
        p = tmp_path / (Path(fixture).stem + "_" + Path(fixture).suffix[1:] + ".dat")
        p.write_bytes((FIX / fixture).read_bytes())
        assert load_topology(p).links == load_topology(FIX / fixture).links, fixture


def test_graphml_with_xml_ending(tmp_path):
    p = tmp_path / "zoo.xml"
    p.write_bytes((FIX / "quirks.graphml").read_bytes())
    assert load_topology(p).links == load_topology(FIX / "quirks.graphml").links
