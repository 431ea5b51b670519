"""Link loads from a Prometheus server: ``/api/v1/query_range`` over SNMP interface counters.

The query returns one series per interface in Mbit/s; an
:class:`~netdrift.engine.traffic.prometheus_mapping.InterfaceMapping` says which link direction
each interface measures (LAG members summed). The default query is the rate of snmp_exporter's
``ifHCOutOctets`` (octets sent by the interface, 64-bit): on the interface at ``a`` facing ``b`` it
is the load ``a -> b``. ``rate()`` handles counter resets and wraps.

The window is read in pages (Prometheus refuses more than 11,000 points per series in one query,
and one page's JSON is held whole), each at most :data:`POINTS_PER_PAGE` points over all series,
so a month at 5 minutes on Cogentco (8,640 steps x 486 interfaces) is read in a bounded amount of
memory; the memory budget (:func:`netdrift.engine.budget.check_memory`) is checked before the
load array is allocated. A step where Prometheus has no value (or NaN) stays a gap (NaN), as does
a direction where one of its summed interfaces has no value.

Bad input raises :class:`InputError` with one line naming the server (or the query, the mapping)
and the problem: a server that is down or does not answer within ``timeout`` seconds, an error
payload, a reply that is not Prometheus's, a query that returns nothing over the window, series
that match no interface of the mapping, mapped interfaces that have no series, negative loads.
"""

from __future__ import annotations

import json
import math
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from netdrift.engine.budget import check_memory
from netdrift.engine.errors import InputError
from netdrift.engine.network.topology import Topology
from netdrift.engine.traffic.link_loads import LinkLoadSeries
from netdrift.engine.traffic.prometheus_mapping import InterfaceMapping

__all__ = ["DEFAULT_QUERY", "DEFAULT_TIMEOUT_S", "POINTS_PER_PAGE", "MAX_POINTS_PER_SERIES", "PrometheusWindow",
           "read_prometheus", "is_prometheus_url", "parse_time"]

#: Mbit/s sent by each interface, averaged over 5 minutes (snmp_exporter's 64-bit counter).
DEFAULT_QUERY = "rate(ifHCOutOctets[5m]) * 8 / 1e6"
#: Seconds to wait for the server to connect and answer each request.
DEFAULT_TIMEOUT_S = 10.0
#: Prometheus's own limit of points per series in one query_range.
MAX_POINTS_PER_SERIES = 11_000
#: At most this many points (series x steps) in one page, so one reply's JSON stays small.
POINTS_PER_PAGE = 200_000
#: Bytes one point of a reply costs while it is parsed (text plus Python objects), measured on the
#: JSON of query_range: ~35 bytes of text and ~150 of lists, floats and strings.
_BYTES_PER_POINT = 200


def is_prometheus_url(source: str) -> bool:
    """True for ``http://...`` or ``https://...`` (a Prometheus server), False for a file."""
    return urllib.parse.urlsplit(str(source)).scheme in ("http", "https")


def parse_time(text: str, what: str) -> datetime:
    """``2024-05-01T00:00:00Z`` (ISO 8601, UTC when no zone is given) or Unix seconds -> aware UTC.

    >>> parse_time("2024-05-01T00:05", "prom_start"), parse_time("1714521900", "prom_start")
    (datetime.datetime(2024, 5, 1, 0, 5, tzinfo=datetime.timezone.utc), datetime.datetime(2024, 5, 1, 0, 5, tzinfo=datetime.timezone.utc))
    """
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        if math.isfinite(value):
            try:
                return datetime.fromtimestamp(value, timezone.utc)
            except (OverflowError, OSError, ValueError):
                raise InputError(f"{what} '{text}'", "is out of the range of times (years 1 to 9999)") from None
    try:
        t = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{what} '{text}'", "expected a time like 2024-05-01T00:00:00Z or Unix seconds") from None
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)


@dataclass(frozen=True)
class PrometheusWindow:
    """The steps to read, each named by the time it starts (as netdrift's series are): from
    ``start`` to ``end`` (both included) every ``step_minutes``; or, with ``last_steps``, the last
    that many steps up to ``end`` (default: the last step that has ended by now).

    Prometheus's value of a ``rate(...[5m])`` at time t covers the 5 minutes before t, so the step
    starting at s is read from the query's value at s + step."""

    start: datetime | None = None
    end: datetime | None = None
    last_steps: int | None = None
    step_minutes: float = 5.0

    def resolve(self, now: datetime | None = None) -> tuple[datetime, int]:
        """(first step's time, number of steps); InputError for an empty or ill-formed window."""
        if not (math.isfinite(self.step_minutes) and self.step_minutes > 0):
            raise InputError("prom_step", f"must be a number of minutes > 0 (got {self.step_minutes})")
        try:
            step = timedelta(minutes=self.step_minutes)
        except OverflowError:
            raise InputError("prom_step", f"{self.step_minutes:g} minutes is longer than any window") from None
        try:
            return self._resolve(step, now)
        except OverflowError:  # the last N steps reach back past year 1
            raise InputError("prom_steps", f"{self.last_steps} steps of {self.step_minutes:g} min reach back past "
                                           "the range of times (years 1 to 9999)") from None

    def _resolve(self, step: timedelta, now: datetime | None) -> tuple[datetime, int]:
        if self.last_steps is not None:
            if self.start is not None:
                raise InputError("prom_steps", "give either the last N steps or a start time, not both")
            if self.last_steps < 1:
                raise InputError("prom_steps", f"must be at least 1 (got {self.last_steps})")
            end = self.end
            if end is None:
                now_s = (now or datetime.now(timezone.utc)).timestamp()
                end = datetime.fromtimestamp(now_s - now_s % step.total_seconds(), timezone.utc) - step
            return end - (self.last_steps - 1) * step, self.last_steps
        if self.start is None or self.end is None:
            raise InputError("prom_start", "a Prometheus source needs a window: a start and an end time, "
                                           "or the last N steps")
        if self.end < self.start:
            raise InputError("prom_end", f"{self.end.isoformat()} is before the start {self.start.isoformat()}")
        return self.start, int((self.end - self.start) / step) + 1


def read_prometheus(url: str, topology: Topology, mapping: InterfaceMapping, window: PrometheusWindow,
                    query: str = DEFAULT_QUERY, timeout: float = DEFAULT_TIMEOUT_S,
                    budget_bytes: int | None = None, now: datetime | None = None) -> LinkLoadSeries:
    """The per-direction loads (Mbit/s) the query gives over ``window``, read in pages.

    ``url`` is the server's base address (``http://host:9090``, a path prefix allowed);
    ``mapping`` comes from :func:`netdrift.engine.traffic.prometheus_mapping.read_mapping`.
    """
    base = url.rstrip("/")
    if not is_prometheus_url(base) or not urllib.parse.urlsplit(base).netloc:
        raise InputError(f"link_loads '{url}'", "expected a Prometheus address like http://host:9090")
    if not query.strip():
        raise InputError("prom_query", "is empty")
    if not (math.isfinite(timeout) and timeout > 0):
        raise InputError("prom_timeout", f"must be a number of seconds > 0 (got {timeout})")
    start, steps = window.resolve(now)
    step_s = window.step_minutes * 60.0
    n_dir = topology.n_directions
    check_memory(f"Prometheus link loads of {steps} steps x {n_dir} directions from '{url}'",
                 steps * n_dir * (8 + 2 + 4) + POINTS_PER_PAGE * _BYTES_PER_POINT, budget_bytes)
    sums = np.zeros((steps, n_dir))
    counts = np.zeros((steps, n_dir), dtype=np.uint16)
    t0 = start.timestamp() + step_s  # Prometheus's value at t is the rate over the step that ends at t
    seen: set[tuple[str, ...]] = set()
    unmapped: list[dict[str, str]] = []
    n_series = len(mapping.interfaces)
    first = 0
    while first < steps:
        page = max(1, min(MAX_POINTS_PER_SERIES - 1, POINTS_PER_PAGE // max(1, n_series), steps - first))
        result = _query_range(base, query, t0 + first * step_s, t0 + (first + page - 1) * step_s, step_s, timeout)
        n_series = max(n_series, len(result))
        page_keys: set[tuple[str, ...]] = set()
        for metric, values in _series(result, base):
            key = mapping.key(metric)
            d = mapping.interfaces.get(key) if key is not None else None
            if key is None or d is None:
                if len(unmapped) < 3:
                    unmapped.append(metric)
                continue
            if key in page_keys:
                raise InputError(f"prom_query '{query}'", f"returns more than one series for interface "
                                                          f"{mapping.describe(key)}; aggregate it to one series "
                                                          f"per interface, e.g. sum by ({', '.join(mapping.labels)})")
            page_keys.add(key)
            seen.add(key)
            _add_values(values, d, t0, step_s, steps, sums, counts, mapping.describe(key), query)
        first += page
    _check_coverage(url, query, mapping, seen, unmapped, start, steps, step_s)
    members = np.asarray(mapping.members, dtype=np.uint16)
    loads = np.where(counts == members[None, :], sums, np.nan).astype(np.float32)
    return LinkLoadSeries(tuple(topology.direction_names()), loads, float(window.step_minutes),
                          start.replace(tzinfo=None), url)


def _series(result: list[Any], base: str) -> Iterator[tuple[dict[str, str], list[tuple[float, float]]]]:
    """Each series of a ``query_range`` result as (labels, [(time, value), ...]); an answer of
    another shape (a proxy's, a broken server's) is refused in one line."""
    for series in result:
        metric = series.get("metric") if isinstance(series, dict) else None
        values = series.get("values") if isinstance(series, dict) else None
        if metric is None:
            metric = {}
        if not isinstance(metric, dict) or not isinstance(values, list):
            raise InputError(f"link_loads '{base}'", "did not answer like a Prometheus server (a series that is "
                                                     f"not {{metric, values}}: {str(series)[:60]})")
        points = []
        for point in values:
            try:
                ts, text = point
                t, v = float(ts), float(text)
            except (TypeError, ValueError):
                raise InputError(f"link_loads '{base}'", "did not answer like a Prometheus server (a value that "
                                                         f"is not [time, \"number\"]: {str(point)[:60]})") from None
            if not math.isfinite(t):
                raise InputError(f"link_loads '{base}'", f"did not answer like a Prometheus server (a time of {ts})")
            points.append((t, v))
        yield {str(k): str(x) for k, x in metric.items()}, points


def _add_values(values: list[tuple[float, float]], d: int, t0: float, step_s: float, steps: int, sums: np.ndarray,
                counts: np.ndarray, name: str, query: str) -> None:
    for ts, v in values:
        k = int(round((ts - t0) / step_s))
        if not 0 <= k < steps:
            continue
        if not math.isfinite(v):
            continue  # NaN / Inf: no measurement, a gap
        if v < 0:
            when = datetime.fromtimestamp(ts, timezone.utc).isoformat()
            raise InputError(f"prom_query '{query}'", f"gives a negative load ({v:g} Mbit/s) for interface {name} "
                                                      f"at {when}; a load is a rate, >= 0")
        sums[k, d] += v
        counts[k, d] += 1


def _check_coverage(url: str, query: str, mapping: InterfaceMapping, seen: set[tuple[str, ...]],
                    unmapped: list[dict[str, str]], start: datetime, steps: int, step_s: float) -> None:
    end = start + timedelta(seconds=(steps - 1) * step_s)
    span = f"from {start.isoformat()} to {end.isoformat()}"
    if not seen and not unmapped:
        raise InputError(f"prom_query '{query}'", f"returned no series from '{url}' {span}")
    if not seen:
        sample = "; ".join("{" + ", ".join(f"{k}={v}" for k, v in sorted(m.items())) + "}" for m in unmapped)
        raise InputError(f"prom_mapping '{mapping.source}'", f"matches none of the series the query returned "
                                                             f"(by {', '.join(mapping.labels)}), e.g. {sample}")
    missing = [k for k in mapping.interfaces if k not in seen]
    if missing:
        shown = "; ".join(mapping.describe(k) for k in missing[:3])
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise InputError(f"prom_mapping '{mapping.source}'", f"{len(missing)} of {len(mapping.interfaces)} "
                                                             f"interfaces have no series in Prometheus {span}: "
                                                             f"{shown}{more}")


def _query_range(base: str, query: str, start: float, end: float, step_s: float, timeout: float) -> list[Any]:
    """One ``query_range`` call: the result's list of ``{"metric", "values"}`` series."""
    params = urllib.parse.urlencode({"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}",
                                     "step": f"{step_s:g}s", "timeout": f"{max(1, int(timeout))}s"})
    what = f"link_loads '{base}'"
    request = urllib.request.Request(f"{base}/api/v1/query_range", data=params.encode(), method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded",
                                              "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            body, status = reply.read(), reply.status
    except urllib.error.HTTPError as err:
        body, status = err.read(), err.code
    except (TimeoutError, socket.timeout):
        raise InputError(what, f"no answer within {timeout:g} s (the server is slow or stuck; "
                               "raise the timeout with --prom-timeout)") from None
    except urllib.error.URLError as err:
        reason = err.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            raise InputError(what, f"no answer within {timeout:g} s (the server is slow or unreachable; "
                                   "raise the timeout with --prom-timeout)") from None
        text = getattr(reason, "strerror", None) or str(reason)
        raise InputError(what, f"cannot connect ({text}); is Prometheus running there?") from None
    except (ConnectionError, OSError) as err:
        raise InputError(what, f"the connection failed ({getattr(err, 'strerror', None) or err})") from None
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError(what, f"did not answer like a Prometheus server (HTTP {status}, not JSON: "
                               f"{body[:60]!r})") from None
    if not isinstance(payload, dict) or "status" not in payload:
        raise InputError(what, f"did not answer like a Prometheus server (HTTP {status}, no 'status')")
    if payload["status"] != "success":
        kind = payload.get("errorType", "error")
        raise InputError(f"prom_query '{query}'", f"refused by the server ({kind}: {payload.get('error', '?')})")
    data = payload.get("data") or {}
    if not isinstance(data, dict):
        raise InputError(what, f"did not answer like a Prometheus server (HTTP {status}, its 'data' is not an object)")
    if data.get("resultType") != "matrix" or not isinstance(data.get("result"), list):
        raise InputError(f"prom_query '{query}'", f"gave a {data.get('resultType')!r} result, not a range of "
                                                  "series (matrix)")
    return data["result"]
