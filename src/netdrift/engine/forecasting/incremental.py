"""Incremental learning (the paper's reference) and its no-retraining ablation.

An MLP maps the window (relative to its last value), the last value and the future steps' time
features to the next H utilisations. ``incremental`` re-fits it every B observed samples on the
most recent N steps (all directions); until then it forecasts with the model it has, so its lag
after a drift is real. ``frozen`` is the same MLP never re-fitted.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from netdrift.engine.errors import InputError
from netdrift.engine.forecasting.base import Forecaster
from netdrift.engine.forecasting.features import DELTA_SCALE, MixedSampler, WindowSampler, split_window
from netdrift.engine.forecasting.settings import ForecastConfig, IncrementalSettings, MLPSettings
from netdrift.engine.forecasting.torch_utils import derive_seed, seeded, train_steps

__all__ = ["FrozenMLPForecaster", "IncrementalForecaster"]


def _mlp(cfg: ForecastConfig, hidden: int, n_feat: int) -> nn.Module:
    n_in = cfg.window + 1 + cfg.horizon * n_feat
    return nn.Sequential(
        nn.Linear(n_in, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, cfg.horizon),
    )


def _inputs(win: np.ndarray, feats: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    last, delta, _past, future = split_window(win, feats, window)
    return np.concatenate([delta, last, future], axis=1).astype(np.float32), last


class FrozenMLPForecaster(Forecaster[MLPSettings]):
    """The incremental MLP with retraining off: fitted once, then never updated (ablation).

    Examples
    --------
    >>> import numpy as np
    >>> from netdrift.engine.forecasting import ForecastConfig, ForecastInput, time_features
    >>> t = np.arange("2024-01-01", "2024-01-02", np.timedelta64(30, "m"), dtype="datetime64[m]")
    >>> u = (0.5 + 0.2 * np.sin(np.arange(t.size) / 8.0))[:, None].repeat(3, 1).astype("float32")
    >>> cfg = ForecastConfig(window=8, steps_per_day=48, epochs=2, train_windows=64)
    >>> m = FrozenMLPForecaster(cfg, seed=1)
    >>> m.fit(u[:40], time_features(t[:40]))
    >>> m.forecast(ForecastInput(40, u[32:40], time_features(t[32:41]))).point.shape
    (1, 3)
    """

    name = "frozen"
    residual_capable = True

    def __init__(self, config: ForecastConfig, settings: MLPSettings | None = None, seed: int = 0,
                 device: str = "cpu") -> None:
        super().__init__(config, settings, seed, device)
        self._net: nn.Module | None = None

    @classmethod
    def default_settings(cls) -> MLPSettings:
        return MLPSettings()

    def _train(
        self, net: nn.Module, sampler: WindowSampler | MixedSampler, epochs: int, label: tuple[object, ...]
    ) -> None:
        cfg, device = self.config, self.device

        def build(idx: np.ndarray) -> tuple[torch.Tensor, ...]:
            win, feats, target = sampler.gather(idx)
            x, last = _inputs(win, feats, cfg.window)
            y = (target - last) * DELTA_SCALE
            return torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)

        def loss_fn(model: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
            x, y = batch
            return torch.mean((model(x) - y) ** 2)

        for p in net.parameters():
            p.requires_grad_(True)
        train_steps(
            net,
            build,
            loss_fn,
            sampler.valid,
            epochs=epochs,
            windows_per_epoch=cfg.train_windows,
            batch_size=cfg.batch_size,
            lr=cfg.lr,
            rng=np.random.default_rng(derive_seed(self.seed, "mlp-batches", *label)),
            on_epoch=self._epoch_done,  # reports only during the initial fit
        )
        net.eval()
        for p in net.parameters():
            p.requires_grad_(False)

    def _fit(self, history: np.ndarray, features: np.ndarray) -> None:
        cfg = self.config
        sampler = WindowSampler(history, features, cfg.window, cfg.horizon, "history")
        with seeded(derive_seed(self.seed, "mlp-fit"), self.device):
            net = _mlp(cfg, self.settings.mlp_hidden, features.shape[1]).to(self.device)
            self._train(net, sampler, cfg.epochs, ("fit",))
        self._net = net

    def _forecast(self, window: np.ndarray, features: np.ndarray) -> np.ndarray:
        assert self._net is not None
        win = np.ascontiguousarray(window.T)
        feats = np.broadcast_to(features, (win.shape[0],) + features.shape)
        x, last = _inputs(win, feats, self.config.window)
        with torch.no_grad():
            out = self._net(torch.from_numpy(x).to(self.device)).cpu().numpy()
        return (last + out / DELTA_SCALE).T

    def _observe(self, value: np.ndarray, features: np.ndarray) -> None:
        return None

    @property
    def network(self) -> nn.Module:
        """The current torch module."""
        self._require_fitted()
        assert self._net is not None
        return self._net


class IncrementalForecaster(FrozenMLPForecaster):  # settings: IncrementalSettings
    """MLP re-fitted every B new samples on the most recent N steps (``il_batch``, ``il_window``).

    A ring buffer holds the last N observed steps, seeded with the tail of the training history.
    After the B-th ``observe`` since the last (re)fit, the model is re-fitted (``il_mode``:
    ``"warm"`` continues from the current weights for ``il_epochs`` passes, ``"refit"``
    re-initialises it, seeded per re-fit, and trains ``epochs`` passes); ``retrains`` and
    ``retrain_steps`` record when. If the last N steps hold no complete training window (all
    missing), the re-fit is skipped and not counted.

    Examples
    --------
    >>> import numpy as np
    >>> from netdrift.engine.forecasting import ForecastConfig, ForecastInput, time_features
    >>> t = np.arange("2024-01-01", "2024-01-02", np.timedelta64(30, "m"), dtype="datetime64[m]")
    >>> u = (0.5 + 0.2 * np.sin(np.arange(t.size) / 8.0))[:, None].repeat(3, 1).astype("float32")
    >>> cfg = ForecastConfig(window=8, steps_per_day=48, epochs=2, train_windows=64)
    >>> m = IncrementalForecaster(cfg, IncrementalSettings(il_window=20, il_batch=4), seed=1)
    >>> m.fit(u[:40], time_features(t[:40]))
    >>> for i in range(40, 48):
    ...     m.observe(u[i], time_features(t[i : i + 1])[0])
    >>> m.retrains, m.retrain_steps
    (2, [4, 8])
    """

    name = "incremental"

    settings: IncrementalSettings

    def __init__(self, config: ForecastConfig, settings: IncrementalSettings | None = None, seed: int = 0,
                 device: str = "cpu") -> None:
        super().__init__(config, settings, seed, device)
        self.retrain_seconds: list[float] = []
        self._since_fit = 0

    @classmethod
    def default_settings(cls) -> IncrementalSettings:
        return IncrementalSettings()

    def _fit(self, history: np.ndarray, features: np.ndarray) -> None:
        super()._fit(history, features)
        n = self.settings.il_window
        self._buf = np.full((n, history.shape[1]), np.nan, dtype=np.float32)
        self._buf_feat = np.zeros((n, features.shape[1]), dtype=np.float32)
        tail = min(n, history.shape[0])
        self._buf[:tail] = history[-tail:]
        self._buf_feat[:tail] = features[-tail:]
        self._buf_len = tail
        self._buf_pos = tail % n  # next slot to write
        self._since_fit = 0
        self.retrain_seconds = []
        self._replay: WindowSampler | None = None
        if self.settings.il_replay > 0:
            self._replay = WindowSampler(np.array(history), np.array(features), self.config.window,
                                         self.config.horizon, "history")

    def _buffer(self) -> tuple[np.ndarray, np.ndarray]:
        """The buffered steps in time order."""
        if self._buf_len < self.settings.il_window:
            return self._buf[: self._buf_len], self._buf_feat[: self._buf_len]
        order = np.r_[self._buf_pos : self._buf_len, 0 : self._buf_pos]
        return self._buf[order], self._buf_feat[order]

    def _observe(self, value: np.ndarray, features: np.ndarray) -> None:
        n = self.settings.il_window
        self._buf[self._buf_pos] = value
        self._buf_feat[self._buf_pos] = features
        self._buf_pos = (self._buf_pos + 1) % n
        self._buf_len = min(self._buf_len + 1, n)
        self._since_fit += 1
        if self._since_fit >= self.settings.il_batch:
            self._since_fit = 0
            self._retrain()

    def _retrain(self) -> None:
        cfg, own = self.config, self.settings
        series, feats = self._buffer()
        try:
            sampler: WindowSampler | MixedSampler = WindowSampler(series, feats, cfg.window, cfg.horizon,
                                                                  "recent samples")
        except InputError:
            return  # nothing complete to learn from: keep the current model
        k = self.retrains + 1
        if self._replay is not None:
            rng = np.random.default_rng(derive_seed(self.seed, "mlp-replay", k))
            sampler = MixedSampler(sampler, self._replay, own.il_replay, rng)  # type: ignore[arg-type]  # still the WindowSampler made above
        start = time.perf_counter()
        with seeded(derive_seed(self.seed, "mlp-retrain", k), self.device):
            if own.il_mode == "refit":
                self._net = _mlp(cfg, own.mlp_hidden, feats.shape[1]).to(self.device)
                self._train(self._net, sampler, cfg.epochs, ("retrain", k))
            else:
                assert self._net is not None
                self._train(self._net, sampler, own.il_epochs, ("retrain", k))
        self.retrain_seconds.append(time.perf_counter() - start)
        self.retrains = k
        self.retrain_steps.append(self.n_observed)
