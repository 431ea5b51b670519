"""Topology: choose a bundled network or upload one, check it, adjust link capacities and
weights, and hand it to the Live view (``st.session_state["topology_choice"]``)."""

from __future__ import annotations

import streamlit as st

from netdrift.dashboard.common.counters import counters_panel
from netdrift.dashboard.common.topology_io import (
    EDITABLE_COLUMNS,
    MAX_UPLOAD_BYTES,
    UPLOAD_TYPES,
    UPLOAD_WIDGET_MB,
    apply_link_edits,
    links_frame,
    preview_data,
    topology_counts,
    topology_from_upload,
)
from netdrift.dashboard.map.components.topology_map import topology_map
from netdrift.engine.errors import InputError
from netdrift.engine.network.loaders import bundled_topologies, load_topology, topology_to_dict
from netdrift.engine.network.topology import Topology

CHOICE_KEY = "topology_choice"


@st.cache_resource(show_spinner="Loading topology…", max_entries=16)
def load_bundled(name: str) -> Topology:
    """A bundled topology (immutable, so shared by every session)."""
    return load_topology(name)


st.title("Topology")

current = st.session_state.get(CHOICE_KEY)
if current:
    st.caption(f"The Live view uses **{current['name']}**.")

source = st.radio("Source", ["Bundled", "Upload a file"], horizontal=True, key="topology_source")
topology: Topology | None = None
choice_name = ""
if source == "Bundled":
    names = list(bundled_topologies())
    if not names:
        st.error("No bundled topologies found (sample_topologies/ is missing).")
        st.stop()
    name = st.selectbox("Bundled topology", names, key="topology_bundled")
    choice_name = name
    try:
        topology = load_bundled(name)
    except InputError as err:
        st.error(str(err))
else:
    upload = st.file_uploader(
        f"Topology file (Topology Zoo .graphml/.gml, SNDlib .xml/.txt, netdrift .json; up to "
        f"{MAX_UPLOAD_BYTES // 2**20} MB)",
        type=list(UPLOAD_TYPES),
        # Our own limit: the box says "Limit 20MB per file" under the label's "up to 20 MB".
        max_upload_size=UPLOAD_WIDGET_MB,
        key="topology_upload",
    )
    # Sent before parsing starts, so the previous file's error goes as soon as a new file is chosen.
    message = st.empty()
    if upload is None:
        message.info("Upload a topology file to inspect it.")
        st.stop()
    try:
        topology = topology_from_upload(upload.name, upload.getvalue())
    except InputError as err:
        message.error(str(err))

if topology is None:
    st.stop()

counts = topology_counts(topology)
c1, c2, c3, c4 = st.columns(4)
c1.metric("Nodes", counts["nodes"])
c2.metric("Links", counts["links"])
c3.metric("Link directions", counts["directions"])
c4.metric("Nodes with coordinates", counts["located"])
if topology.warnings:
    with st.expander(f"{len(topology.warnings)} loader warning(s)", expanded=False):
        for w in topology.warnings:
            st.warning(w)

st.subheader("Map")
st.caption("Hover a node or link for its details; zoom with the wheel, search by name, Fit shows it all. "
           "Grey until a run gives loads; link width = capacity.")
topology_map(preview_data(topology), key="topology_preview_map", height=520)
counters_panel(topology, key="topology_counters")

st.subheader("Links")
st.caption("Edit capacity (Mbit/s per direction) and IGP weight before running; other columns are fixed.")
table = links_frame(topology)
node_labels = {n.id: n.label for n in topology.nodes}
table.insert(3, "u_name", table["u"].map(node_labels))
table.insert(4, "v_name", table["v"].map(node_labels))
edited = st.data_editor(
    table,
    hide_index=True,
    num_rows="fixed",
    disabled=["id", "u", "v", "u_name", "v_name", "length_km"],
    column_config={
        "id": "Link",
        "u": "From",
        "v": "To",
        "u_name": "From (name)",
        "v_name": "To (name)",
        "capacity_mbps": st.column_config.NumberColumn("Capacity (Mbit/s)", min_value=0.001, format="%.1f"),
        "weight": st.column_config.NumberColumn("IGP weight", min_value=0.001, format="%g"),
        "length_km": st.column_config.NumberColumn("Length (km)", format="%.0f"),
    },
    key=f"topology_links_{topology.name}_{source}",
)

try:
    final = apply_link_edits(topology, edited)
except InputError as err:
    st.error(str(err))
    st.stop()

changed = sum(1 for a, b in zip(topology.links, final.links) if a != b)
if changed:
    st.caption(f"{changed} link(s) edited ({', '.join(EDITABLE_COLUMNS)}).")
if st.button("Use this topology in Live", type="primary", key="topology_use"):
    label = (choice_name or topology.name) + (" (edited)" if changed else "")
    st.session_state[CHOICE_KEY] = {"name": label, "topology": topology_to_dict(final)}
    st.success(f"The Live view will use {label}.")
