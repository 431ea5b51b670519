"""CPU and GPU figures side by side for the same failure sweeps; prints ONE JSON object.

For each case (synthetic traffic, 5-minute steps, seed 0, window [0, 288)):

- ``sweep_s``: the whole sweep, wall clock, per path: ``numpy`` (the default CPU path),
  ``torch_cpu`` (the batched torch path forced onto the CPU) and ``cuda`` (the same on the GPU,
  its first use of CUDA included);
- ``loads_s``: only the part a device can take over, for the same failures: the routing deltas
  of every failure are built once (CPU, not counted), then timed: the numpy loop (per failure:
  the directions it changes: no-failure loads + delta @ demands, clip, max and argmax over the
  steps) against the batched
  products (:class:`netdrift.engine.sweep.batched.TorchLoads`, including the host <-> device copies);
- ``agree``: the largest difference of per-direction worst utilisation between each path and
  numpy, and whether the ranking's first 10 failures are the same.

GPU figures are null, with the reason, on a machine without CUDA. Self-contained and sized to
finish in about 3 minutes on a 16-core machine with one GPU (cases stop early past ``--budget``
seconds, and say so):

    python bench/gpu_sweep.py [--only cogentco,geant2012] [--steps 288] [--budget 150]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import numpy as np

from netdrift.engine.network.loaders import load_topology
from netdrift.engine.sweep import failure_set, sweep
from netdrift.engine.sweep.batched import TorchLoads
from netdrift.engine.sweep.evaluate import _Sweeper
from netdrift.engine.traffic.sources import make_traffic

CASES = {"cogentco": "link", "geant2012": "link-pairs"}


def _gpu() -> tuple[str | None, str | None]:
    try:
        import torch
    except ImportError:
        return None, "torch is not installed"
    if not torch.cuda.is_available():
        return None, "no CUDA GPU on this machine (torch.cuda.is_available() is False)"
    return "cuda", None


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def _numpy_loads(sw: _Sweeper, deltas: list[dict]) -> float:
    t0 = time.perf_counter()
    for d in deltas:
        sw.incremental_worst(d)
    return time.perf_counter() - t0


def _torch_loads(sw: _Sweeper, deltas: list[dict], device: str) -> tuple[float, int]:
    tl = TorchLoads(sw, device)
    tl.compute(deltas[:1])                       # warm-up: kernels, allocator (not counted)
    _sync(device)
    t0 = time.perf_counter()
    for a in range(0, len(deltas), tl.batch):
        tl.compute(deltas[a:a + tl.batch])
    _sync(device)
    return time.perf_counter() - t0, tl.batch


def _worst(res) -> np.ndarray:
    return np.array([d["worst_utilization"] for d in res.per_direction.values()], dtype=float)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default=",".join(CASES))
    ap.add_argument("--steps", type=int, default=288)
    ap.add_argument("--budget", type=float, default=150.0, help="skip what remains past this many seconds")
    ap.add_argument("--limit", type=int, default=0, help="only the first N failures of each case (0: all)")
    args = ap.parse_args()
    t_start = time.perf_counter()
    gpu, why = _gpu()
    import torch

    out: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                             "torch": torch.__version__, "processor": platform.processor(),
                             "gpu": torch.cuda.get_device_name(0) if gpu else None},
                 "gpu_missing_reason": why, "steps": args.steps, "results": {}}
    for name in args.only.split(","):
        if time.perf_counter() - t_start > args.budget:
            out["results"][name] = {"skipped": f"past the {args.budget:.0f} s budget"}
            continue
        kind = CASES[name]
        topo = load_topology(name)
        traffic = make_traffic("synthetic", topo, args.steps, 5.0, 0)
        fl = failure_set(topo, kind)
        if args.limit:
            fl = fl[:args.limit]
        res: dict = {"kind": kind, "failures": len(fl), "pairs": traffic.n_pairs,
                     "directions": topo.n_directions, "sweep_s": {}, "loads_s": {}, "agree": {}}
        paths = {"numpy": None, "torch_cpu": "cpu", "cuda": gpu}
        ref = None
        for key, device in paths.items():
            if key == "cuda" and gpu is None:
                res["sweep_s"][key] = None
                continue
            t0 = time.perf_counter()
            r = sweep(topo, traffic, kind, 0, args.steps, failures=fl, device=device)
            res["sweep_s"][key] = round(time.perf_counter() - t0, 3)
            if ref is None:
                ref = r
            else:
                res["agree"][key] = {
                    "max_abs_diff_worst_utilization": float(np.nanmax(np.abs(_worst(r) - _worst(ref)))),
                    "same_top10": [f["target"] for f in r.failures[:10]] == [f["target"] for f in ref.failures[:10]]}
        sw = _Sweeper(topo, traffic, 0, args.steps, True)
        deltas = [sw.delta(f) for f in fl]
        res["loads_s"]["numpy"] = round(_numpy_loads(sw, deltas), 3)
        s, batch = _torch_loads(sw, deltas, "cpu")
        res["loads_s"]["torch_cpu"], res["batch"] = round(s, 3), batch
        res["loads_s"]["cuda"] = round(_torch_loads(sw, deltas, gpu)[0], 3) if gpu else None
        if gpu:
            res["loads_speedup_cuda_vs_numpy"] = round(res["loads_s"]["numpy"] / max(res["loads_s"]["cuda"], 1e-9), 1)
        out["results"][name] = res
        print(json.dumps({name: res}), file=sys.stderr, flush=True)
    out["seconds"] = round(time.perf_counter() - t_start, 1)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
