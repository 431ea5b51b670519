"""The forecasting benchmark on CUDA (issue 3): same scenario as bench_run.py, device cuda.

Run where a GPU is lent: `python bench/gpu.py`; prints bench_run's JSON for device cuda.
Exits 2 with one line if no CUDA device is visible.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import torch

if __name__ == "__main__":
    if not torch.cuda.is_available():
        print("bench/gpu.py: no CUDA device visible", file=sys.stderr)
        sys.exit(2)
    import bench_run

    sys.argv = [sys.argv[0], "--device", "cuda", *sys.argv[1:]]
    bench_run.main()
