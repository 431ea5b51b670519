"""One settings schema: every model setting named, bounded and defaulted once, and the CLI
options, the error-to-flag map and the dashboard form made from it."""

from __future__ import annotations

import pytest

from netdrift.cli.errors import FLAGS
from netdrift.cli.main import build_parser, main
from netdrift.dashboard.common.settings_logic import FIELD_LABELS
from netdrift.engine.forecasting.settings import ForecastSettings
from netdrift.engine.forecasting.settings_schema import SETTINGS_SCHEMA, cli_fields, form_fields, setting


def test_every_setting_of_the_engine_has_exactly_one_schema_field() -> None:
    names = [f.name for f in SETTINGS_SCHEMA]
    assert sorted(names) == sorted(ForecastSettings.flat_names()) and len(set(names)) == len(names)
    for f in SETTINGS_SCHEMA:  # the default is the dataclass's, inside the field's own bounds
        assert f.default == ForecastSettings().to_flat()[f.name]
        if f.kind in (int, float):
            assert f.minimum <= f.default <= f.maximum, f.name


def test_run_offers_every_cli_field_with_its_bounds_and_the_engine_default() -> None:
    run = next(a for a in build_parser()._subparsers._group_actions[0].choices.items() if a[0] == "run")[1]
    actions = {a.dest: a for a in run._actions}
    for f in cli_fields():
        a = actions[f.name]
        assert f.flag in a.option_strings and f.bounds_text() in a.help and "default" in a.help
        assert FLAGS[f.name] == f.flag
    assert {f.name for f in form_fields()} == set(FIELD_LABELS)


@pytest.mark.parametrize("name", [f.name for f in cli_fields() if f.kind in (int, float)])
def test_a_value_past_a_bound_is_one_line_naming_the_flag(name, capsys) -> None:
    f = setting(name)
    with pytest.raises(SystemExit) as done:
        main(["run", "--topology", "abilene", "--steps", "100", "--train-steps", "50", f.flag, str(f.maximum * 10)])
    err = capsys.readouterr().err.strip()
    assert done.value.code == 2 and err.count("\n") == 0
    assert err.startswith(f"netdrift: error: argument {f.flag}: must be a") and f.bounds_text() in err
