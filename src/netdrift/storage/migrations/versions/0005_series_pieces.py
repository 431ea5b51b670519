"""series.start: a series row holds steps [start, start + n_steps), so a live run's checkpoint
appends the rows of its new steps instead of rewriting every row.

Revision ID: 0005
Revises: 0004

Every row stored before 0005 holds its whole series from step 0: it gets ``start = 0``. The
downgrade joins each series' pieces, in step order, back into one row from step 0.
"""

from collections import defaultdict
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: Union[str, Sequence[str], None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_OLD_INDEX = ["scenario_id", "kind", "model", "direction"]


def upgrade() -> None:
    """Add ``series.start`` (0 for every existing row), index it with the lookup, record version 5."""
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("series")}
    if "start" not in columns:
        with op.batch_alter_table("series") as batch:
            batch.add_column(sa.Column("start", sa.Integer(), nullable=False, server_default="0"))
    op.drop_index("ix_series_lookup", table_name="series", if_exists=True)
    op.create_index("ix_series_lookup", "series", [*_OLD_INDEX, "start"])
    _set_schema_version("5")


def downgrade() -> None:
    """Join each series' pieces into one row from step 0, drop ``start``, record version 4."""
    bind = op.get_bind()
    series = sa.table("series", sa.column("id", sa.Integer), sa.column("scenario_id", sa.Integer),
                      sa.column("kind", sa.String), sa.column("model", sa.String),
                      sa.column("direction", sa.Integer), sa.column("start", sa.Integer),
                      sa.column("n_steps", sa.Integer), sa.column("data", sa.LargeBinary))
    pieced = bind.execute(sa.select(series.c.scenario_id).where(series.c.start > 0).distinct()).scalars().all()
    for sid in pieced:  # one scenario's rows at a time
        groups: dict[tuple, list] = defaultdict(list)
        rows = bind.execute(sa.select(series.c.id, series.c.kind, series.c.model, series.c.direction,
                                      series.c.n_steps, series.c.data)
                            .where(series.c.scenario_id == sid).order_by(series.c.start)).all()
        for r in rows:
            groups[(r.kind, r.model, r.direction)].append(r)
        for pieces in groups.values():
            if len(pieces) < 2:
                continue
            first = pieces[0]
            bind.execute(sa.update(series).where(series.c.id == first.id).values(
                start=0, n_steps=sum(p.n_steps for p in pieces), data=b"".join(bytes(p.data) for p in pieces)))
            bind.execute(sa.delete(series).where(series.c.id.in_([p.id for p in pieces[1:]])))
    op.drop_index("ix_series_lookup", table_name="series")
    with op.batch_alter_table("series") as batch:
        batch.drop_column("start")
    op.create_index("ix_series_lookup", "series", _OLD_INDEX)
    _set_schema_version("4")


def _set_schema_version(value: str) -> None:
    meta = sa.table("meta", sa.column("key", sa.String), sa.column("value", sa.Text))
    op.execute(sa.delete(meta).where(meta.c.key == "schema_version"))
    op.execute(sa.insert(meta).values(key="schema_version", value=value))
