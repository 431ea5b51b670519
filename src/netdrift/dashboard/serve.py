"""The dashboard server's entry point: load what the first page needs, then run Streamlit.

``netdrift dashboard`` starts ``python -m netdrift.dashboard.serve run dashboard/app.py ...``. Streamlit
runs the app script only when a browser connects, so without this the first page would also
pay for importing numpy, pandas, pyarrow and the dashboard's modules (~1 s here). Loading
them while the server starts, usually while the browser is still opening, takes that off
the operator's wait. torch is not loaded here: :mod:`netdrift.dashboard.common.warmup` does that after the
first page, where it does not compete with it.
"""

from __future__ import annotations

import sys

__all__ = ["preload", "main", "with_upload_limit"]


def preload() -> None:
    """Import the modules the first page (Live, with the topology preview map) uses."""
    import numpy  # noqa: F401 - imported to be loaded
    import pandas  # noqa: F401 - imported to be loaded
    import streamlit.components.v2
    import streamlit.dataframe_util
    import streamlit.elements.vega_charts  # noqa: F401 - imported to be loaded

    import netdrift.dashboard.common.settings_logic
    import netdrift.dashboard.common.state
    import netdrift.dashboard.live.callbacks
    import netdrift.dashboard.live.helpers
    import netdrift.dashboard.map.components.topology_map
    import netdrift.engine.network.loaders  # noqa: F401 - imported to be loaded


def with_upload_limit(args: list[str]) -> list[str]:
    """``args`` of a ``streamlit run`` with ``--server.maxUploadSize`` set to the dashboard's upload
    limit (20 MB), unless it sets one: every upload box then says the limit its label states.

    >>> with_upload_limit(["run", "app.py", "--server.port=8501"])[-1]
    '--server.maxUploadSize=20'
    >>> with_upload_limit(["run", "app.py", "--server.maxUploadSize=5"])
    ['run', 'app.py', '--server.maxUploadSize=5']
    """
    from netdrift.dashboard.common.topology_io import UPLOAD_WIDGET_MB

    if not args or args[0] != "run" or any(a.startswith("--server.maxUploadSize") for a in args):
        return list(args)
    return [*args, f"--server.maxUploadSize={UPLOAD_WIDGET_MB}"]


def main(argv: list[str] | None = None) -> int:
    """Preload, then run Streamlit's command line with ``argv`` (default: ``sys.argv[1:]``) and the
    dashboard's upload limit (:func:`with_upload_limit`)."""
    preload()
    from streamlit.web.cli import main as streamlit_main

    args = with_upload_limit(sys.argv[1:] if argv is None else argv)
    try:
        return streamlit_main.main(args=args, prog_name="streamlit", standalone_mode=True)
    finally:  # Streamlit stops its server on SIGTERM/SIGINT and returns (or exits) here
        from netdrift.dashboard.live.history import flush_live_runs

        for message in flush_live_runs():
            print(f"netdrift dashboard: a live run's step was not stored: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
