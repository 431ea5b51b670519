"""`netdrift simulate`: the CLI contract (columns, JSON keys, exit codes, output files)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from netdrift.cli.main import main
from netdrift.engine.network.loaders import load_topology

BASE = ["simulate", "--topology", "abilene", "--steps", "12", "--step-minutes", "60", "--seed", "3"]
COLUMNS = ["step", "time", "link_id", "src", "dst", "load_mbps", "capacity_mbps", "up"]


@pytest.fixture(scope="module")
def abilene():
    return load_topology("abilene")


def test_json_summary_keys_and_failure(capsys, abilene):
    link = abilene.links[0].id
    assert main(BASE + ["--fail", f"{link}@4:8", "--json"]) == 0
    out = capsys.readouterr().out
    s = json.loads(out)
    for key in ("steps", "links", "directions", "max_utilization", "dropped_mbps_total", "events"):
        assert key in s
    assert (s["steps"], s["links"], s["directions"]) == (12, len(abilene.links), 2 * len(abilene.links))
    assert [(e["step"], e["action"], e["target"], e["kind"]) for e in s["events"]] == [
        (4, "fail", link, "link"), (8, "restore", link, "link")]
    assert 0 < s["max_utilization"] <= 0.6 + 1e-6  # synthetic traffic peaks at 0.6 with all links up


@pytest.mark.parametrize("ext", [".csv", ".parquet"])
def test_out_writes_the_long_table(tmp_path, capsys, abilene, ext):
    out = tmp_path / f"loads{ext}"
    node = abilene.nodes[0].id
    assert main(BASE + ["--fail", f"{node}@5", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "max utilisation" in text and str(out) in text
    df = pd.read_csv(out) if ext == ".csv" else pd.read_parquet(out)
    assert list(df.columns) == COLUMNS
    assert len(df) == 12 * 2 * len(abilene.links)
    assert sorted(df.step.unique()) == list(range(12))
    # the failed node's links are down from step 5 and carry nothing
    touching = df[(df.src.astype(str) == node) | (df.dst.astype(str) == node)]
    assert touching[touching.step >= 5].up.eq(False).all()
    assert (touching[touching.step >= 5].load_mbps == 0).all()
    assert touching[touching.step < 5].up.all()
    assert not list(tmp_path.glob(".*tmp"))  # no temporary file left behind


def test_bad_input_exits_2_before_writing(tmp_path, capsys):
    bad_ext = tmp_path / "loads.xlsx"
    assert main(BASE + ["--out", str(bad_ext)]) == 2
    assert "--out" in capsys.readouterr().err and not bad_ext.exists()
    out = tmp_path / "loads.csv"
    assert main(BASE + ["--fail", "no-such-link@3", "--out", str(out)]) == 2
    assert "no-such-link" in capsys.readouterr().err and not out.exists()
    with pytest.raises(SystemExit) as exit_info:  # argparse's bound (0, 10080] since issue 22
        main(BASE[:-4] + ["--step-minutes", "0"])
    assert exit_info.value.code == 2
    assert "step-minutes" in capsys.readouterr().err


def test_argument_errors_exit_2(capsys, abilene):
    with pytest.raises(SystemExit) as e:
        main(["simulate", "--topology", "abilene", "--steps", "0", "--step-minutes", "5"])
    assert e.value.code == 2
    link = abilene.links[0].id
    assert main(BASE + ["--fail", f"{link}@12"]) == 2  # step outside 0..11
    assert "outside the run" in capsys.readouterr().err
