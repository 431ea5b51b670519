"""The dashboard server process: warm up the heavy imports while Streamlit starts.

``netdrift dashboard`` runs ``python -m dashboard.serve <streamlit run arguments>``. A
background thread imports torch, ncps and the engine (about 3 s) and sets torch's threads
while the server comes up, so the first page and the first "Train and start" do not pay
for them.
"""

from __future__ import annotations

import sys
import threading


def _warm_up() -> None:
    from engine.forecasting.torch_utils import configure_threads

    configure_threads()
    import altair  # noqa: F401
    import engine.scenario  # noqa: F401
    import dashboard.live_helpers  # noqa: F401


def main(argv: list[str]) -> int:
    threading.Thread(target=_warm_up, name="netdrift-warm-up", daemon=True).start()
    from streamlit.web import cli as stcli

    sys.argv = ["streamlit", *argv]
    return stcli.main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
