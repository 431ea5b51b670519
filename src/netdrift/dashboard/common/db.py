"""The dashboard's handle on the history database: which URL, and one session factory per URL."""

from __future__ import annotations

import os

import streamlit as st
from sqlalchemy.orm import Session, sessionmaker

from netdrift.service.history import default_db_url
from netdrift.storage.database import open_database

__all__ = ["DB_URL_KEY", "ENV_DB_URL", "current_db_url", "get_sessionmaker"]

#: st.session_state key holding the URL chosen in Settings.
DB_URL_KEY = "db_url"
#: Environment variable giving the URL when Settings chose none.
ENV_DB_URL = "NETDRIFT_DB_URL"


def current_db_url() -> str:
    """The history database URL: Settings' choice, else ``$NETDRIFT_DB_URL``, else the default."""
    chosen = st.session_state.get(DB_URL_KEY)
    if chosen:
        return str(chosen)
    env = os.environ.get(ENV_DB_URL, "").strip()
    return env or default_db_url()


@st.cache_resource(show_spinner=False, max_entries=8)
def get_sessionmaker(url: str) -> sessionmaker[Session]:
    """The session factory for ``url``, opened once per URL and shared by every browser session.

    Raises :class:`netdrift.engine.errors.InputError` (not cached) when the database cannot be opened.
    """
    return open_database(url)
