"""One colour per series across every chart: the actual in near-black, each model its own hue.

The Live chart and the Compare charts use the same mapping, so "liquid" is the same blue in both
and never a neighbour of the actual's colour (Streamlit's default palette starts with two blues,
which made the liquid and incremental lines hard to tell apart).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["ACTUAL", "MODEL_COLOURS", "colour_range"]

ACTUAL = "#111827"

#: Models netdrift runs (the paper's variants get shades of their family's hue).
MODEL_COLOURS: dict[str, str] = {
    "actual": ACTUAL,
    "liquid": "#4e79a7",
    "liquid-cfc": "#4e79a7",
    "liquid-ltc": "#76b7b2",
    "incremental": "#e15759",
    "frozen": "#b07aa1",
    "persistence": "#59a14f",
    "seasonal": "#9c755f",
}

#: Incremental learners by batch size, smallest first (netdrift paper: b12 orange, b48 red, b144 dark red).
_INCREMENTAL_SHADES = ["#f28e2b", "#e15759", "#a3262a", "#ff9d9a", "#d4a6c8"]
#: For names netdrift does not know (Tableau 10's remaining hues, then greys).
_SPARE = ["#edc948", "#ff9da7", "#bab0ac", "#8cd17d", "#499894", "#86bcb6", "#6b6b6b"]


def _incremental_rank(name: str) -> int | None:
    """Batch size of an ``incremental-b<B>`` name, None for anything else."""
    prefix = "incremental-b"
    if name.startswith(prefix) and name[len(prefix):].isdigit():
        return int(name[len(prefix):])
    return None


def colour_range(names: Iterable[str]) -> list[str]:
    """Colours for ``names`` in order: known ones fixed, incremental batch sizes shaded by size,
    unknown ones from a spare palette without reusing a colour already taken.

    >>> colour_range(["actual", "liquid", "incremental"])
    ['#111827', '#4e79a7', '#e15759']
    >>> colour_range(["incremental-b144", "incremental-b12"])
    ['#e15759', '#f28e2b']
    """
    names = list(names)
    batches = sorted({b for n in names if (b := _incremental_rank(n)) is not None})
    out: list[str] = []
    for name in names:
        if name in MODEL_COLOURS:
            out.append(MODEL_COLOURS[name])
        elif (b := _incremental_rank(name)) is not None:
            out.append(_INCREMENTAL_SHADES[batches.index(b) % len(_INCREMENTAL_SHADES)])
        else:
            out.append("")
    taken = set(out)
    spare = (c for c in _SPARE if c not in taken)
    return [c or next(spare, "#6b6b6b") for c in out]

