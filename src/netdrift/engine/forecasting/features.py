"""Inputs of the forecasters: time features, gap filling, and training windows.

Both neural models see the same representation of a window of W utilisations ``u``
(``last = u[-1]``):

- the window relative to its last value, ``(u - last) * DELTA_SCALE``, plus ``last`` itself
  (the absolute level), plus time-of-day / day-of-week features;
- the target is ``(y - last) * DELTA_SCALE`` and a forecast is ``last + out / DELTA_SCALE``.

This is a fixed, parameter-free input transform (no statistics are learnt or updated), so
the "weights frozen" property of the liquid model is unaffected by it.
"""

from __future__ import annotations

import numpy as np

from netdrift.engine.errors import InputError

__all__ = [
    "N_TIME_FEATURES",
    "DELTA_SCALE",
    "time_features",
    "fill_forward",
    "WindowSampler",
    "split_window",
]

N_TIME_FEATURES = 4
# Five-minute changes of utilisation are ~1e-2; scaling them to ~1e-1..1 keeps the nets' inputs
# and targets in the range their default initialisation expects.
DELTA_SCALE = 10.0

_SECONDS_PER_DAY = 86_400.0
# 1970-01-01 was a Thursday: +3 days makes Monday 00:00 phase 0 of the week.
_EPOCH_WEEKDAY_OFFSET_DAYS = 3.0


def time_features(times: np.ndarray) -> np.ndarray:
    """Cyclic calendar features for each timestamp.

    Parameters
    ----------
    times : numpy.ndarray of datetime64, shape (T,)
        Timestamps (any datetime64 unit; naive, read as UTC).

    Returns
    -------
    numpy.ndarray, float32, shape (T, 4)
        Columns: sin and cos of the time of day, sin and cos of the position in the week
        (Monday 00:00 is phase 0; the week phase is continuous, so it includes the hour).

    Examples
    --------
    >>> time_features(np.array(["2024-01-01T00:00"], dtype="datetime64[m]")).tolist()  # a Monday
    [[0.0, 1.0, 0.0, 1.0]]
    """
    arr = np.asarray(times)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.datetime64):
        raise InputError("times", f"expected a 1-D datetime64 array, got {arr.dtype} {arr.shape}")
    if np.isnat(arr).any():
        raise InputError("times", "contains NaT")
    seconds = arr.astype("datetime64[s]").astype(np.int64).astype(np.float64)
    days = seconds / _SECONDS_PER_DAY
    day_phase = 2.0 * np.pi * np.mod(days, 1.0)
    week_phase = 2.0 * np.pi * np.mod(days + _EPOCH_WEEKDAY_OFFSET_DAYS, 7.0) / 7.0
    out = np.stack(
        [np.sin(day_phase), np.cos(day_phase), np.sin(week_phase), np.cos(week_phase)], axis=1
    )
    return out.astype(np.float32)


def fill_forward(x: np.ndarray, fallback: np.ndarray | None = None) -> np.ndarray:
    """Fill non-finite entries of a (T, D) array along time, per column.

    Gaps take the previous finite value; leading gaps take the first finite value of the
    column; an all-missing column takes ``fallback`` (per column, default 0).

    Examples
    --------
    >>> fill_forward(np.array([[np.nan], [1.0], [np.nan], [3.0]])).ravel().tolist()
    [1.0, 1.0, 1.0, 3.0]
    """
    x = np.asarray(x, dtype=np.float32)
    finite = np.isfinite(x)
    if finite.all():
        return x.copy()
    t, d = x.shape
    rows = np.arange(t)[:, None]
    last_idx = np.maximum.accumulate(np.where(finite, rows, -1), axis=0)
    # Leading gaps: use the first finite row of the column.
    first_idx = np.where(finite.any(axis=0), finite.argmax(axis=0), -1)
    idx = np.where(last_idx >= 0, last_idx, first_idx[None, :])
    cols = np.broadcast_to(np.arange(d)[None, :], (t, d))
    out = x[np.maximum(idx, 0), cols]
    if fallback is None:
        fb = np.zeros(d, dtype=np.float32)
    else:
        fb = np.asarray(fallback, dtype=np.float32)
        fb = np.where(np.isfinite(fb), fb, 0.0).astype(np.float32)
    out = np.where(idx >= 0, out, fb[None, :])
    return out.astype(np.float32)


class WindowSampler:
    """Training windows (one per start step and link direction) cut from a (T, D) series.

    A sample is the pair (start step s, direction d): inputs are steps ``s .. s+W-1`` of
    direction d (gaps forward-filled) with the time features of steps ``s .. s+W+H-1``;
    the target is steps ``s+W .. s+W+H-1``. Samples whose target has a gap are left out.
    """

    def __init__(
        self, series: np.ndarray, features: np.ndarray, window: int, horizon: int, what: str
    ) -> None:
        series = np.asarray(series, dtype=np.float32)
        features = np.asarray(features, dtype=np.float32)
        t, d = series.shape
        n_starts = t - window - horizon + 1
        if n_starts < 1:
            raise InputError(
                what, f"needs at least window + horizon = {window + horizon} steps, got {t}"
            )
        self.window, self.horizon, self.n_dirs = window, horizon, d
        self.raw = series
        self.filled = fill_forward(series)
        self.features = features
        finite = np.isfinite(series)
        # target_ok[s, d]: every target step of sample (s, d) was observed.
        csum = np.concatenate([np.zeros((1, d), np.int64), np.cumsum(finite, axis=0)])
        lo = np.arange(n_starts) + window
        n_ok = csum[lo + horizon] - csum[lo]
        self.valid = np.flatnonzero((n_ok == horizon).ravel())
        if self.valid.size == 0:
            raise InputError(what, "has no complete window (every target step is missing)")

    def gather(self, flat_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Windows (n, W), their features (n, W+H, F) and targets (n, H) for sample ids."""
        s = flat_idx // self.n_dirs
        d = flat_idx % self.n_dirs
        w_rows = s[:, None] + np.arange(self.window)[None, :]
        win = self.filled[w_rows, d[:, None]]
        feats = self.features[s[:, None] + np.arange(self.window + self.horizon)[None, :]]
        y_rows = s[:, None] + self.window + np.arange(self.horizon)[None, :]
        target = self.raw[y_rows, d[:, None]]
        return win, feats, target


class MixedSampler:
    """Windows mostly from ``recent`` plus a ``share`` of windows replayed from ``older``.

    The replayed ids are drawn once (with ``rng``) per sampler; ids of ``older`` are offset past
    every id of ``recent``, so one index pool and one ``gather`` serve both.
    """

    def __init__(self, recent: WindowSampler, older: WindowSampler, share: float,
                 rng: np.random.Generator) -> None:
        self.window, self.horizon = recent.window, recent.horizon
        self.recent, self.older = recent, older
        self._offset = recent.raw.shape[0] * recent.n_dirs
        n_old = min(len(older.valid), int(round(share / (1.0 - share) * len(recent.valid))))
        replay = rng.choice(older.valid, size=n_old, replace=False) if n_old else np.empty(0, np.int64)
        self.valid = np.concatenate([recent.valid, replay + self._offset])

    def gather(self, flat_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        idx = np.asarray(flat_idx)
        old = idx >= self._offset
        parts = [self.recent.gather(idx[~old]), self.older.gather(idx[old] - self._offset)]
        out = []
        for k in range(3):
            arr = np.empty((len(idx),) + parts[0][k].shape[1:], dtype=parts[0][k].dtype)
            arr[~old], arr[old] = parts[0][k], parts[1][k]
            out.append(arr)
        return out[0], out[1], out[2]


def split_window(
    win: np.ndarray, feats: np.ndarray, window: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The shared neural-input representation of a batch of gap-free windows.

    Parameters
    ----------
    win : (n, W) utilisations; feats : (n, W + H, F) time features.

    Returns
    -------
    last : (n, 1) the last observed value (the forecast's anchor);
    delta : (n, W) ``(win - last) * DELTA_SCALE``;
    past_feats : (n, W, F); future_feats : (n, H * F).
    """
    last = win[:, -1:]
    delta = (win - last) * DELTA_SCALE
    past = feats[:, :window]
    future = feats[:, window:].reshape(feats.shape[0], -1)
    return last, delta.astype(np.float32), past, future
