"""live_runs: the tab, step and fitted models of a dashboard live run, out of the scenario's config.

Revision ID: 0004
Revises: 0003

Before 0004 a live run kept its tab and step as ``config["live_owner"]`` / ``config["steps_observed"]``
and its models as a ``series`` row of kind "models", so every checkpoint rewrote the config and
the model pickle. Existing live runs are moved over: nothing of theirs is lost.
"""

import json
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: Union[str, Sequence[str], None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_OWNER, _STEP, _MODELS = "live_owner", "steps_observed", "models"


def upgrade() -> None:
    """Create ``live_runs``, move each live run's owner, step and models into it, record version 4."""
    op.create_table(
        "live_runs",
        sa.Column("scenario_id", sa.Integer(), sa.ForeignKey("scenarios.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("models", sa.LargeBinary(), nullable=True),
        if_not_exists=True,
    )
    bind = op.get_bind()
    scenarios = sa.table("scenarios", sa.column("id", sa.Integer), sa.column("config", sa.JSON))
    series = sa.table("series", sa.column("scenario_id", sa.Integer), sa.column("kind", sa.String),
                      sa.column("data", sa.LargeBinary))
    live_runs = sa.table("live_runs", sa.column("scenario_id", sa.Integer), sa.column("owner", sa.String),
                         sa.column("step", sa.Integer), sa.column("models", sa.LargeBinary))
    for sid, config in bind.execute(sa.select(scenarios.c.id, scenarios.c.config)).all():
        config = json.loads(config) if isinstance(config, str) else (config or {})
        if _OWNER not in config or _STEP not in config:
            continue  # not a live run
        blob = bind.execute(sa.select(series.c.data).where(series.c.scenario_id == sid,
                                                           series.c.kind == _MODELS)).scalar()
        bind.execute(sa.insert(live_runs).values(scenario_id=sid, owner=config[_OWNER], step=int(config[_STEP]),
                                                 models=blob))
        rest = {k: v for k, v in config.items() if k != _OWNER}
        bind.execute(sa.update(scenarios).where(scenarios.c.id == sid).values(config=rest))
    bind.execute(sa.delete(series).where(series.c.kind == _MODELS))
    _set_schema_version("4")


def downgrade() -> None:
    """Move the live runs back into the scenarios' config and a "models" series row; drop the table."""
    bind = op.get_bind()
    scenarios = sa.table("scenarios", sa.column("id", sa.Integer), sa.column("config", sa.JSON))
    series = sa.table("series", sa.column("scenario_id", sa.Integer), sa.column("kind", sa.String),
                      sa.column("model", sa.String), sa.column("direction", sa.Integer),
                      sa.column("n_steps", sa.Integer), sa.column("n_cols", sa.Integer),
                      sa.column("dtype", sa.String), sa.column("data", sa.LargeBinary))
    rows = bind.execute(sa.text("SELECT scenario_id, owner, step, models FROM live_runs")).all()
    for sid, owner, step, blob in rows:
        config = bind.execute(sa.select(scenarios.c.config).where(scenarios.c.id == sid)).scalar()
        config = json.loads(config) if isinstance(config, str) else (config or {})
        bind.execute(sa.update(scenarios).where(scenarios.c.id == sid)
                     .values(config={**config, _OWNER: owner, _STEP: int(step)}))
        if blob is not None:
            bind.execute(sa.insert(series).values(scenario_id=sid, kind=_MODELS, model=None, direction=None,
                                                  n_steps=0, n_cols=None, dtype="pickle", data=blob))
    op.drop_table("live_runs")
    _set_schema_version("3")


def _set_schema_version(value: str) -> None:
    meta = sa.table("meta", sa.column("key", sa.String), sa.column("value", sa.Text))
    op.execute(sa.delete(meta).where(meta.c.key == "schema_version"))
    op.execute(sa.insert(meta).values(key="schema_version", value=value))
