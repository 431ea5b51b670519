"""Mutated interface-counter files and Prometheus mappings: every one is read as a valid series or
mapping, or refused with one line naming the file; never another exception (a fixed seed, so a
failure here is reproducible: the assertion shows the file)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from netdrift.engine.errors import InputError
from netdrift.engine.network.topology import Link, Node, Topology
from netdrift.engine.traffic.link_load_csv import load_link_loads_csv
from netdrift.engine.traffic.prometheus_mapping import read_mapping

TOPO = Topology("t", tuple(Node(x, x) for x in "abc"),
                (Link("ab", "a", "b", 1000.0), Link("bc", "b", "c", 1000.0),
                 Link("p1", "a", "c", 1000.0), Link("p2", "c", "a", 1000.0)))
DIRS = [("ab", "a", "b"), ("ab", "b", "a"), ("bc", "b", "c"), ("bc", "c", "b"), ("p1", "a", "c"), ("p1", "c", "a"),
        ("p2", "a", "c"), ("p2", "c", "a")]
TIMES = ["2024-01-01T00:00:00", "2024-01-01T00:05:00", "2024-01-01T00:10:00", "2024-01-01T00:15:00",
         "2024-01-01T00:20:00"]
# Field values a mutation puts in: numbers out of range, other time formats, separators, bytes.
JUNK = ["", "NaN", "-1", "1e400", "inf", "0x10", "abc", '"', "\x00", "é", "18446744073709551616",
        "18446744073709551615", "-0", "1e-400", "2024-13-01", "2024-01-01T25:00:00", "20240101-0000", "1704067200",
        " ", "True", "a->b->c", "->", "zz", ";", "1,2", "9" * 40, "2024-01-01T00:02:30", "null", "{}"]


def valid_files(rng: random.Random) -> list[tuple[str, str]]:
    """A rate file, a counters file (two LAG members a direction) and a simulate --out table."""
    rates = ["time,link,src,dst,mbps"] + [f"{t},{lk},{s},{d},{rng.uniform(0, 900):.3f}"
                                          for t in TIMES[:4] for lk, s, d in DIRS]
    base = {(lk, s, m): rng.randrange(0, 2**32) for lk, s, _ in DIRS for m in "xy"}
    counters = ["time,link,direction,interface,octets"] + [
        f"{t},{lk},{s}->{d},{lk}{s}{m},{(base[(lk, s, m)] + k * rng.randrange(0, 10**9)) % 2**32}"
        for k, t in enumerate(TIMES) for lk, s, d in DIRS for m in "xy"]
    table = ["step,time,link_id,src,dst,load_mbps,capacity_mbps,up"] + [
        f"{k},{t},{lk},{s},{d},{rng.uniform(0, 900):.2f},1000.0,True" for k, t in enumerate(TIMES[:4]) for lk, s, d in DIRS]
    return [("loads.csv", "\n".join(f) + "\n") for f in (rates, counters, table)]


def valid_mappings() -> list[tuple[str, str]]:
    rows = [{"instance": f"r-{s}:161", "ifName": f"xe-{k}", "link": lk, "src": s} for k, (lk, s, _) in enumerate(DIRS)]
    csv_text = "instance,ifName,link,src\n" + "".join(f"{r['instance']},{r['ifName']},{r['link']},{r['src']}\n"
                                                       for r in rows)
    return [("mapping.csv", csv_text), ("mapping.json", json.dumps({"interfaces": rows}, indent=1))]


def mutate(text: str, rng: random.Random) -> str:
    """One to four edits: a character dropped, a field replaced or added, a line repeated, dropped or
    moved, the header reordered or cut, the file truncated, a line's case or separator changed."""
    lines = text.split("\n")
    for _ in range(rng.randint(1, 4)):
        op, i = rng.randrange(9), rng.randrange(len(lines))
        fields = lines[i].split(",")
        if op == 0 and lines[i]:
            j = rng.randrange(len(lines[i]))
            lines[i] = lines[i][:j] + lines[i][j + 1:]
        elif op == 1:
            fields[rng.randrange(len(fields))] = rng.choice(JUNK)
            lines[i] = ",".join(fields)
        elif op == 2:
            lines.insert(rng.randrange(len(lines)), lines[i])
        elif op == 3 and len(lines) > 2:
            del lines[i]
        elif op == 4:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == 5:
            header = lines[0].split(",")
            if rng.random() < 0.5:
                rng.shuffle(header)
            elif len(header) > 1:
                header.pop(rng.randrange(len(header)))
            lines[0] = ",".join(header)
        elif op == 6:
            return text[:rng.randrange(len(text))]
        elif op == 7:
            lines[i] = ",".join([*fields, rng.choice(JUNK)])
        else:
            lines[i] = lines[i].upper() if rng.random() < 0.5 else lines[i].replace(",", ";")
    return "\n".join(lines)


def outcomes(tmp_path: Path, seeds: list[tuple[str, str]], read, check, n: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    seen = {"read": 0, "refused": 0}
    for k in range(n):
        name, text = seeds[k % len(seeds)]
        text = mutate(text, rng)
        path = tmp_path / name
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        try:
            check(read(path, TOPO))
            seen["read"] += 1
        except InputError as err:
            message = str(err)
            assert "\n" not in message and name in message, (message, text)
            seen["refused"] += 1
        except Exception as err:  # noqa: BLE001 - the point: anything else is a crash, shown with its file
            pytest.fail(f"{type(err).__name__}: {err}\n--- the file ---\n{text}")
    return seen


def test_mutated_counter_files_are_read_or_refused_in_one_line(tmp_path):
    def check(series) -> None:
        y = np.asarray(series.loads)
        assert y.shape == (series.steps, TOPO.n_directions) and series.steps >= 1 and series.step_minutes > 0
        assert not np.isinf(y).any() and not (y < 0).any()        # NaN (a gap) is allowed

    seen = outcomes(tmp_path, valid_files(random.Random(0)), load_link_loads_csv, check, 600, seed=1)
    assert seen["read"] >= 20 and seen["refused"] >= 300, seen   # both paths exercised


def test_mutated_mappings_are_read_or_refused_in_one_line(tmp_path):
    def check(mapping) -> None:
        assert sorted(set(mapping.interfaces.values())) == list(range(TOPO.n_directions))

    seen = outcomes(tmp_path, valid_mappings(), read_mapping, check, 600, seed=2)
    assert seen["read"] >= 20 and seen["refused"] >= 300, seen


def test_a_json_mapping_entry_without_its_link_is_named(tmp_path):
    rows = json.loads(valid_mappings()[1][1])["interfaces"]
    del rows[3]["link"]
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps({"interfaces": rows}))
    with pytest.raises(InputError, match=r"^prom_mapping '.*mapping\.json': interface 4 \(instance=r-c:161 "
                                         r"ifName=xe-3\) has no 'link'$"):
        read_mapping(path, TOPO)
