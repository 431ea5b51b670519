"""The one list of models: names, labels, colours, settings classes, and the factory.

Everything that lists models (the CLI's ``--models``, the dashboard's choices and colours, the
scenario's defaults, the history) reads it from here. Importing this module does not import
torch: a model's class is imported when it is first built.

Examples
--------
>>> DEFAULT_MODELS
('liquid', 'incremental', 'persistence', 'seasonal', 'frozen', 'online-ar', 'routed-persistence', 'ensemble')
>>> ROUTED_MODELS
('routed-liquid', 'routed-incremental', 'routed-persistence', 'routed-seasonal', 'routed-frozen')
>>> model_info("incremental").settings_class.__name__
'IncrementalSettings'
>>> model_info("arima")
Traceback (most recent call last):
...
netdrift.engine.errors.InputError: model 'arima': unknown model; valid: liquid, incremental, persistence, seasonal, frozen, routed-liquid, routed-incremental, routed-persistence, routed-seasonal, routed-frozen, online-ar, gru, liquid-stateful, hybrid, ensemble
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING

from netdrift.engine.errors import InputError
from netdrift.engine.forecasting.settings import (
    ForecastConfig,
    ForecastSettings,
    HybridSettings,
    IncrementalSettings,
    LiquidSettings,
    MLPSettings,
    ModelSettings,
    NoSettings,
    OnlineARSettings,
    StatefulLiquidSettings,
)

if TYPE_CHECKING:
    from netdrift.engine.forecasting.base import Forecaster

__all__ = ["ModelInfo", "CATALOGUE", "MODEL_NAMES", "DEFAULT_MODELS", "ROUTED_MODELS", "ROUTED_DEFAULT_MAX_PAIRS", "default_models", "model_info", "make_forecaster"]


@dataclass(frozen=True)
class ModelInfo:
    """One model kind: how it is named, shown, configured and built."""

    name: str
    label: str
    colour: str
    settings_class: type[ModelSettings]
    class_path: str  # "module:Class", imported on first use (keeps torch out of light imports)
    summary: str
    learnt: bool
    space: str = "links"  # "demands": forecasts node-pair demands and routes them (failure-aware)

    def forecaster_class(self) -> type["Forecaster"]:
        module, cls = self.class_path.split(":")
        return getattr(import_module(module), cls)


CATALOGUE: dict[str, ModelInfo] = {
    m.name: m
    for m in (
        ModelInfo("liquid", "Liquid (CfC/LTC)", "#4e79a7", LiquidSettings,
                  "netdrift.engine.forecasting.liquid:LiquidForecaster",
                  "liquid neural network trained once; adapts only through its state", True),
        ModelInfo("incremental", "Incremental MLP", "#e15759", IncrementalSettings,
                  "netdrift.engine.forecasting.incremental:IncrementalForecaster",
                  "MLP re-fitted every B new samples on the last N", True),
        ModelInfo("persistence", "Persistence", "#59a14f", NoSettings,
                  "netdrift.engine.forecasting.baselines:PersistenceForecaster",
                  "the last observed value", False),
        ModelInfo("seasonal", "Seasonal naive", "#9c755f", NoSettings,
                  "netdrift.engine.forecasting.baselines:SeasonalForecaster",
                  "the value one day earlier", False),
        ModelInfo("frozen", "Frozen MLP", "#b07aa1", MLPSettings,
                  "netdrift.engine.forecasting.incremental:FrozenMLPForecaster",
                  "the incremental MLP never re-fitted (ablation)", True),
        ModelInfo("routed-liquid", "Routed liquid", "#1c3d6b", LiquidSettings,
                  "netdrift.engine.forecasting.routed:RoutedLiquid",
                  "liquid network on origin totals, fanned out to pairs and routed as the network is now",
                  True, "demands"),
        ModelInfo("routed-incremental", "Routed incremental", "#8b1e1e", IncrementalSettings,
                  "netdrift.engine.forecasting.routed:RoutedIncremental",
                  "incremental MLP on origin totals, fanned out and routed", True, "demands"),
        ModelInfo("routed-persistence", "Routed persistence", "#2e6b28", NoSettings,
                  "netdrift.engine.forecasting.routed:RoutedPersistence",
                  "the last demand matrix routed as the network is now", False, "demands"),
        ModelInfo("routed-seasonal", "Routed seasonal", "#5c4033", NoSettings,
                  "netdrift.engine.forecasting.routed:RoutedSeasonal",
                  "the demand matrix a day earlier routed as the network is now", False, "demands"),
        ModelInfo("routed-frozen", "Routed frozen MLP", "#6d3b63", MLPSettings,
                  "netdrift.engine.forecasting.routed:RoutedFrozen",
                  "frozen MLP on origin totals, fanned out and routed", True, "demands"),
        ModelInfo("online-ar", "Online AR (RLS)", "#b6992d", OnlineARSettings,
                  "netdrift.engine.forecasting.online_ar:OnlineARForecaster",
                  "AR(p) on first differences, fitted online by recursive least squares with forgetting",
                  False),
        ModelInfo("gru", "GRU (liquid ablation)", "#d37295", LiquidSettings,
                  "netdrift.engine.forecasting.liquid:GRUForecaster",
                  "the liquid network with a GRU in place of its cell, trained once, weights frozen", True),
        ModelInfo("liquid-stateful", "Liquid, stateful (CfC)", "#a0cbe8", StatefulLiquidSettings,
                  "netdrift.engine.forecasting.liquid:StatefulLiquidForecaster",
                  "CfC trained on long sequences, its state carried step to step; weights frozen", True),
        ModelInfo("hybrid", "Hybrid (liquid + incremental)", "#17becf", HybridSettings,
                  "netdrift.engine.forecasting.hybrid:HybridForecaster",
                  "liquid and incremental combined per direction by recent errors, drift detection and failures",
                  True),
        ModelInfo("ensemble", "Ensemble (recommended)", "#ff7f0e", NoSettings,
                  "netdrift.engine.forecasting.ensemble:EnsembleForecaster",
                  "the run's other models weighted per direction and horizon by their recent losses (Hedge); "
                  "failure-aware", False),
    )
}
MODEL_NAMES: tuple[str, ...] = tuple(CATALOGUE)
#: What a run and the Live page forecast with unless told otherwise: the paper's link-level models,
#: online-ar, the cheapest routed model (routed-persistence: its forecast moves
#: with a known re-routing, which no link-level model's does) and the ensemble of them all, the
#: recommended forecast. Without a routed member the ensemble cannot do better than the link-level
#: models at a failure (measured in docs/forecasting.md); online-ar is its best member at long
#: horizons. ``netdrift paper`` keeps the paper's own list (experiments/paper.py).
DEFAULT_MODELS: tuple[str, ...] = ("liquid", "incremental", "persistence", "seasonal", "frozen", "online-ar",
                                   "routed-persistence", "ensemble")
#: Above this many node pairs the default list leaves its routed member out when the run observes
#: link loads: a routed model then deduces every pair's demand from the loads at every step
#: (tomogravity), measured on this project's 2-core CPU at 1 ms a step on GEANT 2012 (1,560 pairs),
#: 0.29 s on Cogentco (38,612: +3.4 min to start the Live page's quick preset) and 2.7 s on Kdl
#: (567,762: about half an hour). Asked for by name, it runs whatever the size.
ROUTED_DEFAULT_MAX_PAIRS = 10_000


def default_models(n_nodes: int, observe: str = "links") -> tuple[str, ...]:
    """:data:`DEFAULT_MODELS` for a topology of ``n_nodes`` nodes: without the routed members when
    links are observed and the node pairs exceed :data:`ROUTED_DEFAULT_MAX_PAIRS`.

    >>> "routed-persistence" in default_models(40), "routed-persistence" in default_models(197)
    (True, False)
    >>> "routed-persistence" in default_models(197, observe="demands")
    True
    """
    if observe != "links" or n_nodes * (n_nodes - 1) <= ROUTED_DEFAULT_MAX_PAIRS:
        return DEFAULT_MODELS
    return tuple(m for m in DEFAULT_MODELS if CATALOGUE[m].space != "demands")


#: The failure-aware models: forecast demands, route them through the network as it is.
ROUTED_MODELS: tuple[str, ...] = tuple(n for n, m in CATALOGUE.items() if m.space == "demands")


def model_info(name: str) -> ModelInfo:
    """The catalogue entry of ``name`` (InputError naming the valid ones when unknown)."""
    info = CATALOGUE.get(name) if isinstance(name, str) else None
    if info is None:
        raise InputError(f"model {name!r}", f"unknown model; valid: {', '.join(MODEL_NAMES)}")
    return info


def make_forecaster(name: str, settings: ForecastSettings | ForecastConfig | None = None, seed: int = 0,
                    device: str = "cpu") -> "Forecaster":
    """Build an unfitted forecaster by model name.

    Parameters
    ----------
    name : str
        One of ``MODEL_NAMES``.
    settings : ForecastSettings or ForecastConfig
        The scenario's settings (the model takes the shared ones and its own kind's); a bare
        ForecastConfig means default per-model settings.
    seed : int
        Seeds every random choice of the model (initialisation, mini-batches, re-fits).
    device : str
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"`` (resolved here).

    Notes
    -----
    Same name, settings, seed and data give bit-identical forecasts on CPU (within one torch
    build and thread count); on CUDA they are close but not guaranteed identical.

    Examples
    --------
    >>> make_forecaster("persistence", ForecastConfig(), seed=0).name
    'persistence'
    """
    info = model_info(name)
    if settings is None:
        settings = ForecastSettings()
    elif isinstance(settings, ForecastConfig):
        settings = ForecastSettings(common=settings)
    elif not isinstance(settings, ForecastSettings):
        raise InputError("settings", f"expected ForecastSettings, got {type(settings).__name__}")
    own = settings.for_class(info.settings_class)
    own.check(settings.common)
    from netdrift.engine.forecasting.torch_utils import resolve_device

    return info.forecaster_class()(settings.common, own, seed=int(seed), device=resolve_device(device))
