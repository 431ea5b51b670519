"""Settings: compute device, history database location, what routed models see, prediction
intervals and overload warnings, and forecasting model settings.

Stored in ``st.session_state`` ("device", "db_url", "observe", "interval", "warn_utilization",
"forecast_settings") for the Live view; they apply to the next run started there. The engine
checks the model settings when they are saved.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from netdrift.dashboard.common.db import current_db_url, get_sessionmaker
from netdrift.dashboard.common.settings_logic import (
    DEFAULT_INTERVAL,
    FIELD_LABELS,
    IL_MODES,
    INTERVAL_KEY,
    LIQUID_CELLS,
    SETTINGS_KEY,
    WARN_KEY,
    default_forecast_settings,
    detect_cuda,
    device_choices,
    device_label,
    forecast_settings_errors,
    interval_settings,
    missing_folder,
    resolved_device,
)
from netdrift.engine.errors import InputError
from netdrift.engine.forecasting.protocol import OBSERVE_CHOICES
from netdrift.service.history import display_url

#: A database URL whose SQLite folder is missing, waiting for the operator's yes: (url, folder).
PENDING_FOLDER_KEY = "settings_db_pending_folder"

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
    folder = missing_folder(candidate)
    if folder is None:
        use_database(candidate)
    else:  # asked first: a typo must not create folders on the server
        st.session_state[PENDING_FOLDER_KEY] = (candidate, str(folder))
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
         "quantile tracking) and widened when a failure re-routes traffic.",
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
cfg = {**default_forecast_settings(), **st.session_state.get(SETTINGS_KEY, {})}
label = FIELD_LABELS
with st.form("settings_models"):
    c1, c2 = st.columns(2)
    window = c1.number_input(label["window"], 1, 10_000, int(cfg["window"]), key="cfg_window")
    horizon = c2.number_input(label["horizon"], 1, 10_000, int(cfg["horizon"]), key="cfg_horizon")
    c1, c2, c3 = st.columns(3)
    cell = c1.selectbox(
        label["liquid_cell"], LIQUID_CELLS, index=LIQUID_CELLS.index(cfg["liquid_cell"]),
        format_func=lambda c: {"cfc": "CfC (closed form, fast)", "ltc": "LTC (ODE, slower)"}.get(c, c), key="cfg_cell",
    )
    units = c2.number_input(label["liquid_units"], 1, 4096, int(cfg["liquid_units"]), key="cfg_units")
    epochs = c3.number_input(label["epochs"], 1, 10_000, int(cfg["epochs"]), key="cfg_epochs")
    c1, c2, c3 = st.columns(3)
    il_batch = c1.number_input(label["il_batch"], 1, 100_000, int(cfg["il_batch"]), key="cfg_il_batch")
    il_window = c2.number_input(label["il_window"], 1, 1_000_000, int(cfg["il_window"]), key="cfg_il_window")
    il_mode = c3.selectbox(
        label["il_mode"], IL_MODES, index=IL_MODES.index(cfg["il_mode"]),
        format_func=lambda m: {"refit": "refit (from scratch)", "warm": "warm start"}.get(m, m), key="cfg_il_mode",
    )
    saved = st.form_submit_button("Save model settings")
if saved:
    values = {
        **cfg, "window": int(window), "horizon": int(horizon), "liquid_cell": cell, "liquid_units": int(units),
        "epochs": int(epochs), "il_batch": int(il_batch), "il_window": int(il_window), "il_mode": il_mode,
    }
    problems = forecast_settings_errors(values)
    if problems:
        for p in problems:
            st.error(p)
        st.caption("Model settings not saved; the previous ones stay in use.")
    else:
        st.session_state[SETTINGS_KEY] = values
        st.success("Model settings saved.")
if st.button("Reset model settings to defaults", key="cfg_reset"):
    st.session_state.pop(SETTINGS_KEY, None)
    for k in ("cfg_window", "cfg_horizon", "cfg_cell", "cfg_units", "cfg_epochs", "cfg_il_batch", "cfg_il_window", "cfg_il_mode"):
        st.session_state.pop(k, None)
    st.rerun()
