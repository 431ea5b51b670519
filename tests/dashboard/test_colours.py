"""Each model keeps one colour in every chart, distinct from the actual and from the others."""

from __future__ import annotations

import pandas as pd

from netdrift.dashboard.common import charts
from netdrift.dashboard.map.colours import ACTUAL, colour_range
from netdrift.engine.experiments.paper import paper_models


def _scale_of(spec: dict) -> dict[str, str]:
    enc = spec.get("spec", spec)
    enc = enc["layer"][0]["encoding"] if "layer" in enc else enc["encoding"]
    scale = enc["color"]["scale"]
    return dict(zip(scale["domain"], scale["range"]))


def test_every_series_of_a_paper_run_has_its_own_colour() -> None:
    names = ["actual", *(m.label for m in paper_models((12, 48, 144)))]
    colours = colour_range(names)
    assert len(set(colours)) == len(names)
    assert colours[0] == ACTUAL


def test_unknown_models_get_colours_not_taken_by_known_ones() -> None:
    colours = colour_range(["liquid", "incremental", "my-arima", "my-prophet"])
    assert len(set(colours)) == 4


def test_a_model_has_the_same_colour_whatever_else_is_shown() -> None:
    def frame(models: list[str]) -> pd.DataFrame:
        return pd.DataFrame({"run": "#1", "model": models, "step": 1, "step_rel": 0.0,
                             "rolling_mae_mbps": 1.0, "rolling_mape_pct": 1.0})

    alone = _scale_of(charts.error_over_time_chart(frame(["liquid"])).to_dict())
    crowded = _scale_of(charts.error_over_time_chart(frame(["seasonal", "incremental", "liquid"])).to_dict())
    assert alone["liquid"] == crowded["liquid"]
    assert crowded["liquid"] != crowded["incremental"]
    live = colour_range(["actual", "persistence", "liquid"])
    assert live[2] == crowded["liquid"]


def test_model_colours_are_the_catalogues() -> None:
    from netdrift.engine.forecasting.catalogue import CATALOGUE

    assert colour_range(list(CATALOGUE)) == [m.colour for m in CATALOGUE.values()]
    # A variant takes its model's colour unless that model is shown too.
    assert colour_range(["liquid-cfc"]) == [CATALOGUE["liquid"].colour]
    assert len(set(colour_range(["liquid", "liquid-cfc"]))) == 2
