"""Progress of counted work in words, one wording for the CLI's stderr and the Impact page."""
from __future__ import annotations

__all__ = ["progress_text", "duration_text"]


def progress_text(done: int, total: int, seconds: float, what: str = "failures") -> str:
    """``done`` of ``total`` ``what``, the rate over ``seconds`` (since the first item was done)
    and the time left at that rate.

    >>> progress_text(1_234, 400_065, 20.0)
    '1,234 of 400,065 failures (61.7/s, about 1 h 47 min left)'
    >>> progress_text(1, 91, 0.0)
    '1 of 91 failures (time left unknown yet)'
    """
    rate = done / seconds if seconds > 0 and done else 0.0
    if rate <= 0:
        return f"{done:,} of {total:,} {what} (time left unknown yet)"
    return f"{done:,} of {total:,} {what} ({rate:,.1f}/s, about {duration_text((total - done) / rate)} left)"


def duration_text(seconds: float) -> str:
    """A duration as a progress line writes it.

    >>> duration_text(42), duration_text(3725), duration_text(200_000)
    ('42 s', '1 h 02 min', '2 d 07 h')
    """
    s = int(round(seconds))
    if s < 120:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400} d {s % 86400 // 3600:02d} h"
