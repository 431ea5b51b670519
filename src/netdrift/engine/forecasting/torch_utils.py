"""Torch plumbing shared by the neural forecasters: device resolution, seeding, a training loop.

Nothing here touches global state that outlives a call: seeding happens inside
``torch.random.fork_rng`` so the caller's RNG streams are restored afterwards, and the thread
count is never changed (``torch.set_num_threads`` is the application's business).
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import nn

from netdrift.engine.errors import InputError

__all__ = ["resolve_device", "seeded", "derive_seed", "train_steps", "configure_threads"]


def resolve_device(device: str) -> str:
    """Turn a device request into a concrete torch device string.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda", "cuda:N"}
        ``"auto"`` picks ``"cuda"`` when a GPU is visible, else ``"cpu"``.

    Returns
    -------
    str
        ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Raises
    ------
    InputError
        Unknown device string, or cuda requested on a machine without a usable GPU.

    Examples
    --------
    >>> resolve_device("cpu")
    'cpu'
    >>> resolve_device("auto") in ("cpu", "cuda")
    True
    """
    if not isinstance(device, str):
        raise InputError(f"device {device!r}", "expected 'auto', 'cpu' or 'cuda'")
    req = device.strip().lower()
    if req == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if req == "cpu":
        return "cpu"
    if req == "cuda" or req.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise InputError(f"device {device!r}", "CUDA requested but no GPU is available")
        if req != "cuda":
            idx_text = req.split(":", 1)[1]
            if not idx_text.isdigit() or int(idx_text) >= torch.cuda.device_count():
                raise InputError(
                    f"device {device!r}",
                    f"no such GPU (this machine has {torch.cuda.device_count()})",
                )
        return req
    raise InputError(f"device {device!r}", "expected 'auto', 'cpu' or 'cuda'")


def configure_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads for this process (the CLI and dashboard call it at start).

    netdrift's models are tiny: one thread is as fast as two and does not fight the other
    work of the process (routing, the web server). ``NETDRIFT_TORCH_THREADS`` overrides the
    default of 1. This is a process-wide setting, so library code never calls it.
    """
    import os

    n = threads if threads is not None else int(os.environ.get("NETDRIFT_TORCH_THREADS", "1"))
    torch.set_num_threads(max(1, n))
    return torch.get_num_threads()


def derive_seed(seed: int, *keys: object) -> int:
    """A 31-bit seed derived deterministically from ``seed`` and any labels.

    Uses ``numpy.random.SeedSequence`` with a CRC32 of each label, so the result does not depend
    on Python's per-process string hashing.

    Examples
    --------
    >>> derive_seed(7, "retrain", 3) == derive_seed(7, "retrain", 3)
    True
    >>> derive_seed(7, "retrain", 3) != derive_seed(7, "retrain", 4)
    True
    """
    entropy = [int(seed) & 0xFFFFFFFF] + [zlib.crc32(repr(k).encode()) for k in keys]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0] & 0x7FFFFFFF)


@contextlib.contextmanager
def seeded(seed: int, device: str = "cpu") -> Iterator[None]:
    """Run a block with torch's global RNG seeded, restoring the caller's RNG state afterwards.

    Module initialisation in torch (and in ncps) draws from the global generator, so this is
    how a model gets a seed without a global side effect.
    """
    dev = torch.device(device)
    devices: list[int] = []
    if dev.type == "cuda":
        devices = [dev.index if dev.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def train_steps(
    net: nn.Module,
    build: Callable[[np.ndarray], tuple[torch.Tensor, ...]],
    loss_fn: Callable[[nn.Module, tuple[torch.Tensor, ...]], torch.Tensor],
    index_pool: np.ndarray,
    *,
    epochs: int,
    windows_per_epoch: int,
    batch_size: int,
    lr: float,
    rng: np.random.Generator,
    on_epoch: Callable[[int, int], None] | None = None,
) -> int:
    """Adam over mini-batches of training windows; returns the number of optimizer steps.

    Each epoch draws ``min(windows_per_epoch, len(index_pool))`` sample ids without replacement
    from ``index_pool``, turns them into tensors once with ``build(ids)`` (so the per-batch
    cost is a slice), and walks them in batches; ``loss_fn(net, batch_tensors)`` returns the
    scalar loss. ``on_epoch(done, epochs)`` is called after each epoch when given.
    """
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=lr, foreach=True)
    n_per_epoch = min(int(windows_per_epoch), len(index_pool))
    steps = 0
    for epoch in range(epochs):
        chosen = rng.choice(index_pool, size=n_per_epoch, replace=False)
        tensors = build(chosen)
        for start in range(0, n_per_epoch, batch_size):
            batch = tuple(t[start : start + batch_size] for t in tensors)
            loss = loss_fn(net, batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            steps += 1
        if on_epoch is not None:
            on_epoch(epoch + 1, epochs)
    net.eval()
    return steps
