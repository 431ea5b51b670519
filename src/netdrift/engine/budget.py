"""A memory budget checked before large allocations, so a too-large request is one clear line.

The default budget is half of the memory the machine reports available when asked
(``MemAvailable`` in /proc/meminfo, else half of physical memory); ``NETDRIFT_MAX_MEMORY`` (bytes,
or with a K/M/G suffix) overrides it, and the CLI's ``--max-memory SIZE`` (simulate, run, sweep)
overrides both for one command through :func:`memory_budget` (a module setting, so every engine
function called inside the command, on any thread, reads the same budget; a function may also
take an explicit ``budget_bytes``).

The estimates live beside what they measure: :func:`netdrift.engine.traffic.synthetic.synthetic_memory_bytes`,
:func:`netdrift.engine.traffic.csv_replay.csv_memory_bytes` (the CSV is streamed: its float32 array plus one block,
checked once the first pass knows the steps and pairs), the SNDlib reader's records in
:mod:`netdrift.engine.traffic.sndlib_replay`, and :func:`simulation_memory_bytes` here.

Precedence: an explicit ``budget_bytes`` > :func:`memory_budget` (``--max-memory``) >
``NETDRIFT_MAX_MEMORY`` > half of the available memory.

A command fixes its budget once, at its start (:func:`command_budget`): the memory available
later (which the command's own allocations shrink) no longer moves it. In a ``netdrift``
process every check also counts what the process already held at that start (the interpreter
and its libraries), so the budget bounds the process's peak resident memory, as
``/usr/bin/time -v`` reports it, not only the work's.
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterator

from netdrift.engine.errors import InputError

__all__ = ["memory_budget_bytes", "memory_budget", "command_budget", "check_memory", "parse_bytes",
           "simulation_memory_bytes", "resident_bytes"]

#: Set by :func:`memory_budget` (the CLI's ``--max-memory``): (bytes, where it came from) or None.
_override: tuple[int, str] | None = None
#: Set by :func:`command_budget`: the process's resident bytes when the command started.
_held_at_start = 0
#: Set by :func:`command_budget` with ``count_held``: the budget bounds this process's peak.
_counting_process = False

_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_bytes(text: str) -> int:
    """``"512M"`` -> 536870912.

    >>> parse_bytes("2G"), parse_bytes("1000")
    (2147483648, 1000)
    """
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = t[-1] if t and t[-1] in _UNITS and not t[-1].isdigit() else ""
    number = t[: len(t) - len(unit)]
    try:
        value = float(number) * _UNITS[unit]
    except ValueError:
        raise InputError(f"memory size '{text}'", "expected a number of bytes, e.g. 2G or 512M") from None
    if not value > 0:
        raise InputError(f"memory size '{text}'", "must be positive")
    return int(value)


def _available_bytes() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 8 * 1024**3


def _budget_and_source() -> tuple[int, str]:
    if _override is not None:
        return _override
    env = os.environ.get("NETDRIFT_MAX_MEMORY")
    if env:
        return parse_bytes(env), "NETDRIFT_MAX_MEMORY"
    return _available_bytes() // 2, "half of the available memory; raise it with --max-memory"


def memory_budget_bytes() -> int:
    """The budget: ``--max-memory`` (see :func:`memory_budget`) if set, else
    ``NETDRIFT_MAX_MEMORY`` if set, else half of the available memory."""
    return _budget_and_source()[0]


@contextlib.contextmanager
def memory_budget(budget_bytes: int | None, source: str = "--max-memory") -> Iterator[None]:
    """Use ``budget_bytes`` as the budget inside the block (``None``: leave it as it is).

    >>> with memory_budget(1024):
    ...     memory_budget_bytes()
    1024
    """
    global _override
    if budget_bytes is None:
        yield
        return
    previous = _override
    _override = (int(budget_bytes), source)
    try:
        yield
    finally:
        _override = previous


def resident_bytes() -> int:
    """The resident memory of this process now (``/proc/self/statm``; 0 where it cannot be read)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return 0


@contextlib.contextmanager
def command_budget(explicit: int | None, flag: str = "--max-memory", count_held: bool = False) -> Iterator[int]:
    """Fix the budget of one command at its start: ``explicit`` (the ``flag``) if given, else
    ``NETDRIFT_MAX_MEMORY``, else half of the memory available now; read once, not at each
    check. With ``count_held`` (a process of its own, e.g. the ``netdrift`` command), every
    :func:`check_memory` inside the block also counts the resident memory the process held at
    the start, so the budget bounds the process's peak. Yields the budget in bytes.

    >>> with command_budget(2 * 1024**3) as b:
    ...     b == memory_budget_bytes() == 2 * 1024**3
    True
    """
    global _held_at_start, _counting_process
    if explicit is not None:
        budget, source = int(explicit), flag
    else:
        budget, source = _budget_and_source()
        if source.startswith("half"):
            source = "half of the available memory when the command started; raise it with --max-memory"
    previous = _held_at_start, _counting_process
    _held_at_start = resident_bytes() if count_held else 0
    _counting_process = count_held
    try:
        with memory_budget(budget, source):
            yield budget
    finally:
        _held_at_start, _counting_process = previous


def _gib(n: float) -> str:
    if n >= 1024**4:
        return f"{n / 1024**4:,.2f} TiB"
    if n >= 1024**3:
        return f"{n / 1024**3:.2f} GiB"
    return f"{n / 1024**2:.0f} MiB" if n >= 1024**2 else f"{n / 1024:.0f} KiB" if n >= 1024 else f"{n:.0f} bytes"


def check_memory(what: str, estimate_bytes: float, budget_bytes: int | None = None, held_now: bool = False) -> None:
    """Refuse ``what`` (InputError) when it would need more than the budget.

    ``estimate_bytes`` is what is still to be allocated. In a command that bounds its process
    (:func:`command_budget` with ``count_held``) the check adds what the process held at its
    start, or with ``held_now`` what it holds now (for a check made after earlier work, e.g. a
    sweep's once its traffic and failure set exist: memory freed back to the allocator is
    often not returned to the system, so what is resident now stays part of the peak).

    >>> check_memory("x", 10, budget_bytes=100)
    >>> check_memory("routed models on 'kdl'", 3 * 1024**3, budget_bytes=1024**3)
    Traceback (most recent call last):
    ...
    netdrift.engine.errors.InputError: routed models on 'kdl': would need about 3.00 GiB, over the memory budget of 1.00 GiB (--max-memory / NETDRIFT_MAX_MEMORY)
    """
    if budget_bytes is None:
        budget, source = _budget_and_source()
    else:
        budget, source = budget_bytes, "--max-memory / NETDRIFT_MAX_MEMORY"
    held = _held_at_start
    when = "at its start"
    if held_now and _counting_process:
        held, when = max(held, resident_bytes()), "already"
    if estimate_bytes + held > budget:
        also = f" (with the {_gib(held)} the process held {when})" if held else ""
        raise InputError(what, f"would need about {_gib(estimate_bytes + held)}{also}, over the memory budget of "
                               f"{_gib(budget)} ({source})")


# Calibration of :func:`simulation_memory_bytes`, by peak RSS (resource.getrusage ru_maxrss after
# an in-process `netdrift simulate` minus the RSS before it) on a 30-node, 104-direction topology
# with 100,000 steps (10.4 M step x direction cells, 0.35 GB of demands held): 0.716 GB measured
# against 0.71 GB estimated without --out, 1.86 GB against 1.86 GB with --out FILE.csv.
#: Per step x direction: the float64 loads and the snapshot's copy, plus the link-up masks.
_SIM_BYTES_PER_CELL = 17
#: Per step x direction, the summary's temporaries (utilisation and its masked copy, float64).
_SUMMARY_BYTES_PER_CELL = 17
#: Per step x direction, the long table of --out (8 columns, three of them object pointers) and
#: the copies pandas makes while building and writing it (this replaces the summary's peak).
_FRAME_BYTES_PER_ROW = 128
#: Per destination x direction of one routing plan (the per-hop ECMP DAG and its matrices).
_PLAN_BYTES_PER_ENTRY = 64


def simulation_memory_bytes(steps: int, n_pairs: int, n_nodes: int, n_directions: int, *,
                            n_plans: int = 1, frame: bool = False, workers: int | None = None) -> float:
    """Peak memory of simulating a run (``netdrift.engine.network.simulation.Simulator`` and its summary), in
    bytes, demands included (float32, steps x pairs, held by the traffic throughout).

    ``n_plans``: distinct failure states (the simulator caches at most 8 plans); ``frame``: the
    long table (one row per step and direction) is built for ``--out``.

    >>> round(simulation_memory_bytes(100_000, 870, 30, 104) / 1e9, 2)   # measured 0.72 GB
    0.71
    """
    t, d = float(steps), float(n_directions)
    block = min(256.0, max(8.0, 2e6 / max(n_pairs, 1)), t)
    n_workers = max(1, workers if workers is not None else (os.cpu_count() or 1))
    total = 4.0 * t * n_pairs + _SIM_BYTES_PER_CELL * t * d
    total += (_FRAME_BYTES_PER_ROW if frame else _SUMMARY_BYTES_PER_CELL) * t * d
    total += min(max(n_plans, 1), 8) * _PLAN_BYTES_PER_ENTRY * float(n_nodes) * d
    total += n_workers * 4.0 * block * (2.0 * n_pairs + float(n_nodes) * n_nodes + d)
    return total
