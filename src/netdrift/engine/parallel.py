"""Work in blocks of steps and on threads, for numpy / scipy kernels that release the GIL."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import numpy as np

__all__ = ["block_steps_for", "run_in_threads"]


def block_steps_for(n_pairs: int) -> int:
    """Steps per block: about 2 million demand values (8 MB in float32) per block, 8 to 256."""
    return int(min(256, max(8, 2 ** round(np.log2(max(2e6 / max(n_pairs, 1), 1.0))))))


def run_in_threads(fn: Callable[[Any], object], items: "range | list", workers: int | None = None,
                   on_done: Callable[[Any], None] | None = None) -> None:
    """``fn`` over ``items`` on ``workers`` threads (default: CPU count), results to ``on_done``
    in order. For numpy / scipy kernels that release the GIL."""
    items = list(items)
    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    if n_workers <= 1 or len(items) <= 1:
        for it in items:
            r = fn(it)
            if on_done is not None:
                on_done(r)
        return
    with ThreadPoolExecutor(max_workers=min(n_workers, len(items))) as pool:
        for r in pool.map(fn, items):
            if on_done is not None:
                on_done(r)
