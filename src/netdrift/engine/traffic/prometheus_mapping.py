"""Which Prometheus series is which link direction: the interface mapping file.

A Prometheus query over SNMP counters (snmp_exporter's ``if_mib`` module) returns one series per
interface, labelled ``instance`` (the router polled) and ``ifName`` (the interface). The mapping
says which link of the topology each interface is on and which direction its series measures:

- CSV with a header: ``instance,ifName,link,src`` (one row per interface). Every column other
  than ``link`` and ``src`` is a label the series must carry with that value, so a network whose
  interfaces are told apart by ``ifDescr`` or ``ifIndex`` writes those columns instead.
- JSON: ``{"interfaces": [{"instance": ..., "ifName": ..., "link": ..., "src": ...}, ...]}`` (or
  the list alone), with the same meaning of the keys.

``src`` is the source node of the direction the series measures. With the default query
(``ifHCOutOctets``, the octets *sent* by the interface) that is the router the interface sits on:
the interface at ``a`` facing ``b`` counts ``a -> b``. A query over ``ifHCInOctets`` (octets
*received*) measures the other direction: write the far end as ``src``. Several interfaces for one
direction (a LAG, parallel ports) are summed.

Every direction of the topology needs at least one interface: a mapping that misses some is
refused, naming them (a direction with no counter would be silently unmeasured).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netdrift.engine.errors import InputError
from netdrift.engine.network.topology import Topology

__all__ = ["InterfaceMapping", "read_mapping", "mapping_from_rows"]

_TARGET = ("link", "src")


@dataclass(frozen=True)
class InterfaceMapping:
    """Interfaces (their label values under ``labels``) -> the direction index they measure.

    ``members[d]`` counts the interfaces summed into direction ``d``; ``source`` names the file.
    """

    labels: tuple[str, ...]
    interfaces: dict[tuple[str, ...], int]
    members: tuple[int, ...]
    source: str

    def key(self, metric: dict[str, str]) -> tuple[str, ...] | None:
        """The mapping key of a series' labels (None when it lacks one of the labels)."""
        try:
            return tuple(metric[name] for name in self.labels)
        except KeyError:
            return None

    def describe(self, key: tuple[str, ...]) -> str:
        """``instance=r1:161 ifName=xe-0/0/1``: an interface as the mapping names it."""
        return " ".join(f"{n}={v}" for n, v in zip(self.labels, key))


def read_mapping(path: str | Path, topology: Topology) -> InterfaceMapping:
    """Read a ``.csv`` or ``.json`` mapping file and check it against ``topology``.

    Raises :class:`InputError` naming ``prom_mapping '<path>'`` and the problem: a missing or
    unreadable file, no rows, an unknown link, a ``src`` that is not an end of its link, an
    interface listed twice, label columns that differ between rows, or directions with no interface.
    """
    p = Path(path)
    what = f"prom_mapping '{path}'"
    if not p.is_file():
        raise InputError(what, "no such file")
    try:
        text = p.read_text(encoding="utf-8-sig")  # a BOM (spreadsheet exports) is not part of the header
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(what, f"cannot be read ({err})") from None
    suffix = p.suffix.lower()
    if suffix == ".json":
        rows = _json_rows(text, what)
    elif suffix == ".csv":
        rows = _csv_rows(text, what)
    else:
        raise InputError(what, "expected a .csv (instance,ifName,link,src) or .json file")
    return mapping_from_rows(rows, topology, str(path))


def _json_rows(text: str, what: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(what, f"is not valid JSON ({err.msg} at line {err.lineno})") from None
    rows = data.get("interfaces") if isinstance(data, dict) else data
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise InputError(what, 'expected {"interfaces": [{"instance": ..., "ifName": ..., "link": ..., "src": ...}]}')
    return rows


def _csv_rows(text: str, what: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise InputError(what, "the file is empty")
    reader.fieldnames = header
    rows = []
    for i, row in enumerate(reader, start=2):
        if None in row:
            raise InputError(what, f"line {i} has more fields than the header")
        rows.append({k: ("" if v is None else v.strip()) for k, v in row.items()})
    return rows


def mapping_from_rows(rows: list[dict[str, Any]], topology: Topology, source: str = "mapping") -> InterfaceMapping:
    """Build and check a mapping from rows of ``{label: value, ..., "link": id, "src": node}``.

    >>> from netdrift.engine.network.topology import Link, Node, Topology
    >>> t = Topology("t", (Node("a", "A"), Node("b", "B")), (Link("a-b", "a", "b", 1e3),))
    >>> m = mapping_from_rows([{"instance": "a", "ifName": "e0", "link": "a-b", "src": "a"},
    ...                        {"instance": "b", "ifName": "e0", "link": "a-b", "src": "b"}], t)
    >>> m.labels, m.interfaces[("b", "e0")], m.members
    (('instance', 'ifName'), 1, (1, 1))
    """
    what = f"prom_mapping '{source}'"
    if not rows:
        raise InputError(what, "lists no interfaces")
    labels = tuple(k for k in rows[0] if k not in _TARGET)
    for need in _TARGET:
        if need not in rows[0]:
            raise InputError(what, f"has no '{need}' column (expected e.g. instance,ifName,link,src)")
    if not labels:
        raise InputError(what, "names no label to match the series by (e.g. instance,ifName)")
    interfaces: dict[tuple[str, ...], int] = {}
    members = [0] * topology.n_directions
    for i, row in enumerate(rows, start=1):
        if tuple(k for k in row if k not in _TARGET) != labels:
            raise InputError(what, f"interface {i} has the labels {sorted(k for k in row if k not in _TARGET)}, "
                                   f"the first one {list(labels)}")
        key = tuple(str(row[n]) for n in labels)
        absent = [n for n in _TARGET if n not in row]
        if absent:  # a JSON entry may leave a key out (a CSV row always has every column)
            raise InputError(what, f"interface {i} ({_text(labels, key)}) has no '{absent[0]}'")
        link, src = str(row["link"]), str(row["src"])
        if link not in topology.link_index:
            raise InputError(what, f"interface {i} ({_text(labels, key)}): no link '{link}' in topology "
                                   f"'{topology.name}'")
        ends = topology.links[topology.link_index[link]]
        if src not in (ends.u, ends.v):
            raise InputError(what, f"interface {i} ({_text(labels, key)}): '{src}' is not an end of link "
                                   f"'{link}' ({ends.u} - {ends.v})")
        if key in interfaces:
            raise InputError(what, f"interface {_text(labels, key)} is listed twice")
        d = topology.direction_index(link, src)
        interfaces[key] = d
        members[d] += 1
    missing = [n for n, m in zip(topology.direction_names(), members) if m == 0]
    if missing:
        shown = ", ".join(f"{s}->{t} (link {lk})" for lk, s, t in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise InputError(what, f"no interface for {len(missing)} of {topology.n_directions} directions: "
                               f"{shown}{more}")
    return InterfaceMapping(labels, interfaces, tuple(members), source)


def _text(labels: tuple[str, ...], key: tuple[str, ...]) -> str:
    return " ".join(f"{n}={v}" for n, v in zip(labels, key))
