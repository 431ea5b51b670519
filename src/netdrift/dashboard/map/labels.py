"""The texts and small graphics a map direction carries: its label (utilisation in % or its load in
Mbit/s) and the last day's load as a compact sparkline string for the hover.

Pure functions over numbers and arrays (no Streamlit), unit-tested by hand.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["load_label", "direction_label", "SPARK_ALPHABET", "SPARK_POINTS", "spark_strings", "spark_encode",
           "spark_decode"]

#: 64 levels, one character each (URL-safe base64's alphabet); a missing value is ".".
SPARK_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
#: At most this many points per sparkline (a day of 15-minute steps is 96: every second one).
SPARK_POINTS = 48


def load_label(mbps: float) -> str:
    """A load for a map label: ``"850 Mbit/s"``, ``"12.1 Gbit/s"``; empty without data.

    >>> load_label(850.4), load_label(12_140.0), load_label(9.87), load_label(float("nan")), load_label(0.0)
    ('850 Mbit/s', '12.1 Gbit/s', '9.9 Mbit/s', '', '0 Mbit/s')
    """
    if mbps is None or not math.isfinite(mbps):
        return ""
    if mbps == 0:
        return "0 Mbit/s"
    if abs(mbps) >= 1000:
        return f"{mbps / 1000:.1f} Gbit/s"
    return f"{mbps:.0f} Mbit/s" if abs(mbps) >= 10 else f"{mbps:.1f} Mbit/s"


def direction_label(utilisation: float, load_mbps: float, unit: str = "%", failed: bool = False) -> str:
    """A direction's label in ``unit`` ("%" or "Mbit/s"); empty when failed or without data.

    >>> direction_label(0.374, 3740.0), direction_label(0.374, 3740.0, "Mbit/s"), direction_label(0.5, 1.0, "%", True)
    ('37 %', '3.7 Gbit/s', '')
    """
    if failed or utilisation is None or not math.isfinite(utilisation):
        return ""
    if unit == "Mbit/s":
        return load_label(load_mbps)
    return f"{utilisation * 100:.0f} %"


def spark_strings(utilisation: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Every direction's sparkline at once: ``utilisation`` is (T, D); returns D strings and the
    (D,) tops (the scale's top: the direction's highest utilisation, at least 1 = capacity).

    Each point is level ``round(63 * u / top)`` (clipped to 0..63) in :data:`SPARK_ALPHABET`, "."
    where missing; the series is thinned to at most :data:`SPARK_POINTS` points, keeping the last one
    (the step shown). Vectorised: a 1,800-direction map costs one array pass, not a Python loop per point.

    >>> codes, tops = spark_strings(np.array([[0.0, 0.5], [0.5, 0.5], [1.0, np.nan], [np.nan, 2.0]]))
    >>> codes, tops.tolist()
    (['Ag_.', 'QQ._'], [1.0, 2.0])
    """
    u = np.asarray(utilisation, dtype=float)
    if u.ndim == 1:
        u = u[:, None]
    if len(u) > SPARK_POINTS:
        every = math.ceil(len(u) / SPARK_POINTS)
        u = u[::-1][::every][::-1]
    finite = np.isfinite(u)
    with np.errstate(invalid="ignore"):
        tops = np.maximum(1.0, np.where(finite.any(axis=0), np.nanmax(np.where(finite, u, -np.inf), axis=0), 1.0))
        levels = np.clip(np.round(63 * u / tops), 0, 63)
    levels = np.where(finite, levels, 64).astype(np.uint8)
    table = np.frombuffer((SPARK_ALPHABET + ".").encode("ascii"), dtype=np.uint8)
    chars = table[levels.T]
    return [row.tobytes().decode("ascii") for row in chars], tops


def spark_encode(utilisation: np.ndarray, top: float) -> str:
    """One direction's series on a given ``top`` (see :func:`spark_strings`).

    >>> spark_encode(np.array([0.0, 0.5, 1.0, np.nan, 2.0]), 1.0)
    'Ag_._'
    """
    u = np.asarray(utilisation, dtype=float)
    if len(u) > SPARK_POINTS:
        every = math.ceil(len(u) / SPARK_POINTS)
        u = u[::-1][::every][::-1]
    out = []
    for x in u.tolist():
        if not math.isfinite(x) or top <= 0:
            out.append(".")
        else:
            out.append(SPARK_ALPHABET[int(min(63, max(0, round(63 * x / top))))])
    return "".join(out)


def spark_decode(text: str, top: float) -> list[float | None]:
    """The utilisations a sparkline string stands for (None where missing): the browser's reading.

    >>> spark_decode("Af_.", 1.0)
    [0.0, 0.492, 1.0, None]
    """
    return [None if c == "." else round(SPARK_ALPHABET.index(c) * top / 63, 3) for c in text]
