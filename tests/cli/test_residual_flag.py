"""`--residual on|off`: run defaults to residual learning, paper to the paper's original form (issue 19)."""

from __future__ import annotations

import argparse

import pytest

from netdrift.cli.common import add_forecast_options, forecast_overrides, forecast_settings
from netdrift.engine.errors import InputError
from netdrift.engine.forecasting.settings import ForecastConfig, ForecastSettings


def parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_forecast_options(p)
    return p.parse_args(list(argv))


def test_the_flag_maps_to_the_setting():
    assert forecast_settings(forecast_overrides(parse("--residual", "off"))).common.residual is False
    assert forecast_settings(forecast_overrides(parse("--residual", "on"))).common.residual is True
    assert "residual" not in forecast_overrides(parse())  # unset: the command's own default
    assert ForecastSettings().common.residual is True  # run's default


def test_a_non_boolean_residual_is_refused():
    with pytest.raises(InputError, match="residual"):
        ForecastConfig(residual="yes")  # type: ignore[arg-type]

