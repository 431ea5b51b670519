"""The Impact page's sweep progress line (done / total, rate, time left) and how often it is drawn."""

from __future__ import annotations

from netdrift.dashboard.impact.progress import SweepProgress


class Bar:
    """What an ``st.progress`` is given: each (fraction, text) drawn."""

    def __init__(self) -> None:
        self.drawn: list[tuple[float, str]] = []

    def progress(self, value: float, text: str) -> None:
        self.drawn.append((value, text))


def test_progress_says_done_total_rate_and_time_left():
    now = [100.0]
    bar = Bar()
    p = SweepProgress(bar, clock=lambda: now[0])
    p(1, 400)
    assert bar.drawn[-1] == (1 / 400, "Sweeping: 1 of 400 failures (time left unknown yet)")
    now[0] = 110.0  # 200 failures in 10 s: 20/s, 200 left: 10 s
    p(200, 400)
    assert bar.drawn[-1] == (0.5, "Sweeping: 200 of 400 failures (20.0/s, about 10 s left)")


def test_drawn_once_a_percent_or_a_second_and_at_the_end():
    now = [0.0]
    bar = Bar()
    p = SweepProgress(bar, clock=lambda: now[0])
    for done in range(1, 1001):  # 1,000 failures in 0.1 s: drawn at the first and at 1 %, not 1,000 times
        now[0] = done * 1e-4
        p(done, 100_000)
    assert len(bar.drawn) == 2  # the first failure, then 1 %
    now[0] = 5.0  # a long sweep: drawn again after a second even within the same percent
    p(1001, 100_000)
    assert len(bar.drawn) == 3 and "1,001 of 100,000" in bar.drawn[-1][1]
    p(100_000, 100_000)
    assert bar.drawn[-1][0] == 1.0 and "100,000 of 100,000 failures" in bar.drawn[-1][1]
