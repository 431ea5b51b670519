"""Link speeds written as text ("OC-192c", "10 Gbps", "1GE", ...) turned into Mbit/s.

Topology files state link speeds in many ways: a number of bit/s, a number with a unit
letter, or free text on the link's label. These functions return Mbit/s, or ``None`` when the
text states no speed (the caller then assumes a default and says so).
"""

from __future__ import annotations

import math
import re

__all__ = ["parse_link_speed", "speed_from_value_and_units", "speed_from_bits_per_second"]

_UNIT_MBPS = {"k": 1e-3, "m": 1.0, "g": 1e3, "t": 1e6}

# "10 Gbps", "2.5G", "155 Mbit/s", "1GE", "<10 Gbps", "34/45 Mbit/s" (the number that carries
# the unit wins), "10 Gigabit". The unit must not run on into a word ("5 Mbps" yes, "5 Miles" no).
_NUMBER_UNIT = re.compile(
    r"(?<![\w.])(\d+(?:[.,]\d+)?)\s*([kKmMgGtT])"
    r"(?i:igabit|egabit|ilobit|erabit|bit/s|bits/s|bps|b/s|bit|be|b|e)?(?![A-Za-z])"
)
# SONET / SDH carriers (line rate, the figure operators quote): OC-n = n x 51.84 Mbit/s,
# STM-n = n x 155.52 Mbit/s. "OC-192c" (concatenated) is the same rate.
_OC = re.compile(r"\bOC[- ]?(\d+)c?\b", re.IGNORECASE)
_STM = re.compile(r"\bSTM[- ]?(\d+)\b", re.IGNORECASE)
_NAMED = (
    (re.compile(r"\b(?:T1|DS-?1)\b", re.IGNORECASE), 1.544),
    (re.compile(r"\bE1\b", re.IGNORECASE), 2.048),
    (re.compile(r"\bE3\b", re.IGNORECASE), 34.368),
    (re.compile(r"\b(?:T3|DS-?3)\b", re.IGNORECASE), 44.736),
    (re.compile(r"\b(?:Gigabit Ethernet|GigE)\b", re.IGNORECASE), 1000.0),
    (re.compile(r"\bFast Ethernet\b", re.IGNORECASE), 100.0),
)


def parse_link_speed(text: str | None) -> float | None:
    """The speed a link label states, in Mbit/s, or None when it states none.

    Parameters
    ----------
    text : str or None
        Free text such as a Topology Zoo ``LinkLabel``.

    Returns
    -------
    float or None
        Mbit/s. A number with a unit wins over a carrier name ("45 Mbps DS-3" is 45).

    Examples
    --------
    >>> parse_link_speed("OC-192c")
    9953.28
    >>> parse_link_speed("2.5 Gbps")
    2500.0
    >>> parse_link_speed("1GE")
    1000.0
    >>> parse_link_speed("Purple Link") is None
    True
    """
    if not text:
        return None
    m = _NUMBER_UNIT.search(text)
    if m:
        value = float(m.group(1).replace(",", "."))
        mbps = value * _UNIT_MBPS[m.group(2).lower()]
        return mbps if mbps > 0 else None
    m = _OC.search(text)
    if m and int(m.group(1)) > 0:
        return round(int(m.group(1)) * 51.84, 6)
    m = _STM.search(text)
    if m and int(m.group(1)) > 0:
        return round(int(m.group(1)) * 155.52, 6)
    for pattern, mbps in _NAMED:
        if pattern.search(text):
            return mbps
    return None


def speed_from_bits_per_second(raw: str | float | None) -> float | None:
    """Mbit/s from a bit/s figure (Topology Zoo ``LinkSpeedRaw``); 0, blank or junk -> None.

    >>> speed_from_bits_per_second("10000000000.0")
    10000.0
    >>> speed_from_bits_per_second(0) is None
    True
    """
    try:
        bps = float(raw)  # type: ignore[arg-type]  # None raises TypeError, caught below
    except (TypeError, ValueError):
        return None
    if not math.isfinite(bps) or bps <= 0:
        return None
    return bps / 1e6


def speed_from_value_and_units(value: str | float | None, units: str | None) -> float | None:
    """Mbit/s from a number and a unit (Topology Zoo ``LinkSpeed`` + ``LinkSpeedUnits``).

    >>> speed_from_value_and_units("2.5", "G")
    2500.0
    >>> speed_from_value_and_units("155", "Mbps")
    155.0
    """
    if value is None or units is None:
        return None
    try:
        number = float(str(value).strip().replace(",", "."))
    except ValueError:
        return None
    unit = str(units).strip()[:1].lower()
    if unit not in _UNIT_MBPS or not math.isfinite(number) or number <= 0:
        return None
    return number * _UNIT_MBPS[unit]
