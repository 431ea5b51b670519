"""failure_events.seq: the event log's order within a scenario (append-only; repeated clicks kept).

Revision ID: 0003
Revises: 0002

Before 0003 an event identical to a stored one (same step, action, element) was not stored
again, so repeated clicks on one link at one step lost their order. Existing rows keep what
was stored, numbered by (step, id): the order they were written in.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: Union[str, Sequence[str], None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Add ``seq``, number the existing events of each scenario 0, 1, ... by (step, id), make it
    required and unique per scenario, and record schema version 3."""
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("failure_events")}
    if "seq" not in columns:
        with op.batch_alter_table("failure_events") as batch:
            batch.add_column(sa.Column("seq", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE failure_events SET seq = (SELECT COUNT(*) FROM failure_events AS e2 "
        "WHERE e2.scenario_id = failure_events.scenario_id AND (e2.step < failure_events.step "
        "OR (e2.step = failure_events.step AND e2.id < failure_events.id)))"
    )
    with op.batch_alter_table("failure_events") as batch:
        batch.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch.create_unique_constraint("uq_failure_events_seq", ["scenario_id", "seq"])
    _set_schema_version("3")


def downgrade() -> None:
    """Drop ``seq`` (SQLite copies the table in batch mode) and record version 2."""
    with op.batch_alter_table("failure_events") as batch:
        batch.drop_constraint("uq_failure_events_seq", type_="unique")
        batch.drop_column("seq")
    _set_schema_version("2")


def _set_schema_version(value: str) -> None:
    meta = sa.table("meta", sa.column("key", sa.String), sa.column("value", sa.Text))
    op.execute(sa.delete(meta).where(meta.c.key == "schema_version"))
    op.execute(sa.insert(meta).values(key="schema_version", value=value))
