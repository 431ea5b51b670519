"""The ``--prom-*`` options of ``--link-loads http://HOST:PORT`` (a Prometheus server) and the
reader they drive (:func:`netdrift.engine.traffic.prometheus_source.read_prometheus`).

A command that takes ``--link-loads`` adds these with :func:`add_prometheus_options` and reads a
URL source with :func:`read_prometheus_link_loads` (files go to the CSV reader)::

    netdrift deduce --topology t.graphml --link-loads http://127.0.0.1:9090 \\
        --prom-mapping interfaces.csv --prom-start 2024-05-01T00:00Z --prom-end 2024-05-31T23:55Z --out d.csv
"""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING

from netdrift.engine.errors import InputError

if TYPE_CHECKING:
    from netdrift.engine.network.topology import Topology
    from netdrift.engine.traffic.link_loads import LinkLoadSeries

__all__ = ["add_prometheus_options", "check_prometheus_options", "read_prometheus_link_loads", "PROM_OPTIONS"]

#: The dest names of the options, for the check that they come with a Prometheus source.
PROM_OPTIONS = ("prom_query", "prom_mapping", "prom_start", "prom_end", "prom_steps", "prom_step", "prom_timeout")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text}")
    return value


def add_prometheus_options(p: argparse.ArgumentParser) -> None:
    """``--prom-query``, ``--prom-mapping``, the window (``--prom-start/--prom-end`` or
    ``--prom-steps``, ``--prom-step``) and ``--prom-timeout``."""
    from netdrift.engine.traffic.prometheus_source import DEFAULT_QUERY, DEFAULT_TIMEOUT_S

    g = p.add_argument_group("Prometheus source (--link-loads http://HOST:PORT; see docs/prometheus.md)")
    g.add_argument("--prom-query", metavar="PROMQL", default=None,
                   help=f"one series per interface in Mbit/s (default: {DEFAULT_QUERY.replace('%', '%%')}, the "
                        "octets each interface sends: at a facing b it is the load a->b)")
    g.add_argument("--prom-mapping", metavar="FILE.csv|FILE.json",
                   help="which link direction each interface measures: CSV 'instance,ifName,link,src' (LAG "
                        "members summed) or JSON {\"interfaces\": [...]}")
    g.add_argument("--prom-start", metavar="TIME", help="first step (ISO 8601, UTC unless a zone is given, or Unix s)")
    g.add_argument("--prom-end", metavar="TIME", help="last step (default with --prom-steps: the last ended step)")
    g.add_argument("--prom-steps", type=int, metavar="N", help="the last N steps up to --prom-end (instead of --prom-start)")
    g.add_argument("--prom-step", type=_positive_float, metavar="MINUTES", default=None,
                   help="minutes per step (default 5)")
    g.add_argument("--prom-timeout", type=_positive_float, metavar="SECONDS", default=None,
                   help=f"seconds to wait for each answer of the server (default {DEFAULT_TIMEOUT_S:g})")


def check_prometheus_options(args: argparse.Namespace, source: str | None) -> None:
    """Refuse ``--prom-*`` options without a Prometheus ``--link-loads`` (one line, exit 2)."""
    from netdrift.engine.traffic.prometheus_source import is_prometheus_url

    given = [name for name in PROM_OPTIONS if getattr(args, name, None) is not None]
    if given and not (source and is_prometheus_url(source)):
        flag = "--" + given[0].replace("_", "-")
        raise InputError(flag, "only applies with --link-loads http://HOST:PORT (a Prometheus server)")


def read_prometheus_link_loads(source: str, topology: Topology, args: argparse.Namespace) -> LinkLoadSeries:
    """The loads of ``--link-loads http://...`` read with the ``--prom-*`` options of ``args``."""
    from netdrift.engine.traffic.prometheus_mapping import read_mapping
    from netdrift.engine.traffic.prometheus_source import (
        DEFAULT_QUERY,
        DEFAULT_TIMEOUT_S,
        PrometheusWindow,
        parse_time,
        read_prometheus,
    )

    if not getattr(args, "prom_mapping", None):
        raise InputError(f"--link-loads '{source}'", "a Prometheus source needs --prom-mapping FILE (which link "
                                                     "direction each interface measures)")
    start = getattr(args, "prom_start", None)
    end = getattr(args, "prom_end", None)
    window = PrometheusWindow(start=None if start is None else parse_time(start, "prom_start"),
                              end=None if end is None else parse_time(end, "prom_end"),
                              last_steps=getattr(args, "prom_steps", None),
                              step_minutes=getattr(args, "prom_step", None) or 5.0)
    mapping = read_mapping(args.prom_mapping, topology)
    return read_prometheus(source, topology, mapping, window, query=getattr(args, "prom_query", None) or DEFAULT_QUERY,
                           timeout=getattr(args, "prom_timeout", None) or DEFAULT_TIMEOUT_S)
