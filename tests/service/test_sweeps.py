"""netdrift.service.sweeps: a sweep run, stored in a real SQLite history, listed and opened again; bad
input refused in one line with nothing stored."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from netdrift.engine.errors import InputError
from netdrift.engine.network.events import FailureEvent
from netdrift.engine.network.loaders import load_topology
from netdrift.engine.network.simulation import Simulator
from netdrift.engine.traffic.sources import make_traffic
from netdrift.service.sweeps import SrlgUpload, SweepSettings, list_sweeps, open_sweep, run_sweep
from netdrift.storage.database import open_database

START, STOP, STEPS, MINUTES, SEED, PEAK = 4, 20, 24, 15.0, 3, 0.8


@pytest.fixture
def sessions(tmp_path: Path):
    return open_database(f"sqlite:///{tmp_path / 'h.sqlite'}")


@pytest.fixture(scope="module")
def abilene():
    return load_topology("abilene")


def settings(kind: str = "link", **kw) -> SweepSettings:
    base = dict(kind=kind, start=START, stop=STOP, steps=STEPS, step_minutes=MINUTES, seed=SEED, peak_utilization=PEAK)
    base.update(kw)
    return SweepSettings(**base)


def test_run_stores_lists_and_opens_the_sweep(sessions, abilene) -> None:
    seen: list[tuple[int, int]] = []
    stored = run_sweep(sessions, abilene, settings(), topology_source="abilene", workers=2,
                       progress=lambda done, total: seen.append((done, total)))
    # Abilene has 14 links (its GraphML): one failure each, ranked 1..14 by worst utilisation.
    assert len(stored.failures) == 14
    assert [f["rank"] for f in stored.failures] == list(range(1, 15))
    sev = [f["worst_utilization"] for f in stored.failures]
    assert sev == sorted(sev, reverse=True)
    assert seen[-1] == (14, 14) and len(seen) == 14
    assert stored.config == {"topology": "abilene", "traffic": "synthetic", "steps": STEPS, "step_minutes": MINUTES,
                             "seed": SEED, "peak_utilization": PEAK, "traffic_model": "sine", "kind": "link",
                             "srlg": None, "from": START, "to": STOP, "executor": "local", "ray_address": None,
                             "device": "cpu", "forecast": None, "horizon": None, "interval": None}

    listed = list_sweeps(sessions)
    assert [(x["id"], x["topology"], x["kind"], x["n_failures"]) for x in listed] == [(stored.id, "Abilene", "link", 14)]

    opened = open_sweep(sessions, stored.id)
    assert opened.failures == stored.failures
    assert opened.per_direction == stored.per_direction
    assert opened.topology == abilene
    assert opened.topology_source == "abilene"


def test_stored_worst_case_matches_the_simulator(sessions, abilene) -> None:
    """Independent path: the same traffic simulated with the top failure from START on."""
    stored = run_sweep(sessions, abilene, settings(), topology_source="abilene", workers=1)
    top = stored.failures[0]
    traffic = make_traffic("synthetic", abilene, STEPS, MINUTES, SEED, peak_utilization=PEAK)
    loads = Simulator(abilene, traffic, [FailureEvent(START, "fail", top["target"], "link")]).loads
    util = loads.utilization()[START:STOP]
    assert top["worst_utilization"] == pytest.approx(float(np.nanmax(util)), rel=1e-5)
    # per direction: the worst case over every failure is at least this failure's
    per_dir = np.array([d["worst_utilization"] if d["worst_utilization"] is not None else -np.inf
                        for d in stored.per_direction.values()])
    assert np.all(per_dir >= np.nan_to_num(np.nanmax(util, axis=0), nan=-np.inf) - 1e-6)


def test_srlg_upload_runs_one_failure_per_group(sessions, abilene) -> None:
    csv = b"srlg,link_id\neast,0-1\neast,0-2\nwest,%s\n" % abilene.links[-1].id.encode()
    stored = run_sweep(sessions, abilene, settings("srlg"), srlg=SrlgUpload("groups.csv", csv), workers=1)
    assert sorted(f["target"] for f in stored.failures) == ["east", "west"]
    east = next(f for f in stored.failures if f["target"] == "east")
    assert east["links"] == ["0-1", "0-2"]
    assert stored.config["srlg"] == "groups.csv"
    data = json.dumps({"srlgs": [{"id": "g", "links": ["0-1"]}]}).encode()
    again = run_sweep(sessions, abilene, settings("srlg"), srlg=SrlgUpload("g.json", data), workers=1)
    assert [f["target"] for f in again.failures] == ["g"]


@pytest.mark.parametrize("kind, kw, srlg, message", [
    ("link", dict(start=10, stop=10), None, "from: must be smaller than to (got 10 >= 10)"),
    ("link", dict(stop=STEPS + 1), None, f"to: step {STEPS + 1} is past the end of the run ({STEPS} steps)"),
    ("bogus", {}, None, "failure kind 'bogus': expected one of link, node, srlg, link-pairs"),
    ("srlg", {}, SrlgUpload("empty.csv", b""), "srlg 'empty.csv': the file is empty"),
    ("srlg", {}, SrlgUpload("bad.csv", b"srlg,link_id\ng,no-such-link\n"),
     "srlg 'bad.csv': group 'g': unknown link id 'no-such-link'"),
    ("srlg", {}, SrlgUpload("g.txt", b"srlg,link_id\ng,0-1\n"), "srlg 'g.txt': expected a .csv"),
    ("srlg", {}, None, "srlg: the SRLG failure kind needs a shared-risk link group file"),
    ("link", {}, SrlgUpload("g.csv", b"srlg,link_id\ng,0-1\n"), "srlg 'g.csv': only applies to the SRLG failure kind"),
])
def test_bad_input_is_one_line_and_stores_nothing(sessions, abilene, kind, kw, srlg, message) -> None:
    with pytest.raises(InputError) as err:
        run_sweep(sessions, abilene, settings(kind, **kw), srlg=srlg, workers=1)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)
    assert list_sweeps(sessions) == []


def test_over_the_memory_budget_is_refused_before_any_work(sessions, abilene) -> None:
    with pytest.raises(InputError) as err:
        run_sweep(sessions, abilene, settings("link-pairs"), budget_bytes=64 * 1024, workers=1)
    text = str(err.value)
    assert text.startswith("sweep of 91 failures x 16 steps on 'Abilene': would need about")  # 14 choose 2 = 91
    assert "over the memory budget of 64 KiB" in text
    assert list_sweeps(sessions) == []


def test_opening_an_unknown_sweep_names_it(sessions) -> None:
    with pytest.raises(InputError, match=r"^sweep 7: not found in database"):
        open_sweep(sessions, 7)


def test_a_forecast_sweep_needs_observed_steps_and_may_look_past_the_traffic():
    with pytest.raises(InputError, match="from: a forecast from step 0 needs observed steps"):
        SweepSettings("link", 0, 6, 48, forecast="routed-persistence").check()
    SweepSettings("link", 44, 56, 48, forecast="routed-persistence").check()  # the horizon runs past step 48
    with pytest.raises(InputError, match="to: step 56 is past the end"):
        SweepSettings("link", 44, 56, 48).check()


def test_the_cli_and_the_impact_page_store_one_config(sessions, abilene, tmp_path, capsys) -> None:
    """`netdrift sweep` goes through run_sweep too: the same settings store the same record."""
    from netdrift.cli.main import main
    from netdrift.service.sweeps import sweep_config

    page = run_sweep(sessions, abilene, settings(), topology_source="abilene", workers=1)
    db = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    assert main(["sweep", "--topology", "abilene", "--steps", str(STEPS), "--step-minutes", str(MINUTES),
                 "--seed", str(SEED), "--peak-utilization", str(PEAK), "--kind", "link", "--from", str(START),
                 "--to", str(STOP), "--device", "cpu", "--workers", "1", "--json", "--db", db]) == 0
    sweep_id = json.loads(capsys.readouterr().out)["sweep_id"]
    cli = open_sweep(open_database(db), sweep_id)
    assert cli.config == page.config == sweep_config(settings(), "abilene", MINUTES, None)
    assert cli.failures == page.failures


def test_bounds_are_kept_with_the_sweep_and_bad_ones_change_nothing(sessions, abilene) -> None:
    from netdrift.service.sweeps import store_deduction_bounds, stored_deduction_bounds

    stored = run_sweep(sessions, abilene, settings())
    assert stored_deduction_bounds(stored) == []
    bounds = [{"step": 5, "low": 0.4, "high": 0.7, "pinned": False}, None]
    kept = store_deduction_bounds(sessions, stored, bounds)
    assert stored_deduction_bounds(kept) == bounds == stored_deduction_bounds(open_sweep(sessions, stored.id))
    # Every other figure of the record is as it was.
    strip = [{k: v for k, v in f.items() if k != "deduction_bounds"} for f in open_sweep(sessions, stored.id).failures]
    assert strip == stored.failures
    too_many = [bounds[0]] * (len(stored.failures) + 1)
    with pytest.raises(InputError, match=rf"^sweep {stored.id}: has {len(stored.failures)} failures, not the "):
        store_deduction_bounds(sessions, stored, too_many)
    assert stored_deduction_bounds(open_sweep(sessions, stored.id)) == bounds
    gone = type(stored)(stored.id + 1, stored.topology, stored.kind, stored.config, stored.created_at,
                        stored.seconds, stored.result)
    with pytest.raises(InputError, match=rf"^sweep {stored.id + 1}: not found in database"):
        store_deduction_bounds(sessions, gone, bounds)
