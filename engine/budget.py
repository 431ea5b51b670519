"""A memory budget checked before large allocations, so a too-large request is one clear line.

The default budget is half of the memory the machine reports available when asked
(``MemAvailable`` in /proc/meminfo, else half of physical memory); ``NETDRIFT_MAX_MEMORY`` (bytes,
or with a K/M/G suffix) overrides it.
"""

from __future__ import annotations

import os

from engine.errors import InputError

__all__ = ["memory_budget_bytes", "check_memory", "parse_bytes"]

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


def memory_budget_bytes() -> int:
    """The budget: ``NETDRIFT_MAX_MEMORY`` if set, else half of the available memory."""
    env = os.environ.get("NETDRIFT_MAX_MEMORY")
    if env:
        return parse_bytes(env)
    return _available_bytes() // 2


def _gib(n: float) -> str:
    return f"{n / 1024**3:.2f} GiB" if n >= 1024**3 else f"{n / 1024**2:.0f} MiB"


def check_memory(what: str, estimate_bytes: float, budget_bytes: int | None = None) -> None:
    """Refuse ``what`` (InputError) when it would need more than the budget.

    >>> check_memory("x", 10, budget_bytes=100)
    >>> check_memory("routed models on 'kdl'", 3 * 1024**3, budget_bytes=1024**3)
    Traceback (most recent call last):
    ...
    engine.errors.InputError: routed models on 'kdl': would need about 3.00 GiB, over the memory budget of 1.00 GiB (NETDRIFT_MAX_MEMORY)
    """
    budget = memory_budget_bytes() if budget_bytes is None else budget_bytes
    if estimate_bytes > budget:
        raise InputError(what, f"would need about {_gib(estimate_bytes)}, over the memory budget of "
                               f"{_gib(budget)} (NETDRIFT_MAX_MEMORY)")
