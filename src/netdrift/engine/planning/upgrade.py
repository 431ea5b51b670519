"""The cheapest capacity modules that cover a link's shortfall (the cost rule of a plan).

**Rule.** An upgrade adds parallel circuits to a link: any number of modules of the offered sizes
(``--modules 10000,40000,100000`` Mbit/s, mixed sizes allowed). The existing circuit stays, so
the new capacity is the old capacity plus the modules added (per direction, as every capacity).
Replacing the existing circuit by a larger module is not modelled.

**Cost.** One module of size ``m`` on link ``l`` costs ``cost_per_module[m] + cost_per_km *
length_km(l)`` (a new circuit pays for its own length; a link whose length is unknown pays the
per-module part only, and the plan says so). With no costs stated, every module costs 1: the plan
then uses the fewest modules.

**Exactness.** Capacity does not change IGP routing (the weights stay), so each link's worst
load over all failures and steps is the same whatever is added elsewhere: the plan splits into
one independent problem per link, and :func:`cheapest_modules` solves each exactly (an unbounded
covering knapsack, enumerated). The sum is therefore the cheapest plan under this rule, and since
every module costs more than 0, no module can be removed from it (a cheaper plan would remain).
Ties: lower cost, then less capacity added, then fewer modules, then larger modules first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from netdrift.engine.errors import InputError

__all__ = ["Choice", "cheapest_modules", "parse_modules", "parse_costs", "MAX_COMBINATIONS"]

#: Combinations tried for one link at most (more means a shortfall of thousands of the smallest module).
MAX_COMBINATIONS = 2_000_000


@dataclass(frozen=True)
class Choice:
    """Modules for one link: ``counts[i]`` of ``sizes[i]`` Mbit/s, their ``added`` capacity and cost."""

    sizes: tuple[float, ...]
    counts: tuple[int, ...]
    added: float
    cost: float

    def modules(self) -> list[dict[str, float | int]]:
        return [{"mbps": m, "count": c} for m, c in zip(self.sizes, self.counts) if c]


def parse_modules(text: str) -> tuple[float, ...]:
    """``"10000,40000,100000"`` -> (10000.0, 40000.0, 100000.0), sizes in Mbit/s (> 0, distinct).

    >>> parse_modules("40000, 10000")
    (40000.0, 10000.0)
    """
    parts = [x.strip() for x in text.split(",") if x.strip()]
    if not parts:
        raise InputError("modules", "no module sizes given (e.g. --modules 10000,40000,100000, in Mbit/s)")
    out = []
    for x in parts:
        try:
            v = float(x)
        except ValueError:
            raise InputError(f"modules '{text}'", f"'{x}' is not a number of Mbit/s") from None
        if not (math.isfinite(v) and v > 0):
            raise InputError(f"modules '{text}'", f"every size must be > 0 Mbit/s (got {x})")
        out.append(v)
    if len(set(out)) != len(out):
        raise InputError(f"modules '{text}'", "a size is listed twice")
    return tuple(out)


def parse_costs(text: str | None, n_modules: int) -> tuple[float, ...]:
    """``--cost-per-module``: one cost for every module, or one per module size (same order);
    default 1 each. Costs must be > 0.

    >>> parse_costs(None, 2), parse_costs("3", 2), parse_costs("1,2.5", 2)
    ((1.0, 1.0), (3.0, 3.0), (1.0, 2.5))
    """
    if text is None:
        return (1.0,) * n_modules
    parts = [x.strip() for x in str(text).split(",") if x.strip()]
    try:
        vals = [float(x) for x in parts]
    except ValueError:
        raise InputError(f"cost_per_module '{text}'", "expected a number, or one number per module size") from None
    if len(vals) == 1:
        vals = vals * n_modules
    if len(vals) != n_modules:
        raise InputError(f"cost_per_module '{text}'", f"give one cost, or one per module size ({n_modules})")
    if not all(math.isfinite(v) and v > 0 for v in vals):
        raise InputError(f"cost_per_module '{text}'", "every cost must be > 0 (a free module could be wasted)")
    return tuple(vals)


def cheapest_modules(shortfall: float, sizes: Sequence[float], unit_costs: Sequence[float]) -> Choice:
    """The cheapest multiset of modules whose sizes sum to at least ``shortfall`` Mbit/s, each
    module of ``sizes[i]`` costing ``unit_costs[i]`` (the per-km part included). Exact.

    >>> c = cheapest_modules(25000, (10000, 40000, 100000), (1, 1, 1))
    >>> c.modules(), c.cost
    ([{'mbps': 40000, 'count': 1}], 1.0)
    >>> cheapest_modules(25000, (10000, 40000), (1, 5)).modules()
    [{'mbps': 10000, 'count': 3}]
    """
    order = sorted(range(len(sizes)), key=lambda i: -sizes[i])
    S = [float(sizes[i]) for i in order]
    C = [float(unit_costs[i]) for i in order]
    best: tuple | None = None
    tried = 0

    def key(cost: float, added: float, counts: list[int]) -> tuple:
        return (round(cost, 9), added, sum(counts), [-c for c in counts])

    def walk(i: int, rest: float, cost: float, counts: list[int]) -> None:
        nonlocal best, tried
        tried += 1
        if tried > MAX_COMBINATIONS:
            raise InputError("modules", f"a shortfall of {shortfall:.6g} Mbit/s needs too many modules of these "
                                        "sizes to search; offer larger modules")
        if best is not None and cost > best[0][0] + 1e-9:
            return
        if rest <= 0 or i == len(S) - 1:
            n = max(0, math.ceil(rest / S[-1] - 1e-12)) if i == len(S) - 1 and rest > 0 else 0
            full = counts + [0] * (len(S) - len(counts))
            if i == len(S) - 1:
                full[i] = n
            total = cost + n * C[-1] if i == len(S) - 1 else cost
            added = sum(c * s for c, s in zip(full, S))
            k = key(total, added, full)
            if best is None or k < best[0]:
                best = (k, total, added, full)
            return
        for n in range(max(0, math.ceil(rest / S[i] - 1e-12)), -1, -1):
            walk(i + 1, rest - n * S[i], cost + n * C[i], counts + [n])

    walk(0, float(shortfall), 0.0, [])
    assert best is not None
    _, total, added, full = best
    counts = [0] * len(sizes)
    for pos, i in enumerate(order):
        counts[i] = full[pos]
    ints = tuple(int(s) if float(s).is_integer() else s for s in sizes)
    return Choice(ints, tuple(counts), added, total)
