"""Loads of many failure states at once on a torch device (``sweep(..., device=...)``).

A batch of B failures is one sparse x dense product: the rows of failure ``b`` are its
(new - old) routing fractions of the pairs it re-routes (2L rows, one per direction) followed by
one row marking the pairs it newly cuts off; the columns are all pairs. Times the window's
pair-major demands (P, c) this gives every failure's load change and newly dropped demand for c
steps in one call. Added to the no-failure loads, clipped at 0 and divided by capacity, each
direction's worst utilisation and its step are reduced on the device; only (B, 2L) worst values
and steps and (B, W) dropped demand come back to the host. The routing deltas themselves are built
on the CPU (:meth:`netdrift.engine.sweep.evaluate._Sweeper.delta`), as in the numpy path.

The same code runs with ``device="cpu"`` (tests check it against the numpy path and the
simulator); sums may be ordered differently from scipy's, so figures agree to float32 rounding.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from netdrift.engine.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from netdrift.engine.sweep.evaluate import _Sweeper

__all__ = ["TorchLoads", "resolve_sweep_device"]

#: Device files of an NVIDIA driver (Linux; /dev/dxg: WSL): without one, "auto" needs no torch.
_GPU_DEVICE_FILES = ("/dev/nvidiactl", "/dev/nvidia0", "/dev/dxg")

#: Product output per batch, in float32 values (the batch size follows from it): 16 M on the CPU,
#: 64 M on a GPU. The batch's working arrays take about ``BYTES_PER_VALUE`` bytes per value
#: (product and loads in float32, utilisation and its masked copy in float64).
BATCH_VALUES = {"cpu": 16_000_000, "cuda": 64_000_000}
BYTES_PER_VALUE = 24


def resolve_sweep_device(device: str | None) -> str | None:
    """``None``/``"numpy"``: the numpy path; ``"cpu"``, ``"cuda"``, ``"cuda:N"``: the batched torch
    path there; ``"auto"``: ``"cuda"`` when a GPU is visible, else the numpy path. A cuda device
    without a usable GPU raises :class:`InputError` (``device '<name>'``)."""
    if device is None or device == "numpy":
        return None
    if device not in ("auto", "cpu", "cuda") and not device.startswith("cuda:"):
        raise InputError(f"device '{device}'", "expected auto, cpu or cuda")
    if device == "auto" and "torch" not in sys.modules and not any(os.path.exists(p) for p in _GPU_DEVICE_FILES):
        return None  # no GPU driver here: spare the 1-2 s of importing torch
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        if device == "auto":
            return None
        raise InputError(f"device '{device}'", "needs torch, which is not installed") from None
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else None
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InputError(f"device '{device}'", "no CUDA GPU is available on this machine")
        idx = int(device.split(":")[1]) if ":" in device else 0
        if idx >= torch.cuda.device_count():
            raise InputError(f"device '{device}'", f"only {torch.cuda.device_count()} CUDA device(s) here")
    return device


class TorchLoads:
    """Worst utilisation per direction and dropped demand of failure batches on ``device``."""

    def __init__(self, sw: "_Sweeper", device: str, batch: int | None = None) -> None:
        import torch

        self._torch = torch
        self.sw = sw
        self.device = torch.device(device)
        self.n_dir = sw.t.n_directions
        self.rows = self.n_dir + 1
        self.n_pairs = sw.n_pairs
        self.blocks = [torch.from_numpy(x).to(self.device) for x in sw.blocks]            # (P, c) float32
        self.base = torch.from_numpy(np.ascontiguousarray(sw.base_loads.T)).to(self.device)  # (2L, W) float32
        self.cap = torch.from_numpy(sw.cap.astype(np.float64)).to(self.device)
        self.missing = torch.from_numpy(sw.missing).to(self.device)
        self.batch = batch if batch is not None else self.batch_for(sw, device)

    @staticmethod
    def batch_for(sw: "_Sweeper", device: str) -> int:
        """Failures per product: as many as keep one block's output near ``BATCH_VALUES``."""
        per_failure = (sw.t.n_directions + 1) * max(sw.c, 1)
        values = BATCH_VALUES["cpu" if device == "cpu" else "cuda"]
        return int(max(1, min(512, values // per_failure)))

    def _matrix(self, deltas: list[dict[str, Any]]) -> Any:
        rows, cols, vals = [], [], []
        for b, d in enumerate(deltas):
            coo = d["delta"].tocoo()
            rows.append(coo.row.astype(np.int64) + b * self.rows)
            cols.append(d["sel"][coo.col])
            vals.append(coo.data.astype(np.float32))
            cut = d["sel"][d["newly"]]
            rows.append(np.full(len(cut), b * self.rows + self.n_dir, dtype=np.int64))
            cols.append(cut)
            vals.append(np.ones(len(cut), dtype=np.float32))
        m = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(len(deltas) * self.rows, self.n_pairs), dtype=np.float32)
        t = self._torch
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            return t.sparse_csr_tensor(t.from_numpy(m.indptr.astype(np.int64)),
                                       t.from_numpy(m.indices.astype(np.int64)), t.from_numpy(m.data),
                                       size=m.shape, device=self.device, check_invariants=False)

    def compute(self, deltas: list[dict[str, Any]]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per failure (in order): worst utilisation (2L,) float64, its window position (2L,)
        and dropped demand per step (W,) float64 (NaN at missing steps)."""
        t = self._torch
        B = len(deltas)
        if B == 0:
            return []
        m = self._matrix(deltas)
        best = t.full((B, self.n_dir), -np.inf, dtype=t.float64, device=self.device)
        step = t.zeros((B, self.n_dir), dtype=t.int64, device=self.device)
        dropped = t.empty((B, self.sw.window), dtype=t.float64, device=self.device)
        a = 0
        with t.no_grad():
            for x in self.blocks:
                c = x.shape[1]
                y = (m @ x).reshape(B, self.rows, c)
                loads = (y[:, :self.n_dir, :] + self.base[None, :, a:a + c]).clamp_min_(0.0)
                util = loads.to(t.float64) / self.cap[None, :, None]
                util = t.where(self.missing[None, None, a:a + c] | ~t.isfinite(util),
                               t.tensor(-np.inf, dtype=t.float64, device=self.device), util)
                pos = t.argmax(util, dim=2)                      # first maximum, as numpy
                val = t.gather(util, 2, pos[:, :, None])[:, :, 0]
                better = val > best
                best = t.where(better, val, best)
                step = t.where(better, pos + a, step)
                dropped[:, a:a + c] = y[:, self.n_dir, :].to(t.float64)
                a += c
        base_dropped = t.from_numpy(self.sw.base_dropped).to(self.device)
        dropped = dropped + base_dropped[None, :]
        dropped[:, self.missing] = np.nan
        best_h, step_h, dropped_h = best.cpu().numpy(), step.cpu().numpy(), dropped.cpu().numpy()
        return [(best_h[b], step_h[b], dropped_h[b]) for b in range(B)]
