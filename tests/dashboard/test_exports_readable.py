"""Exports an operator can open: PNGs of a bounded width with the scenario line wrapped, CSVs whose
comment lines and '#' run labels read back right with pandas (issue 21, item 7)."""

from __future__ import annotations

import io

import altair as alt
import pandas as pd

from netdrift.dashboard.common import export


def test_a_png_with_a_long_scenario_line_stays_under_the_width_cap() -> None:
    chart = alt.Chart(pd.DataFrame({"x": [1, 2], "y": [3, 4]})).mark_line().encode(x="x:Q", y="y:Q").properties(width=560)
    scenario = export.scenario_text("Cogentco", [f"fail Washington \u2013 New York ({i}-{i + 1}) at step {300 + i}"
                                                 for i in range(12)], ["liquid", "incremental", "persistence"], 3, 15)
    assert len(scenario) > 600  # one line of it made a 4,280 px image
    png = export.chart_bytes(chart, "png", "Rolling mean absolute error (Mbit/s) over time", scenario)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(png[16:20], "big")
    assert width <= export.MAX_PNG_WIDTH
    assert width >= 2 * 560  # the chart itself at scale 2, not shrunk
    spec = export.with_title(chart, "t", scenario)
    assert all(len(line) <= export.SUBTITLE_CHARS for line in spec["title"]["subtitle"])
    assert " ".join(spec["title"]["subtitle"]) == " ".join(scenario.split())


def test_a_very_wide_chart_is_drawn_at_a_smaller_scale() -> None:
    chart = alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_point().encode(x="x:Q").properties(width=1800)
    png = export.chart_to_png(chart)
    assert int.from_bytes(png[16:20], "big") <= export.MAX_PNG_WIDTH


def test_csv_comment_lines_and_hash_labels_read_back_with_pandas() -> None:
    frame = pd.DataFrame({"run": ["#4 Geant2012, fail AT-DE@333, seed 1", "#5 Cogentco"],
                          "model": ["liquid", "persistence"], "rmse_mbps": [12.5, None]})
    data = export.dataframe_to_csv(frame, "RMSE, per run", "Topology X; failures: fail A, B; models: liquid, mlp")
    lines = data.decode("utf-8").splitlines()
    assert lines[0] == "# RMSE; per run" and "," not in lines[1]
    back = pd.read_csv(io.BytesIO(data), comment="#")
    assert list(back.columns) == ["run", "model", "rmse_mbps"]
    assert back["run"].tolist() == frame["run"].tolist() and back["model"].tolist() == ["liquid", "persistence"]
    assert back["rmse_mbps"].iloc[0] == 12.5 and pd.isna(back["rmse_mbps"].iloc[1])
    # Without comment handling, skipping the two header lines gives the same table (what a spreadsheet shows).
    plain = pd.read_csv(io.BytesIO(data), skiprows=2)
    assert plain.equals(back)
