"""Adaptive learning with a liquid neural network: trained once, then weights frozen.

The network is an ``ncps.torch`` CfC (default) or LTC cell, fully connected or with an AutoNCP
wiring, run over the W-step window of one link direction (inputs per step: utilisation, its
difference to the window's last value, time features), followed by a small head that also sees
the time features of the H future steps. After ``fit`` every parameter has
``requires_grad=False`` and no optimizer exists any more; forecasts run under
``torch.no_grad``. The model follows a drift only through its recurrent state over the window.

The state is rebuilt from zero over each window (as in training) rather than carried from step
to step: carrying it would let the state run far longer than any training sequence.

Two relatives keep it honest:

- ``gru`` (:class:`GRUForecaster`) is the ablation of the liquid cell: the same network, inputs,
  training (same seeds, so the same mini-batches) and frozen weights, with ``torch.nn.GRU`` in
  place of CfC / LTC (``liquid_units`` hidden units; ``liquid_cell`` and ``liquid_wiring`` do not
  apply).
- ``liquid-stateful`` (:class:`StatefulLiquidForecaster`) carries the CfC's state from step to
  step: trained with truncated back-propagation through time on sequences of
  ``stateful_seq_len`` steps (batched over directions and stretches of the training period), it
  is then fed only the newest observation per step, one cell step, with the state it had; a head
  maps the state and the future time features to the H-step forecast. ``fit`` runs the state
  over the whole training period, ``observe`` advances it with the actual. Its weights are
  frozen after ``fit`` as the liquid model's are: it follows a drift through its dynamics only.
"""

from __future__ import annotations

import numpy as np
import torch
from ncps.torch import LTC, CfC
from ncps.wirings import AutoNCP
from torch import nn

from netdrift.engine.errors import InputError
from netdrift.engine.forecasting.base import Forecaster
from netdrift.engine.forecasting.cfc_fast import cfc_forward
from netdrift.engine.forecasting.features import DELTA_SCALE, WindowSampler, fill_forward, split_window
from netdrift.engine.forecasting.settings import ForecastConfig, LiquidSettings, StatefulLiquidSettings
from netdrift.engine.forecasting.torch_utils import derive_seed, seeded, train_steps

__all__ = ["LiquidForecaster", "GRUForecaster", "StatefulLiquidForecaster"]

_CFC_BACKBONE_UNITS = 64  # ncps' default of 128 doubles the fit time for no gain here
_HEAD_UNITS = 32


def _cfc_units(own: LiquidSettings, seed: int) -> tuple[int | AutoNCP, dict]:
    """The CfC's units (or AutoNCP wiring) and its extra arguments."""
    if own.liquid_wiring == "autoncp":
        return AutoNCP(own.liquid_units, max(2, own.liquid_units // 4), seed=seed), {}
    return own.liquid_units, {"backbone_units": _CFC_BACKBONE_UNITS}


def _head(rnn_out: int, cfg: ForecastConfig, n_feat: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(rnn_out + cfg.horizon * n_feat, _HEAD_UNITS),
        nn.Tanh(),
        nn.Linear(_HEAD_UNITS, cfg.horizon),
    )


class _LiquidNet(nn.Module):
    """The recurrent cell over the window, then the head; ``cell`` is "cfc", "ltc" or "gru"."""

    def __init__(self, cfg: ForecastConfig, own: LiquidSettings, n_feat: int, seed: int, cell: str) -> None:
        super().__init__()
        in_size = 2 + n_feat
        if cell == "gru":
            self.rnn: nn.Module = nn.GRU(in_size, own.liquid_units, batch_first=True)
            rnn_out = own.liquid_units
        else:
            units, extra = _cfc_units(own, seed)
            if cell == "cfc":
                self.rnn = CfC(in_size, units, return_sequences=False, **extra)
            else:
                self.rnn = LTC(in_size, units, return_sequences=False, ode_unfolds=own.ltc_unfolds)
            rnn_out = int(self.rnn.output_size)  # type: ignore[arg-type]  # ncps: an int property; torch's Module.__getattr__ stub says Tensor | Module
        self.head = _head(rnn_out, cfg, n_feat)

    def forward(self, seq: torch.Tensor, future: torch.Tensor) -> torch.Tensor:
        if isinstance(self.rnn, nn.GRU):
            _, h_n = self.rnn(seq)
            h = h_n[-1]  # the last layer's state after the last step
        elif isinstance(self.rnn, CfC):
            h, _ = cfc_forward(self.rnn, seq)  # the module's forward, op for op, without its call overhead
        else:
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
    >>> from netdrift.engine.forecasting import ForecastConfig, ForecastInput, time_features
    >>> t = np.arange("2024-01-01", "2024-01-02", np.timedelta64(30, "m"), dtype="datetime64[m]")
    >>> u = (0.5 + 0.2 * np.sin(np.arange(t.size) / 8.0))[:, None].repeat(3, 1).astype("float32")
    >>> cfg = ForecastConfig(window=8, steps_per_day=48, epochs=1, train_windows=64)
    >>> m = LiquidForecaster(cfg, LiquidSettings(liquid_units=8), seed=1)
    >>> m.fit(u[:40], time_features(t[:40]))
    >>> m.forecast(ForecastInput(40, u[32:40], time_features(t[32:41]))).point.shape
    (1, 3)
    """

    name = "liquid"
    residual_capable = True
    #: The recurrent cell; None: ``settings.liquid_cell``.
    cell: str | None = None

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
        cell = self.cell or own.liquid_cell
        epochs = own.ltc_epochs if cell == "ltc" else cfg.epochs
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
            net = _LiquidNet(cfg, own, features.shape[1], derive_seed(self.seed, "autoncp"), cell).to(device)
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
                on_epoch=self._epoch_done,
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
        with torch.inference_mode():  # the same values as under no_grad, with less bookkeeping
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


class GRUForecaster(LiquidForecaster):
    """The liquid model with ``torch.nn.GRU`` in place of its CfC / LTC cell (ablation).

    Same inputs, head, training (same seeds) and frozen weights as ``liquid``; the GRU has
    ``liquid_units`` hidden units (``liquid_cell`` and ``liquid_wiring`` do not apply).
    """

    name = "gru"
    cell = "gru"


# -- the stateful liquid network ------------------------------------------------------------------
class _StatefulNet(nn.Module):
    """A CfC run step by step with its state carried, and a head from its output to H steps."""

    def __init__(self, cfg: ForecastConfig, own: LiquidSettings, n_feat: int, seed: int) -> None:
        super().__init__()
        units, extra = _cfc_units(own, seed)
        self.rnn = CfC(2 + n_feat, units, return_sequences=True, **extra)
        self.head = _head(int(self.rnn.output_size), cfg, n_feat)

    def forward(
        self, seq: torch.Tensor, future: torch.Tensor, h: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, L, 2 + F) steps and (B, L, H * F) future features -> (B, L, H) and the last state."""
        out, h = cfc_forward(self.rnn, seq, h, return_sequences=True)
        return self.head(torch.cat([out, future], dim=2)), h


def _step_inputs(filled: np.ndarray, prev: np.ndarray, feats: np.ndarray, scales: tuple[float, float]) -> np.ndarray:
    """(T, D, 2 + F) cell inputs: utilisation, its change since the step before (each times its
    scale), time features."""
    before = np.concatenate([prev[None, :], filled[:-1]], axis=0)
    delta = (filled - before) * scales[1]
    f = np.broadcast_to(feats[:, None, :], filled.shape + (feats.shape[1],))
    return np.concatenate([filled[:, :, None] * scales[0], delta[:, :, None], f], axis=2).astype(np.float32)


def _targets(
    history: np.ndarray, filled: np.ndarray, features: np.ndarray, horizon: int, delta_scale: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the head at step s learns: (T - H, D, H) targets, their mask, (T - H, H * F) features.

    The targets are the next H steps relative to step s, ``(u[s+k] - u[s]) * delta_scale``
    (k = 1..H; missing ones masked out); the features are those of steps s+1 .. s+H, flattened
    as a ForecastInput's future rows are.
    """
    t = history.shape[0]
    ahead = np.stack([history[1 + k : t - horizon + 1 + k] for k in range(horizon)], axis=2)
    y = (ahead - filled[: t - horizon, :, None]) * delta_scale
    mask = np.isfinite(y)
    future = np.stack([features[1 + k : t - horizon + 1 + k] for k in range(horizon)], axis=1)
    return np.where(mask, y, 0.0).astype(np.float32), mask, future.reshape(t - horizon, -1)


def _scales(filled: np.ndarray) -> tuple[float, float]:
    """Input scales fixed at fit: 1 / RMS of the training utilisation and of its step changes.

    One pair for all directions, computed once and never updated (like the weights). Geant2001's
    five-minute changes are ~2.5e-3, a quarter of what the windowed models' DELTA_SCALE assumes,
    and a cell stepped one observation at a time must see them clearly; measured there
    (H=12, 2 / 4 training days): RMSE 0.0031 / 0.0021 with these scales, 0.0076 / 0.0022 with
    DELTA_SCALE and the raw level.
    """
    level = float(np.sqrt(np.mean(filled.astype(np.float64) ** 2)))
    change = float(np.sqrt(np.mean(np.diff(filled.astype(np.float64), axis=0) ** 2))) if len(filled) > 1 else 0.0
    return 1.0 / max(level, 1e-3), 1.0 / max(change, 1e-4)


class StatefulLiquidForecaster(Forecaster[StatefulLiquidSettings]):
    """A CfC whose state is carried from step to step; weights frozen after ``fit``.

    Each step feeds one observation (utilisation and its change, each times a scale fixed at
    ``fit`` from the training period, and the time features) to the cell with the state it had,
    so a forecast costs a head evaluation and an ``observe`` one cell step. The forecast is
    ``last + head(output, future time features) / change scale``, where ``last`` is the window's
    last value.

    Examples
    --------
    >>> import numpy as np
    >>> from netdrift.engine.forecasting import ForecastConfig, ForecastInput, time_features
    >>> t = np.arange("2024-01-01", "2024-01-02", np.timedelta64(30, "m"), dtype="datetime64[m]")
    >>> u = (0.5 + 0.2 * np.sin(np.arange(t.size) / 8.0))[:, None].repeat(3, 1).astype("float32")
    >>> cfg = ForecastConfig(window=8, steps_per_day=48, epochs=1, train_windows=64)
    >>> m = StatefulLiquidForecaster(cfg, StatefulLiquidSettings(liquid_units=8), seed=1)
    >>> m.fit(u[:40], time_features(t[:40]))
    >>> m.forecast(ForecastInput(40, u[32:40], time_features(t[32:41]))).point.shape
    (1, 3)
    """

    name = "liquid-stateful"
    residual_capable = True
    residual_calibrate = False  # its forecast comes from the carried state, not the window
    replays_from_window = False  # so the interval calibration cannot replay it at earlier origins
    _WARM_CHUNK = 512  # steps per call when running the state over the history

    def __init__(self, config: ForecastConfig, settings: StatefulLiquidSettings | None = None, seed: int = 0,
                 device: str = "cpu") -> None:
        super().__init__(config, settings, seed, device)
        self._net: _StatefulNet | None = None
        self._h: torch.Tensor | None = None
        self._out: torch.Tensor | None = None
        self._prev: np.ndarray | None = None

    @classmethod
    def default_settings(cls) -> StatefulLiquidSettings:
        return StatefulLiquidSettings()

    def _tensor(self, a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(self.device)

    def _fit(self, history: np.ndarray, features: np.ndarray) -> None:
        cfg, own = self.config, self.settings
        t = history.shape[0]
        seq_len = min(own.stateful_seq_len, t - cfg.horizon)
        if seq_len < 2:
            raise InputError("history", f"needs at least horizon + 2 = {cfg.horizon + 2} steps, got {t}")
        filled = fill_forward(history)
        self._scales = _scales(filled)
        x_all = _step_inputs(filled, filled[0], features, self._scales)  # (T, D, in)
        with seeded(derive_seed(self.seed, "stateful-fit"), self.device):
            net = _StatefulNet(cfg, own, features.shape[1], derive_seed(self.seed, "autoncp")).to(self.device)
            self._train(net, x_all, *_targets(history, filled, features, cfg.horizon, self._scales[1]), seq_len)
        # Freeze: from here on only the carried state moves, never a weight.
        net.eval()
        for p in net.parameters():
            p.requires_grad_(False)
        self._net = net
        # Warm the state up over the whole training period, all directions at once.
        seq = np.ascontiguousarray(x_all.transpose(1, 0, 2))  # (D, T, in)
        h = None
        with torch.no_grad():
            for c in range(0, t, self._WARM_CHUNK):
                out, h = cfc_forward(net.rnn, self._tensor(seq[:, c : c + self._WARM_CHUNK]), h, True)
        self._h, self._out, self._prev = h, out[:, -1], filled[-1].copy()

    def _train(self, net: _StatefulNet, x_all: np.ndarray, y_all: np.ndarray, m_all: np.ndarray,
               future: np.ndarray, seq_len: int) -> None:
        """Adam with truncated back-propagation over sequences of ``seq_len`` steps.

        A pass draws about ``train_windows * window`` sequence steps: sequences (a start step
        and a direction) without replacement, in mini-batches of ``batch_size`` sequences. Each
        sequence's first ``min(tbptt, seq_len // 4)`` steps only warm the state up (no loss);
        the rest is cut into chunks of ``stateful_tbptt`` steps, one optimizer step each, the
        state carried (detached) between chunks.
        """
        cfg, own = self.config, self.settings
        d = x_all.shape[1]
        n_pairs = (y_all.shape[0] - seq_len + 1) * d
        n_seq = min(n_pairs, max(1, -(-cfg.train_windows * cfg.window // seq_len)))
        warm, chunk = min(own.stateful_tbptt, seq_len // 4), own.stateful_tbptt
        rng = np.random.default_rng(derive_seed(self.seed, "stateful-batches"))
        net.train()
        opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, foreach=True)
        for epoch in range(cfg.epochs):
            chosen = rng.choice(n_pairs, size=n_seq, replace=False)
            for b in range(0, n_seq, cfg.batch_size):
                ids = chosen[b : b + cfg.batch_size]
                rows = (ids // d)[:, None] + np.arange(seq_len)[None, :]
                cols = (ids % d)[:, None]
                x, f = self._tensor(x_all[rows, cols]), self._tensor(future[rows])
                y, mask = self._tensor(y_all[rows, cols]), self._tensor(m_all[rows, cols])
                h = None
                if warm:
                    with torch.no_grad():
                        _, h = cfc_forward(net.rnn, x[:, :warm], None, True)
                for c in range(warm, seq_len, chunk):
                    pred, h = net(x[:, c : c + chunk], f[:, c : c + chunk], h)
                    msk = mask[:, c : c + chunk]
                    loss = torch.sum((pred - y[:, c : c + chunk]) ** 2 * msk) / msk.sum().clamp(min=1.0)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                    opt.step()
                    h = h.detach()
            self._epoch_done(epoch + 1, cfg.epochs)

    def _forecast(self, window: np.ndarray, features: np.ndarray) -> np.ndarray:
        assert self._net is not None and self._out is not None
        future = self._tensor(features[self.config.window :].reshape(1, -1)).expand(self._out.shape[0], -1)
        with torch.no_grad():
            out = self._net.head(torch.cat([self._out, future], dim=1)).cpu().numpy()
        return (window[-1][:, None] + out / self._scales[1]).T

    def _observe(self, value: np.ndarray, features: np.ndarray) -> None:
        assert self._net is not None and self._prev is not None and self._last_known is not None
        now = self._last_known  # the value, gaps carrying the last one (set by Forecaster.observe)
        x = _step_inputs(now[None, :], self._prev, features[None, :], self._scales).transpose(1, 0, 2)  # (D, 1, in)
        with torch.no_grad():
            out, self._h = cfc_forward(self._net.rnn, self._tensor(x), self._h, True)
        self._out, self._prev = out[:, -1], now.copy()

    @property
    def network(self) -> nn.Module:
        """The trained torch module (its weights never change after fit)."""
        self._require_fitted()
        assert self._net is not None
        return self._net
