"""Benchmark: the engine's part of a click on the Live map, and of a step while the page plays.

For each topology, a Live run of the dashboard's quick preset (every default model, or with
``--start-form-models`` the start form's list; 90 %
intervals and warnings) is trained and stored as a durable live run in a temporary SQLite
history; then ``--clicks`` times: a click (``toggle`` of the busiest link, then what the page
reads to draw: the look-ahead bands, the chosen direction's window, the running errors), one
step as the playing page takes it (``advance(1)`` and the same reads), and every ``--every``
steps a checkpoint. No browser, no Streamlit: what the server computes. Prints one JSON object
with the median wall and CPU milliseconds of each (CPU time moves less with the machine's load).

Run: ``.venv/bin/python bench/bench_live_engine.py [--topologies geant2012 cogentco] [--clicks 20]``;
point PYTHONPATH at another checkout's ``src`` to time that one (it uses only ``from_spec`` and
the read methods every version has).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

from netdrift.dashboard.live.helpers import QUICK_PRESET, busiest_direction, make_spec
from netdrift.engine.experiments.scenario import LiveScenario
from netdrift.engine.forecasting.catalogue import DEFAULT_MODELS, default_models
from netdrift.engine.network.loaders import load_topology
from netdrift.service.scenarios import ScenarioService
from netdrift.storage.database import open_database


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


class _Timer:
    """Wall and CPU milliseconds of a block, appended to ``wall`` and ``cpu``."""

    def __init__(self, wall: list[float], cpu: list[float]) -> None:
        self.wall, self.cpu = wall, cpu

    def __enter__(self) -> None:
        self.t0, self.c0 = time.perf_counter(), time.process_time()

    def __exit__(self, *exc: object) -> None:
        self.wall.append(_ms(self.t0))
        self.cpu.append((time.process_time() - self.c0) * 1000.0)


def _reads(live: LiveScenario, direction: int) -> None:
    live.next_bands()
    live.window(direction)
    live.running_errors()


def measure(topology: str, clicks: int, every: int, tmp: str, start_form_models: bool = False) -> dict:
    """One topology: train, store, then ``clicks`` x (click + reads, step + reads), checkpoints."""
    p = QUICK_PRESET
    models = DEFAULT_MODELS
    if start_form_models:  # what the Live start form runs: no routed member on maps of over 10,000 pairs
        models = default_models(len(load_topology(topology).nodes))
    spec = make_spec(topology, p.steps, p.train_steps, 0, list(models), "cpu")
    t0 = time.perf_counter()
    live = LiveScenario.from_spec(spec)
    live.train()
    train_s = _ms(t0) / 1000.0
    service = ScenarioService(open_database(f"sqlite:///{tmp}/{topology}.sqlite"))
    sid = service.open_live(live, owner="bench")
    direction = busiest_direction(live)
    link = live.topology.links[direction // 2].id
    _reads(live, direction)
    live.advance(1)  # warm
    times: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in ("click", "step", "checkpoint")}
    for _ in range(clicks):
        with _Timer(*times["click"]):
            live.toggle(link)
            _reads(live, direction)
        service.add_event(sid, live.events[-1])
        for _step in range(every):
            with _Timer(*times["step"]):
                live.advance(1)
                _reads(live, direction)
        with _Timer(*times["checkpoint"]):
            service.checkpoint(sid, live, "bench")
    service.sessions.kw["bind"].dispose()
    out: dict = {"nodes": len(live.topology.nodes), "links": len(live.topology.links), "train_s": round(train_s, 2),
                 "steps_at_end": live.step}
    for what, (wall, cpu) in times.items():
        out[f"{what}_ms_median"] = round(statistics.median(wall), 1)
        out[f"{what}_cpu_ms_median"] = round(statistics.median(cpu), 1)
    out["checkpoint_ms_last"] = round(times["checkpoint"][0][-1], 1)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topologies", nargs="+", default=["geant2012", "cogentco"])
    parser.add_argument("--clicks", type=int, default=20)
    parser.add_argument("--every", type=int, default=5, help="steps between two clicks (a checkpoint after them)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's own)")
    parser.add_argument("--start-form-models", action="store_true",
                        help="the Live start form's models (no routed-persistence on maps of over 10,000 node pairs: "
                             "Kdl is impractical without this) instead of every default model")
    args = parser.parse_args()
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    import torch

    out: dict = {"load_before": os.getloadavg()[0], "torch_threads": torch.get_num_threads()}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.topologies:
            out[name] = measure(name, args.clicks, args.every, tmp, args.start_form_models)
    out["load_after"] = os.getloadavg()[0]
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
