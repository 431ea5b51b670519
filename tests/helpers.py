"""Helpers shared by the tests (import them: ``from tests.helpers import one_line_error``)."""

from __future__ import annotations

from typing import Any


def one_line_error(capsys: Any, argv: list[str], *needles: str, stdout_empty: bool = False) -> str:
    """Run ``netdrift argv``; assert it exits 2 (argparse's own exit included) with exactly one
    stderr line (a run's ``[..%]`` progress lines aside) and no traceback, the line holding every
    needle; with ``stdout_empty``, nothing on stdout either. Returns the line."""
    from netdrift.cli.main import main

    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse errors (an unknown choice) exit from the parser
        rc = exc.code
    out = capsys.readouterr()
    assert rc == 2, out.err
    assert "Traceback" not in out.err, out.err
    lines = [ln for ln in out.err.strip().splitlines() if not ln.startswith("[")]
    assert len(lines) == 1, out.err
    for needle in needles:
        assert needle in lines[0], lines[0]
    if stdout_empty:
        assert out.out == "", out.out
    return lines[0]


#: The map's legend as the operator reads it: (band from, band to, colour), written out by hand.
WEATHERMAP = [(0.00, 0.10, "#7fb2e5"), (0.10, 0.25, "#3b7dd8"), (0.25, 0.40, "#1fa2a8"), (0.40, 0.55, "#36a852"),
              (0.55, 0.70, "#c9b300"), (0.70, 0.85, "#f28a1a"), (0.85, 1.00, "#e0301e"), (1.00, float("inf"), "#e01fd0")]


def weathermap_colour(utilisation: float) -> str:
    """The colour the legend gives ``utilisation`` (a fraction; a boundary belongs to the band
    above it, NaN is the no-data grey): the expected colour, independent of the map's code.

    >>> weathermap_colour(0.0999), weathermap_colour(0.10), weathermap_colour(1.0), weathermap_colour(float("nan"))
    ('#7fb2e5', '#3b7dd8', '#e01fd0', '#c8c8c8')
    """
    if utilisation != utilisation:
        return "#c8c8c8"
    for low, high, colour in WEATHERMAP:
        if low <= utilisation + 1e-12 < high:
            return colour
    raise ValueError(f"utilisation {utilisation} is below 0")


def live_run(topology: Any, traffic: Any, models: Any, settings: Any, train_steps: int, **spec: Any) -> Any:
    """A ``LiveScenario`` of ``traffic`` on ``topology``: its spec says the traffic's steps and step
    minutes, the ``models`` and ``settings``; intervals and warnings off unless ``spec`` sets them
    (``failures=("a-b@60",)``, ``interval=0.9``, ``observe="demands"``, ``seed=3``...)."""
    from netdrift.engine.experiments.scenario import LiveScenario
    from netdrift.engine.experiments.spec import ScenarioSpec

    spec = {"interval": None, "warn_utilization": None, **spec}
    return LiveScenario(ScenarioSpec(topology=topology.name, steps=traffic.steps, step_minutes=traffic.step_minutes,
                                     train_steps=train_steps, models=tuple(models), forecast=settings, **spec),
                        topology, traffic)
