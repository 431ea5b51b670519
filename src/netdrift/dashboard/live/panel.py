"""Parts of the Live page's run panel: the time slider (*Look back*), what colours and labels the
map, the status line, and the export and report buttons. Streamlit widgets; the page
(``views/live.py``) lays them out.
"""

from __future__ import annotations

import html
from functools import partial
from typing import TYPE_CHECKING

import streamlit as st

from netdrift.dashboard.live import chart as live_chart
from netdrift.dashboard.live import helpers as lh
from netdrift.dashboard.map.model import LABEL_UNITS, labels_by_default

if TYPE_CHECKING:
    from netdrift.dashboard.common.state import LiveSession
    from netdrift.engine.experiments.scenario import LiveScenario

__all__ = ["look_back", "status_line", "export_buttons", "report_buttons", "map_options"]

BAND_MODEL_KEY = "live_band_model"
COLOUR_KEY = "live_colour_by"
LABELS_KEY = "live_util_labels"
LABEL_UNIT_KEY = "live_label_unit"
TRAVEL_KEY = "live_look_back"
TRAVEL_STEP_KEY = "live_look_back_step"
COLOUR_BY = ("current load", "forecast upper bound")


def look_back(live: LiveScenario) -> int | None:
    """The time slider: with 'Look back' on, the step chosen to show (the map, impact panel and
    chart as they were then, read-only: the run goes on and nothing in it changes); None for the
    live step."""
    now = lh.shown_step(live)
    c1, c2 = st.columns([1, 5])
    on = c1.toggle("Look back", key=TRAVEL_KEY, help="Scrub the run back and forth: the map, the impact "
                   "panel and the chart at an earlier step, without changing the run.")
    if not on or now < 1:
        st.session_state.pop(TRAVEL_STEP_KEY, None)
        return None
    if TRAVEL_STEP_KEY not in st.session_state or st.session_state[TRAVEL_STEP_KEY] > now:
        st.session_state[TRAVEL_STEP_KEY] = now
    k = int(c2.slider("Step shown", min_value=0, max_value=now, key=TRAVEL_STEP_KEY,
                      help="The step the map, the impact panel and the chart show (the run stays where it is)."))
    when = f"step {k} ({live.time_of(k):%a %H:%M})"
    st.caption(f"Showing {when}, read-only: the run is at step {live.step}; clicks on the map change nothing."
               if k < now else "Showing the live step: move the slider back to see the run as it was.")
    return k if k < now else None


def status_line(text: str) -> None:
    """The last message as exactly one line (ellipsised, the whole text on hover), so the map below
    never moves when a longer message arrives (issue 13, item 10)."""
    safe = html.escape(text)
    st.markdown(f'<div class="nd-status" title="{safe}" style="white-space:nowrap;overflow:hidden;'
                f'text-overflow:ellipsis;font-size:0.875rem;line-height:1.6;opacity:0.7">{safe}</div>',
                unsafe_allow_html=True)


def export_buttons(live: LiveScenario, direction: int) -> None:
    """PNG / SVG / PDF of the forecast panel and the CSV of its data, each titled and naming the
    scenario (made only when clicked)."""
    from netdrift.dashboard.common.export import MIME_TYPES, sanitize_filename

    cols = st.columns(4)
    stem = f"netdrift_{live.topology.name}_direction{direction}_step{live.step}"
    for col, fmt in zip(cols, ("png", "svg", "pdf", "csv")):
        col.download_button(fmt.upper(), data=partial(live_chart.chart_export, live, direction, fmt),
                            file_name=sanitize_filename(stem, extension=fmt), mime=MIME_TYPES[fmt],
                            key=f"live_export_{fmt}", icon=":material/download:", on_click="ignore", width="stretch")


def report_buttons(sess: LiveSession, past: int | None, model: str | None, direction: int | None) -> None:
    """The failure-impact report of the step shown (HTML or PDF: the event, the map, overloads,
    dropped and cut-off traffic, forecasts and warnings), made only when clicked."""
    from netdrift.dashboard.common.export import sanitize_filename

    step = lh.shown_step(sess.live) if past is None else past
    stem = sanitize_filename(f"netdrift_impact_{sess.live.topology.name}_step{step}")
    cols = st.columns(2)
    for col, fmt, mime in zip(cols, ("html", "pdf"), ("text/html", "application/pdf")):
        col.download_button(f"Impact report ({fmt.upper()})", data=partial(_report_bytes, sess, past, model, direction, fmt),
                            file_name=f"{stem}.{fmt}", mime=mime, key=f"live_report_{fmt}",
                            icon=":material/summarize:", on_click="ignore", width="stretch")


def _report_bytes(sess: LiveSession, past: int | None, model: str | None, direction: int | None,
                  fmt: str) -> bytes:
    from netdrift.dashboard.live import report

    found = report.build_report(sess, step=past, model=model, direction=direction)
    return report.report_html(found) if fmt == "html" else report.report_pdf(found)


def map_options(live: LiveScenario) -> tuple[str | None, bool, bool, str]:
    """What colours the links, whose upper bound, whether the map labels each direction and in
    which unit: (model or None, colour by its upper bound, labels, "%" or "Mbit/s")."""
    models = lh.band_models(live)
    if models:
        c1, c2 = st.columns(2)
        colour = c1.segmented_control("Colour links by", COLOUR_BY, default=COLOUR_BY[0], key=COLOUR_KEY)
        model = c2.selectbox("Upper bound and warnings of", models, key=BAND_MODEL_KEY,
                             help="Routed (failure-aware) models come first: their forecast moves with a failure.")
    else:
        st.caption("This run has no prediction intervals (Settings): links are coloured by their "
                   "current load, and there are no overload warnings.")
        colour, model = COLOUR_BY[0], None
    c1, c2 = st.columns(2)
    labels = c1.checkbox("Show link labels", value=labels_by_default(live.topology), key=LABELS_KEY,
                         help="Each link direction's utilisation (or load) on the map (zoom in to read them); "
                              "off by default on large maps. A direction over capacity is always labelled.")
    unit = c2.segmented_control("Labels in", LABEL_UNITS, default=LABEL_UNITS[0], key=LABEL_UNIT_KEY,
                                label_visibility="collapsed") or LABEL_UNITS[0]
    return model, colour == COLOUR_BY[1], labels, unit
