"""Failure sweeps in the history: one row each, with the ranked failures and worst cases as JSON."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from netdrift.engine.errors import InputError
from netdrift.engine.network.topology import Topology
from netdrift.storage.database import display_url
from netdrift.storage.models import SweepRow, TopologyRow
from netdrift.storage.records import jsonable, library_versions, save_topology

__all__ = ["SweepRepository"]


class SweepRepository:
    """Failure sweeps in the history (one row each; the caller owns the transaction).

    Examples
    --------
    >>> import tempfile
    >>> from netdrift.engine.network.topology import Link, Node, Topology
    >>> from netdrift.storage.database import open_database
    >>> Session = open_database(f"sqlite:///{tempfile.mkdtemp()}/h.sqlite")
    >>> t = Topology("t", (Node("a", "A"), Node("b", "B")), (Link("a-b", "a", "b", 1e3),))
    >>> with Session.begin() as s:
    ...     sid = SweepRepository(s).save_sweep(t, "link", {"from": 0, "to": 4}, {"failures": [], "seconds": 0.1})
    >>> with Session() as s:
    ...     SweepRepository(s).get_sweep(sid)["kind"]
    'link'
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def save_sweep(self, topology: Topology, kind: str, config: dict[str, Any], result: dict[str, Any]) -> int:
        """Store a sweep (``result``: its JSON with every failure) and return its id."""
        row = SweepRow(
            topology_id=save_topology(self.session, topology),
            kind=str(kind),
            config=jsonable(config),
            n_failures=len(result.get("failures", [])),
            result=jsonable(result),
            versions=library_versions(),
            created_at=datetime.now(timezone.utc),
            seconds=result.get("seconds"),
        )
        self.session.add(row)
        self.session.flush()
        return row.id

    def get_sweep(self, sweep_id: int) -> dict[str, Any]:
        """The stored sweep: ``id``, ``topology`` (name), ``kind``, ``config``, ``created_at``
        (ISO 8601), ``n_failures``, ``seconds`` and ``result``."""
        row = self._row(sweep_id)
        topo = self.session.get(TopologyRow, row.topology_id)
        return {"id": row.id, "topology": topo.name if topo else None, "kind": row.kind, "config": row.config,
                "created_at": row.created_at.isoformat(), "n_failures": row.n_failures,
                "seconds": row.seconds, "result": row.result}

    def set_deduction_bounds(self, sweep_id: int, bounds: Sequence[Mapping[str, Any] | None]) -> dict[str, Any]:
        """Keep ``bounds`` with the sweep's failures: the i-th with the failure ranked i + 1 (as
        ``deduction_bounds``; see :func:`netdrift.engine.sweep.deduction_bounds.deduction_bounds`).
        Returns the stored result."""
        row = self._row(sweep_id)
        result = dict(row.result)
        failures = [dict(f) for f in result.get("failures", [])]
        if len(bounds) > len(failures):
            raise InputError(f"sweep {sweep_id}", f"has {len(failures)} failures, not the {len(bounds)} bounded")
        for f, b in zip(failures, bounds):
            f["deduction_bounds"] = None if b is None else dict(b)
        result["failures"] = failures
        row.result = jsonable(result)  # a new object: the JSON column is written again
        self.session.flush()
        return row.result

    def _row(self, sweep_id: int) -> SweepRow:
        row = self.session.get(SweepRow, sweep_id)
        if row is None:
            url = display_url(self.session.get_bind().engine.url)
            raise InputError(f"sweep {sweep_id}", f"not found in database '{url}'")
        return row

    def list_sweeps(self) -> list[dict[str, Any]]:
        """Every stored sweep, newest first, without its result: id, topology, kind, n_failures,
        created_at."""
        q = (select(SweepRow.id, TopologyRow.name, SweepRow.kind, SweepRow.n_failures, SweepRow.created_at)
             .join(TopologyRow, TopologyRow.id == SweepRow.topology_id).order_by(SweepRow.id.desc()))
        return [{"id": i, "topology": n, "kind": k, "n_failures": c, "created_at": t.isoformat()}
                for i, n, k, c, t in self.session.execute(q)]
