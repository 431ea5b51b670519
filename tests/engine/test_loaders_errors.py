"""Bad topology input: one InputError naming the file and the problem, nothing written."""

from pathlib import Path

import pytest

from netdrift.engine.errors import InputError
from netdrift.engine.network.loaders import load_topology, load_topology_bytes, topology_from_dict

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "topologies"

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph edgedefault="undirected">
<node id="&lol4;"/></graph></graphml>
"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE network [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<network xmlns="http://sndlib.zib.de/network"><networkStructure><nodes>
<node id="&xxe;"/></nodes></networkStructure></network>
"""

GRAPHML_HEAD = '<?xml version="1.0"?><graphml xmlns="http://graphml.graphdrawing.org/xmlns">'

BAD_FILES = {
    # file name: (content, fragment expected in the message)
    "truncated.graphml": (None, "truncated or malformed XML"),
    "laughs.graphml": (BILLION_LAUGHS, "refused"),
    "xxe.xml": (EXTERNAL_ENTITY, "refused"),
    "page.graphml": ("<html><body><p>hello</p></body></html>", "not a GraphML file"),
    "page.xml": ("<html><body/></html>", "not an SNDlib network file"),
    "nograph.graphml": (GRAPHML_HEAD + "</graphml>", "without a <graph>"),
    "empty_graph.graphml": (GRAPHML_HEAD + '<graph edgedefault="undirected"/></graphml>', "no nodes"),
    "unknown_node.graphml": (
        GRAPHML_HEAD + '<graph edgedefault="undirected"><node id="a"/><edge source="a" target="zz"/></graph></graphml>',
        "unknown node 'zz'",
    ),
    "dup_node.graphml": (
        GRAPHML_HEAD + '<graph edgedefault="undirected"><node id="a"/><node id="a"/></graph></graphml>',
        "appears twice",
    ),
    "empty.graphml": ("", "empty"),
    "blank.json": ("  \n", "empty"),
    "truncated.gml": ('graph [ node [ id 0 label "Ams', "truncated GML"),
    "unclosed.gml": ("graph [ node [ id 0 ]", "truncated GML"),
    "nograph.gml": ("Creator \"x\"\nVersion 1", "not a GML graph"),
    "empty.gml": ("graph [ directed 0 ]", "no nodes"),
    "unknown_node.gml": ("graph [ node [ id 0 ] edge [ source 0 target 7 ] ]", "unknown node '7'"),
    "truncated.txt": ("NODES (\n  A ( 1 2 )\n  B ( 3 4 )\n", "section NODES is not closed"),
    "nonodes.txt": ("LINKS (\n)\n", "no NODES section"),
    "prose.txt": ("Dear operator,\nhere is my network.\n", "not an SNDlib native file"),
    "unknown_node.txt": ("NODES (\n A ( 1 2 )\n)\nLINKS (\n L1 ( A Q ) 0 0 0 0 ( )\n)\n", "unknown node 'Q'"),
    "truncated.json": ('{"nodes": [{"id": "a"}', "truncated or malformed JSON"),
    "list.json": ("[1, 2, 3]", "not a netdrift topology"),
    "nonodes.json": ('{"nodes": [], "links": []}', "no nodes"),
    "negcap.json": ('{"nodes": [{"id": "a"}, {"id": "b"}], "links": [{"u": "a", "v": "b", "capacity_mbps": -1}]}',
                    "must be positive"),
    "nan.json": ('{"nodes": [{"id": "a", "lat": NaN, "lon": 1}], "links": []}', "finite number"),
    "badweight.json": (
        '{"nodes": [{"id": "a"}, {"id": "b"}], "links": [{"id": "x", "u": "a", "v": "b", "capacity_mbps": 1, '
        '"weight": 0, "length_km": null}]}',
        "must be positive",
    ),
    # the full form (every link with id, capacity, weight, length) skips the shared rules: checked there too
    "float32cap.json": (
        '{"nodes": [{"id": "a"}, {"id": "b"}], "links": [{"id": "x", "u": "a", "v": "b", "capacity_mbps": 1e39, '
        '"weight": 1, "length_km": null}]}',
        "links[0].capacity_mbps 1e+39 Mbit/s is above the largest accepted (3.403e+38, float32)",
    ),
    "float32cap_short.json": (
        '{"nodes": [{"id": "a"}, {"id": "b"}], "links": [{"u": "a", "v": "b", "capacity_mbps": 1e39}]}',
        "above the largest accepted (3.403e+38, float32)",
    ),
    "otherformat.json": ('{"format": "geojson", "nodes": [], "links": []}', "unknown format"),
    "binary.bin": ("\x00\x01\x02garbage", "unrecognised topology format"),
}


def _write(tmp_path: Path, name: str, content: str | None) -> Path:
    p = tmp_path / name
    if content is None:  # the first half of a real file
        data = (FIX / "quirks.graphml").read_bytes()
        p.write_bytes(data[: len(data) // 2])
    else:
        p.write_text(content, encoding="utf-8")
    return p


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_gives_one_line_naming_file_and_problem(tmp_path, name):
    content, fragment = BAD_FILES[name]
    p = _write(tmp_path, name, content)
    before = sorted(tmp_path.iterdir())
    with pytest.raises(InputError) as err:
        load_topology(p)
    msg = str(err.value)
    assert str(p) in msg, msg
    assert fragment in msg, msg
    assert "\n" not in msg
    assert sorted(tmp_path.iterdir()) == before  # nothing written


def test_entity_file_is_refused_before_expansion(tmp_path):
    # Even a harmless-looking internal entity is refused: no entity expansion at all.
    p = tmp_path / "one.graphml"
    p.write_text(
        '<?xml version="1.0"?><!DOCTYPE g [<!ENTITY a "x">]>' + GRAPHML_HEAD[21:]
        + '<graph edgedefault="undirected"><node id="&a;"/></graph></graphml>'
    )
    with pytest.raises(InputError, match="entities"):
        load_topology(p)


def test_missing_file_names_it_and_lists_bundled_names(tmp_path):
    p = tmp_path / "nope.graphml"
    with pytest.raises(InputError) as err:
        load_topology(p)
    assert str(p) in str(err.value) and "no such file" in str(err.value)
    assert "geant2001" in str(err.value)
    with pytest.raises(InputError, match="'not-a-bundled-name'"):
        load_topology("not-a-bundled-name")


def test_directory_is_not_a_topology(tmp_path):
    with pytest.raises(InputError, match="is a directory"):
        load_topology(tmp_path)


def test_over_the_size_cap(tmp_path):
    p = tmp_path / "big.gml"
    p.write_bytes((FIX / "quirks.gml").read_bytes())
    with pytest.raises(InputError) as err:
        load_topology(p, max_bytes=100)
    assert str(p) in str(err.value) and "100-byte limit" in str(err.value)
    with pytest.raises(InputError, match="limit"):
        load_topology_bytes(p.read_bytes(), "big.gml", max_bytes=100)
    assert load_topology(p, max_bytes=p.stat().st_size).nodes  # exactly at the cap is fine


@pytest.mark.parametrize("weights", ["hops", "HOP", "", "ospf"])
def test_unknown_weights_name(weights):
    with pytest.raises(InputError) as err:
        load_topology(FIX / "quirks.graphml", weights=weights)
    assert "quirks.graphml" in str(err.value) and "unknown weights scheme" in str(err.value)
    with pytest.raises(InputError, match="unknown weights scheme"):
        load_topology("abilene", weights=weights)
    with pytest.raises(InputError, match="unknown weights scheme"):
        topology_from_dict({"nodes": [{"id": "a"}], "links": []}, weights=weights)
