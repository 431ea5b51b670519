"""Charts say their units; exports are real PNG/SVG/PDF/CSV; file names cannot escape."""

from __future__ import annotations

import io
import math
import re
import struct
import zlib

import numpy as np
import pandas as pd
import pytest

from netdrift.dashboard.common import charts, export

SAFE = re.compile(r"^[A-Za-z0-9._-]+$")


def errors_frame() -> pd.DataFrame:
    rows = []
    for run in ("#1 a", "#2 b"):
        for model in ("liquid", "incremental"):
            for k in range(-5, 6):
                rows.append({"run": run, "model": model, "step": 100 + k, "step_rel": float(k),
                             "rolling_mae_mbps": abs(k) + 1.0, "rolling_mape_pct": 2.0 * abs(k)})
    return pd.DataFrame(rows)


def drift_frame() -> pd.DataFrame:
    return pd.DataFrame({"run": ["#1", "#1"], "model": ["liquid", "incremental"], "direction": [0, 0],
                         "direction_name": ["a-b: a->b"] * 2, "abs_drift_pct": [40.0, 40.0],
                         "error_mbps": [3.0, 5.0]})


def metrics_frame() -> pd.DataFrame:
    return pd.DataFrame({"run": ["#1", "#1"], "model": ["liquid", "mlp"], "period": ["post", "post"],
                         "rmse_mbps": [2.0, np.nan], "mae_mbps": [1.0, 1.5], "mape_pct": [3.0, 4.0],
                         "ttc_steps": ["censored", None]})


def axis_titles(spec: object) -> list[str]:
    """Every x/y encoding title anywhere in a Vega-Lite spec."""
    found: list[str] = []
    if isinstance(spec, dict):
        enc = spec.get("encoding")
        if isinstance(enc, dict):
            for ch in ("x", "y"):
                if isinstance(enc.get(ch), dict) and "title" in enc[ch]:
                    found.append(enc[ch]["title"])
        for v in spec.values():
            found += axis_titles(v)
    elif isinstance(spec, list):
        for v in spec:
            found += axis_titles(v)
    return found


def png_size_and_pixels(data: bytes) -> tuple[int, int]:
    """Parse the PNG by hand: check chunk CRCs, read IHDR, inflate IDAT to the expected size."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) == crc
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert ihdr is not None
    width, height, depth, color = ihdr[:4]
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color]
    raw = zlib.decompress(idat)
    assert len(raw) == height * (1 + width * channels * depth // 8)
    return width, height


# --- charts ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", list(charts.ERROR_VALUES))
@pytest.mark.parametrize("facet", [True, False])
def test_error_chart_axes_name_units(value: str, facet: bool) -> None:
    spec = charts.error_over_time_chart(errors_frame(), value, facet_by_run=facet, step_minutes=5).to_dict()
    titles = axis_titles(spec)
    assert "Steps relative to the first failure (steps of 5 min)" in titles
    assert any(t.endswith("(Mbit/s)") or t.endswith("(%)") for t in titles)
    assert all(re.search(r"\((Mbit/s|%|steps[^)]*)\)$", t) for t in titles), titles


def _rule_colours(spec: dict) -> list[str]:
    """The colours of every rule mark in a (possibly faceted, layered) Vega-Lite spec."""
    found = []
    if isinstance(spec, dict):
        mark = spec.get("mark")
        if isinstance(mark, dict) and mark.get("type") == "rule":
            found.append(str(mark.get("color", "")).lower())
        for v in spec.values():
            found += _rule_colours(v)
    elif isinstance(spec, list):
        for v in spec:
            found += _rule_colours(v)
    return found


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def test_compare_charts_mark_the_failure_in_no_models_colour() -> None:
    """Issue 13: no model drawn in the failure's colour; 'not alike' = RGB distance over 100
    (the red rule it replaced was 69 from the incremental model's red)."""
    from netdrift.engine.forecasting.catalogue import CATALOGUE

    models = [m.colour for m in CATALOGUE.values()]
    for chart in (charts.error_over_time_chart(errors_frame()), charts.coverage_over_time_chart(coverage_frame())):
        rules = [c for c in _rule_colours(chart.to_dict()) if c.startswith("#")]
        assert rules
        failure = rules[0]  # the failure's rule comes first in both charts
        nearest = min(math.dist(_rgb(failure), _rgb(m)) for m in models)
        assert nearest > 100, (failure, nearest)


def coverage_frame() -> pd.DataFrame:
    rows = []
    for run, nominal in (("#1 a", 90.0), ("#2 b", 80.0)):
        for model in ("liquid", "routed-liquid"):
            for k in range(-5, 6):
                rows.append({"run": run, "model": model, "step": 100 + k, "step_rel": float(k),
                             "rolling_coverage_pct": 90.0 - (20.0 if k >= 0 else 0.0), "nominal_pct": nominal})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("facet", [True, False])
def test_coverage_chart_names_units_marks_nominal_and_exports(facet: bool) -> None:
    chart = charts.coverage_over_time_chart(coverage_frame(), facet_by_run=facet, step_minutes=15)
    spec = chart.to_dict()
    titles = axis_titles(spec)
    assert "Steps relative to the first failure (steps of 15 min)" in titles
    assert "Rolling interval coverage (%)" in titles
    svg = export.chart_bytes(chart, "svg").decode()
    # one dashed nominal rule per run (at its own level), whatever the number of points
    assert svg.count("Run: #1 a; Nominal coverage (%): 90\"") == 1
    assert svg.count("Run: #2 b; Nominal coverage (%): 80\"") == 1
    assert export.chart_bytes(chart, "png")[:4] == b"\x89PNG" and export.chart_bytes(chart, "pdf").startswith(b"%PDF")


def test_scatter_and_bar_axes_name_units() -> None:
    for chart in (charts.drift_scatter_chart(drift_frame()), charts.metrics_bar_chart(metrics_frame())):
        titles = [t for t in axis_titles(chart.to_dict()) if t != "Model"]
        assert titles and all(re.search(r"\((Mbit/s|%[^)]*)\)$", t) for t in titles), titles


def test_many_rows_are_inlined_not_refused() -> None:
    n = 12_000  # above Altair's default 5,000-row guard
    df = pd.DataFrame({"run": "#1", "model": "m", "step": np.arange(n), "step_rel": np.arange(n) - 10.0,
                       "rolling_mae_mbps": 1.0, "rolling_mape_pct": 1.0})
    spec = charts.error_over_time_chart(df).to_dict()
    rows = spec["data"].get("values") or spec["datasets"][spec["data"]["name"]]
    assert len(rows) == n


def test_chart_rejects_unknown_value() -> None:
    with pytest.raises(ValueError):
        charts.error_over_time_chart(errors_frame(), "bogus")


# --- exports --------------------------------------------------------------------------------------
def test_png_scale_two_decodes() -> None:
    chart = charts.drift_scatter_chart(drift_frame(), width=300, height=200)
    width, height = png_size_and_pixels(export.chart_to_png(chart))
    assert width >= 600 and height >= 400
    w1, _ = png_size_and_pixels(export.chart_to_png(chart, scale=1))
    assert width == pytest.approx(2 * w1, abs=2)


def test_faceted_layered_chart_exports_in_every_format() -> None:
    chart = charts.error_over_time_chart(errors_frame())
    assert export.chart_bytes(chart, "png")[:4] == b"\x89PNG"
    svg = export.chart_bytes(chart, "svg")
    assert svg.lstrip().startswith(b"<svg")
    assert b"Steps relative to the first failure" in svg  # text stays text
    assert export.chart_bytes(chart, "pdf").startswith(b"%PDF")
    with pytest.raises(ValueError):
        export.chart_bytes(chart, "gif")  # type: ignore[arg-type]


def test_svg_and_pdf_of_bar_chart() -> None:
    chart = charts.metrics_bar_chart(metrics_frame())
    assert export.chart_to_svg(chart).decode("utf-8").startswith("<svg")
    assert export.chart_to_pdf(chart)[:4] == b"%PDF"


def test_csv_round_trips() -> None:
    df = metrics_frame()
    back = pd.read_csv(io.BytesIO(export.dataframe_to_csv(df)))
    assert back.columns.tolist() == df.columns.tolist()
    assert back["rmse_mbps"].iloc[0] == 2.0 and np.isnan(back["rmse_mbps"].iloc[1])
    assert back["ttc_steps"].iloc[0] == "censored" and pd.isna(back["ttc_steps"].iloc[1])
    pd.testing.assert_frame_equal(back.drop(columns="ttc_steps"), df.drop(columns="ttc_steps"))


# --- file names -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", "..", ".", "", "   ", "/abs/path", "C:\\Windows\\system32", "a/../../b",
     "Zürich → Genève ✓", "日本語", "x" * 1000, "CON", "-rf", ".hidden", "a\x00b\nc", "ok.name-1_2"],
)
def test_sanitize_filename_is_safe(name: str) -> None:
    out = export.sanitize_filename(name, extension="png")
    assert SAFE.match(out), out
    assert "/" not in out and "\\" not in out and ".." not in out
    assert not out.startswith((".", "-")) and out.endswith(".png")
    assert 5 <= len(out) <= 100
    assert out.split(".")[0].upper() not in {"CON", "PRN", "AUX", "NUL"}


def test_sanitize_filename_examples() -> None:
    assert export.sanitize_filename("../../etc/passwd") == "etc_passwd"
    assert export.sanitize_filename("", extension="csv") == "netdrift.csv"
    assert export.sanitize_filename("日本語", extension="csv") == "netdrift.csv"
    assert export.sanitize_filename("Zürich Genève", extension=".pdf") == "Zurich_Geneve.pdf"
    assert export.sanitize_filename("report.PNG", extension="png") == "report.png"
    assert len(export.sanitize_filename("y" * 500, extension="svg", max_length=40)) == 40


def test_live_exports_carry_a_title_and_the_scenario() -> None:
    import io

    from netdrift.dashboard.live.callbacks import toggle_element
    from netdrift.dashboard.live.chart import chart_export
    from netdrift.engine.experiments.scenario import LiveScenario
    from netdrift.engine.experiments.spec import ScenarioSpec

    live = LiveScenario.from_spec(ScenarioSpec(topology="abilene", steps=60, train_steps=30, step_minutes=15,
                                               models=("persistence", "seasonal"), seed=1))
    live.train()
    live.advance(3)
    assert toggle_element(live, "0-1").ok
    live.advance(4)
    scenario = ("Topology Abilene; failures: fail New York – Chicago (0-1) at step 33; "
                "models: persistence, seasonal; horizon 1 step (15 min)")
    csv = chart_export(live, 0, "csv").decode()
    lines = csv.splitlines()
    # Comment lines keep to one spreadsheet cell: their commas are semicolons.
    assert lines[0] == "# Load and forecasts; New York → Chicago (step 37)"
    assert lines[1] == "# " + scenario.replace(",", ";")
    frame = pd.read_csv(io.StringIO(csv), comment="#")
    # The chart (and so its CSV) reaches 192 steps back: here from step 0.
    assert frame["step"].tolist() == list(range(37)) and "persistence_mbps" in frame.columns
    svg = chart_export(live, 0, "svg").decode()
    assert "Load and forecasts, New York → Chicago (step 37)" in svg
    assert "fail New York – Chicago (0-1) at step 33" in svg
    assert chart_export(live, 0, "png")[:4] == b"\x89PNG"
