"""Issue 14, memory budget and float32 range: estimates checked before allocating, values above
float32's largest refused where they are parsed."""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import pytest

from netdrift.engine.budget import (
    check_memory,
    memory_budget,
    memory_budget_bytes,
    parse_bytes,
    simulation_memory_bytes,
)
from netdrift.engine.errors import InputError
from netdrift.engine.network.loaders import load_topology
from netdrift.engine.network.topology import Link, Node, Topology
from netdrift.engine.traffic.csv_replay import csv_memory_bytes, load_traffic_csv
from netdrift.engine.traffic.sndlib_replay import load_sndlib_dynamic
from netdrift.engine.traffic.sources import make_traffic
from netdrift.engine.traffic.synthetic import synthetic_memory_bytes, synthetic_traffic


def line(n: int = 4) -> Topology:
    nodes = tuple(Node(f"n{i}", f"n{i}") for i in range(n))
    return Topology("line", nodes, tuple(Link(f"l{i}", f"n{i}", f"n{i + 1}", 1e3) for i in range(n - 1)))


def test_budget_precedence_and_restore(monkeypatch):
    monkeypatch.setenv("NETDRIFT_MAX_MEMORY", "3M")
    assert memory_budget_bytes() == 3 * 1024**2
    with memory_budget(parse_bytes("2G")):
        assert memory_budget_bytes() == 2 * 1024**3
        with pytest.raises(InputError, match=r"over the memory budget of 2.00 GiB \(--max-memory\)"):
            check_memory("x", 3 * 1024**3)
        with memory_budget(None):  # None leaves it as it is
            assert memory_budget_bytes() == 2 * 1024**3
    assert memory_budget_bytes() == 3 * 1024**2
    monkeypatch.delenv("NETDRIFT_MAX_MEMORY")
    assert memory_budget_bytes() > 0
    with pytest.raises(InputError, match="half of the available memory"):
        check_memory("x", 1e18)


def test_estimates_grow_with_the_sizes_that_matter():
    small = synthetic_memory_bytes(30, 100, 100_000)
    assert small >= 4 * 100_000 * 30 * 29  # at least the demands
    assert synthetic_memory_bytes(30, 100, 200_000) > 1.9 * small
    assert synthetic_memory_bytes(198_000, 400_000, 1) > 2**40  # 39 billion pairs
    assert synthetic_memory_bytes(8, 20, 99_999_999_999) > 4 * 99_999_999_999 * 56
    assert simulation_memory_bytes(1000, 870, 30, 104, frame=True) > simulation_memory_bytes(1000, 870, 30, 104)
    # streamed: the result array plus one block, whatever the file's size
    assert csv_memory_bytes(1_000_000, 1_000) >= 4 * 1_000_000 * 1_000
    assert csv_memory_bytes(1_000_000, 1_000) < 1.1 * 4 * 1_000_000 * 1_000


def test_huge_steps_refused_before_allocating():
    with pytest.raises(InputError, match=r"synthetic traffic on 'line' .*99999999999 steps.*TiB, over the memory budget"):
        synthetic_traffic(line(), 99_999_999_999)
    with pytest.raises(InputError, match="over the memory budget"):
        make_traffic("synthetic", line(), 99_999_999_999, 5.0, 0)


def test_many_nodes_refused_before_allocating():
    n = 60_000
    t = Topology("many", tuple(Node(str(i), str(i)) for i in range(n)),
                 tuple(Link(f"l{i}", str(i), str(i + 1), 1e3) for i in range(n - 1)))
    with pytest.raises(InputError, match=r"'many' \(60000 nodes, 3599940000 node pairs, 2 steps\)"):
        synthetic_traffic(t, 2)


def test_explicit_budget_and_module_setting():
    synthetic_traffic(line(), 24, budget_bytes=1024**3)
    with pytest.raises(InputError, match="over the memory budget of 1 KiB"):
        synthetic_traffic(line(), 24, budget_bytes=1024)
    with memory_budget(1024), pytest.raises(InputError, match=r"1 KiB \(--max-memory\)"):
        synthetic_traffic(line(), 24)


def test_csv_replay_checked_against_its_array_and_huge_demand_refused(tmp_path):
    ok = tmp_path / "ok.csv"
    ok.write_text("time,src,dst,mbps\n2024-01-01T00:00,n0,n1,5\n2024-01-01T00:05,n1,n0,2\n")
    assert load_traffic_csv(ok, line()).steps == 2
    with pytest.raises(InputError, match=r"traffic '.*ok.csv' \(2 steps x 2 pairs\).*over the memory budget"):
        load_traffic_csv(ok, line(), budget_bytes=100)
    big = tmp_path / "big.csv"
    big.write_text("time,src,dst,mbps\n2024-01-01T00:00,n0,n1,5\n2024-01-01T00:05,n1,n0,1e39\n")
    with pytest.raises(InputError, match=r"big.csv': line 3: mbps 1e39 is above the largest demand accepted"):
        load_traffic_csv(big, line())
    edge = tmp_path / "edge.csv"  # float32's largest value itself is fine
    edge.write_text("time,src,dst,mbps\n2024-01-01T00:00,n0,n1,3.4e38\n2024-01-01T00:05,n1,n0,1\n")
    assert np.isfinite(load_traffic_csv(edge, line()).demands).all()


def _sndlib(folder, when: str, value: str, extra: str = "") -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"m-{when}.xml").write_text(
        '<?xml version="1.0"?><network xmlns="http://sndlib.zib.de/network"><meta><time>'
        f'{when}</time></meta><demands><demand id="d1"><source>n0</source><target>n1</target>'
        f"<demandValue>{value}</demandValue></demand>{extra}</demands></network>")


def test_sndlib_huge_demand_and_parallel_sum_refused(tmp_path):
    _sndlib(tmp_path / "a", "20040301-0000", "1e39")
    _sndlib(tmp_path / "a", "20040301-0005", "1")
    with pytest.raises(InputError, match=r"demand 'd1': value 1e39 Mbit/s is above the largest demand accepted"):
        load_sndlib_dynamic(tmp_path / "a", line())
    twin = '<demand id="d2"><source>n0</source><target>n1</target><demandValue>3e38</demandValue></demand>'
    _sndlib(tmp_path / "b", "20040301-0000", "3e38", twin)
    _sndlib(tmp_path / "b", "20040301-0005", "1")
    with pytest.raises(InputError, match=r"demands n0 -> n1 add up to 6e\+38 Mbit/s"):
        load_sndlib_dynamic(tmp_path / "b", line())
    _sndlib(tmp_path / "c", "20040301-0000", "5")
    _sndlib(tmp_path / "c", "20040301-0005", "1")
    assert load_sndlib_dynamic(tmp_path / "c", line()).steps == 2
    with pytest.raises(InputError, match=r"\(2 steps x 1 pairs\).*over the memory budget"):
        load_sndlib_dynamic(tmp_path / "c", line(), budget_bytes=10)


@pytest.mark.parametrize("cap", ["1e39", "2e38"])  # 2e38 twice in parallel sums past float32 too
def test_capacity_above_float32_refused_by_the_loader(tmp_path, cap):
    links = [{"u": "a", "v": "b", "capacity_mbps": float(cap)}, {"u": "b", "v": "c", "capacity_mbps": 100}]
    if cap == "2e38":
        links.append({"u": "a", "v": "b", "capacity_mbps": float(cap)})
    p = tmp_path / "t.json"
    p.write_text(json.dumps({"name": "t", "nodes": [{"id": x} for x in "abc"], "links": links}))
    with pytest.raises(InputError, match=r"t.json': link a-b: capacity .* Mbit/s is above the largest accepted"):
        load_topology(str(p))


def test_capacity_and_scale_above_float32_refused_by_the_generator():
    t = Topology("big", (Node("a", "a"), Node("b", "b")), (Link("a-b", "a", "b", 1e39),))
    with pytest.raises(InputError, match=r"topology 'big': link a-b: capacity 1e\+39 Mbit/s is above"):
        synthetic_traffic(t, 4)
    with pytest.raises(InputError, match="peak_utilization: 1e\\+38 would make demands above float32"):
        synthetic_traffic(line(), 4, peak_utilization=1e38)
    tm = synthetic_traffic(line(), 4, start=datetime(2024, 1, 1))
    assert np.isfinite(tm.demands).all()


def test_a_check_after_earlier_work_counts_what_the_process_holds_now():
    from netdrift.engine.budget import command_budget, resident_bytes

    start = resident_bytes()
    with command_budget(start + 150 * 1024**2, count_held=True) as budget:
        held = np.ones(200 * 1024**2 // 8)  # 200 MiB made by the command's earlier work
        check_memory("next step", 64 * 1024**2, budget)  # counted from the start only: fits
        with pytest.raises(InputError, match=r"next step: would need about .* the process held already"):
            check_memory("next step", 64 * 1024**2, budget, held_now=True)
        del held
