"""`netdrift topology info|list`, run through the real dispatcher (netdrift.cli.main.main)."""

import json
import subprocess
from pathlib import Path

import pytest

from netdrift.cli.main import main
from netdrift.engine.network.loaders import bundled_topologies, load_topology, topology_to_dict

REPO = Path(__file__).resolve().parents[2]
FIX = REPO / "tests" / "fixtures" / "topologies"


def test_info_text_summary(capsys):
    assert main(["topology", "info", "geant2001"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == "Geant2001: 27 nodes, 38 links"
    assert "34-10000 Mbit/s" in out  # E3 ... 10G, per LinkSpeedRaw
    assert "27/27 nodes" in out
    assert err == ""  # no warnings for this one


def test_info_warnings_go_to_stderr(capsys):
    assert main(["topology", "info", str(FIX / "quirks.graphml"), "--weights", "distance"]) == 0
    out, err = capsys.readouterr()
    expected = load_topology(FIX / "quirks.graphml", weights="distance").warnings
    assert err.splitlines() == [f"warning: {w}" for w in expected]
    assert "warning" not in out.split("warnings")[0]
    assert out.splitlines()[0] == "quirks: 6 nodes, 5 links"


def test_info_json_is_the_normalised_topology(capsys, tmp_path):
    assert main(["topology", "info", "Abilene", "--json", "--weights", "inv-capacity"]) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert err == ""
    assert doc["name"] == "Abilene"
    assert len(doc["nodes"]) == 11 and len(doc["links"]) == 14
    assert set(doc["nodes"][0]) == {"id", "label", "lat", "lon"}
    assert set(doc["links"][0]) == {"id", "u", "v", "capacity_mbps", "weight", "length_km"}
    assert doc["nodes"][0] == {"id": "0", "label": "New York", "lat": 40.71427, "lon": -74.00597}
    # OC-192c = 9953.28 Mbit/s; OSPF auto-cost floor(100000 / 9953.28) = 10
    assert {l["weight"] for l in doc["links"]} == {10.0}
    assert doc["warnings"] == []
    assert doc == topology_to_dict(load_topology("abilene", weights="inv-capacity"))
    # the output is itself a loadable topology
    saved = tmp_path / "abilene.json"
    saved.write_text(out)
    assert load_topology(saved) == load_topology("abilene", weights="inv-capacity")


def test_info_json_keeps_warnings_in_the_document(capsys):
    assert main(["topology", "info", str(FIX / "mini_sndlib.txt"), "--json"]) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert len(doc["warnings"]) == 2 and err == ""
    assert [l["id"] for l in doc["links"]] == ["L1", "L2", "L3", "L4"]
    assert [l["weight"] for l in doc["links"]] == [2.0, 7.0, 5.0, 4.0]


def test_list(capsys):
    assert main(["topology", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    names = [r["name"] for r in rows]
    assert names == sorted(bundled_topologies())
    counts = {r["name"]: (r["nodes"], r["links"]) for r in rows}
    assert counts["geant2001"] == (27, 38)
    assert counts["abilene"] == (11, 14)
    assert counts["kdl"][0] == 754

    assert main(["topology", "list"]) == 0
    text = capsys.readouterr().out
    assert all(name in text for name in names)
    assert "geant2001     27     38" in text


@pytest.mark.parametrize(
    "argv,fragment",
    [
        (["topology", "info", "no-such-topology"], "no-such-topology"),
        (["topology", "info", str(FIX / "missing.graphml")], "missing.graphml"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, argv, fragment):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("netdrift: error: ") and fragment in err


def test_bad_file_exits_2(capsys, tmp_path):
    bad = tmp_path / "bad.graphml"
    bad.write_text("<graphml><graph>")
    assert main(["topology", "info", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and len(err.strip().splitlines()) == 1
    assert sorted(tmp_path.iterdir()) == [bad]


def test_unknown_weights_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["topology", "info", "abilene", "--weights", "ospf"])
    assert exit_.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_help_documents_the_weights(capsys):
    with pytest.raises(SystemExit):
        main(["topology", "info", "--help"])
    assert "hop (every link 1; the default" in " ".join(capsys.readouterr().out.split())


def test_console_script(tmp_path):
    exe = REPO / ".venv" / "bin" / "netdrift"
    if not exe.exists():
        pytest.skip("no .venv/bin/netdrift (run scripts/setup.sh)")
    proc = subprocess.run([str(exe), "topology", "info", "geant2012", "--json"], capture_output=True, text=True,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert (len(doc["nodes"]), len(doc["links"])) == (40, 61)
    bad = subprocess.run([str(exe), "topology", "info", "nope.gml"], capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.startswith("netdrift: error: topology file 'nope.gml'")
    assert list(tmp_path.iterdir()) == []
