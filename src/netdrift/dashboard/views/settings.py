"""Settings: compute device, history database location, what routed models see, prediction
intervals and overload warnings, and forecasting model settings.

Stored in ``st.session_state`` ("device", "db_url", "observe", "interval", "warn_utilization",
"forecast_settings") for the Live view; they apply to the next run started there. The engine
checks the model settings when they are saved.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from netdrift.dashboard.common.db import current_db_url, get_sessionmaker
from netdrift.dashboard.common.settings_logic import (
    DEFAULT_INTERVAL,
    INTERVAL_KEY,
    SETTINGS_KEY,
    WARN_KEY,
    changed_overrides,
    detect_cuda,
    device_choices,
    device_label,
    forecast_settings_errors,
    interval_settings,
    missing_folder,
    overrides_text,
    resolved_device,
    settings_in_use,
)
from netdrift.dashboard.live.helpers import QUICK_PRESET
from netdrift.engine.errors import InputError
from netdrift.engine.forecasting.protocol import OBSERVE_CHOICES
from netdrift.engine.forecasting.settings_schema import form_fields
from netdrift.service.history import display_url

#: A database URL whose SQLite folder is missing, waiting for the operator's yes: (url, folder).
PENDING_FOLDER_KEY = "settings_db_pending_folder"
#: A SQLite URL whose file does not exist yet (a typo would silently start an empty history): (url, file).
PENDING_FILE_KEY = "settings_db_pending_file"


def missing_sqlite_file(url: str) -> Path | None:
    """The SQLite file of ``url`` when its folder exists but the file does not (a new, empty
    history would be created), else None (other URLs, in-memory SQLite, malformed URLs)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from netdrift.service.history import sqlite_path

    try:
        path = sqlite_path(make_url(url))
    except ArgumentError:
        return None
    if path is None or not path.absolute().parent.is_dir() or path.exists():
        return None
    return path.absolute()



def settings_in_use_or_none(new: dict) -> dict:
    """The full flat settings of ``new`` overrides on the preset (what the engine is asked to check)."""
    return {**QUICK_PRESET.forecast.to_flat(), **new}


st.title("Settings")
st.caption("Changes apply to the next run started in the Live view.")

# --- device ---------------------------------------------------------------------------------------
st.subheader("Compute device")
cuda, gpu_name = detect_cuda()
if cuda:
    st.success(f"CUDA detected: {gpu_name or 'GPU 0'}.")
else:
    st.info("No CUDA GPU detected: models run on the CPU.")
choices = device_choices(cuda)
device_now = st.session_state.get("device", "auto")
device = st.radio(
    "Device",
    choices,
    index=choices.index(device_now) if device_now in choices else 0,
    format_func=lambda choice: device_label(choice, cuda),
    horizontal=True,
    help="auto = the GPU when one is detected, else the CPU; cuda is offered only when a GPU is detected.",
    key="settings_device",
)
st.session_state["device"] = device
st.caption(f"In use: **{device_label(device, cuda)}**: runs on the {resolved_device(device, cuda).upper()}.")

# --- database -------------------------------------------------------------------------------------
st.subheader("History database")
url_now = current_db_url()
with st.form("settings_db"):
    new_url = st.text_input(
        "Database URL",
        value=url_now,
        help="Any SQLAlchemy URL; a SQLite file is sqlite:////absolute/path/netdrift.sqlite",
        key="settings_db_url",
    )
    submitted = st.form_submit_button("Use this database")


def use_database(candidate: str) -> None:
    """Switch this session's history to ``candidate`` if it opens; one error line otherwise."""
    try:
        get_sessionmaker(candidate)
    except InputError as err:
        st.error(f"{err} (still using {display_url(url_now)})")
    else:
        st.session_state["db_url"] = candidate
        st.success(f"Using {display_url(candidate)}.")


if submitted:
    candidate = new_url.strip()
    st.session_state.pop(PENDING_FOLDER_KEY, None)
    st.session_state.pop(PENDING_FILE_KEY, None)
    folder = missing_folder(candidate)
    new_file = missing_sqlite_file(candidate) if folder is None else None
    if folder is not None:  # asked first: a typo must not create folders on the server
        st.session_state[PENDING_FOLDER_KEY] = (candidate, str(folder))
    elif new_file is not None:  # asked first: a mistyped file name must not start an empty history
        st.session_state[PENDING_FILE_KEY] = (candidate, str(new_file))
    else:
        use_database(candidate)
pending = st.session_state.get(PENDING_FOLDER_KEY)
if pending:
    candidate, folder = pending
    st.warning(f"The folder '{folder}' does not exist. Create it and keep the history of "
               f"{display_url(candidate)} there?")
    c1, c2 = st.columns(2)
    if c1.button("Create the folder and use it", key="settings_db_create", type="primary"):
        st.session_state.pop(PENDING_FOLDER_KEY, None)
        try:
            Path(folder).mkdir(parents=True, exist_ok=True)
        except OSError as err:
            st.error(f"database '{display_url(candidate)}': the folder '{folder}' could not be created "
                     f"({err.strerror or err}) (still using {display_url(url_now)})")
        else:
            use_database(candidate)
    if c2.button("Cancel", key="settings_db_cancel"):
        st.session_state.pop(PENDING_FOLDER_KEY, None)
        st.rerun()
pending_file = st.session_state.get(PENDING_FILE_KEY)
if pending_file:
    candidate, file = pending_file
    st.warning(f"There is no history at '{file}'. Start a new, empty history there? (Check the name if you "
               "meant an existing one.)")
    c1, c2 = st.columns(2)
    if c1.button("Start a new history there", key="settings_db_new_file", type="primary"):
        st.session_state.pop(PENDING_FILE_KEY, None)
        use_database(candidate)
    if c2.button("Cancel", key="settings_db_file_cancel"):
        st.session_state.pop(PENDING_FILE_KEY, None)
        st.rerun()
st.caption(f"In use: `{display_url(current_db_url())}`")

# --- what routed models see ----------------------------------------------------------------------
st.subheader("Failure-aware (routed) models")
observe_now = st.session_state.get("observe", "links")
observe = st.radio(
    "What routed models see",
    OBSERVE_CHOICES,
    index=OBSERVE_CHOICES.index(observe_now) if observe_now in OBSERVE_CHOICES else 0,
    horizontal=True,
    format_func=lambda o: {"links": "link loads (demands estimated by tomogravity)",
                           "demands": "true demands (flow export; an upper bound)"}.get(o, o),
    help="Routed models forecast node-pair demands and route them through the network as it is "
         "after a failure. 'links' is what SNMP counters give; 'demands' what flow export gives.",
    key="settings_observe",
)
st.session_state["observe"] = observe

# --- prediction intervals and overload warnings ---------------------------------------------------
st.subheader("Prediction intervals and overload warnings")
level_now, warn_now = interval_settings(st.session_state)
c1, c2 = st.columns(2)
intervals_on = c1.toggle(
    "Prediction intervals", value=level_now is not None, key="settings_interval_on",
    help="Every model's forecast gets an interval, learnt online from its own errors (conformal "
         "quantile tracking), narrower in quiet hours and on weekends than on a weekday's ramps, "
         "and widened when a failure re-routes traffic.",
)
level = c1.slider(
    "Coverage level", 0.50, 0.99, DEFAULT_INTERVAL if level_now is None else float(level_now), step=0.01,
    disabled=not intervals_on, key="settings_interval",
    help="The share of actual loads each interval should hold (0.9: nine in ten).",
)
warn = c2.slider(
    "Warn when a forecast upper bound reaches (fraction of capacity)", 0.10, 1.50, float(warn_now), step=0.01,
    key="settings_warn",
    help="A link direction is warned about when a model's upper bound over the horizon reaches this "
         "share of its capacity while its load is still below it.",
)
st.session_state[INTERVAL_KEY] = float(level) if intervals_on else None
st.session_state[WARN_KEY] = float(warn)
st.caption("Intervals " + (f"at {level:.0%} coverage" if intervals_on else "off (no warnings, no bands)")
           + f"; warnings at {warn:.0%} of capacity.")

# --- models ---------------------------------------------------------------------------------------
st.subheader("Forecasting models")
# One source of values: the Live page's preset with what was changed here (and only that).
overrides = st.session_state.get(SETTINGS_KEY) or {}
try:
    shown = settings_in_use(overrides, QUICK_PRESET.forecast)
except InputError as err:  # settings saved by an older version that the engine now refuses
    st.warning(f"The saved model settings are not valid any more ({err}); the preset's are shown.")
    overrides, shown = {}, settings_in_use({}, QUICK_PRESET.forecast)
st.caption("The values the next Live run uses: the Live page's quick preset"
           + (f", with what was changed here: {overrides_text(overrides)}." if overrides else " (nothing changed here)."))
fields = form_fields()
with st.form("settings_models"):
    entered: dict[str, Any] = {}
    for k in range(0, len(fields), 3):
        for col, f in zip(st.columns(3), fields[k:k + 3]):
            key = f"cfg_{f.name}"
            if f.choices:
                entered[f.name] = col.selectbox(f.label, f.choices, index=f.choices.index(shown[f.name]),
                                                  help=f.help, key=key)
            elif f.kind is bool:
                entered[f.name] = col.toggle(f.label, value=bool(shown[f.name]), help=f.help, key=key)
            else:
                cast = int if f.kind is int else float
                entered[f.name] = cast(col.number_input(f.label, cast(f.minimum), cast(f.maximum),  # type: ignore[arg-type]  # a number setting always has bounds
                                                        cast(shown[f.name]), help=f.help, key=key))
    saved = st.form_submit_button("Save model settings")
if saved:
    new = changed_overrides(shown, entered, overrides, QUICK_PRESET.forecast)
    problems = forecast_settings_errors(settings_in_use_or_none(new))
    if problems:
        for p in problems:
            st.error(p)
        st.caption("Model settings not saved; the previous ones stay in use.")
    else:
        st.session_state[SETTINGS_KEY] = new
        st.success("Model settings saved: " + (overrides_text(new) if new else "the preset's, nothing changed") + ".")
if st.button("Reset model settings to the preset", key="cfg_reset"):
    st.session_state.pop(SETTINGS_KEY, None)
    for f in fields:
        st.session_state.pop(f"cfg_{f.name}", None)
    st.rerun()
