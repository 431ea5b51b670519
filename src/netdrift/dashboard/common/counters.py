"""Interface counters attached to a topology (the Topology, Live and Impact pages).

An operator has interface counters, rarely a traffic matrix. The panel of
:func:`counters_panel` takes an upload in the format ``netdrift ... --link-loads FILE.csv`` reads
(``time,src,dst,mbps`` rates or ``time,src,dst,octets`` cumulative counters, the rules of
``docs/counters.md``; the same reader, :func:`netdrift.engine.traffic.link_load_csv.load_link_loads_csv`,
and its messages, naming the upload), deduces the demands behind the loads at every step
(:func:`netdrift.engine.traffic.deduce.deduce_demands`) and keeps them in the data directory as a
``time,src,dst,mbps`` replay (``deduced/<hash>.csv``, as the CLI does), so that a Live run or an
Impact sweep on that topology replays the deduced demands instead of synthetic traffic (the
measured loads are kept beside them, ``deduced/<hash>.loads.npz``, for :func:`attached_loads`: the
Impact page's "what the counters pin"). The
deduction's link fit (how closely the deduced demands, routed, reproduce the measured loads) is
shown with it. Bad input: one line in the page (the previous attachment, if any, stays).

The attachment lives in the browser session (``st.session_state[COUNTERS_KEY]``): one at a time,
used by a page only when its topology is the one the counters were read against.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from netdrift.dashboard.common.export import sanitize_filename
from netdrift.engine.errors import InputError

if TYPE_CHECKING:
    from netdrift.dashboard.impact.defaults import SweepDefaults
    from netdrift.engine.experiments.spec import ScenarioSpec
    from netdrift.engine.network.topology import Topology
    from netdrift.engine.traffic.link_loads import LinkLoadSeries

__all__ = ["AttachedCounters", "COUNTERS_KEY", "MAX_COUNTER_BYTES", "read_counters_upload", "attach_counters",
           "attached_for", "attached_loads", "spec_with_counters", "counters_defaults", "counters_caption",
           "counters_panel"]

#: Session-state key of the attached counters (an :class:`AttachedCounters` as a dict).
COUNTERS_KEY = "netdrift_counters"
#: Largest upload (a month of 5-minute rates on a mid-size network in CSV).
MAX_COUNTER_BYTES = 200 * 2**20


@dataclass(frozen=True)
class AttachedCounters:
    """Counters read against a topology and the demands deduced from them.

    ``traffic`` is the deduced demands' replay file (``time,src,dst,mbps``), ``steps`` and
    ``step_minutes`` its grid; ``link_fit_median`` / ``link_fit_max`` the relative L2 misfit of
    the routed demands against the measured loads over the steps (None when no step was measured);
    ``loads`` the measured loads' file (:func:`attached_loads`; empty for an attachment made
    before it was kept)."""

    topology: str
    signature: str
    upload: str
    method: str
    traffic: str
    steps: int
    step_minutes: float
    missing_steps: int
    link_fit_median: float | None
    link_fit_max: float | None
    ms_per_step: float
    loads: str = ""

    def matches(self, topology: Topology) -> bool:
        """Whether these counters were read against ``topology`` (same nodes and link directions)."""
        return self.signature == _signature(topology)

    def text(self) -> str:
        """One line: what was attached and how closely the deduced demands reproduce it."""
        fit = ("no step measured" if self.link_fit_max is None else
               f"the measured link loads reproduced within {_pct(self.link_fit_median)} (median step) and "
               f"{_pct(self.link_fit_max)} (worst step)")
        gaps = f", {self.missing_steps} without any measurement" if self.missing_steps else ""
        return (f"Attached '{self.upload}' to {self.topology}: demands deduced ({self.method}) for "
                f"{self.steps} steps of {self.step_minutes:g} min{gaps}; {fit}.")


def _pct(v: float | None) -> str:
    return "?" if v is None else f"{100.0 * v:.2g} %"


def _signature(topology: Topology) -> str:
    h = hashlib.sha256()
    h.update(topology.name.encode())
    for n in topology.nodes:
        h.update(b"\0n" + n.id.encode())
    for link_id, u, v in topology.direction_names():
        h.update(f"\0d{link_id}\0{u}\0{v}".encode())
    return h.hexdigest()[:20]


def read_counters_upload(filename: str, data: bytes, topology: Topology) -> LinkLoadSeries:
    """The link loads in an uploaded CSV, read by the CLI's ``--link-loads`` reader; bad input
    raises :class:`InputError` naming the upload (``upload 'x.csv': line 3: ...``).

    >>> from netdrift.engine.network.topology import Node, Link, Topology
    >>> t = Topology("ab", (Node("a", "a"), Node("b", "b")), (Link("ab", "a", "b", 1000.0),))
    >>> read_counters_upload("c.csv", b"time,src,dst,mbps\\n2024-01-01T00:00,a,c,1\\n", t)
    Traceback (most recent call last):
    ...
    netdrift.engine.errors.InputError: upload 'c.csv': line 2: node 'c' is not in topology 'ab'
    """
    from netdrift.engine.traffic.link_load_csv import load_link_loads_csv

    safe = sanitize_filename(Path(str(filename).replace("\\", "/")).name or "counters.csv", default="counters")
    what = f"upload '{safe}'"
    if not isinstance(data, (bytes, bytearray)):
        raise InputError(what, "expected the file's bytes")
    if not data:
        raise InputError(what, "the file is empty")
    if len(data) > MAX_COUNTER_BYTES:
        raise InputError(what, f"{len(data) / 2**20:.1f} MiB is over the {MAX_COUNTER_BYTES / 2**20:.0f} MiB limit")
    if Path(safe).suffix.lower() != ".csv":
        raise InputError(what, "unknown format: expected a .csv file (time,src,dst,mbps or octets)")
    with tempfile.TemporaryDirectory(prefix="netdrift-counters-") as tmp:
        path = Path(tmp) / safe
        path.write_bytes(bytes(data))
        try:
            loads = load_link_loads_csv(path, topology)
        except InputError as err:          # the reader names its temporary path: name the upload instead
            raise InputError(what, err.problem) from None
    return replace(loads, source=safe)


def attach_counters(filename: str, data: bytes, topology: Topology, method: str | None = None,
                    folder: Path | None = None,
                    progress: Callable[[int, int], None] | None = None) -> AttachedCounters:
    """Read the upload, deduce the demands at every step and write them as a replay file in
    ``folder`` (default: the data directory's ``deduced/``; a file of the same content is reused).
    ``progress(done, total)``: the deduction's steps (see :func:`netdrift.engine.traffic.deduce.deduce_demands`)."""
    from netdrift.engine.traffic.deduce import DEFAULT_METHOD, deduce_demands
    from netdrift.engine.traffic.demand_csv import demands_frame

    method = method or DEFAULT_METHOD
    loads = read_counters_upload(filename, data, topology)
    traffic, report = deduce_demands(topology, loads, method, progress=progress)
    if folder is None:
        from netdrift.service.history import default_data_dir

        folder = default_data_dir() / "deduced"
    folder.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256(bytes(data))
    h.update(f"\0{_signature(topology)}\0{method}".encode())
    out = folder / f"{h.hexdigest()[:20]}.csv"
    if not out.exists():
        _write_atomically(out, lambda fh: demands_frame(traffic).to_csv(fh, index=False))
    kept = folder / f"{h.hexdigest()[:20]}.loads.npz"
    if not kept.exists():
        _write_atomically(kept, lambda fh: np.savez(fh, loads=np.asarray(loads.loads, dtype=np.float64),
                                                    link_up=np.zeros((0, 0), bool) if loads.link_up is None
                                                    else np.asarray(loads.link_up, dtype=bool),
                                                    step_minutes=float(loads.step_minutes),
                                                    start=loads.start.isoformat()), binary=True)
    s = report.summary()
    fit = s["link_fit"]
    return AttachedCounters(topology=topology.name, signature=_signature(topology), upload=loads.source,
                            method=method, traffic=str(out), steps=loads.steps, step_minutes=float(loads.step_minutes),
                            missing_steps=int(s["missing_steps"]), link_fit_median=fit["median"],
                            link_fit_max=fit["max"], ms_per_step=float(s["ms_per_step"]), loads=str(kept))


def _write_atomically(out: Path, write: Any, binary: bool = False) -> None:
    """``write(file)`` into a temporary file beside ``out``, then renamed to it (never half-written)."""
    fd, tmp = tempfile.mkstemp(prefix=".deduced-", suffix=out.suffix, dir=out.parent)
    try:
        with os.fdopen(fd, "wb" if binary else "w", newline=None if binary else "") as fh:
            write(fh)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def attached_loads(attached: AttachedCounters, topology: Topology) -> LinkLoadSeries | None:
    """The measured loads of ``attached`` (None when they were not kept or are gone)."""
    from datetime import datetime

    from netdrift.engine.traffic.link_loads import LinkLoadSeries

    if not attached.loads or not Path(attached.loads).is_file():
        return None
    with np.load(attached.loads) as z:
        up = z["link_up"]
        return LinkLoadSeries(tuple(topology.direction_names()), z["loads"], float(z["step_minutes"]),
                              datetime.fromisoformat(str(z["start"])), attached.upload, up if up.size else None)


def attached_for(topology: Topology, session: Any = None) -> AttachedCounters | None:
    """The counters attached in this session when they were read against ``topology``."""
    if session is None:
        import streamlit as st

        session = st.session_state
    raw = session.get(COUNTERS_KEY)
    if not raw:
        return None
    attached = AttachedCounters(**raw)
    return attached if attached.matches(topology) else None


def spec_with_counters(spec: ScenarioSpec, topology: Topology, session: Any = None) -> ScenarioSpec:
    """``spec`` replaying the deduced demands (their step length) when counters are attached to
    ``topology`` in this session (:func:`attached_for`); ``spec`` itself otherwise. Raises
    :class:`InputError` when the spec asks for more steps than the counters have."""
    attached = attached_for(topology, session)
    if attached is None:
        return spec
    if spec.steps > attached.steps:
        raise InputError(f"counters '{attached.upload}'", f"have {attached.steps} steps of {attached.step_minutes:g} "
                                                          f"min, fewer than the {spec.steps} training and live steps "
                                                          "asked (lower them, or detach the counters)")
    return replace(spec, traffic=attached.traffic, step_minutes=attached.step_minutes)


def counters_defaults(attached: AttachedCounters, current: SweepDefaults) -> SweepDefaults:
    """The Impact form's traffic with counters attached: the deduced demands, the whole series as
    the window; ``current`` when it is a Live run that already replays them (its window kept).

    >>> from netdrift.dashboard.impact.defaults import OWN_DEFAULTS
    >>> a = AttachedCounters("t", "s", "c.csv", "prior", "/d/x.csv", 96, 15.0, 0, 0.0, 0.0, 1.0)
    >>> d = counters_defaults(a, OWN_DEFAULTS)
    >>> (d.traffic, d.steps, d.step_minutes, d.start, d.stop, d.source)
    ('/d/x.csv', 96, 15.0, 0, 96, 'counters')
    """
    from netdrift.dashboard.impact.defaults import SweepDefaults

    if current.source == "live" and current.traffic == attached.traffic:
        return current
    return SweepDefaults(steps=attached.steps, step_minutes=attached.step_minutes, seed=0, peak_pct=current.peak_pct,
                         start=0, stop=attached.steps, traffic=attached.traffic, source="counters")


def counters_caption(d: SweepDefaults) -> str:
    """The Impact form's line on the traffic when it is deduced from counters."""
    return (f"The demands deduced from the attached interface counters ({d.steps} steps of {d.step_minutes:g} min), "
            "replayed as measured (no seed, no scaling); choose the window.")


def counters_panel(topology: Topology, key: str) -> AttachedCounters | None:
    """An expander to attach interface counters to ``topology`` (upload, method, the deduction's
    fit, detach); the attachment in force for ``topology`` after this run of the page."""
    import streamlit as st

    from netdrift.dashboard.impact.progress import SweepProgress
    from netdrift.engine.traffic.deduce import DEFAULT_METHOD, METHODS

    attached = attached_for(topology)
    with st.expander("Interface counters: run on demands deduced from link loads", expanded=attached is not None):
        st.caption("A CSV of per-direction link loads, as `netdrift --link-loads` reads: `time,src,dst,mbps` "
                   "(src -> dst a direction of the link between them; a `link` column for parallel links) or "
                   "`time,src,dst,octets` cumulative counters (wraps, resets, LAG members with an `interface` "
                   "column; rules in docs/counters.md). The demands behind the loads are deduced at every step; "
                   "Live runs and Impact sweeps on this topology then replay them instead of synthetic traffic.")
        cols = st.columns([3, 2])
        # A detach empties the upload box too (a new key): the file left in it would otherwise be
        # read again, and the counters silently attached again, when the method is changed.
        generation = st.session_state.get(f"{key}_generation", 0)
        upload = cols[0].file_uploader("Link loads (.csv)", type=["csv"], key=f"{key}_upload" + (f"_{generation}" if generation else ""),
                                       max_upload_size=MAX_COUNTER_BYTES // 2**20)
        method = cols[1].selectbox("Deduction", METHODS, index=METHODS.index(DEFAULT_METHOD), key=f"{key}_method",
                                   help="'prior': a gravity model fitted to the loads, carried from step to step; "
                                        "'tomogravity': gravity from each node's loads at the step. Both then "
                                        "reproduce every measured load.")
        message = st.empty()
        if upload is None:
            st.session_state.pop(f"{key}_error", None)
        else:
            done_key = f"{key}_done"
            token = (upload.file_id, method, _signature(topology))
            if st.session_state.get(done_key) != token:
                st.session_state[done_key] = token
                bar = st.progress(0.0, text="Deducing the demands...")
                try:
                    new = attach_counters(upload.name, upload.getvalue(), topology, method,
                                          progress=SweepProgress(bar, what="Deducing the demands", unit="steps"))
                except InputError as err:
                    st.session_state[f"{key}_error"] = str(err)
                else:
                    st.session_state.pop(f"{key}_error", None)
                    st.session_state[COUNTERS_KEY] = asdict(new)
                    attached = new
                finally:
                    bar.empty()
            if err_text := st.session_state.get(f"{key}_error"):
                message.error(err_text)
        if attached is not None:
            st.success(attached.text(), icon=":material/check:")
            if st.button("Detach the counters", key=f"{key}_detach"):
                st.session_state.pop(COUNTERS_KEY, None)
                st.session_state[f"{key}_generation"] = generation + 1
                st.rerun()
    return attached
