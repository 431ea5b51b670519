"""One colour per series across every chart: the actual in near-black, each model its own hue.

A model's colour is the catalogue's (:data:`netdrift.engine.forecasting.catalogue.CATALOGUE`), so
"liquid" is the same blue in the Live chart, the Compare charts and anything else that shows
it. What is the dashboard's own is kept here: the actual's colour, the shades of the paper's
variants (``liquid-ltc``, ``incremental-b<B>`` by batch size) and a spare palette for labels
the catalogue does not know.
"""

from __future__ import annotations

from collections.abc import Iterable

from netdrift.engine.forecasting.catalogue import CATALOGUE

__all__ = ["ACTUAL", "FAILURE_RULE", "colour_of", "colour_range"]

ACTUAL = "#111827"
#: A failure's rule on every chart (colour, dash): black dashed, as failed links on the map, never a
#: model's colour (the catalogue's incremental models are red).
FAILURE_RULE: tuple[str, list[int]] = ("#000000", [6, 3])

#: Variants that get a shade of their own (others take their model's catalogue colour).
_VARIANTS: dict[str, str] = {"liquid-ltc": "#76b7b2"}
#: Incremental learners by batch size, smallest first (paper: b12 orange, b48 red, b144 dark red);
#: the second shade is the incremental model's own colour, as B=48 is its default batch.
_INCREMENTAL_SHADES = ["#f28e2b", CATALOGUE["incremental"].colour, "#a3262a", "#ff9d9a", "#d4a6c8"]
#: For names netdrift does not know (Tableau 10's remaining hues, then greys).
_SPARE = ["#edc948", "#ff9da7", "#bab0ac", "#8cd17d", "#499894", "#86bcb6", "#6b6b6b"]


def _incremental_batch(name: str) -> int | None:
    """Batch size of an ``incremental-b<B>`` name, None for anything else."""
    prefix = "incremental-b"
    if name.startswith(prefix) and name[len(prefix):].isdigit():
        return int(name[len(prefix):])
    return None


def colour_of(name: str) -> str | None:
    """The fixed colour of a series name (the actual, a catalogue model or a known variant), else None.

    >>> colour_of("actual"), colour_of("liquid") == CATALOGUE["liquid"].colour, colour_of("arima")
    ('#111827', True, None)
    """
    if name == "actual":
        return ACTUAL
    if name in _VARIANTS:
        return _VARIANTS[name]
    if name in CATALOGUE:
        return CATALOGUE[name].colour
    return None


def colour_range(names: Iterable[str]) -> list[str]:
    """Colours for ``names`` in order, never two the same.

    Fixed colours (:func:`colour_of`) first; ``incremental-b<B>`` shaded by batch size; a
    ``<model>-<variant>`` label takes its model's colour while no other series has it; the
    rest come from a spare palette without reusing a colour already taken.

    >>> colour_range(["actual", "liquid", "incremental"])
    ['#111827', '#4e79a7', '#e15759']
    >>> colour_range(["incremental-b144", "incremental-b12"])
    ['#e15759', '#f28e2b']
    """
    names = list(names)
    batches = sorted({b for n in names if (b := _incremental_batch(n)) is not None})
    out: list[str] = []
    for name in names:
        if (c := colour_of(name)) is not None:
            out.append(c)
        elif (b := _incremental_batch(name)) is not None:
            out.append(_INCREMENTAL_SHADES[batches.index(b) % len(_INCREMENTAL_SHADES)])
        else:
            out.append("")
    taken = set(out)
    for i, name in enumerate(names):  # e.g. "liquid-cfc": the liquid blue when liquid is not shown
        kind = colour_of(name.split("-", 1)[0]) if not out[i] and "-" in name else None
        if kind is not None and kind != ACTUAL and kind not in taken:
            out[i] = kind
            taken.add(kind)
    spare = (c for c in _SPARE if c not in taken)
    return [c or next(spare, "#6b6b6b") for c in out]
