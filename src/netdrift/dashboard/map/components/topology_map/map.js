// netdrift topology map: a vis-network Network kept across re-renders.
// drawing.js (land and labels on vis's canvas) is prepended to this file by topology_map.py.
// Streamlit calls the default export on mount and on every data change; the Network, its
// DataSets and therefore zoom / pan live on the component's parent element.
// vis itself (and the Natural Earth land, globalThis.__ndLand) is evaluated once per page by
// the "netdrift.vis_loader" component.
//
// What vis does not do is drawn on its canvas by drawing.js: the land under the network (same
// Web Mercator projection as the nodes, parameters from the server), node labels placed without
// overlap (busier PoPs first; hovered, selected and searched ones always), and per-direction
// utilisation labels (on a large map once zoomed in). Here: data sync, clicks, search, fit, reset.

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
// An edge's tooltip also draws the direction's last day of load as a sparkline (SVG polyline).
const tips = new Map();
function tooltip(id, text, spark) {
  let el = tips.get(id);
  if (!el) {
    el = document.createElement("div");
    el.className = "nd-tip";
    el.appendChild(document.createElement("div"));
    tips.set(id, el);
  }
  if (el.firstChild.textContent !== text) el.firstChild.textContent = text;
  const key = spark && spark.s ? spark.s + "|" + spark.top + "|" + spark.label : "";
  if (el.__spark !== key) {
    el.__spark = key;
    if (el.childNodes.length > 1) el.removeChild(el.lastChild);
    if (key) el.appendChild(sparkline(spark.s, spark.top, spark.label));
  }
  return el;
}

const SPARK_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
// The encoded utilisation series (see netdrift.dashboard.map.labels.spark_encode) as a small SVG:
// the load as a polyline (broken where data is missing) and the capacity as a dashed line.
function sparkline(s, top, label) {
  const NS = "http://www.w3.org/2000/svg", W = 180, H = 38, n = s.length;
  const box = document.createElement("div");
  box.className = "nd-spark";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("width", W); svg.setAttribute("height", H); svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const y = (u) => (H - 2 - (u / top) * (H - 4)).toFixed(1);
  const cap = document.createElementNS(NS, "line");
  Object.entries({ x1: 0, x2: W, y1: y(1), y2: y(1), stroke: "#5f5f5f", "stroke-dasharray": "4 3", "stroke-width": 1 })
    .forEach(([k, v]) => cap.setAttribute(k, v));
  svg.appendChild(cap);
  let run = [], points = 0;
  const flush = () => {
    if (run.length) {
      const line = document.createElementNS(NS, "polyline");
      line.setAttribute("points", run.join(" "));
      line.setAttribute("fill", "none"); line.setAttribute("stroke", "#1f2937"); line.setAttribute("stroke-width", "1.4");
      svg.appendChild(line);
    }
    run = [];
  };
  for (let i = 0; i < n; i++) {
    const level = SPARK_ALPHABET.indexOf(s[i]);
    if (level < 0) { flush(); continue; }
    const x = n > 1 ? (i * (W - 2)) / (n - 1) + 1 : W / 2;
    run.push(`${x.toFixed(1)},${y((level / 63) * top)}`);
    points++;
  }
  flush();
  svg.dataset.points = String(points);
  box.appendChild(svg);
  const cap_ = document.createElement("div");
  cap_.className = "nd-spark-caption";
  cap_.textContent = `load, ${label} (dashed: capacity)`;
  box.appendChild(cap_);
  return box;
}

function visEdge(e, large) {
  const c = e.color;
  return {
    id: e.id, from: e.from, to: e.to, link: e.link, dir: e.dir, failed: e.failed, util: e.util, upper_util: e.upper_util, pending: false,
    link_name: e.link_name, selected: !!e.selected, util_label: e.util_label || "",
    overload: !!e.overload, over_label: e.over_label || "",
    // drawLabels() draws the label (vis's own would shrink with the zoom and smear); `label`
    // keeps what the server asked for, drawn by vis in transparent ink only.
    title: tooltip("e:" + e.id, e.title, { s: e.spark, top: e.spark_top, label: e.spark_label }), label: large ? "" : (e.label || ""), text: e.label || "",
    color: { color: c, highlight: c, hover: c, inherit: false },
    width: e.width, value: e.width, dashes: e.dashes, // value: see sizeScaling()
  };
}

function visNode(n) {
  const j = !!n.junction;
  return {
    id: n.id, name: n.label || "", x: n.x, y: n.y, failed: n.failed, junction: j, degree: n.degree || 0,
    title: tooltip("n:" + n.id, n.title),
    value: j ? 2.5 : 6, borderWidth: j ? 0 : 1.5, // the radius, through sizeScaling()
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

function renderLegend(el, d) {
  el.replaceChildren();
  const add = (cls, text, style) => {
    const row = document.createElement("span");
    row.className = "nd-legend-item";
    const sw = document.createElement("span");
    sw.className = cls;
    Object.assign(sw.style, style || {});
    row.appendChild(sw);
    row.appendChild(document.createTextNode(text));
    el.appendChild(row);
  };
  if (d.legend_title) {
    const t = document.createElement("span");
    t.className = "nd-legend-title";
    t.textContent = d.legend_title;
    el.appendChild(t);
  }
  for (const item of d.legend || []) add("nd-swatch" + (item.dashed ? " nd-dashed" : ""), item.label, { borderTopColor: item.colour });
  add("nd-dot", "PoP");
  if ((d.nodes || []).some((n) => n.junction)) add("nd-dot nd-junction", "junction (shared segment)");
  const note = document.createElement("span");
  note.className = "nd-legend-note";
  note.textContent = "line width: capacity (wide and always labelled when over capacity); arrows: direction";
  el.appendChild(note);
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

// --- search, fit, reset ------------------------------------------------------------------------
function norm(s) {
  return String(s).toLowerCase().replace(/\s*(?:\u2013|\u2014|\u2192|<->|->|-)\s*/g, " - ").replace(/\s+/g, " ").trim();
}

function searchIndex(st) {
  const items = [];
  for (const n of st.nodeOrder) {
    if (n.junction) continue;
    items.push({ label: n.name || n.id, keys: [norm(n.name || n.id), norm(n.id)], nodes: [n.id], edges: [] });
  }
  const seen = new Set();
  for (const e of st.edgeList) {
    if (seen.has(e.link)) continue;
    seen.add(e.link);
    const both = st.edgeList.filter((x) => x.link === e.link);
    const ends = e.link_name.split(" \u2013 ");
    const rev = ends.length === 2 ? ends[1] + " \u2013 " + ends[0] : e.link_name;
    items.push({ label: e.link_name, link: e.link, keys: [norm(e.link_name), norm(rev), norm(e.link)],
                 nodes: [e.from, e.to], edges: both.map((x) => x.id) });
  }
  return items;
}

function findItem(st, query) {
  const q = norm(query);
  if (!q) return null;
  const items = st.search;
  return items.find((it) => it.keys.includes(q))
    || items.find((it) => it.keys.some((k) => k.startsWith(q)))
    || items.find((it) => it.keys.some((k) => k.includes(q))) || null;
}

function focusItem(st, item) {
  const net = st.network;
  st.focus = item;
  const fit = st.fitScale || net.getScale();
  if (item.edges.length) {
    net.fit({ nodes: item.nodes, animation: false, maxZoomLevel: fit * 2.2 });
    if (net.getScale() > fit * 2.2) net.moveTo({ scale: fit * 2.2 });
    net.setSelection({ nodes: [], edges: item.edges }, { unselectAll: true, highlightEdges: false });
  } else {
    net.focus(item.nodes[0], { scale: Math.max(net.getScale(), fit * 2.2), animation: false });
    net.setSelection({ nodes: item.nodes, edges: [] }, { unselectAll: true, highlightEdges: false });
  }
  rescale(st);
  st.root.dataset.focus = item.label;
  st.root.querySelector(".nd-find-msg").textContent = "";
  net.redraw();
}

// The whole network in view, a little smaller than vis's fit and lowered, so that no node sits
// under the search box and buttons floating at the top left.
function fitAll(st) {
  const net = st.network;
  net.fit({ animation: false });
  const tools = st.root.querySelector(".nd-tools");
  const below = tools ? tools.offsetTop + tools.offsetHeight : 0;
  const h = net.canvas.frame.canvas.clientHeight || 1;
  const scale = net.getScale() * Math.max(0.5, 1 - below / h);
  const v = net.getViewPosition();
  net.moveTo({ position: { x: v.x, y: v.y - below / 2 / scale }, scale, animation: false });
}

function setupTools(st) {
  const root = st.root;
  const input = root.querySelector(".nd-search");
  const list = root.querySelector("datalist");
  const msg = root.querySelector(".nd-find-msg");
  if (!list.id) list.id = "nd-find-" + Math.random().toString(36).slice(2);
  input.setAttribute("list", list.id);
  if (st.toolsReady) return;
  st.toolsReady = true;
  const go = () => {
    const item = findItem(st, input.value);
    if (!item) {
      msg.textContent = input.value.trim() ? `no node or link matches "${input.value.trim()}"` : "";
      return;
    }
    msg.textContent = "";
    focusItem(st, item);
  };
  input.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); go(); } });
  input.addEventListener("change", go);
  root.querySelector(".nd-fit").addEventListener("click", () => { fitAll(st); rescale(st); });
  root.querySelector(".nd-reset").addEventListener("click", () => {
    st.focus = null;
    input.value = "";
    msg.textContent = "";
    delete root.dataset.focus;
    st.network.unselectAll();
    fitAll(st);
    rescale(st);
  });
  // Full screen: the browser's Fullscreen API on the map's container; where the browser refuses
  // it, the container covers the window instead. Esc (or the button again) leaves either.
  const full = root.querySelector(".nd-full");
  const setFull = (on) => {
    root.classList.toggle("nd-expanded", on);
    root.dataset.fullscreen = on ? "1" : "";
    full.textContent = on ? "Exit full screen" : "Full screen";
    requestAnimationFrame(() => {
      if (!st.network) return;
      st.network.setSize("100%", "100%");
      fitAll(st);
      rescale(st);
      st.network.redraw();
    });
  };
  full.addEventListener("click", () => {
    if (root.dataset.fullscreen === "1") {
      if (document.fullscreenElement && document.exitFullscreen) document.exitFullscreen().catch(() => {});
      setFull(false);
      return;
    }
    setFull(true);
    if (root.requestFullscreen) root.requestFullscreen().catch(() => {});
  });
  document.addEventListener("fullscreenchange", () => {
    if (!document.fullscreenElement && root.dataset.fullscreen === "1" && st.wasFullscreen) setFull(false);
    st.wasFullscreen = !!document.fullscreenElement;
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && root.dataset.fullscreen === "1" && !document.fullscreenElement) setFull(false);
  });
  // vis leaves its tooltip open when the pointer leaves the canvas: close it.
  root.querySelector(".nd-canvas").addEventListener("pointerleave", () => {
    const ih = st.network && st.network.interactionHandler;
    if (ih) { ih.popupObj = undefined; if (ih.popup) ih.popup.hide(); }
    if (st.hover || st.hoverEdge) { st.hover = null; st.hoverEdge = null; st.network.redraw(); }
  });
}

function fillSearchList(st) {
  const list = st.root.querySelector("datalist");
  const frag = document.createDocumentFragment();
  for (const it of st.search) {
    const o = document.createElement("option");
    o.value = it.label;
    frag.appendChild(o);
  }
  list.replaceChildren(frag);
}

// --- sizes under zoom --------------------------------------------------------------------------
// vis scales dots, lines and arrows with the zoom, so a zoomed-in dense region turns into blobs.
// Radius and width go through vis's value scaling instead (size = value / k): beyond "fit" they
// grow with the zoom to the power 0.25 only, so zooming in spreads the nodes apart.
const ARROW = 0.35; // arrowhead scale at "fit"

function sizeScaling(k) {
  return { min: 0, max: 100 / k, label: { enabled: false },
           customScalingFunction: (min, max, total, value) => value / 100 };
}

function rescale(st) {
  const net = st.network;
  if (!net || !st.fitScale) return;
  const k = Math.pow(Math.max(1, net.getScale() / st.fitScale), 0.75);
  if (Math.abs(k - (st.k || 1)) / (st.k || 1) < 0.04) return;
  st.k = k;
  net.setOptions({ nodes: { scaling: sizeScaling(k) },
                   edges: { scaling: sizeScaling(k), arrows: { to: { enabled: true, scaleFactor: ARROW / k } } } });
  net.body.emitter.emit("_dataChanged"); // vis applies a new value scaling on its next data change only
}

// --- the component ---------------------------------------------------------------------------
function newNetwork(vis, st, d, canvasEl, nodes, edges) {
  if (st.network) st.network.destroy();
  st.nodes = new vis.DataSet(nodes);
  st.edges = new vis.DataSet(edges);
  st.nodeSigs = new Map(nodes.map((x) => [x.id, signature(x)]));
  st.edgeSigs = new Map(edges.map((x) => [x.id, signature(x)]));
  st.topology = d.topology;
  st.focus = null;
  delete st.root.dataset.focus;
  st.land = landPath(d.geo);
  st.widths = new Map();
  st.network = new vis.Network(canvasEl, { nodes: st.nodes, edges: st.edges }, {
    autoResize: true,
    physics: { enabled: false },
    interaction: { hover: true, tooltipDelay: 80, multiselect: false, hideEdgesOnDrag: false,
                   zoomView: true, dragView: true, dragNodes: false },
    nodes: { shape: "dot", size: 6, borderWidth: 1.5, scaling: sizeScaling(1) },
    edges: { smooth: { enabled: true, type: "curvedCW", roundness: 0.07 },
             arrows: { to: { enabled: true, scaleFactor: ARROW } },
             // drawLabels() draws the utilisation labels; vis's copy is invisible.
             font: { size: 10, color: "rgba(0,0,0,0)", strokeWidth: 0, align: "horizontal" },
             selectionWidth: 2, hoverWidth: 1.5, scaling: sizeScaling(1) },
  });
  const net = st.network;
  net.on("click", (p) => {
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
  net.on("hoverNode", (p) => { st.hover = p.node; net.redraw(); });
  net.on("blurNode", () => { st.hover = null; net.redraw(); });
  net.on("hoverEdge", (p) => { st.hoverEdge = p.edge; net.redraw(); });
  net.on("blurEdge", () => { st.hoverEdge = null; net.redraw(); });
  net.on("zoom", () => {
    if (st.rescaleQueued) return;
    st.rescaleQueued = true;
    requestAnimationFrame(() => { st.rescaleQueued = false; rescale(st); });
  });
  net.on("beforeDrawing", (ctx) => drawLand(st, ctx));
  net.on("afterDrawing", (ctx) => {
    const t0 = performance.now();
    drawLabels(st, ctx);
    st.labelMs = performance.now() - t0; // for measuring: window.__netdriftMap.labelMs()
  });
  st.fitted = false;
  net.once("afterDrawing", () => {
    fitAll(st);
    st.fitScale = net.getScale();
    st.k = 1;
    st.fitted = true;
    if (globalThis.__netdriftMap && globalThis.__netdriftMap.network === net) globalThis.__netdriftMap.fitted = true;
  });
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  const root = parentElement.querySelector(".nd-map");
  if (!root || !data) return;
  const st = (parentElement.__ndState = parentElement.__ndState || {});
  st.setTriggerValue = setTriggerValue; // the latest one (fragment / form context)
  st.clickMode = data && data.click_mode;
  st.pending = data;
  st.root = root;

  waitForVis(10000).then((vis) => {
    const d = st.pending;
    if (!d) return;
    st.pending = null;
    const canvasEl = root.querySelector(".nd-canvas");
    st.large = !!d.large;
    const nodes = d.nodes.map(visNode);
    const edges = d.edges.map((e) => visEdge(e, st.large));
    const fresh = !st.network || st.topology !== d.topology || st.layoutKey !== d.layout_key;
    st.layoutKey = d.layout_key;
    st.edgeList = edges;
    if (fresh) {
      // Labels go to busier PoPs first when they would overlap.
      st.nodeOrder = nodes.slice().sort((a, b) => (b.degree - a.degree) || (a.id < b.id ? -1 : 1));
      st.nodePos = new Map(nodes.map((n) => [n.id, { x: n.x, y: n.y }]));
      st.search = searchIndex(st);
      newNetwork(vis, st, d, canvasEl, nodes, edges);
      setupTools(st);
      fillSearchList(st);
    } else {
      syncDataSet(st.nodes, nodes, st.nodeSigs);
      syncDataSet(st.edges, edges, st.edgeSigs);
    }
    if (d.height && canvasEl.style.height !== d.height + "px") canvasEl.style.height = d.height + "px";
    renderLegend(root.querySelector(".nd-legend"), d);
    st.renders = (st.renders || 0) + 1;
    root.dataset.renders = String(st.renders);
    root.dataset.step = String(d.step ?? "");
    root.dataset.down = (d.down_links || []).join(",");
    // For real-browser tests and debugging: the live Network, its DataSets and drawn labels.
    globalThis.__netdriftMap = {
      network: st.network, nodes: st.nodes, edges: st.edges, renders: st.renders, step: d.step,
      topology: d.topology, root, fitted: !!st.fitted, land: !!st.land,
      labels: () => st.labelBoxes || [], labelMs: () => st.labelMs, edgeLabels: () => st.edgeLabelBoxes || [], failMarks: () => st.failMarks || [],
      find: (q) => { const it = findItem(st, q); if (it) focusItem(st, it); return it ? it.label : null; },
    };
  }).catch((err) => {
    root.querySelector(".nd-canvas").textContent = "Map unavailable: " + err.message;
  });
}
