"""What every history record shares: JSON-safe values, the library versions a record was made
with, and topologies stored once (by content hash) for the scenarios and sweeps that use them."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from enum import Enum
from importlib import metadata
from pathlib import PurePath
from typing import Any

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from netdrift.engine.network.loaders import topology_to_dict
from netdrift.engine.network.topology import Topology
from netdrift.storage.models import TopologyRow

__all__ = ["topology_hash", "jsonable", "library_versions", "save_topology"]


def topology_hash(t: Topology) -> str:
    """SHA-256 of the canonical JSON of the topology (warnings included)."""
    text = json.dumps(topology_to_dict(t), sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def jsonable(x: Any) -> Any:
    """A JSON-safe copy: numpy scalars/arrays to Python, NaN/inf to None, paths and dates to str."""
    if x is None or isinstance(x, (bool, str)):
        return x
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        f = float(x)
        return f if math.isfinite(f) else None
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (set, frozenset)):
        return sorted((jsonable(v) for v in x), key=repr)
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, (datetime, date)):
        return x.isoformat()
    if isinstance(x, PurePath):
        return str(x)
    if isinstance(x, Enum):
        return jsonable(x.value)
    if is_dataclass(x) and not isinstance(x, type):
        return jsonable(asdict(x))
    return str(x)


def library_versions() -> dict[str, str | None]:
    """Installed versions of netdrift, torch, ncps and numpy (None when absent); imports nothing."""
    out: dict[str, str | None] = {}
    for name in ("netdrift", "torch", "ncps", "numpy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def save_topology(session: Session, t: Topology) -> int:
    """Store ``t`` unless an identical one is stored already; return its id."""
    h = topology_hash(t)
    lookup = select(TopologyRow.id).where(TopologyRow.content_hash == h)
    found = session.execute(lookup).scalar()
    if found is not None:
        return found
    values = dict(name=t.name, content_hash=h, data=topology_to_dict(t))
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        # Another writer may store the same topology between our look-up and insert (several
        # processes on one server): let the unique hash absorb it instead of failing the save.
        dialect_insert = pg_insert if dialect == "postgresql" else sqlite_insert
        session.execute(dialect_insert(TopologyRow).values(**values)
                             .on_conflict_do_nothing(index_elements=["content_hash"]))
    else:
        session.execute(insert(TopologyRow).values(**values))
    return session.execute(lookup).scalar_one()
