"""One entry point from a ``--traffic`` spec to a TrafficMatrixSeries (CLI, dashboard, scenarios)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from netdrift.engine.budget import check_memory
from netdrift.engine.errors import InputError
from netdrift.engine.network.topology import Topology
from netdrift.engine.traffic.backbone import backbone_memory_bytes, backbone_traffic
from netdrift.engine.traffic.csv_replay import csv_step_minutes, load_traffic_csv
from netdrift.engine.traffic.series import TrafficMatrixSeries
from netdrift.engine.traffic.sndlib_replay import load_sndlib_dynamic, sndlib_step_minutes
from netdrift.engine.traffic.synthetic import check_seed, synthetic_memory_bytes, synthetic_traffic

__all__ = ["make_traffic", "check_synthetic_fits", "replay_step_minutes", "check_replay_step", "SYNTHETIC",
           "TRAFFIC_MODELS", "DEFAULT_TRAFFIC_MODEL", "check_traffic_model"]

#: The spec that selects generated traffic (its model: ``TRAFFIC_MODELS``).
SYNTHETIC = "synthetic"
#: Generators of synthetic traffic: ``sine``, the paper's sums of sinusoids
#: (:mod:`netdrift.engine.traffic.synthetic`), and ``backbone``, a proxy for real backbone traffic
#: (:mod:`netdrift.engine.traffic.backbone`, docs/traffic.md).
TRAFFIC_MODELS = ("sine", "backbone")
#: The model when none is named (the paper's; stored specs without one are ``sine`` too).
DEFAULT_TRAFFIC_MODEL = "sine"


def check_traffic_model(model: str | None, spec: str) -> str:
    """The traffic model to use for ``spec``: ``model`` checked (``None``: the default). A model
    applies to generated traffic only: naming one with replayed traffic is refused.

    >>> check_traffic_model(None, "synthetic"), check_traffic_model("backbone", "synthetic")
    ('sine', 'backbone')
    >>> check_traffic_model("backbone", "week.csv")
    Traceback (most recent call last):
    ...
    netdrift.engine.errors.InputError: traffic_model: 'backbone' applies to synthetic traffic only; the replayed traffic 'week.csv' keeps its own
    """
    if model is not None and model not in TRAFFIC_MODELS:
        raise InputError("traffic_model", f"unknown '{model}'; choose from {', '.join(TRAFFIC_MODELS)}")
    if spec.strip().lower() != SYNTHETIC:
        if model is not None and model != DEFAULT_TRAFFIC_MODEL:
            raise InputError("traffic_model", f"'{model}' applies to synthetic traffic only; "
                                              f"the replayed traffic '{spec}' keeps its own")
        return DEFAULT_TRAFFIC_MODEL
    return model or DEFAULT_TRAFFIC_MODEL


def make_traffic(
    spec: str,
    topology: Topology,
    steps: int,
    step_minutes: float | None,
    seed: int,
    peak_utilization: float = 0.6,
    *,
    require_steps: bool = False,
    budget_bytes: int | None = None,
    model: str | None = None,
) -> TrafficMatrixSeries:
    """Traffic for a run: ``"synthetic"`` or a path to real traffic to replay.

    - ``"synthetic"``: generated with ``steps``, ``step_minutes``, ``seed`` and ``peak_utilization``
      by ``model`` (:data:`TRAFFIC_MODELS`; ``None``: ``sine``): ``sine`` is
      :func:`netdrift.engine.traffic.synthetic.synthetic_traffic`, ``backbone``
      :func:`netdrift.engine.traffic.backbone.backbone_traffic`. A model other than ``sine`` with
      replayed traffic is refused (:func:`check_traffic_model`).
    - a ``.csv`` file: :func:`netdrift.engine.traffic.csv_replay.load_traffic_csv`.
    - a folder or a ``.tar.gz`` / ``.tgz`` archive: :func:`netdrift.engine.traffic.sndlib_replay.load_sndlib_dynamic`.

    Replayed traffic keeps its own volumes and step length (``seed`` and ``peak_utilization`` do
    not apply; ``step_minutes`` is only the step of data with a single interval and no step of
    its own; a caller that lets the user state a step checks it with :func:`check_replay_step`,
    as ``netdrift simulate`` and ``netdrift run`` do); ``steps`` truncates it, and shorter data is returned
    as is (read ``traffic.steps``), unless ``require_steps`` is set: then data shorter than
    ``steps`` is refused, naming the file, its steps and the steps asked.

    ``budget_bytes`` is the memory budget (``None``: :func:`netdrift.engine.budget.memory_budget_bytes`,
    which the CLI's ``--max-memory`` sets): each reader checks its estimate before it allocates.

    ``seed`` must be a whole number >= 0 (numpy's seeds are unsigned), whatever the traffic:
    the scenario's models are seeded with it too.

    Examples
    --------
    >>> from netdrift.engine.network.topology import Topology, Node, Link
    >>> t = Topology("ab", (Node("a", "a"), Node("b", "b")), (Link("ab", "a", "b", 1000.0),))
    >>> make_traffic("synthetic", t, steps=12, step_minutes=5.0, seed=0).demands.shape
    (12, 2)
    >>> make_traffic("synthetic", t, 12, 5.0, seed=-1)
    Traceback (most recent call last):
    ...
    netdrift.engine.errors.InputError: seed: must be a whole number >= 0 (got -1)
    >>> make_traffic("no/such/file.csv", t, 12, 5.0, 0)
    Traceback (most recent call last):
    ...
    netdrift.engine.errors.InputError: traffic 'no/such/file.csv': no such file or folder
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise InputError("steps", f"must be a whole number >= 1 (got {steps!r})")
    check_seed(seed)
    model = check_traffic_model(model, spec)
    if spec.strip().lower() == SYNTHETIC:
        if step_minutes is None:
            raise InputError("step_minutes", "is needed with synthetic traffic (minutes per step)")
        if model == "backbone":
            return backbone_traffic(topology, int(steps), step_minutes=step_minutes, seed=seed,
                                    peak_utilization=peak_utilization, budget_bytes=budget_bytes)
        return synthetic_traffic(topology, int(steps), step_minutes=step_minutes, seed=seed,
                                 peak_utilization=peak_utilization, budget_bytes=budget_bytes)
    path = Path(spec).expanduser()
    if not path.exists():
        raise InputError(f"traffic '{spec}'", "no such file or folder")
    name = path.name.lower()
    if path.is_dir() or name.endswith((".tar.gz", ".tgz")):
        traffic = load_sndlib_dynamic(path, topology, budget_bytes, step_minutes=step_minutes)
    elif name.endswith(".csv"):
        traffic = load_traffic_csv(path, topology, budget_bytes, step_minutes=step_minutes)
    else:
        raise InputError(f"traffic '{spec}'",
                         "unknown format: expected 'synthetic', a .csv file, or an SNDlib folder or .tar.gz/.tgz")
    if require_steps and traffic.steps < steps:
        raise InputError(f"traffic '{spec}'", f"has {traffic.steps} steps, fewer than the {int(steps)} steps asked "
                                              "(lower --steps or give longer data)")
    return traffic.slice(0, int(steps)) if traffic.steps > steps else traffic


def check_synthetic_fits(topology_source: str | Path, steps: int, budget_bytes: int | None = None,
                         max_bytes: int | None = None, model: str | None = None) -> None:
    """Refuse (InputError) synthetic traffic for a topology file too large for the memory budget,
    before the file is loaded: its nodes and edges are counted in one pass over its bytes
    (:func:`netdrift.engine.network.loaders.precount.count_topology_file`; GraphML, SNDlib XML and GML). Other
    formats and pipes are checked once loaded, by the generator itself; a bundled name is counted
    in its file. ``model``: the traffic model (:data:`TRAFFIC_MODELS`), whose estimate is used.

    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = os.path.join(tmp, "big.graphml")
    ...     _ = open(p, "w").write("<graphml><graph>" + "".join(f'<node id="{i}"/>' for i in range(3000))
    ...                            + "</graph></graphml>")
    ...     try:
    ...         check_synthetic_fits(p, 288, budget_bytes=1024**3)
    ...     except InputError as err:
    ...         print(err.what.endswith("big.graphml' (3000 nodes counted before loading, 8997000 node pairs, "
    ...                                 "288 steps)"))
    True
    """
    from netdrift.engine.network.loaders import DEFAULT_MAX_BYTES, bundled_topologies
    from netdrift.engine.network.loaders.precount import count_topology_file

    path = Path(topology_source)
    if not path.exists() and isinstance(topology_source, str):  # a bundled name, as load_topology resolves it
        path = bundled_topologies().get(topology_source.strip().lower(), path)
    count = count_topology_file(path, DEFAULT_MAX_BYTES if max_bytes is None else max_bytes)
    if count is None:
        return
    n = count.nodes
    estimate = backbone_memory_bytes if model == "backbone" else synthetic_memory_bytes
    check_memory(f"{'backbone' if model == 'backbone' else 'synthetic'} traffic on '{topology_source}' "
                 f"({n} nodes counted before loading, {n * (n - 1)} node pairs, {int(steps)} steps)",
                 estimate(n, 2 * count.edges, int(steps)), budget_bytes)


def replay_step_minutes(spec: str, step_minutes: float | None = None) -> float:
    """The step, in minutes, of the replay ``spec`` names (a .csv file, an SNDlib folder or
    archive), read without building its series: only the times are kept. ``step_minutes`` is the
    step of data with a single interval and none of its own.

    >>> from pathlib import Path
    >>> replay_step_minutes(str(Path(__file__).parents[4] / "tests/fixtures/traffic/long4.csv"))
    15.0
    """
    path = Path(spec).expanduser()
    if not path.exists():
        raise InputError(f"traffic '{spec}'", "no such file or folder")
    name = path.name.lower()
    if path.is_dir() or name.endswith((".tar.gz", ".tgz")):
        return sndlib_step_minutes(path, step_minutes)
    if name.endswith(".csv"):
        return csv_step_minutes(path, step_minutes)
    raise InputError(f"traffic '{spec}'",
                     "unknown format: expected 'synthetic', a .csv file, or an SNDlib folder or .tar.gz/.tgz")


def check_replay_step(spec: str, given: float | None, replay_minutes: float) -> None:
    """The one rule for a step length stated with replayed traffic: none stated keeps the data's
    step; a stated one must be the data's (the replay's times are not resampled).

    >>> check_replay_step("t.csv", None, 15.0)
    >>> check_replay_step("t.csv", 15, 15.0)
    >>> check_replay_step("t.csv", 60, 15.0)
    Traceback (most recent call last):
    ...
    netdrift.engine.errors.InputError: step_minutes: 60 does not match the replayed traffic 't.csv', whose steps are 15 minutes (leave it out with replay traffic)
    """
    if given is not None and not math.isclose(given, replay_minutes):
        raise InputError("step_minutes", f"{given:g} does not match the replayed traffic '{spec}', whose steps are "
                                         f"{replay_minutes:g} minutes (leave it out with replay traffic)")
