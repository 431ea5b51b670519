"""Sweep failures sharded over Ray tasks (``sweep(..., executor="ray")``).

What travels: the sweeper (topology, the window's demands as float32 blocks, the no-failure
routing plan and per-pair routing matrix) is put once in Ray's object store and read by every
task; each task gets a shard of failures (their names and the links / nodes they take down) and
returns, per failure, the same result the local executor computes (its per-direction worst
case, dropped demand and cut pairs, or its routing delta for the batched device path). Results
are consumed in failure order, so the ranking and the per-direction worst cases are identical to
the local executor's. A node that dies mid-sweep loses only time: its shards, running or
waiting there, are run again on the nodes left (up to :data:`MAX_RETRIES` times each; the sweeper
lives in the object store of the driver's node; tests/cli/test_ray_cluster_cli.py kills a node under
a running shard). Tasks import ``netdrift.engine.sweep`` on the worker: every node needs the same
netdrift version installed (and Ray's, and Python's).

Ray is optional (``pip install 'netdrift[ray]'``) and imported only here, only when asked for.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import tempfile
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from netdrift.engine.errors import InputError
from netdrift.engine.sweep.failures import Failure

__all__ = ["run_on_ray", "import_ray", "MAX_RETRIES"]

#: Times a shard is run again when its node or worker process dies under it (Ray's ``max_retries``).
MAX_RETRIES = 3


def import_ray() -> Any:
    """The ``ray`` module, or :class:`InputError` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise InputError("executor 'ray'", "Ray is not installed (pip install 'netdrift[ray]')") from None
    return ray


#: The HTTP/2 client preface and an empty SETTINGS frame: a gRPC server (Ray's GCS) answers with
#: its own SETTINGS frame (frame type 4 in the 4th byte of the 9-byte frame header).
_H2_HELLO = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])


def _check_reachable(address: str) -> None:
    """A ``host:port`` address must accept a TCP connection within 5 s and speak gRPC (HTTP/2) as
    Ray's head does: Ray itself retries an unreachable or wrong head for minutes, logging as it goes."""
    host, sep, port = address.rpartition(":")
    if address == "auto" or address.startswith("ray://") or not sep or not port.isdigit():
        return
    what = f"ray_address '{address}'"
    try:
        conn = socket.create_connection((host or "127.0.0.1", int(port)), timeout=5)
    except OSError as err:
        raise InputError(what, f"no Ray head answers there ({err.strerror or err})") from None
    with conn:
        try:
            conn.sendall(_H2_HELLO)
            head = conn.recv(9)
        except OSError as err:
            raise InputError(what, f"no Ray head answers there ({err.strerror or err})") from None
    if len(head) < 9 or head[3] != 4:
        raise InputError(what, "something listens there but it is not a Ray head (no gRPC answer); give the "
                               "address `ray start --head` printed")


@contextlib.contextmanager
def _own_log_kept_aside() -> Iterator[None]:
    """Send file descriptor 2 (where Ray's C++ core logs, beyond Python's reach) to a temporary
    file while Ray starts or connects; on success what it wrote is passed on, on failure dropped
    (the caller's one line says what went wrong)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (an embedding host): nothing to keep aside
        yield
        return
    with tempfile.TemporaryFile() as aside:
        os.dup2(aside.fileno(), 2)
        ok = False
        try:
            yield
            ok = True
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            if ok:
                aside.seek(0)
                sys.stderr.write(aside.read().decode(errors="replace"))


def _shard(sw: Any, idx: list[int], failures: list[Failure], method: str) -> tuple[str, list[tuple[int, Any]]]:
    """One task: the id of the Ray node it ran on and its failures' results."""
    import ray

    fn = getattr(sw, method)
    return ray.get_runtime_context().get_node_id(), [(i, fn(f)) for i, f in zip(idx, failures)]


def run_on_ray(sw: Any, fl: Sequence[Failure], workers: int, record: Callable[[tuple[int, Any]], None],
               address: str | None = None, method: str = "run_one") -> dict[str, Any]:
    """Run ``sw.<method>`` for every failure on Ray, results to ``record`` in failure order.

    Uses the Ray instance this process is already connected to; otherwise starts a local Ray with
    ``workers`` CPUs (``address`` None) or connects to the cluster at ``address`` (``"auto"``, or
    ``host:port`` of ``ray start --head``), and disconnects at the end. Returns what it ran on
    (``{"ray_address", "ray_cpus", "tasks", "ray_nodes"}``: the tasks run on each node, by node id).
    """
    ray = import_ray()
    started = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                  "logging_level": "ERROR", "configure_logging": True}
        if address:
            _check_reachable(address)
        try:
            with _own_log_kept_aside():  # Ray's core logs its retries on fd 2: not before our one line
                if address:
                    ray.init(address=address, **kwargs)
                else:  # "local": a new instance, never a cluster `ray start` left on this machine
                    ray.init(address="local", num_cpus=workers, **kwargs)
        except (ConnectionError, RuntimeError, ValueError) as err:
            what = f"ray_address '{address}'" if address else "executor 'ray'"
            msg = " ".join(str(err).split())[:200]
            raise InputError(what, f"cannot start or reach Ray ({msg})") from None
        started = True
    try:
        cpus = int(ray.cluster_resources().get("CPU", workers))
        n_tasks = max(1, min(len(fl), 4 * cpus))
        # Shards spread over every node; a shard whose node or worker dies is run again, on a node
        # still alive (a system failure, not an exception of the shard itself, which is not retried).
        task = ray.remote(num_cpus=1, scheduling_strategy="SPREAD", max_retries=MAX_RETRIES,
                          retry_exceptions=False)(_shard)
        ref = ray.put(sw)
        shards = [s for s in np.array_split(np.arange(len(fl)), n_tasks) if len(s)]
        futures = [task.remote(ref, s.tolist(), [fl[i] for i in s], method) for s in shards]
        nodes: dict[str, int] = {}
        for fut in futures:
            node, results = ray.get(fut)
            nodes[node] = nodes.get(node, 0) + 1
            for res in results:
                record(res)
        return {"ray_address": address or "local", "ray_cpus": cpus, "tasks": len(futures),
                "ray_nodes": dict(sorted(nodes.items()))}
    finally:
        if started:
            ray.shutdown()
