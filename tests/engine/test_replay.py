"""Real traffic replay: SNDlib dynamic matrices (folder / tar.gz), long CSV, make_traffic."""

from __future__ import annotations

import io
import os
import tarfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

import netdrift.engine.traffic.csv_replay as replay_csv
import netdrift.engine.traffic.sndlib_replay as replay
from netdrift.engine.errors import InputError
from netdrift.engine.network.topology import Link, Node, Topology
from netdrift.engine.traffic.csv_replay import load_traffic_csv
from netdrift.engine.traffic.sndlib_replay import load_sndlib_dynamic
from netdrift.engine.traffic.sources import make_traffic

FIXTURES = Path(__file__).parents[1] / "fixtures" / "traffic"
SNDLIB_DIR = FIXTURES / "sndlib_abilene4"
CSV = FIXTURES / "long4.csv"
NAN = np.nan

# What the three hand-written XML files say (00:10 has no file), columns in topology order:
# ATLAng->CHINng, ATLAng->WASHng, CHINng->NYCMng, NYCMng->WASHng, WASHng->ATLAng.
SNDLIB_EXPECTED = np.array([
    [1.5, 0.25, 7.0, 12.000001, 0.0],
    [2.0, 0.0, 6.5, 0.0, 0.75],
    [NAN, NAN, NAN, NAN, NAN],
    [1.0, 0.0, 0.0, 4.5, 0.0],
])
SNDLIB_PAIRS = [("ATLAng", "CHINng"), ("ATLAng", "WASHng"), ("CHINng", "NYCMng"),
                ("NYCMng", "WASHng"), ("WASHng", "ATLAng")]


@pytest.fixture
def topo() -> Topology:
    ids = ["ATLAng", "CHINng", "NYCMng", "WASHng"]
    return Topology(
        "abilene4",
        tuple(Node(i, i) for i in ids),
        (Link("l1", "ATLAng", "WASHng", 1e4), Link("l2", "WASHng", "NYCMng", 1e4),
         Link("l3", "NYCMng", "CHINng", 1e4), Link("l4", "CHINng", "ATLAng", 1e4)),
    )


def pairs(tm) -> list[tuple[str, str]]:
    return [(tm.node_ids[s], tm.node_ids[d]) for s, d in zip(tm.src, tm.dst)]


def demand_xml(time: str | None, demands: list[tuple[str, str, str]], granularity: str = "5min") -> str:
    """A minimal document in SNDlib's demand-matrix layout."""
    meta = f"<time>{time}</time>" if time is not None else ""
    body = "".join(
        f'<demand id="{a}_{b}"><source>{a}</source><target>{b}</target>'
        f"<demandValue> {v} </demandValue></demand>"
        for a, b, v in demands
    )
    return (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
        '<network xmlns="http://sndlib.zib.de/network" version="1.0">'
        f"<meta><granularity>{granularity}</granularity>{meta}<unit>MBITPERSEC</unit></meta>"
        f"<demands>{body}</demands></network>"
    )


def write_docs(folder: Path, docs: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in docs.items():
        (folder / name).write_text(text, encoding="iso-8859-1")
    return folder


def make_tgz(path: Path, members: dict[str, bytes], dirs: tuple[str, ...] = ()) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for d in dirs:
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def fixture_members() -> dict[str, bytes]:
    return {f"directed-abilene4/{p.name}": p.read_bytes() for p in sorted(SNDLIB_DIR.iterdir())}


# --- SNDlib: values --------------------------------------------------------------------------
def test_sndlib_folder_round_trip(topo):
    tm = load_sndlib_dynamic(SNDLIB_DIR, topo)
    assert tm.start == datetime(2004, 3, 1, 0, 0)
    assert tm.step_minutes == 5.0
    assert pairs(tm) == SNDLIB_PAIRS  # self-demand ATLAng->ATLAng left out, README ignored
    assert tm.demands.dtype == np.float32
    np.testing.assert_allclose(tm.demands, SNDLIB_EXPECTED, rtol=1e-6, equal_nan=True)


def test_sndlib_interval_without_a_file_is_a_missing_row_not_zeros(topo):
    tm = load_sndlib_dynamic(SNDLIB_DIR, topo)
    assert tm.missing.tolist() == [False, False, True, False]
    assert np.isnan(tm.demands[2]).all()
    assert tm.demands[1, 1] == 0.0  # absent pair inside a present interval is zero


def test_sndlib_tar_gz_read_in_memory_matches_the_folder(topo, tmp_path):
    members = fixture_members() | {"directed-abilene4/notes.md": b"# not XML"}
    archive = make_tgz(tmp_path / "abilene4.tar.gz", members, dirs=("directed-abilene4",))
    before = sorted(os.listdir(tmp_path))
    tm = load_sndlib_dynamic(archive, topo)
    assert sorted(os.listdir(tmp_path)) == before  # nothing extracted
    folder = load_sndlib_dynamic(SNDLIB_DIR, topo)
    assert pairs(tm) == pairs(folder)
    np.testing.assert_array_equal(tm.demands, folder.demands)
    assert (tm.start, tm.step_minutes) == (folder.start, folder.step_minutes)


def test_sndlib_parallel_demands_add_up_and_step_is_the_most_common_gap(topo, tmp_path):
    docs = {
        "m-0000.xml": demand_xml("20050504-1500", [("ATLAng", "CHINng", "1.0"), ("ATLAng", "CHINng", "2.5")]),
        "m-0015.xml": demand_xml("20050504-1515", [("ATLAng", "CHINng", "4")]),
        "m-0030.xml": demand_xml("20050504-1530", []),  # all-zero interval: present, zeros
        "m-0115.xml": demand_xml("20050504-1615", [("CHINng", "ATLAng", "1e-6")]),  # after a gap
    }
    tm = load_sndlib_dynamic(write_docs(tmp_path / "d", docs), topo)
    assert tm.step_minutes == 15.0 and tm.steps == 6
    assert pairs(tm) == [("ATLAng", "CHINng"), ("CHINng", "ATLAng")]
    expected = np.array([[3.5, 0], [4, 0], [0, 0], [NAN, NAN], [NAN, NAN], [0, 1e-6]])
    np.testing.assert_allclose(tm.demands, expected, rtol=1e-6, equal_nan=True)


def test_sndlib_single_interval_takes_the_step_from_its_granularity(topo, tmp_path):
    docs = {"only.xml": demand_xml("20050504-1500", [("ATLAng", "CHINng", "1")], granularity="15min")}
    tm = load_sndlib_dynamic(write_docs(tmp_path / "d", docs), topo)
    assert (tm.steps, tm.step_minutes) == (1, 15.0)


def test_sndlib_time_from_the_file_name_when_meta_lacks_it(topo, tmp_path):
    docs = {
        "demandMatrix-x-5min-20040301-0000.xml": demand_xml(None, [("ATLAng", "CHINng", "1")]),
        "demandMatrix-x-5min-20040301-0005.xml": demand_xml(None, [("ATLAng", "CHINng", "2")]),
    }
    tm = load_sndlib_dynamic(write_docs(tmp_path / "d", docs), topo)
    assert tm.start == datetime(2004, 3, 1) and tm.demands[:, 0].tolist() == [1.0, 2.0]


# --- SNDlib: bad input -----------------------------------------------------------------------
BAD_DOCS = {
    "negative": (demand_xml("20040301-0000", [("ATLAng", "CHINng", "-1.0")]), "finite number >= 0"),
    "non-numeric": (demand_xml("20040301-0000", [("ATLAng", "CHINng", "lots")]), "not a number"),
    "nan": (demand_xml("20040301-0000", [("ATLAng", "CHINng", "NaN")]), "finite number >= 0"),
    "bad time": (demand_xml("2004-03-01 00:00", [("ATLAng", "CHINng", "1")]), "unparsable <time>"),
    "no time": (demand_xml(None, [("ATLAng", "CHINng", "1")]), "no <meta><time>"),
    "not xml": ("<network><demands>", "not well-formed XML"),
    "no demands": ('<network xmlns="http://sndlib.zib.de/network"><meta><time>20040301-0000</time></meta>'
                   "</network>", "no <demands>"),
    "missing target": ('<network><meta><time>20040301-0000</time></meta><demands><demand id="x">'
                       "<source>ATLAng</source><demandValue>1</demandValue></demand></demands></network>",
                       "lacks <source>, <target> or <demandValue>"),
    "empty source": ('<network><meta><time>20040301-0000</time></meta><demands><demand id="x">'
                     "<source> </source><target>ATLAng</target><demandValue>1</demandValue></demand>"
                     "</demands></network>", "empty <source> or <target>"),
    "entity bomb": ('<?xml version="1.0"?><!DOCTYPE network [<!ENTITY a "aaaaaaaaaa">'
                    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><network><meta><time>&b;</time></meta>'
                    "<demands/></network>", "unsafe XML"),
}


@pytest.mark.parametrize("case", list(BAD_DOCS))
def test_sndlib_bad_documents_name_the_file(topo, tmp_path, case):
    text, problem = BAD_DOCS[case]
    folder = write_docs(tmp_path / "d", {"good.xml": demand_xml("20040301-0005", []), "broken.xml": text})
    with pytest.raises(InputError) as err:
        load_sndlib_dynamic(folder, topo)
    assert "broken.xml" in str(err.value)
    assert problem in str(err.value)


def test_sndlib_bad_member_of_an_archive_names_archive_and_member(topo, tmp_path):
    members = {"m/a.xml": demand_xml("20040301-0000", [("ATLAng", "CHINng", "-3")]).encode()}
    archive = make_tgz(tmp_path / "bad.tgz", members)
    with pytest.raises(InputError, match=r"bad\.tgz:m/a\.xml.*finite number >= 0"):
        load_sndlib_dynamic(archive, topo)


def test_sndlib_unknown_node_ids_are_listed_first_ten_and_count(topo, tmp_path):
    strangers = [(f"X{i:02d}", "ATLAng", "1") for i in range(12)]
    folder = write_docs(tmp_path / "d", {"a.xml": demand_xml("20040301-0000", strangers)})
    with pytest.raises(InputError) as err:
        load_sndlib_dynamic(folder, topo)
    msg = str(err.value)
    assert "a.xml" in msg and "12 node id(s) not in topology 'abilene4'" in msg
    assert "'X00'" in msg and "'X09'" in msg and "'X10'" not in msg and "(+2 more)" in msg


def test_sndlib_two_files_for_the_same_interval(topo, tmp_path):
    docs = {"a.xml": demand_xml("20040301-0000", []), "b.xml": demand_xml("20040301-0000", [])}
    with pytest.raises(InputError, match="already given by"):
        load_sndlib_dynamic(write_docs(tmp_path / "d", docs), topo)


def test_sndlib_time_off_the_grid(topo, tmp_path):
    docs = {f"{i}.xml": demand_xml(t, []) for i, t in
            enumerate(["20040301-0000", "20040301-0005", "20040301-0010", "20040301-0012"])}
    with pytest.raises(InputError, match="not on the 5-minute grid"):
        load_sndlib_dynamic(write_docs(tmp_path / "d", docs), topo)


def test_sndlib_folder_without_xml(topo, tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "readme.txt").write_text("nothing here")
    with pytest.raises(InputError, match="no demand-matrix XML files"):
        load_sndlib_dynamic(tmp_path / "d", topo)


def test_sndlib_absurd_sizes_are_refused(topo, tmp_path, monkeypatch):
    monkeypatch.setattr(replay, "MAX_XML_BYTES", 1000)
    with pytest.raises(InputError, match="too large for a demand matrix"):
        load_sndlib_dynamic(SNDLIB_DIR, topo)
    archive = make_tgz(tmp_path / "a.tgz", fixture_members())
    with pytest.raises(InputError, match=r"a\.tgz:.*too large"):
        load_sndlib_dynamic(archive, topo)


def test_sndlib_span_of_absurdly_many_steps_is_refused(topo, tmp_path):
    docs = {"a.xml": demand_xml("20040301-0000", []), "b.xml": demand_xml("20040301-0005", []),
            "c.xml": demand_xml("21040301-0000", [])}
    with pytest.raises(InputError, match="span"):
        load_sndlib_dynamic(write_docs(tmp_path / "d", docs), topo)


def test_sndlib_not_an_archive(topo, tmp_path):
    bogus = tmp_path / "x.tar.gz"
    bogus.write_bytes(b"definitely not gzip")
    with pytest.raises(InputError, match="x.tar.gz"):
        load_sndlib_dynamic(bogus, topo)


# --- CSV -------------------------------------------------------------------------------------
def test_csv_round_trip_with_mixed_time_formats_and_a_gap(topo):
    tm = load_traffic_csv(CSV, topo)
    assert tm.start == datetime(2024, 3, 4, 8, 0) and tm.step_minutes == 15.0
    assert pairs(tm) == [("ATLAng", "CHINng"), ("CHINng", "NYCMng"), ("NYCMng", "WASHng"), ("WASHng", "ATLAng")]
    expected = np.array([[10.5, 0, 3, 0], [11.25, 0, 0, 0.5], [NAN] * 4, [9, 2.5, 0, 0]])
    np.testing.assert_allclose(tm.demands, expected, equal_nan=True)
    assert tm.missing.tolist() == [False, False, True, False]


def write_csv(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "traffic.csv"
    p.write_text(text)
    return p


def test_csv_with_offsets_is_read_in_utc(topo, tmp_path):
    p = write_csv(tmp_path, "time,src,dst,mbps\n2024-01-01T01:00+01:00,ATLAng,CHINng,1\n"
                            "2024-01-01T00:05Z,ATLAng,CHINng,2\n")
    tm = load_traffic_csv(p, topo)
    assert tm.start == datetime(2024, 1, 1, 0, 0) and tm.demands[:, 0].tolist() == [1.0, 2.0]


def test_csv_quoted_header_crlf_and_bom_are_fine(topo, tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes(b'\xef\xbb\xbf"time","src","dst","mbps"\r\n2024-01-01T00:00,ATLAng,CHINng,1\r\n'
                  b"2024-01-01T00:05,ATLAng,CHINng,2\r\n")
    assert load_traffic_csv(p, topo).demands[:, 0].tolist() == [1.0, 2.0]


def test_csv_absurd_size_is_refused(topo, monkeypatch):
    monkeypatch.setattr(replay_csv, "MAX_CSV_BYTES", 100)
    with pytest.raises(InputError, match="too large"):
        load_traffic_csv(CSV, topo)


HEADER = "time,src,dst,mbps\n"
BAD_CSV = {
    "bad header": ("time,source,target,value\n2024-01-01T00:00,ATLAng,CHINng,1\n", "line 1: header"),
    "empty file": ("", "line 1: header"),
    "no rows": (HEADER, "no data rows"),
    "only blank rows": (HEADER + "\n\n", "no data rows"),
    "negative": (HEADER + "2024-01-01T00:00,ATLAng,CHINng,1\n2024-01-01T00:05,ATLAng,CHINng,-2\n",
                 "line 3: mbps -2 is negative"),
    "non-numeric": (HEADER + "2024-01-01T00:00,ATLAng,CHINng,fast\n", "line 2: mbps 'fast' is not a finite number"),
    "inf": (HEADER + "2024-01-01T00:00,ATLAng,CHINng,inf\n", "line 2: mbps 'inf' is not a finite number"),
    "bad time": (HEADER + "2024-01-01T00:00,ATLAng,CHINng,1\n\nyesterday,ATLAng,CHINng,1\n",
                 "line 4: unparsable time 'yesterday'"),
    "self pair": (HEADER + "2024-01-01T00:00,ATLAng,ATLAng,1\n", "line 2: src and dst are the same node"),
    "duplicate": (HEADER + "2024-01-01T00:00,ATLAng,CHINng,1\n2024-01-01T00:05,ATLAng,CHINng,1\n"
                  "20240101-0000,ATLAng,CHINng,2\n", "line 4: duplicate row"),
    "too many fields": (HEADER + "2024-01-01T00:00,ATLAng,CHINng,1\n2024-01-01T00:05,ATLAng,CHINng,1,9\n",
                        "line 3: expected 4 fields"),
    "missing field": (HEADER + "2024-01-01T00:00,ATLAng,CHINng\n", "line 2: expected 4 non-empty fields"),
    "one time only": (HEADER + "2024-01-01T00:00,ATLAng,CHINng,1\n", "only one interval"),
}


@pytest.mark.parametrize("case", list(BAD_CSV))
def test_csv_bad_input_names_the_file_and_line(topo, tmp_path, case):
    text, problem = BAD_CSV[case]
    p = write_csv(tmp_path, text)
    with pytest.raises(InputError) as err:
        load_traffic_csv(p, topo)
    assert str(err.value).startswith(f"traffic '{p}': ")
    assert problem in str(err.value)


def test_csv_unknown_node_ids_are_listed(topo, tmp_path):
    p = write_csv(tmp_path, HEADER + "2024-01-01T00:00,ATLAng,LOSAng,1\n2024-01-01T00:05,SNVAng,ATLAng,1\n")
    with pytest.raises(InputError) as err:
        load_traffic_csv(p, topo)
    # in order of first appearance in the file
    assert str(err.value) == f"traffic '{p}': 2 node id(s) not in topology 'abilene4': 'LOSAng', 'SNVAng'"


# --- make_traffic ----------------------------------------------------------------------------
def test_make_traffic_synthetic(topo):
    tm = make_traffic("synthetic", topo, steps=30, step_minutes=15.0, seed=3, peak_utilization=0.5)
    assert tm.steps == 30 and tm.step_minutes == 15.0 and tm.n_pairs == 12


def test_make_traffic_dispatches_on_the_path(topo, tmp_path):
    assert make_traffic(str(CSV), topo, 100, 5.0, 0).step_minutes == 15.0
    assert make_traffic(str(SNDLIB_DIR), topo, 100, 15.0, 0).step_minutes == 5.0
    archive = make_tgz(tmp_path / "abilene4.tgz", fixture_members())
    np.testing.assert_array_equal(make_traffic(str(archive), topo, 100, 5.0, 0).demands,
                                  load_sndlib_dynamic(SNDLIB_DIR, topo).demands)


def test_make_traffic_truncates_replay_to_steps_and_keeps_shorter_data(topo):
    assert make_traffic(str(SNDLIB_DIR), topo, 2, 5.0, 0).steps == 2
    assert make_traffic(str(SNDLIB_DIR), topo, 1000, 5.0, 0).steps == 4


def test_make_traffic_missing_path(topo):
    with pytest.raises(InputError) as err:
        make_traffic("nowhere/traffic.csv", topo, 10, 5.0, 0)
    assert str(err.value) == "traffic 'nowhere/traffic.csv': no such file or folder"


def test_make_traffic_unknown_format(topo, tmp_path):
    p = tmp_path / "traffic.json"
    p.write_text("{}")
    with pytest.raises(InputError, match="unknown format"):
        make_traffic(str(p), topo, 10, 5.0, 0)


# --- CSV streamed in blocks: the block size never changes the result ---------------------------
IDS = ["ATLAng", "CHINng", "NYCMng", "WASHng"]


def written_series(rng: np.random.Generator, steps: int = 40) -> tuple[str, np.ndarray, list[tuple[str, str]]]:
    """A CSV (rows shuffled, blank lines, mixed time formats, step 7 missing, some pairs absent in
    some intervals) and the (steps x pairs) array it says, built cell by cell by this test."""
    pair_list = [(a, b) for a in IDS for b in IDS if a != b]
    expected = np.zeros((steps, len(pair_list)), dtype=np.float32)
    expected[7] = np.nan
    rows = []
    for t in range(steps):
        if t == 7:
            continue
        hh, mm = divmod(5 * t, 60)
        for p, (a, b) in enumerate(pair_list):
            if rng.random() < 0.3 and not (t == 0 or t == steps - 1):
                continue  # absent pair in a present interval: 0
            value = float(np.float32(rng.uniform(0, 1e4)))
            expected[t, p] = value
            when = f"2024-05-06T{hh:02d}:{mm:02d}" if rng.random() < 0.5 else f"20240506-{hh:02d}{mm:02d}"
            rows.append(f"{when}, {a} ,{b},{value!r}")
    rng.shuffle(rows)
    for k in rng.choice(len(rows), size=5, replace=False):
        rows[k] += "\n"  # blank lines
    return "time,src,dst,mbps\n" + "\n".join(rows) + "\n", expected, pair_list


@pytest.mark.parametrize("block_bytes", [64, 100, 1000, 4096])
def test_csv_block_boundaries_do_not_change_the_result(topo, tmp_path, block_bytes):
    text, expected, pair_list = written_series(np.random.default_rng(7))
    p = write_csv(tmp_path, text)
    whole = load_traffic_csv(p, topo, block_bytes=len(text) * 2)
    small = load_traffic_csv(p, topo, block_bytes=block_bytes)
    for tm in (whole, small):
        assert pairs(tm) == pair_list and tm.step_minutes == 5.0 and tm.start == datetime(2024, 5, 6)
        np.testing.assert_array_equal(tm.demands, expected)
        assert tm.demands.dtype == np.float32 and tm.missing.tolist() == [t == 7 for t in range(40)]


def test_csv_errors_name_the_right_line_in_a_later_block(topo, tmp_path):
    rows = [f"2024-01-01T00:{m:02d},ATLAng,CHINng,1" for m in range(0, 60, 5)]
    text = HEADER + "\n".join(rows[:6]) + "\n\n   \n" + "\n".join(rows[6:]) + "\n2024-01-01T00:20,ATLAng,CHINng,2\n"
    # lines: 1 header, 2-7 rows, 8 blank, 9 spaces only, 10-15 rows, 16 the duplicate of line 6
    p = write_csv(tmp_path, text)
    for block_bytes in (64, 10_000):
        with pytest.raises(InputError, match=r"line 16: duplicate row for time 2024-01-01T00:20, "
                                             r"ATLAng -> CHINng \(first on line 6\)"):
            load_traffic_csv(p, topo, block_bytes=block_bytes)
    p.write_text(text.replace("00:50,ATLAng,CHINng,1", "00:50,ATLAng,CHINng,x"))
    with pytest.raises(InputError, match=r"line 14: mbps 'x' is not a finite number"):
        load_traffic_csv(p, topo, block_bytes=64)


def test_csv_unknown_ids_from_several_blocks_in_file_order(topo, tmp_path):
    rows = [f"2024-01-01T00:{m:02d},ATLAng,CHINng,1" for m in range(0, 50, 5)]
    rows[3] = "2024-01-01T00:15,ZZZ,CHINng,1"
    rows[8] = "2024-01-01T00:40,ATLAng,AAA,1"
    p = write_csv(tmp_path, HEADER + "\n".join(rows) + "\n")
    with pytest.raises(InputError) as err:
        load_traffic_csv(p, topo, block_bytes=64)
    assert str(err.value).endswith("2 node id(s) not in topology 'abilene4': 'ZZZ', 'AAA'")
