// netdrift topology map: a vis-network Network kept across re-renders.
// Streamlit calls the default export on mount and on every data change; the Network, its
// DataSets and therefore zoom / pan live on the component's parent element.
// vis itself is evaluated once per page by the "netdrift.vis_loader" component.

function waitForVis(timeoutMs) {
  if (globalThis.vis && globalThis.vis.Network) return Promise.resolve(globalThis.vis);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const tick = () => {
      if (globalThis.vis && globalThis.vis.Network) return resolve(globalThis.vis);
      if (performance.now() - t0 > timeoutMs) return reject(new Error("vis-network did not load"));
      setTimeout(tick, 20);
    };
    tick();
  });
}

// One tooltip element per node / edge, kept across updates and rewritten in place, so a
// tooltip that is open while the map updates (e.g. right after a click) shows the new state.
const tips = new Map();
function tooltip(id, text) {
  let el = tips.get(id);
  if (!el) {
    el = document.createElement("div");
    el.className = "nd-tip";
    tips.set(id, el);
  }
  if (el.textContent !== text) el.textContent = text;
  return el;
}

function visEdge(e) {
  const c = e.color;
  return {
    id: e.id, from: e.from, to: e.to, link: e.link, dir: e.dir, failed: e.failed, util: e.util, upper_util: e.upper_util, pending: false,
    title: tooltip("e:" + e.id, e.title), label: e.label || "", // "" draws no label
    color: { color: c, highlight: c, hover: c, inherit: false },
    width: e.width, dashes: e.dashes,
  };
}

function visNode(n) {
  return {
    id: n.id, label: n.label, x: n.x, y: n.y, failed: n.failed, title: tooltip("n:" + n.id, n.title),
    color: { background: n.color.background, border: n.color.border,
             highlight: { background: n.color.background, border: "#ffb000" },
             hover: { background: n.color.background, border: "#ffb000" } },
    shapeProperties: n.shapeProperties,
  };
}

// Immediate feedback while the server re-routes: both directions of the clicked link turn
// grey-dotted and are flagged `pending`; the server's next update replaces them with the
// re-routed state (failed dashed black, or restored and coloured by load).
function showPending(edges, link, sigs) {
  const ids = edges.getIds({ filter: (x) => x.link === link });
  ids.forEach((id) => sigs.delete(id)); // whatever the server sends next replaces the grey
  edges.update(ids.map((id) => ({ id, pending: true, dashes: [2, 4],
                                  color: { color: "#9ca3af", highlight: "#9ca3af", hover: "#9ca3af", inherit: false } })));
}

function renderLegend(el, legend) {
  el.replaceChildren();
  for (const item of legend || []) {
    const row = document.createElement("span");
    row.className = "nd-legend-item";
    const sw = document.createElement("span");
    sw.className = "nd-swatch" + (item.dashed ? " nd-dashed" : "");
    sw.style.borderTopColor = item.colour;
    row.appendChild(sw);
    row.appendChild(document.createTextNode(item.label));
    el.appendChild(row);
  }
}

// What the server sent for an item (the tooltip element is the same object across updates).
function signature(x) {
  return JSON.stringify(x, (k, v) => (k === "title" ? undefined : v));
}

// Update only the items whose server data changed (a click at the same step changes a few
// links; vis re-processes every item it is handed), drop the ones that disappeared.
function syncDataSet(ds, items, sigs) {
  const keep = new Set(items.map((x) => x.id));
  const stale = ds.getIds().filter((id) => !keep.has(id));
  if (stale.length) { ds.remove(stale); stale.forEach((id) => sigs.delete(id)); }
  const changed = [];
  for (const x of items) {
    const sig = signature(x);
    if (sigs.get(x.id) !== sig) { sigs.set(x.id, sig); changed.push(x); }
  }
  if (changed.length) ds.update(changed);
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  const root = parentElement.querySelector(".nd-map");
  if (!root || !data) return;
  const st = (parentElement.__ndState = parentElement.__ndState || {});
  st.setTriggerValue = setTriggerValue; // the latest one (fragment / form context)
  st.clickMode = data && data.click_mode;
  st.pending = data;

  waitForVis(10000).then((vis) => {
    const d = st.pending;
    if (!d) return;
    st.pending = null;
    const canvasEl = root.querySelector(".nd-canvas");
    const nodes = d.nodes.map(visNode);
    const edges = d.edges.map(visEdge);
    if (!st.network || st.topology !== d.topology) {
      if (st.network) st.network.destroy();
      st.nodes = new vis.DataSet(nodes);
      st.edges = new vis.DataSet(edges);
      st.nodeSigs = new Map(nodes.map((x) => [x.id, signature(x)]));
      st.edgeSigs = new Map(edges.map((x) => [x.id, signature(x)]));
      st.topology = d.topology;
      st.network = new vis.Network(canvasEl, { nodes: st.nodes, edges: st.edges }, {
        autoResize: true,
        physics: { enabled: false },
        interaction: { hover: true, tooltipDelay: 80, multiselect: false, hideEdgesOnDrag: false,
                       zoomView: true, dragView: true, dragNodes: false },
        nodes: { shape: "dot", size: 6, borderWidth: 1.5,
                 font: { size: 11, color: "#1f2937", strokeWidth: 3, strokeColor: "#ffffff" } },
        edges: { smooth: { enabled: true, type: "curvedCW", roundness: 0.07 },
                 arrows: { to: { enabled: true, scaleFactor: 0.35 } },
                 // Utilisation labels upright; vis skips them while too small to read (zoom in to see them).
                 font: { size: 10, color: "#1f2937", strokeWidth: 3, strokeColor: "#ffffff", align: "horizontal" },
                 selectionWidth: 2, hoverWidth: 1.5 },
      });
      st.network.on("click", (p) => {
        if (p.nodes && p.nodes.length) {
          st.setTriggerValue("node_clicked", String(p.nodes[0]));
        } else if (p.edges && p.edges.length) {
          const e = st.edges.get(p.edges[0]);
          if (!e) return;
          // The message first: the server's re-route starts while the pending style paints.
          st.setTriggerValue("edge_clicked", e.link);
          // Only a live run re-routes: the preview (no run yet) and inspecting change no link.
          if (st.clickMode === "toggle") showPending(st.edges, e.link, st.edgeSigs);
        }
      });
      st.fitted = false;
      st.network.once("afterDrawing", () => {
        st.network.fit({ animation: false });
        st.fitted = true;
        if (globalThis.__netdriftMap && globalThis.__netdriftMap.network === st.network) globalThis.__netdriftMap.fitted = true;
      });
    } else {
      syncDataSet(st.nodes, nodes, st.nodeSigs);
      syncDataSet(st.edges, edges, st.edgeSigs);
    }
    renderLegend(root.querySelector(".nd-legend"), d.legend);
    st.renders = (st.renders || 0) + 1;
    root.dataset.renders = String(st.renders);
    root.dataset.step = String(d.step ?? "");
    root.dataset.down = (d.down_links || []).join(",");
    // For real-browser tests and debugging: the live Network and its DataSets.
    globalThis.__netdriftMap = { network: st.network, nodes: st.nodes, edges: st.edges,
                                 renders: st.renders, step: d.step, topology: d.topology, root, fitted: !!st.fitted };
  }).catch((err) => {
    root.querySelector(".nd-canvas").textContent = "Map unavailable: " + err.message;
  });
}
