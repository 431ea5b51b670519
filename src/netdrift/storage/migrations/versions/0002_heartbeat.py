"""scenarios.heartbeat_at: the last sign of life of a run that stamps it (nullable).

Revision ID: 0002
Revises: 0001
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Add the column (a development build may have added it already) and record version 2."""
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("scenarios")}
    if "heartbeat_at" not in columns:
        with op.batch_alter_table("scenarios") as batch:
            batch.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
    _set_schema_version("2")


def downgrade() -> None:
    """Drop the column (SQLite copies the table in batch mode) and record version 1."""
    with op.batch_alter_table("scenarios") as batch:
        batch.drop_column("heartbeat_at")
    _set_schema_version("1")


def _set_schema_version(value: str) -> None:
    meta = sa.table("meta", sa.column("key", sa.String), sa.column("value", sa.Text))
    op.execute(sa.delete(meta).where(meta.c.key == "schema_version"))
    op.execute(sa.insert(meta).values(key="schema_version", value=value))
