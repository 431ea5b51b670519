"""The bounds of the commands' numeric arguments, as argparse types: each bound is said in
``--help`` and a value outside it is argparse's one line (exit 2)."""

from __future__ import annotations

import argparse
import math
from typing import Callable

from netdrift.engine.traffic.time_grid import MAX_STEP_MINUTES, MAX_STEPS

__all__ = ["bounded_int", "seeds_arg", "workers_arg", "steps_arg", "step_index_arg", "step_minutes_arg", "STEPS_BOUND", "STEP_MINUTES_BOUND",
           "MAX_STEPS_ARG", "MAX_STEP_MINUTES_ARG"]


def _whole_number_at_least(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
    return value


def bounded_int(lo: int, hi: int) -> Callable[[str], int]:
    """argparse type: a whole number in [lo, hi] (its name says the bound in argparse's message).

    >>> bounded_int(1, 10)("10")
    10
    """

    def parse(text: str) -> int:
        value = _whole_number_at_least(text, lo)
        if value > hi:
            raise argparse.ArgumentTypeError(f"must be at most {hi}, got {value}")
        return value

    parse.__name__ = f"whole number in [{lo}, {hi}]"
    return parse


#: --seeds (runs repeated) and --per-class: 1..1000.
seeds_arg = bounded_int(1, 1000)
#: --workers (processes or Ray CPUs): 1..1024.
workers_arg = bounded_int(1, 1024)
#: Bounds of the step counts (--steps, --train-steps, --window, --horizon, --from, ...): the
#: engine's longest series.
MAX_STEPS_ARG = MAX_STEPS
#: --steps and the other counts of steps: [1, MAX_STEPS_ARG].
steps_arg = bounded_int(1, MAX_STEPS_ARG)
#: --from / --to / --top: [0, MAX_STEPS_ARG].
step_index_arg = bounded_int(0, MAX_STEPS_ARG)
#: Text appended to the help of a step count.
STEPS_BOUND = f"1..{MAX_STEPS_ARG:,}"
#: Longest step accepted on the command line, in minutes (one week).
MAX_STEP_MINUTES_ARG = MAX_STEP_MINUTES
STEP_MINUTES_BOUND = f"a finite number in (0, {MAX_STEP_MINUTES:g}] minutes"


def step_minutes_arg(text: str) -> float:
    """argparse type of ``--step-minutes``: a finite number of minutes in (0, 10080] (one week).

    >>> step_minutes_arg("5")
    5.0
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of minutes") from None
    if not (math.isfinite(value) and 0 < value <= MAX_STEP_MINUTES_ARG):
        raise argparse.ArgumentTypeError(f"must be {STEP_MINUTES_BOUND} (one week), got {text}")
    return value
