"""The failure sets of a sweep: each link, each node, each shared-risk link group, each link pair."""

from __future__ import annotations

import csv
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from netdrift.engine.budget import check_memory
from netdrift.engine.errors import InputError
from netdrift.engine.network.topology import Topology

__all__ = ["KINDS", "Failure", "failure_set", "load_srlgs", "srlgs_from_topology_file"]

KINDS = ("link", "node", "srlg", "link-pairs")
#: Memory of one link-pair failure in the list, bytes (237 measured by RSS on Kdl's 400,065 pairs).
_PAIR_FAILURE_BYTES = 240


@dataclass(frozen=True)
class Failure:
    """One failure state: its name and the links / nodes it takes down."""

    target: str
    links: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()

    def state(self, topology: Topology) -> tuple[np.ndarray, np.ndarray]:
        """``(link_up, node_up)`` of ``topology`` with this failure (a down node's links down too)."""
        link_up = topology.link_up_mask(self.links, self.nodes)
        node_up = np.ones(len(topology.nodes), dtype=bool)
        for nid in self.nodes:
            node_up[topology.node_index[nid]] = False
        return link_up, node_up


def _check_groups(groups: dict[str, list[str]], topology: Topology, what: str) -> list[Failure]:
    if not groups:
        raise InputError(what, "defines no shared-risk link group")
    known = topology.link_index
    out = []
    for gid, links in groups.items():
        if not links:
            raise InputError(what, f"group '{gid}' is empty")
        bad = [x for x in links if x not in known]
        if bad:
            raise InputError(what, f"group '{gid}': unknown link id '{bad[0]}'")
        out.append(Failure(str(gid), tuple(dict.fromkeys(links))))
    return out


def _groups_from_json(data: Any, what: str) -> dict[str, list[str]]:
    items = data.get("srlgs") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise InputError(what, "expected a list 'srlgs' of {id, links}")
    groups: dict[str, list[str]] = {}
    for i, g in enumerate(items):
        if not isinstance(g, dict) or "id" not in g or not isinstance(g.get("links", None), list):
            raise InputError(what, f"srlgs entry {i} must be an object with 'id' and a list 'links'")
        groups.setdefault(str(g["id"]), []).extend(str(x) for x in g["links"])
    return groups


def load_srlgs(path: str | Path, topology: Topology) -> list[Failure]:
    """Shared-risk link groups from a JSON file (``{"srlgs": [{id, links}]}``, e.g. the netdrift
    topology JSON) or a CSV with columns ``srlg,link_id``. Unknown link ids or an empty group
    raise :class:`InputError` naming ``srlg '<path>'``."""
    p = Path(path)
    what = f"srlg '{path}'"
    if not p.is_file():
        raise InputError(what, "no such file")
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(p.read_text())
        except (OSError, ValueError) as err:
            raise InputError(what, f"not valid JSON ({err})") from None
        groups = _groups_from_json(data, what)
    else:
        groups = {}
        with p.open(newline="") as f:
            rows = list(csv.reader(f))
        if not rows or [c.strip().lower() for c in rows[0][:2]] != ["srlg", "link_id"]:
            raise InputError(what, "expected a CSV with header 'srlg,link_id'")
        for n, row in enumerate(rows[1:], start=2):
            if not any(c.strip() for c in row):
                continue
            if len(row) < 2 or not row[0].strip():
                raise InputError(what, f"line {n}: expected 'srlg,link_id'")
            gid, link = row[0].strip(), row[1].strip()
            groups.setdefault(gid, [])
            if link:
                groups[gid].append(link)
    return _check_groups(groups, topology, what)


def srlgs_from_topology_file(path: str | Path, topology: Topology) -> list[Failure] | None:
    """The ``srlgs`` of a netdrift JSON topology file, or None when it has none."""
    p = Path(path)
    if p.suffix.lower() != ".json" or not p.is_file():
        return None
    try:
        data = json.loads(p.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or "srlgs" not in data:
        return None
    return _check_groups(_groups_from_json(data, f"topology '{path}'"), topology, f"topology '{path}'")


def failure_set(topology: Topology, kind: str, srlgs: Sequence[Failure] | None = None) -> list[Failure]:
    """Every failure of ``kind``: each link, each node, each SRLG, or each unordered link pair."""
    if kind == "link":
        return [Failure(l.id, (l.id,)) for l in topology.links]
    if kind == "node":
        return [Failure(n.id, (), (n.id,)) for n in topology.nodes]
    if kind == "link-pairs":  # the list itself is refused before it is built when it would not fit
        n = len(topology.links) * (len(topology.links) - 1) // 2
        check_memory(f"link-pairs failure set of {n} failures on '{topology.name}'", float(n) * _PAIR_FAILURE_BYTES)
        return [Failure(f"{a.id}+{b.id}", (a.id, b.id)) for a, b in itertools.combinations(topology.links, 2)]
    if kind == "srlg":
        if not srlgs:
            raise InputError("srlg", "--kind srlg needs shared-risk link groups (--srlg FILE or "
                                     "'srlgs' in the topology JSON)")
        return list(srlgs)
    raise InputError(f"kind '{kind}'", f"expected one of {', '.join(KINDS)}")
