"""The schema of netdrift 0.1 (git 27c8ada), the baseline.

A database created by that release has these tables but no ``alembic_version``:
:mod:`netdrift.storage.migrate` detects it and stamps it at this revision instead of running it. The
tables are created only where missing, because 0.1 added ``sweeps`` to existing databases
without a version bump (a 0.1 database may lack it).

Revision ID: 0001
Revises:
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Create the 0.1 tables and indexes that are missing."""
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "topologies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("data", sa.JSON(), nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "scenarios",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("topology_id", sa.Integer(), sa.ForeignKey("topologies.id"), nullable=False),
        sa.Column("label", sa.String(255), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("versions", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("process_token", sa.String(80), nullable=True),
        sa.Column("step_minutes", sa.Float(), nullable=True),
        sa.Column("start_time", sa.String(64), nullable=True),
        sa.Column("train_steps", sa.Integer(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        if_not_exists=True,
    )
    op.create_index("ix_scenarios_topology_id", "scenarios", ["topology_id"], if_not_exists=True)
    op.create_index("ix_scenarios_status", "scenarios", ["status"], if_not_exists=True)
    op.create_table(
        "failure_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scenario_id", sa.Integer(), sa.ForeignKey("scenarios.id", ondelete="CASCADE"), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        if_not_exists=True,
    )
    op.create_index("ix_failure_events_scenario_id", "failure_events", ["scenario_id"], if_not_exists=True)
    op.create_table(
        "series",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scenario_id", sa.Integer(), sa.ForeignKey("scenarios.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("model", sa.String(64), nullable=True),
        sa.Column("direction", sa.Integer(), nullable=True),
        sa.Column("n_steps", sa.Integer(), nullable=False),
        sa.Column("n_cols", sa.Integer(), nullable=True),
        sa.Column("dtype", sa.String(8), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        if_not_exists=True,
    )
    op.create_index("ix_series_lookup", "series", ["scenario_id", "kind", "model", "direction"], if_not_exists=True)
    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scenario_id", sa.Integer(), sa.ForeignKey("scenarios.id", ondelete="CASCADE"), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("period", sa.String(32), nullable=False),
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("direction", sa.Integer(), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        if_not_exists=True,
    )
    op.create_index("ix_metrics_lookup", "metrics", ["scenario_id", "model", "metric"], if_not_exists=True)
    op.create_table(
        "sweeps",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("topology_id", sa.Integer(), sa.ForeignKey("topologies.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("n_failures", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("versions", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=True),
        if_not_exists=True,
    )
    op.create_index("ix_sweeps_topology_id", "sweeps", ["topology_id"], if_not_exists=True)
    meta = sa.table("meta", sa.column("key", sa.String), sa.column("value", sa.Text))
    bind = op.get_bind()
    if bind.execute(sa.select(meta.c.value).where(meta.c.key == "schema_version")).first() is None:
        op.execute(sa.insert(meta).values(key="schema_version", value="1"))


def downgrade() -> None:
    """Drop everything (the history is gone afterwards)."""
    for table in ("sweeps", "metrics", "series", "failure_events", "scenarios", "topologies", "meta"):
        op.drop_table(table)
