"""The history schema: typed SQLAlchemy 2.0 declarative models.

Tables
------
``meta``            key/value pairs; ``schema_version`` lives here.
``topologies``      one row per distinct topology (deduplicated by ``content_hash``).
``scenarios``       one row per run: config, seed, status, library versions, writer pid/host.
``failure_events``  the fail/restore event log of a scenario: append-only, in ``seq`` order
                    (repeated clicks included; the state at a step is the fold of the log).
``series``          float32 (or uint8) arrays, little-endian, C order. ``actual`` and
                    ``forecast`` series are stored one row per link direction (``direction``
                    set, shape (T, 1)) so that reading one direction for a chart reads 4*T bytes;
                    ``link_up`` (T, L) and ``dropped`` (T,) are one row each (``direction`` NULL).
                    A row holds steps ``[start, start + n_steps)``: one piece from 0 for a
                    finished run, pieces a live run's checkpoints appended (series_rows.py).
``live_runs``       one row per dashboard live run: the tab driving it, its step, its fitted models.
``sweeps``          one row per failure sweep (``netdrift sweep``): its settings, the ranked
                    failures and the per-direction worst cases as JSON (a first-class record,
                    not a scenario; added in 0.1 without a schema version bump, so the
                    baseline migration creates it where missing).
``metrics``         one row per value; ``value`` NULL means censored (e.g. time to convergence
                    never reached), ``direction`` NULL means the aggregate over directions.

Children reference ``scenarios.id`` with ``ON DELETE CASCADE`` (SQLite enforces it because
:func:`netdrift.storage.database.open_database` turns ``foreign_keys`` on for every connection).
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "SCHEMA_VERSION",
    "Base",
    "Meta",
    "TopologyRow",
    "ScenarioRow",
    "EventRow",
    "LiveRunRow",
    "RunStatus",
    "SeriesRow",
    "MetricRowDB",
    "SweepRow",
    "STATUSES",
]

#: Version of this schema, also kept in ``meta`` so that netdrift 0.1 (which knows no Alembic)
#: refuses newer databases. Bump it with each new migration in storage/migrations/versions
#: (2: scenarios.heartbeat_at; 3: failure_events.seq; 4: live_runs; 5: series.start).
SCHEMA_VERSION = 5


class RunStatus(StrEnum):
    """``scenarios.status``: a run being written, stored whole, or stopped before its end."""

    RUNNING = "running"
    COMPLETE = "complete"
    INTERRUPTED = "interrupted"


#: Values of ``scenarios.status``.
STATUSES = tuple(s.value for s in RunStatus)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive, as UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    """Declarative base of the history schema."""


class Meta(Base):
    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class TopologyRow(Base):
    __tablename__ = "topologies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class ScenarioRow(Base):
    __tablename__ = "scenarios"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topology_id: Mapped[int] = mapped_column(ForeignKey("topologies.id"), index=True)
    label: Mapped[str | None] = mapped_column(String(255))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    seed: Mapped[int] = mapped_column(Integer)
    models: Mapped[list[str]] = mapped_column(JSON)
    # Stored as its value in a VARCHAR(16) (no database enum type: SQLite and PostgreSQL alike).
    status: Mapped[RunStatus] = mapped_column(
        Enum(RunStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e],
             create_constraint=False, validate_strings=True), index=True)
    versions: Mapped[dict[str, str | None]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pid: Mapped[int] = mapped_column(Integer)
    hostname: Mapped[str] = mapped_column(String(255))
    # "<boot id>:<process start tick>" on Linux: tells a reused pid (e.g. after a reboot) apart.
    process_token: Mapped[str | None] = mapped_column(String(80))
    # Last sign of life of a run that stamps it (the dashboard's live loop, see
    # ScenarioRepository.heartbeat); None for writers that never do (the CLI: pid liveness only).
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    step_minutes: Mapped[float | None] = mapped_column(Float)
    start_time: Mapped[str | None] = mapped_column(String(64))  # ISO 8601, as given
    train_steps: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class EventRow(Base):
    __tablename__ = "failure_events"
    __table_args__ = (UniqueConstraint("scenario_id", "seq", name="uq_failure_events_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # position in the scenario's event log, from 0
    step: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))


class SeriesRow(Base):
    __tablename__ = "series"
    __table_args__ = (Index("ix_series_lookup", "scenario_id", "kind", "model", "direction", "start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # actual | forecast | lower | upper | link_up | dropped
    model: Mapped[str | None] = mapped_column(String(64))
    direction: Mapped[int | None] = mapped_column(Integer)
    start: Mapped[int] = mapped_column(Integer, server_default="0")  # the row's first step
    n_steps: Mapped[int] = mapped_column(Integer)  # steps in the row
    n_cols: Mapped[int | None] = mapped_column(Integer)  # None: a 1-D (T,) array
    dtype: Mapped[str] = mapped_column(String(8))  # numpy dtype string, e.g. "<f4", "|u1"
    data: Mapped[bytes] = mapped_column(LargeBinary)


class MetricRowDB(Base):
    __tablename__ = "metrics"
    __table_args__ = (Index("ix_metrics_lookup", "scenario_id", "model", "metric"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(32))
    metric: Mapped[str] = mapped_column(String(32))
    direction: Mapped[int | None] = mapped_column(Integer)
    value: Mapped[float | None] = mapped_column(Float)


class LiveRunRow(Base):
    """What only a dashboard live run has: the tab driving it, the step it reached, its fitted
    models (a pickle of LiveScenario.export_models: the history is trusted like the program's files).
    The heartbeat stays on ``scenarios`` (every running row has one)."""

    __tablename__ = "live_runs"

    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id", ondelete="CASCADE"), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(64))
    step: Mapped[int] = mapped_column(Integer)
    models: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class SweepRow(Base):
    __tablename__ = "sweeps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topology_id: Mapped[int] = mapped_column(ForeignKey("topologies.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # link | node | srlg | link-pairs
    config: Mapped[dict[str, Any]] = mapped_column(JSON)  # traffic, steps, seed, from, to, ...
    n_failures: Mapped[int] = mapped_column(Integer)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)  # every failure ranked + per_direction
    versions: Mapped[dict[str, str | None]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seconds: Mapped[float | None] = mapped_column(Float)
