"""One entry point from a ``--traffic`` spec to a TrafficMatrixSeries (CLI, dashboard, scenarios)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.errors import InputError
from engine.replay import load_sndlib_dynamic
from engine.replay_csv import load_traffic_csv
from engine.synthetic import check_seed, synthetic_traffic
from engine.topology import Topology
from engine.traffic import TrafficMatrixSeries

__all__ = ["make_traffic", "SYNTHETIC"]

#: The spec that selects the paper's synthetic generator.
SYNTHETIC = "synthetic"


def make_traffic(
    spec: str,
    topology: Topology,
    steps: int,
    step_minutes: float,
    seed: int,
    peak_utilization: float = 0.6,
    *,
    require_steps: bool = False,
    budget_bytes: int | None = None,
) -> TrafficMatrixSeries:
    """Traffic for a run: ``"synthetic"`` or a path to real traffic to replay.

    - ``"synthetic"``: :func:`engine.synthetic.synthetic_traffic` with ``steps``,
      ``step_minutes``, ``seed`` and ``peak_utilization``.
    - a ``.csv`` file: :func:`engine.replay.load_traffic_csv`.
    - a folder or a ``.tar.gz`` / ``.tgz`` archive: :func:`engine.replay.load_sndlib_dynamic`.

    Replayed traffic keeps its own volumes and step length (``step_minutes``, ``seed`` and
    ``peak_utilization`` do not apply); ``steps`` truncates it, and shorter data is returned
    as is (read ``traffic.steps``), unless ``require_steps`` is set: then data shorter than
    ``steps`` is refused, naming the file, its steps and the steps asked.

    ``budget_bytes`` is the memory budget (``None``: :func:`engine.budget.memory_budget_bytes`,
    which the CLI's ``--max-memory`` sets): each reader checks its estimate before it allocates.

    ``seed`` must be a whole number >= 0 (numpy's seeds are unsigned), whatever the traffic:
    the scenario's models are seeded with it too.

    Examples
    --------
    >>> from engine.topology import Topology, Node, Link
    >>> t = Topology("ab", (Node("a", "a"), Node("b", "b")), (Link("ab", "a", "b", 1000.0),))
    >>> make_traffic("synthetic", t, steps=12, step_minutes=5.0, seed=0).demands.shape
    (12, 2)
    >>> make_traffic("synthetic", t, 12, 5.0, seed=-1)
    Traceback (most recent call last):
    ...
    engine.errors.InputError: seed: must be a whole number >= 0 (got -1)
    >>> make_traffic("no/such/file.csv", t, 12, 5.0, 0)
    Traceback (most recent call last):
    ...
    engine.errors.InputError: traffic 'no/such/file.csv': no such file or folder
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise InputError("steps", f"must be a whole number >= 1 (got {steps!r})")
    check_seed(seed)
    if spec.strip().lower() == SYNTHETIC:
        return synthetic_traffic(topology, int(steps), step_minutes=step_minutes, seed=seed,
                                 peak_utilization=peak_utilization, budget_bytes=budget_bytes)
    path = Path(spec).expanduser()
    if not path.exists():
        raise InputError(f"traffic '{spec}'", "no such file or folder")
    name = path.name.lower()
    if path.is_dir() or name.endswith((".tar.gz", ".tgz")):
        traffic = load_sndlib_dynamic(path, topology, budget_bytes)
    elif name.endswith(".csv"):
        traffic = load_traffic_csv(path, topology, budget_bytes)
    else:
        raise InputError(f"traffic '{spec}'",
                         "unknown format: expected 'synthetic', a .csv file, or an SNDlib folder or .tar.gz/.tgz")
    if require_steps and traffic.steps < steps:
        raise InputError(f"traffic '{spec}'", f"has {traffic.steps} steps, fewer than the {int(steps)} steps asked "
                                              "(lower --steps or give longer data)")
    return traffic.slice(0, int(steps)) if traffic.steps > steps else traffic
