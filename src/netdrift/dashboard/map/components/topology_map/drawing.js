// What netdrift draws itself on vis-network's canvas (prepended to map.js by topology_map.py):
// the land under the network, node labels placed without overlap, per-direction utilisation
// labels and the ring around a found node. Everything here reads the map state `st` of map.js.

const NODE_FONT = "11px system-ui, -apple-system, 'Segoe UI', sans-serif";
const NODE_FONT_BOLD = "600 12px system-ui, -apple-system, 'Segoe UI', sans-serif";
const EDGE_FONT = "10px system-ui, -apple-system, 'Segoe UI', sans-serif";
const EDGE_FONT_BOLD = "700 10px system-ui, -apple-system, 'Segoe UI', sans-serif";
const LABEL_H = 14; // px, one line of NODE_FONT with its halo
const EDGE_LABEL_MIN_PX = 45; // a direction is labelled once its link is this long on screen
const EDGE_LABEL_ZOOM = 1.8; // ... and, on a large map, the view is zoomed in this much beyond "fit"
const LAND = "#eceee8", COAST = "#d3d7cc", SEA = "#f8fafc";

// --- land ------------------------------------------------------------------------------------
function mercatorY(lat) {
  const phi = Math.max(-85.05112878, Math.min(85.05112878, lat)) * Math.PI / 180;
  return -Math.asinh(Math.tan(phi)) * 180 / Math.PI;
}

// The land as one Path2D in the network's canvas coordinates (built once per topology).
function landPath(geo) {
  const land = globalThis.__ndLand;
  if (!geo || !land || !land.geometry) return null;
  const path = new Path2D();
  const { x0, y0, scale } = geo;
  for (const polygon of land.geometry.coordinates) {
    for (const ring of polygon) {
      ring.forEach(([lon, lat], i) => {
        const x = (lon - x0) * scale, y = (mercatorY(lat) - y0) * scale;
        if (i === 0) path.moveTo(x, y); else path.lineTo(x, y);
      });
      path.closePath();
    }
  }
  return path;
}

function drawLand(st, ctx) {
  if (!st.land) return;
  const s = st.network.getScale();
  ctx.save();
  ctx.fillStyle = LAND;
  ctx.strokeStyle = COAST;
  ctx.lineWidth = 1 / s;
  ctx.fill(st.land, "evenodd");
  ctx.stroke(st.land);
  ctx.restore();
}

// --- labels ------------------------------------------------------------------------------------
// Boxes bucketed by 40 px cells, so a label's overlap test looks at its neighbours only
// (a 750-node map would otherwise test every label against every dot on every frame).
class BoxGrid {
  constructor() { this.cells = new Map(); }
  *keys(b) {
    for (let i = Math.floor(b.x / 40); i <= Math.floor((b.x + b.w) / 40); i++)
      for (let j = Math.floor(b.y / 40); j <= Math.floor((b.y + b.h) / 40); j++) yield i * 100003 + j;
  }
  add(b) {
    for (const k of this.keys(b)) { let c = this.cells.get(k); if (!c) this.cells.set(k, (c = [])); c.push(b); }
  }
  hits(a, ignoreId) {
    for (const k of this.keys(a)) {
      for (const b of this.cells.get(k) || []) {
        if (b.id !== ignoreId && a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) return true;
      }
    }
    return false;
  }
}

function overlaps(a, list) {
  for (const b of list) {
    if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) return true;
  }
  return false;
}

function textWidth(st, ctx, font, text) {
  const key = font + "|" + text;
  let w = st.widths.get(key);
  if (w === undefined) {
    ctx.font = font;
    w = ctx.measureText(text).width;
    st.widths.set(key, w);
  }
  return w;
}

// Nodes whose label is always drawn: hovered, selected (or an end of a selected link) and found.
function pinnedNodes(st) {
  const pins = new Set();
  const net = st.network;
  if (st.hover) pins.add(st.hover);
  for (const id of net.getSelectedNodes()) pins.add(id);
  const edgeIds = new Set(net.getSelectedEdges());
  if (st.hoverEdge) edgeIds.add(st.hoverEdge);
  for (const e of st.edgeList) if (e.selected) edgeIds.add(e.id);
  for (const id of edgeIds) {
    const e = st.edges.get(id);
    if (e) { pins.add(e.from); pins.add(e.to); }
  }
  if (st.focus) st.focus.nodes.forEach((id) => pins.add(id));
  return pins;
}

function drawText(ctx, text, x, y, font, colour) {
  ctx.font = font;
  ctx.lineWidth = 3;
  ctx.strokeStyle = "rgba(255,255,255,0.92)";
  ctx.strokeText(text, x, y);
  ctx.fillStyle = colour;
  ctx.fillText(text, x, y);
}

function drawLabels(st, ctx) {
  const net = st.network;
  const view = net.body.view;
  const s = view.scale, tx = view.translation.x, ty = view.translation.y;
  const cv = net.canvas.frame.canvas;
  const W = cv.clientWidth, H = cv.clientHeight;
  const ratio = net.canvas.pixelRatio || 1;
  ctx.save();
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.textBaseline = "middle";
  const dom = (n) => ({ x: n.x * s + tx, y: n.y * s + ty });
  const inView = (p) => p.x >= 0 && p.y >= 0 && p.x <= W && p.y <= H;

  // Obstacles: every visible PoP's dot (a label never hides another node).
  const dots = new BoxGrid();
  const shown = [];
  for (const n of st.nodeOrder) {
    const p = dom(n);
    if (!inView(p)) continue;
    const r = Math.max(2, ((n.junction ? 2.5 : 6) / (st.k || 1)) * s);
    dots.add({ id: n.id, x: p.x - r, y: p.y - r, w: 2 * r, h: 2 * r });
    if (!n.junction && n.name) shown.push({ n, p, r });
  }
  const pins = pinnedNodes(st);
  shown.sort((a, b) => (pins.has(b.n.id) - pins.has(a.n.id)));
  const placed = [];
  const placedGrid = new BoxGrid();
  // The search box and buttons float over the canvas: no label under them.
  const tools = st.root.querySelector(".nd-tools");
  const blocked = [];
  if (tools) {
    const c = cv.getBoundingClientRect(), t = tools.getBoundingClientRect();
    blocked.push({ x: t.left - c.left, y: t.top - c.top, w: t.width, h: t.height });
  }
  for (const { n, p, r } of shown) {
    const pinned = pins.has(n.id);
    const font = pinned ? NODE_FONT_BOLD : NODE_FONT;
    const w = textWidth(st, ctx, font, n.name) + 4, h = LABEL_H;
    const cands = [
      { x: p.x + r + 2, y: p.y - h / 2 }, { x: p.x - r - 2 - w, y: p.y - h / 2 },
      { x: p.x - w / 2, y: p.y - r - h }, { x: p.x - w / 2, y: p.y + r },
    ];
    let box = null;
    for (const c of cands) {
      const b = { id: n.id, x: c.x, y: c.y, w, h };
      if (b.x < 0 || b.y < 0 || b.x + w > W || b.y + h > H) continue;
      if (placedGrid.hits(b) || overlaps(b, blocked)) continue;
      if (!pinned && dots.hits(b, n.id)) continue;
      box = b;
      break;
    }
    if (!box && pinned) box = { id: n.id, x: cands[0].x, y: cands[0].y, w, h };
    if (!box) continue;
    box.pinned = pinned;
    placed.push(box);
    placedGrid.add(box);
    if (pinned) {
      ctx.fillStyle = "rgba(255,251,230,0.95)";
      ctx.fillRect(box.x, box.y, box.w, box.h);
    }
    drawText(ctx, n.name, box.x + 2, box.y + h / 2, font, "#1f2937");
  }
  st.labelBoxes = placed.map(({ id, x, y, w, h, pinned }) => ({ id, x, y, w, h, pinned }));

  // Per-direction utilisation labels, weathermap style: each on its own half of the link (30 %
  // along from its source), upright, at a readable size whatever the zoom, never over another
  // label; a small map shows them at every zoom, a large one once zoomed in (or when asked).
  const edgeBoxes = [];
  const edgeGrid = new BoxGrid();
  const zoomed = !st.large || s >= (st.fitScale || s) * EDGE_LABEL_ZOOM;
  const pos = st.nodePos;
  const todo = [];
  for (const e of st.edgeList) {
    if (e.failed) continue;
    // A direction over capacity is always labelled (its load now), however small or zoomed out.
    const over = !!e.overload;
    const text = e.text || (over ? e.over_label : "") || (zoomed && st.large ? e.util_label : "");
    if (!text) continue;
    const a = pos.get(e.from), b = pos.get(e.to);
    if (!a || !b) continue;
    if (!over && Math.hypot(a.x - b.x, a.y - b.y) * s < EDGE_LABEL_MIN_PX) continue;
    const body = net.body.edges[e.id];
    if (!body) continue;
    const m = dom(body.edgeType.getPoint(0.3));
    if (!inView(m)) continue;
    todo.push({ e, m, text, u: e.util || 0, over });
  }
  todo.sort((x, y) => (y.over - x.over) || (y.u - x.u)); // overloads first, then the busiest directions
  for (const { e, m, text, over } of todo) {
    const font = over ? EDGE_FONT_BOLD : EDGE_FONT;
    const w = textWidth(st, ctx, font, text) + 4, h = 12;
    const box = { id: e.id, x: m.x - w / 2, y: m.y - h / 2, w, h, over };
    if (!over && (placedGrid.hits(box) || edgeGrid.hits(box) || overlaps(box, blocked))) continue;
    edgeBoxes.push(box);
    edgeGrid.add(box);
    ctx.fillStyle = over ? "rgba(253,231,251,0.95)" : "rgba(255,255,255,0.82)";
    ctx.fillRect(box.x, box.y, w, h);
    if (over) {
      ctx.strokeStyle = e.color && e.color.color ? e.color.color : "#e01fd0";
      ctx.lineWidth = 1.2;
      ctx.strokeRect(box.x, box.y, w, h);
    }
    drawText(ctx, text, box.x + 2, m.y, font, "#1f2937");
  }
  st.edgeLabelBoxes = edgeBoxes;

  // A failed link: a black disc with a white cross at its middle, the same size at any zoom,
  // so a failure is seen on the whole-network view of a large map too.
  const marks = [];
  for (const e of st.edgeList) {
    if (!e.failed || e.dir % 2 !== 0) continue;
    const a = pos.get(e.from), b = pos.get(e.to);
    if (!a || !b) continue;
    const m = dom({ x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 });
    if (!inView(m)) continue;
    marks.push({ link: e.link, x: m.x, y: m.y });
    ctx.beginPath();
    ctx.arc(m.x, m.y, 6, 0, 2 * Math.PI);
    ctx.fillStyle = "#111111";
    ctx.fill();
    ctx.strokeStyle = "#ffffff";
    ctx.lineWidth = 1.6;
    ctx.beginPath();
    ctx.moveTo(m.x - 3, m.y - 3); ctx.lineTo(m.x + 3, m.y + 3);
    ctx.moveTo(m.x + 3, m.y - 3); ctx.lineTo(m.x - 3, m.y + 3);
    ctx.stroke();
  }
  st.failMarks = marks;

  // A found node or link: an amber ring around its node(s).
  if (st.focus) {
    ctx.strokeStyle = "#ffb000";
    ctx.lineWidth = 3;
    for (const id of st.focus.nodes) {
      const n = st.nodePos.get(id);
      if (!n) continue;
      const p = dom(n);
      ctx.beginPath();
      ctx.arc(p.x, p.y, Math.max(2, (6 / (st.k || 1)) * s) + 4, 0, 2 * Math.PI);
      ctx.stroke();
    }
  }
  ctx.restore();
}
