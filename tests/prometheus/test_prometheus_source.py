"""Link loads read from a real Prometheus (backfilled by promtool) equal the rates computed by hand
from the same counters; bad sources are one line naming the input."""

from __future__ import annotations

import json
import socket
import threading
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from netdrift.engine.errors import InputError
from netdrift.engine.traffic import prometheus_source
from netdrift.engine.traffic.prometheus_mapping import mapping_from_rows, read_mapping
from netdrift.engine.traffic.prometheus_source import PrometheusWindow, parse_time, read_prometheus
from tests.prometheus.conftest import RING, SAMPLES, STEP_S, T0, Interface, mapping_rows

START = datetime.fromtimestamp(T0, timezone.utc)
WHOLE = PrometheusWindow(START, START + timedelta(seconds=(SAMPLES - 2) * STEP_S))  # 36 steps


def hand_rates(history: dict[Interface, np.ndarray]) -> np.ndarray:
    """(steps, directions) Mbit/s from the counters, independently of Prometheus: per interval the
    counter's increase (after a drop: the new value, counted from zero), LAG members summed."""
    out = np.zeros((SAMPLES - 1, RING.n_directions))
    for itf, counter in history.items():
        inc = np.diff(counter)
        inc = np.where(inc < 0, counter[1:], inc)
        out[:, RING.direction_index(itf.link, itf.src)] += inc * 8 / 1e6 / STEP_S
    return out


def test_backfilled_counters_read_back_as_the_hand_computed_loads(backfilled, ring_history):
    loads = read_prometheus(backfilled.url, RING, mapping_from_rows(mapping_rows(), RING), WHOLE)
    assert loads.steps == SAMPLES - 1 and loads.step_minutes == 5.0
    assert loads.start == START.replace(tzinfo=None)  # steps are named by the time they start
    assert loads.directions == tuple(RING.direction_names())
    np.testing.assert_allclose(loads.loads, hand_rates(ring_history), rtol=1e-6)


def test_pages_of_a_few_steps_give_the_same_loads(backfilled, monkeypatch):
    whole = read_prometheus(backfilled.url, RING, mapping_from_rows(mapping_rows(), RING), WHOLE)
    monkeypatch.setattr(prometheus_source, "POINTS_PER_PAGE", 20)  # 9 interfaces: 2 steps a page
    paged = read_prometheus(backfilled.url, RING, mapping_from_rows(mapping_rows(), RING), WHOLE)
    np.testing.assert_array_equal(paged.loads, whole.loads)


def test_steps_outside_the_history_are_gaps_never_zero(backfilled, ring_history):
    window = PrometheusWindow(START - timedelta(minutes=10), START + timedelta(minutes=10))
    loads = read_prometheus(backfilled.url, RING, mapping_from_rows(mapping_rows(), RING), window)
    assert loads.steps == 5
    assert np.isnan(loads.loads[:2]).all()  # before the first sample (and the step that ends on it)
    np.testing.assert_allclose(loads.loads[2:], hand_rates(ring_history)[:3], rtol=1e-6)


def test_last_n_steps_up_to_an_end(backfilled, ring_history):
    end = START + timedelta(hours=1)
    loads = read_prometheus(backfilled.url, RING, mapping_from_rows(mapping_rows(), RING),
                            PrometheusWindow(end=end, last_steps=4))
    assert loads.start == (end - timedelta(minutes=15)).replace(tzinfo=None)
    np.testing.assert_allclose(loads.loads, hand_rates(ring_history)[9:13], rtol=1e-6)


def test_a_lag_member_missing_makes_a_gap(backfilled, ring_history):
    """A query that loses one LAG member at some steps: the LAG's direction is a gap there."""
    query = ('rate(ifHCOutOctets[5m]) * 8 / 1e6 unless on(instance, ifName) '
             f'(ifHCOutOctets{{ifName="ae0-2"}} and on() (vector(time()) > {T0 + 10 * STEP_S}))')
    loads = read_prometheus(backfilled.url, RING, mapping_from_rows(mapping_rows(), RING), WHOLE, query=query)
    lag = RING.direction_index("a-b", "a")
    hand = hand_rates(ring_history)
    assert np.isnan(loads.loads[10:, lag]).all()
    np.testing.assert_allclose(loads.loads[:10, lag], hand[:10, lag], rtol=1e-6)
    others = [d for d in range(RING.n_directions) if d != lag]
    np.testing.assert_allclose(loads.loads[:, others], hand[:, others], rtol=1e-6)


def test_mapping_file_csv_and_json(tmp_path):
    rows = mapping_rows()
    csv_file = tmp_path / "m.csv"
    csv_file.write_text("instance,ifName,link,src\n" + "".join(
        f"{r['instance']},{r['ifName']},{r['link']},{r['src']}\n" for r in rows), encoding="utf-8-sig")  # with a BOM
    json_file = tmp_path / "m.json"
    json_file.write_text(json.dumps({"interfaces": rows}))
    a, b = read_mapping(csv_file, RING), read_mapping(json_file, RING)
    assert a.interfaces == b.interfaces
    assert a.interfaces[("a", "ae0-2")] == RING.direction_index("a-b", "a")
    assert a.members[RING.direction_index("a-b", "a")] == 2


@pytest.mark.parametrize("edit, problem", [
    (lambda rows: rows[2:], "no interface for 1 of 8 directions: a->b (link a-b)"),
    (lambda rows: [*rows, {**rows[0], "link": "x-y"}], "no link 'x-y' in topology 'ring4'"),
    (lambda rows: [*rows[:-1], {**rows[-1], "src": "c"}], "'c' is not an end of link 'd-a'"),
    (lambda rows: [*rows, rows[0]], "interface instance=a ifName=ae0-1 is listed twice"),
    (lambda rows: [], "lists no interfaces"),
])
def test_bad_mapping_is_one_line_naming_the_file(edit, problem):
    with pytest.raises(InputError) as err:
        mapping_from_rows(edit(mapping_rows()), RING, "m.csv")
    assert str(err.value).startswith("prom_mapping 'm.csv': ") and problem in str(err.value)
    assert "\n" not in str(err.value)


def test_mapped_interfaces_without_series_are_named(backfilled):
    rows = [dict(r, instance="c.example") if r["instance"] == "c" else r for r in mapping_rows()]
    with pytest.raises(InputError, match=r"prom_mapping 'mapping': 2 of 9 interfaces have no series in "
                                         r"Prometheus from 2024-01-01T00:00:00\+00:00 .*instance=c.example"):
        read_prometheus(backfilled.url, RING, mapping_from_rows(rows, RING), WHOLE)


def test_a_mapping_matching_no_series_shows_what_came_back(backfilled):
    rows = [dict(r, ifName=r["ifName"].upper()) for r in mapping_rows()]
    with pytest.raises(InputError, match=r"matches none of the series the query returned \(by instance, ifName\), "
                                         r"e\.g\. \{ifName=ae0-1, instance=a, job=snmp\}"):
        read_prometheus(backfilled.url, RING, mapping_from_rows(rows, RING), WHOLE)


def test_a_query_that_returns_nothing(backfilled):
    with pytest.raises(InputError, match=r"^prom_query 'rate\(nothing_here\[5m\]\)': returned no series from "
                                         r"'http://127\.0\.0\.1:\d+' from 2024-01-01T00:00:00\+00:00 to "):
        read_prometheus(backfilled.url, RING, mapping_from_rows(mapping_rows(), RING), WHOLE,
                        query="rate(nothing_here[5m])")


def test_an_error_payload_is_the_servers_message(backfilled):
    with pytest.raises(InputError, match=r"^prom_query 'rate\(ifHCOutOctets': refused by the server "
                                         r"\(bad_data: .*parse error"):
        read_prometheus(backfilled.url, RING, mapping_from_rows(mapping_rows(), RING), WHOLE,
                        query="rate(ifHCOutOctets")


def test_a_server_that_is_down():
    with socket.socket() as s:  # a port nobody listens on: bound, never listening
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
        with pytest.raises(InputError, match=rf"^link_loads '{url}': cannot connect \(.*refused.*\); "
                                             "is Prometheus running there\\?$"):
            read_prometheus(url, RING, mapping_from_rows(mapping_rows(), RING), WHOLE)


def test_a_server_that_never_answers_times_out(silent_server):
    with pytest.raises(InputError, match=rf"^link_loads '{silent_server}': no answer within 0.3 s "):
        read_prometheus(silent_server, RING, mapping_from_rows(mapping_rows(), RING), WHOLE, timeout=0.3)


def test_not_a_prometheus(tmp_path):
    import http.server

    handler = http.server.SimpleHTTPRequestHandler
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: handler(*a, directory=str(tmp_path)))
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}"
        with pytest.raises(InputError, match=rf"^link_loads '{url}': did not answer like a Prometheus server "
                                             r"\(HTTP 501"):
            read_prometheus(url, RING, mapping_from_rows(mapping_rows(), RING), WHOLE)
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.mark.parametrize("window, problem", [
    (PrometheusWindow(), "prom_start: a Prometheus source needs a window"),
    (PrometheusWindow(START, START - timedelta(minutes=5)), "prom_end: 2023-12-31T23:55:00+00:00 is before"),
    (PrometheusWindow(last_steps=0), "prom_steps: must be at least 1"),
    (PrometheusWindow(START, last_steps=3), "prom_steps: give either the last N steps or a start time"),
    (PrometheusWindow(START, START, step_minutes=0), "prom_step: must be a number of minutes > 0"),
])
def test_bad_windows(window, problem):
    with pytest.raises(InputError, match="^" + problem.replace("(", r"\(").replace("+", r"\+")):
        read_prometheus("http://127.0.0.1:1", RING, mapping_from_rows(mapping_rows(), RING), window)


def test_memory_budget_is_checked_before_reading():
    with pytest.raises(InputError, match=r"^Prometheus link loads of 8640 steps x 8 directions .* over the memory "
                                         "budget"):
        read_prometheus("http://127.0.0.1:1", RING, mapping_from_rows(mapping_rows(), RING),
                        PrometheusWindow(START, START + timedelta(days=30) - timedelta(minutes=5)),
                        budget_bytes=1_000_000)


def test_times_iso_or_unix():
    assert parse_time("2024-01-01T00:00:00Z", "x") == START == parse_time(str(T0), "x")
    with pytest.raises(InputError, match="^x 'yesterday': expected a time"):
        parse_time("yesterday", "x")


def _answering(body: bytes):
    """A local HTTP server that answers every request with ``body`` (JSON, HTTP 200)."""
    import http.server

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    return http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)


def _matrix(result) -> dict:
    return {"status": "success", "data": {"resultType": "matrix", "result": result}}


METRIC = {"instance": "r0:161", "ifName": "e0"}


@pytest.mark.parametrize("payload, problem", [
    ({"status": "success", "data": ["not", "an", "object"]}, "its 'data' is not an object"),
    (_matrix(["a string"]), "a series that is not {metric, values}: a string"),
    (_matrix([{"metric": ["x"], "values": []}]), "a series that is not {metric, values}"),
    (_matrix([{"metric": METRIC, "values": {"t": 1}}]), "a series that is not {metric, values}"),
    (_matrix([{"metric": METRIC, "values": [[T0, "1", "extra"]]}]), 'a value that is not [time, "number"]'),
    (_matrix([{"metric": METRIC, "values": [[T0, "many"]]}]), 'a value that is not [time, "number"]'),
    (_matrix([{"metric": METRIC, "values": [["soon", "1"]]}]), 'a value that is not [time, "number"]'),
    (_matrix([{"metric": METRIC, "values": [5]}]), 'a value that is not [time, "number"]'),
    (_matrix([{"metric": METRIC, "values": [["NaN", "1"]]}]), "a time of NaN"),
])
def test_an_answer_of_another_shape_is_one_line(payload, problem):
    """A server (a proxy, a broken exporter) that answers JSON of another shape than Prometheus's."""
    srv = _answering(json.dumps(payload).encode())
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}"
        with pytest.raises(InputError) as err:
            read_prometheus(url, RING, mapping_from_rows(mapping_rows(), RING), WHOLE)
        message = str(err.value)
        assert message.startswith(f"link_loads '{url}': did not answer like a Prometheus server (") and "\n" not in message
        assert problem in message, message
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.mark.parametrize("window, problem", [
    (PrometheusWindow(last_steps=10**12), "prom_steps: 1000000000000 steps of 5 min reach back past the range"),
    (PrometheusWindow(last_steps=5, step_minutes=1e13), "prom_step: 1e+13 minutes is longer than any window"),
    (PrometheusWindow(last_steps=5, step_minutes=1e12), "prom_steps: 5 steps of 1e+12 min reach back"),
    (PrometheusWindow(last_steps=3, end=datetime(1, 1, 1, 0, 5, tzinfo=timezone.utc)), "prom_steps: 3 steps"),
])
def test_windows_past_the_range_of_times(window, problem):
    with pytest.raises(InputError, match="^" + problem.replace("+", r"\+")):
        window.resolve(START)


@pytest.mark.parametrize("text", ["1e300", "-1e300", "99999999999999999999"])
def test_times_past_the_range_are_one_line(text):
    with pytest.raises(InputError, match=rf"^prom_start '{text}': is out of the range of times \(years 1 to 9999\)$"):
        parse_time(text, "prom_start")
