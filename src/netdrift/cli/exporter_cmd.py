"""`netdrift exporter`: the latest forecasts, overload warnings and sweep worst cases of the
history, served to Prometheus in its text format on 127.0.0.1 (metric names: docs/prometheus.md).

The history is read on each scrape (a newer complete scenario or sweep is served from the next
scrape on); ``--once`` prints the exposition once and exits (e.g. for node_exporter's textfile
collector). Needs the ``prometheus`` extra: ``pip install 'netdrift[prometheus]'``.
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any, Iterator

from netdrift.cli.common import quiet_broken_pipe
from netdrift.engine.errors import InputError

__all__ = ["register", "run", "DEFAULT_PORT"]

#: Default port (unassigned in Prometheus's list of exporter default ports).
DEFAULT_PORT = 9731


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("exporter", help="serve the latest forecasts, warnings and sweep worst cases to Prometheus",
                       description="A Prometheus exporter over the history, bound to 127.0.0.1: the newest "
                                   "complete scenario's forecasts (point and bounds per direction, model, horizon), "
                                   "its overload warnings and the newest sweep's worst case per direction.")
    p.add_argument("--port", type=_port, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})")
    p.add_argument("--db", metavar="URL", help="SQLAlchemy URL of the history (default: the data directory's file)")
    p.add_argument("--scenario", type=int, metavar="ID", help="export this scenario (default: the newest complete one)")
    p.add_argument("--sweep", type=int, metavar="ID", help="export this sweep (default: the newest one)")
    p.add_argument("--once", action="store_true", help="print the metrics once to stdout and exit")
    p.set_defaults(func=run)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port from 1 to 65535, got {value}")
    return value


class _Collector:
    """prometheus_client collector over :class:`netdrift.service.metrics.HistoryMetrics`; a history
    that does not exist yet is opened (never created) once a run has written it."""

    def __init__(self, db: str | None, scenario: int | None, sweep: int | None) -> None:
        self.db, self.scenario, self.sweep = db, scenario, sweep
        self.metrics: Any = None
        self.lock = threading.Lock()
        self.reported: str | None = None

    def _history(self) -> Any:
        from netdrift.service.metrics import HistoryMetrics
        from netdrift.storage.database import missing_sqlite_file, open_database

        if self.metrics is None and missing_sqlite_file(self.db) is None:
            self.metrics = HistoryMetrics(open_database(self.db), self.scenario, self.sweep)
        return self.metrics

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        from netdrift.service.metrics import FAMILY_NAMES, Family, Sample

        with self.lock:  # one scrape at a time reads the history and fills the cache
            history = self._history()
            families = history.families() if history is not None else [
                Family("netdrift_history_up", FAMILY_NAMES["netdrift_history_up"], [Sample({}, 1.0)])]
            error = getattr(history, "last_error", None)
            if error and error != self.reported:
                print(f"netdrift exporter: the history could not be read: {error}", file=sys.stderr, flush=True)
            self.reported = error
        for fam in families:
            names = list(fam.samples[0].labels) if fam.samples else []
            gauge = GaugeMetricFamily(fam.name, fam.help, labels=names)
            for s in fam.samples:
                gauge.add_metric([s.labels[n] for n in names], s.value)
            yield gauge


@quiet_broken_pipe
def run(args: argparse.Namespace) -> int:
    try:
        from prometheus_client import CollectorRegistry, generate_latest, start_http_server
    except ImportError:
        raise InputError("exporter", "needs prometheus-client: pip install 'netdrift[prometheus]'") from None
    from netdrift.service.metrics import HistoryMetrics
    from netdrift.storage.database import missing_sqlite_file, open_database

    missing = missing_sqlite_file(args.db)
    if missing is not None and (args.scenario is not None or args.sweep is not None):
        what = f"scenario {args.scenario}" if args.scenario is not None else f"sweep {args.sweep}"
        raise InputError(what, f"no database at {missing} (nothing stored there yet)")
    if missing is None:
        HistoryMetrics(open_database(args.db), args.scenario, args.sweep).check()  # a bad id: exit 2 before serving
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(args.db, args.scenario, args.sweep))
    if args.once:
        sys.stdout.write(generate_latest(registry).decode())
        return 0
    try:
        server, thread = start_http_server(args.port, addr="127.0.0.1", registry=registry)
    except OSError as err:
        raise InputError(f"--port {args.port}", f"cannot listen on 127.0.0.1:{args.port} "
                                                f"({err.strerror or err})") from None
    print(f"netdrift exporter: serving http://127.0.0.1:{args.port}/metrics (Ctrl-C stops it)",
          file=sys.stderr, flush=True)
    try:
        thread.join()
    finally:
        server.shutdown()
    return 0
