"""Adaptive learning with a liquid neural network: trained once, then weights frozen.

The network is an ``ncps.torch`` CfC (default) or LTC cell, fully connected or with an AutoNCP
wiring, run over the W-step window of one link direction (inputs per step: utilisation, its
difference to the window's last value, time features), followed by a small head that also sees
the time features of the H future steps. After ``fit`` every parameter has
``requires_grad=False`` and no optimizer exists any more; forecasts run under
``torch.no_grad``. The model follows a drift only through its recurrent state over the window.

The state is rebuilt from zero over each window (as in training) rather than carried from step
to step: carrying it would let the state run far longer than any training sequence.
"""

from __future__ import annotations

import numpy as np
import torch
from ncps.torch import CfC, LTC
from ncps.wirings import AutoNCP
from torch import nn

from engine.forecasting.base import Forecaster
from engine.forecasting.settings import ForecastConfig, LiquidSettings
from engine.forecasting.features import DELTA_SCALE, WindowSampler, split_window
from engine.forecasting.torch_utils import derive_seed, seeded, train_steps

__all__ = ["LiquidForecaster"]

_CFC_BACKBONE_UNITS = 64  # ncps' default of 128 doubles the fit time for no gain here
_HEAD_UNITS = 32


class _LiquidNet(nn.Module):
    def __init__(self, cfg: ForecastConfig, own: LiquidSettings, n_feat: int, seed: int) -> None:
        super().__init__()
        in_size = 2 + n_feat
        units: int | AutoNCP = own.liquid_units
        if own.liquid_wiring == "autoncp":
            units = AutoNCP(own.liquid_units, max(2, own.liquid_units // 4), seed=seed)
        if own.liquid_cell == "cfc":
            extra = {} if isinstance(units, AutoNCP) else {"backbone_units": _CFC_BACKBONE_UNITS}
            self.rnn: nn.Module = CfC(in_size, units, return_sequences=False, **extra)
        else:
            self.rnn = LTC(in_size, units, return_sequences=False, ode_unfolds=own.ltc_unfolds)
        rnn_out = int(self.rnn.output_size)
        self.head = nn.Sequential(
            nn.Linear(rnn_out + cfg.horizon * n_feat, _HEAD_UNITS),
            nn.Tanh(),
            nn.Linear(_HEAD_UNITS, cfg.horizon),
        )

    def forward(self, seq: torch.Tensor, future: torch.Tensor) -> torch.Tensor:
        h, _ = self.rnn(seq)
        return self.head(torch.cat([h, future], dim=1))


def _inputs(
    win: np.ndarray, feats: np.ndarray, window: int, device: str
) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """Per-step sequence (n, W, 2 + F), future features (n, H * F), and the anchor (n, 1)."""
    last, delta, past, future = split_window(win, feats, window)
    seq = np.concatenate([win[:, :, None], delta[:, :, None], past], axis=2)

    def to(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(device)

    return to(seq), to(future), last


class LiquidForecaster(Forecaster[LiquidSettings]):
    """Liquid neural network (CfC / LTC), trained once, weights frozen afterwards.

    Examples
    --------
    >>> import numpy as np
    >>> from engine.forecasting import ForecastConfig, ForecastInput, time_features
    >>> t = np.arange("2024-01-01", "2024-01-02", np.timedelta64(30, "m"), dtype="datetime64[m]")
    >>> u = (0.5 + 0.2 * np.sin(np.arange(t.size) / 8.0))[:, None].repeat(3, 1).astype("float32")
    >>> cfg = ForecastConfig(window=8, steps_per_day=48, epochs=1, train_windows=64)
    >>> m = LiquidForecaster(cfg, LiquidSettings(liquid_units=8), seed=1)
    >>> m.fit(u[:40], time_features(t[:40]))
    >>> m.forecast(ForecastInput(40, u[32:40], time_features(t[32:41]))).point.shape
    (1, 3)
    """

    name = "liquid"

    def __init__(self, config: ForecastConfig, settings: LiquidSettings | None = None, seed: int = 0,
                 device: str = "cpu") -> None:
        super().__init__(config, settings, seed, device)
        self._net: _LiquidNet | None = None

    @classmethod
    def default_settings(cls) -> LiquidSettings:
        return LiquidSettings()

    def _fit(self, history: np.ndarray, features: np.ndarray) -> None:
        cfg = self.config
        sampler = WindowSampler(history, features, cfg.window, cfg.horizon, "history")
        own = self.settings
        epochs = cfg.epochs if own.liquid_cell == "cfc" else own.ltc_epochs
        device = self.device

        def build(idx: np.ndarray) -> tuple[torch.Tensor, ...]:
            win, feats, target = sampler.gather(idx)
            seq, future, last = _inputs(win, feats, cfg.window, device)
            y = torch.from_numpy((target - last) * DELTA_SCALE).to(device)
            return seq, future, y

        def loss_fn(net: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
            seq, future, y = batch
            return torch.mean((net(seq, future) - y) ** 2)

        with seeded(derive_seed(self.seed, "liquid-fit"), device):
            net = _LiquidNet(cfg, own, features.shape[1], derive_seed(self.seed, "autoncp")).to(device)
            train_steps(
                net,
                build,
                loss_fn,
                sampler.valid,
                epochs=epochs,
                windows_per_epoch=cfg.train_windows,
                batch_size=cfg.batch_size,
                lr=cfg.lr,
                rng=np.random.default_rng(derive_seed(self.seed, "liquid-batches")),
            )
        # Freeze: from here on only the recurrent state moves, never a weight.
        net.eval()
        for p in net.parameters():
            p.requires_grad_(False)
        self._net = net

    def _forecast(self, window: np.ndarray, features: np.ndarray) -> np.ndarray:
        assert self._net is not None
        win = np.ascontiguousarray(window.T)  # (D, W): one sequence per direction
        feats = np.broadcast_to(features, (win.shape[0],) + features.shape)
        seq, future, last = _inputs(win, feats, self.config.window, self.device)
        with torch.no_grad():
            out = self._net(seq, future).cpu().numpy()
        return (last + out / DELTA_SCALE).T

    def _observe(self, value: np.ndarray, features: np.ndarray) -> None:
        # Nothing to learn: the next window carries the new value into the state.
        return None

    @property
    def network(self) -> nn.Module:
        """The trained torch module (read-only use; its weights never change after fit)."""
        self._require_fitted()
        assert self._net is not None
        return self._net
