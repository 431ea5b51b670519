"""netdrift dashboard shell: page setup and navigation between Live, Compare, Impact, Topology, Settings.

Run with ``netdrift dashboard`` (or ``streamlit run dashboard/app.py``). An exception in one
view is shown in the page with its message; the other views keep working.
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run src/netdrift/dashboard/app.py` puts dashboard/ first on sys.path; src/ must be
# importable too (the `netdrift` package) when netdrift is not installed.
_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import streamlit as st
from streamlit.errors import FragmentHandledException

from netdrift.engine.errors import InputError

_VIEWS = Path(__file__).resolve().parent / "views"  # not pages/: Streamlit would take that folder as file-based pages

st.set_page_config(page_title="netdrift", layout="wide")


def _guarded(path: Path):
    """Run a view file so that its exception becomes an error box, not a dead app."""
    code = compile(path.read_text(encoding="utf-8"), str(path), "exec")

    def run() -> None:
        try:
            exec(code, {"__name__": "__main__", "__file__": str(path)})
        except InputError as err:
            st.error(str(err))
        except FragmentHandledException:
            raise  # a fragment's error, already shown in place by Streamlit
        except Exception as err:  # noqa: BLE001 - the shell must survive a broken view
            # (st.rerun / st.stop raise BaseException subclasses and pass through.)
            st.error(f"This view failed: {type(err).__name__}: {err}")
            with st.expander("Details"):
                st.exception(err)

    run.__name__ = path.stem
    return run


# No page icons: Streamlit uses the active page's icon as the favicon, and a ":material/...:"
# favicon is fetched from fonts.gstatic.com; the app must not reach the network.
_PAGES = [
    ("live.py", "Live", True),
    ("compare.py", "Compare", False),
    ("impact.py", "Impact", False),
    ("topology.py", "Topology", False),
    ("settings.py", "Settings", False),
]

pages = [
    st.Page(_guarded(_VIEWS / f), title=title, url_path=Path(f).stem, default=default)
    for f, title, default in _PAGES
    if (_VIEWS / f).exists()
]
st.sidebar.caption("netdrift: link loads, failures and forecasts under concept drift")
st.navigation(pages).run()

from netdrift.dashboard.common.warmup import start_once

start_once()  # after the page is out: torch and the engine load while the operator reads it
