"""The row of export buttons under a chart: PNG (scale 2) / SVG / PDF of the chart and the CSV
behind it, each carrying a title and the scenario it comes from (see :mod:`netdrift.dashboard.common.export`)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from netdrift.dashboard.common import export

__all__ = ["export_buttons"]


def export_buttons(chart: Any, frame: pd.DataFrame, stem: str, key: str, title: str | None = None,
                   scenario: str | None = None) -> None:
    """Four download buttons; images are rendered only on click.

    A click does not rerun the page (``on_click="ignore"``): a rerun would redraw every chart while
    the export renders, and would replace the button's pending download with a new one.
    """
    cols = st.columns(4)
    for col, fmt in zip(cols[:3], export.FORMATS):
        col.download_button(
            f"{fmt.upper()}", data=lambda fmt=fmt: export.chart_bytes(chart, fmt, title, scenario),  # type: ignore[misc]  # the default binds this button's format
            file_name=export.sanitize_filename(stem, extension=fmt), mime=export.MIME_TYPES[fmt],
            key=f"{key}_{fmt}", icon=":material/download:", on_click="ignore",
        )
    cols[3].download_button(
        "CSV", data=export.dataframe_to_csv(frame, title, scenario),
        file_name=export.sanitize_filename(stem, extension="csv"), mime=export.MIME_TYPES["csv"],
        key=f"{key}_csv", icon=":material/download:", on_click="ignore",
    )
