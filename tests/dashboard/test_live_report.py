"""The failure-impact report from the Live page: HTML that parses and names the event, and a PDF
whose structure (header, objects where the xref says, trailer) and text hold the event."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

import pytest

from netdrift.dashboard.common.state import LiveSession
from netdrift.dashboard.live.report import build_report, map_spec, report_html, report_pdf
from netdrift.engine.experiments.scenario import LiveScenario
from netdrift.engine.experiments.spec import ScenarioSpec


@pytest.fixture(scope="module")
def session() -> LiveSession:
    """Abilene, 1-hour steps; Denver's links failed at step 33 so Denver is cut off, live at step 35."""
    spec = ScenarioSpec(topology="abilene", steps=60, train_steps=30, step_minutes=60,
                        models=("persistence",), seed=3, interval=0.9, warn_utilization=0.5)
    live = LiveScenario.from_spec(spec)
    live.train()
    live.advance(3)
    node = live.topology.nodes[0]
    for link in live.topology.links:
        if node.id in (link.u, link.v):
            live.fail(link.id)
    live.advance(2)
    return LiveSession(live=live)


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.text: list[str] = []
        self.images: list[str] = []
        self.event = ""

    def handle_starttag(self, tag, attrs):
        if tag not in ("meta", "img", "br"):
            self.stack.append(tag)
        if tag == "img":
            self.images.append(dict(attrs)["src"])
        if dict(attrs).get("id") == "event":
            self.stack.append("#event")

    def handle_endtag(self, tag):
        while self.stack and self.stack[-1] == "#event":
            self.stack.pop()
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)
        if "#event" in self.stack:
            self.event += data


def test_the_html_report_parses_names_the_event_and_carries_the_map(session: LiveSession) -> None:
    live = session.live
    report = build_report(session, direction=0)
    page = report_html(report).decode("utf-8")
    parser = _Collect()
    parser.feed(page)
    parser.close()
    assert parser.stack == [], "every element is closed"
    node = live.topology.nodes[0]
    # The event by name: every link of the first node failed at step 33, that node cut off.
    assert "failed" in parser.event and "step 33" in parser.event and "step 35" in parser.event
    text = " ".join(parser.text)
    assert node.label in text  # cut off, listed by name
    assert "Cut-off nodes" in text and "Dropped traffic" in text
    pngs = [src for src in parser.images if src.startswith("data:image/png;base64,")]
    assert len(pngs) == 2  # the map and the forecast chart, inline (nothing fetched)
    assert base64.b64decode(pngs[0].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_pdf_report_is_a_pdf_with_the_event_as_text(session: LiveSession) -> None:
    report = build_report(session, direction=0)
    pdf = report_pdf(report)
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    # Each object is where the cross-reference table says.
    start = int(re.search(rb"startxref\n(\d+)", pdf).group(1))
    assert pdf[start:start + 4] == b"xref"
    count = int(re.search(rb"xref\n0 (\d+)", pdf).group(1))
    offsets = [int(x) for x in re.findall(rb"(\d{10}) 00000 n", pdf)]
    assert len(offsets) == count - 1
    for i, off in enumerate(offsets, start=1):
        assert pdf[off:].startswith(b"%d 0 obj" % i)
    # The text is text: the event's words are in the page content (WinAnsi, arrows as "->").
    node = session.live.topology.nodes[0].label.encode("cp1252")
    event_line = next(line for line in pdf.split(b"\n") if b"at step 33" in line and b"failed" in line)
    assert node in event_line and event_line.startswith(b"BT ") and event_line.endswith(b" Tj ET"), event_line
    assert pdf.count(b"/Subtype /Image") == 2


def test_a_report_of_an_earlier_step_is_the_state_then(session: LiveSession) -> None:
    before = build_report(session, step=31)
    assert before.event.startswith("No failure or restore in force at step 31")
    assert dict(before.summary)["Failed now"] == "none"
    assert session.live.step == 35  # the run did not move


def test_the_static_map_draws_failed_links_dashed_and_every_node() -> None:
    data = {"nodes": [{"id": "a", "x": 0, "y": 0, "label": "A", "color": {"background": "#2b3a55"}},
                      {"id": "b", "x": 100, "y": 50, "label": "B", "color": {"background": "#2b3a55"}}],
            "edges": [{"link": "a-b", "from": "a", "to": "b", "util": None, "color": "#111111", "width": 1.0,
                       "failed": True, "overload": False},
                      {"link": "a-b", "from": "b", "to": "a", "util": None, "color": "#111111", "width": 1.0,
                       "failed": True, "overload": False}]}
    spec = map_spec(data)
    solid, dashed, dots, names, over = spec["layer"]
    assert solid["data"]["values"] == [] and len(dashed["data"]["values"]) == 1
    assert dashed["mark"]["strokeDash"] == [6, 4]
    assert [n["name"] for n in names["data"]["values"]] == ["A", "B"] and len(dots["data"]["values"]) == 2
    assert over["data"]["values"] == []


def test_the_impact_pages_report_of_a_sweeps_failure(tmp_path) -> None:
    from netdrift.dashboard.impact.report import sweep_report
    from netdrift.dashboard.map.model import node_positions
    from netdrift.engine.network.loaders import load_topology
    from netdrift.service.sweeps import SweepSettings, run_sweep
    from netdrift.storage.database import open_database

    abilene = load_topology("abilene")
    stored = run_sweep(open_database(f"sqlite:///{tmp_path / 'h.sqlite'}"), abilene,
                       SweepSettings("link", 0, 24, steps=24, seed=2, peak_utilization=0.8), topology_source="abilene",
                       workers=1)
    worst = stored.failures[0]
    report = sweep_report(stored, 1, node_positions(abilene))
    page = report_html(report).decode("utf-8")
    parser = _Collect()
    parser.feed(page)
    parser.close()
    assert parser.stack == [] and "fails (rank 1 of" in parser.event
    assert worst["target"] in parser.event  # the link by name and id
    assert "Overload warnings" not in page  # a sweep has no forecasts
    pdf = report_pdf(report)
    assert pdf.startswith(b"%PDF-") and b"fails \\(rank 1 of" in pdf
