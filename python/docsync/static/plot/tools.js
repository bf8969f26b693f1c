// Tools and the toolbar: pan (drag), wheel zoom, box zoom, reset, save (PNG) and hover
// tooltips. The plot view owns the canvas; this module turns pointer and wheel events
// into range changes (RangeState.setUser, written back once per animation frame by the
// view) and tooltips, and renders the toolbar buttons.

import { prop } from "./data.js";
import { formatValue } from "./ticks.js";

const DRAG_TOOLS = new Set(["PanTool", "BoxZoomTool", "BoxSelectTool"]);
const TAP_TOOLS = new Set(["TapTool"]);
const SCROLL_TOOLS = new Set(["WheelZoomTool"]);
const INSPECT_TOOLS = new Set(["HoverTool"]);
const ACTION_TOOLS = new Set(["ResetTool", "SaveTool", "ZoomInTool", "ZoomOutTool"]);

const ICONS = {
  PanTool: '<path d="M12 2v20M2 12h20M12 2l-3 3M12 2l3 3M12 22l-3-3M12 22l3-3M2 12l3-3M2 12l3 3M22 12l-3-3M22 12l-3 3"/>',
  WheelZoomTool: '<circle cx="10" cy="10" r="6"/><path d="M14.5 14.5L21 21M10 7v6M7 10h6"/>',
  BoxZoomTool: '<rect x="3" y="3" width="13" height="13" stroke-dasharray="3 2"/><path d="M14 14l7 7M17 21h4v-4"/>',
  ResetTool: '<path d="M4 12a8 8 0 1 0 2.3-5.7M4 3v5h5"/>',
  SaveTool: '<path d="M12 3v12M7 10l5 5 5-5M4 19h16"/>',
  HoverTool: '<path d="M4 4h16v11H10l-4 4v-4H4z"/>',
  ZoomInTool: '<circle cx="10" cy="10" r="6"/><path d="M14.5 14.5L21 21M10 7v6M7 10h6"/><path d="M19 3v4M17 5h4"/>',
  ZoomOutTool: '<circle cx="10" cy="10" r="6"/><path d="M14.5 14.5L21 21M7 10h6"/><path d="M17 5h4"/>',
  TapTool: '<path d="M9 11V5a2 2 0 0 1 4 0v6M13 10a2 2 0 0 1 4 0v3M9 11l-2-2a2 2 0 0 0-3 3l5 6h8l1-5"/>',
  BoxSelectTool: '<rect x="3" y="3" width="18" height="18" stroke-dasharray="3 2"/><path d="M8 12l3 3 5-6"/>',
};

const TITLES = {
  PanTool: "Pan", WheelZoomTool: "Wheel Zoom", BoxZoomTool: "Box Zoom", ResetTool: "Reset",
  SaveTool: "Save", HoverTool: "Hover", ZoomInTool: "Zoom In", ZoomOutTool: "Zoom Out",
  TapTool: "Tap", BoxSelectTool: "Box Select",
};

function pick(list, setting, kinds) {
  if (setting === null) return null;
  if (setting && typeof setting === "object" && setting !== "auto") return list.includes(setting) ? setting : null;
  return list.find((t) => kinds.has(t.type)) || null;
}

/** Substitute @col, @{col}, $index, $x, $y, $sx, $sy, $name in a tooltip field. */
export function formatTooltipField(spec, ctx) {
  return String(spec).replace(/([@$])(\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)(\{[^}]*\})?/g, (m, sigil, name, fmt) => {
    const key = name.startsWith("{") ? name.slice(1, -1) : name;
    let v;
    if (sigil === "$") {
      if (!(key in ctx.special)) return m;
      v = ctx.special[key];
    } else {
      v = ctx.column(key);
      if (v === undefined) return "???";
    }
    return applyFormat(v, fmt ? fmt.slice(1, -1) : null);
  });
}

function applyFormat(v, fmt) {
  if (fmt && typeof v === "number") {
    if (fmt === "%F" || fmt === "%F %T" || fmt.startsWith("%")) {
      const d = new Date(v);
      if (!Number.isNaN(d.getTime())) {
        const iso = d.toISOString();
        return fmt === "%F" ? iso.slice(0, 10) : iso.replace("T", " ").replace("Z", "");
      }
    }
    const m = /0(?:\.(0+))?/.exec(fmt);
    if (m) {
      const s = v.toFixed(m[1] ? m[1].length : 0);
      return fmt.includes(",") ? Number(s).toLocaleString("en-US", { minimumFractionDigits: m[1] ? m[1].length : 0 }) : s;
    }
  }
  return formatValue(v);
}

function isoTime(ms) {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString().replace("T", " ").replace("Z", "");
}

function escapeHTML(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

export class ToolController {
  constructor(view) {
    this.view = view;
    this.tools = [];
    this.activeDrag = null;
    this.activeScroll = null;
    this.tapActive = new Set();
    this.hoverActive = new Set();
    this.buttons = new Map();
    this.drag = null;
    this.toolbarEl = document.createElement("div");
    this.toolbarEl.className = "docsync-plot-toolbar";
    this.overlay = document.createElement("div");
    this.overlay.className = "docsync-plot-boxzoom";
    this.overlay.hidden = true;
    this.tooltip = document.createElement("div");
    this.tooltip.className = "docsync-plot-tooltip";
    this.tooltip.hidden = true;
    this._bind();
  }

  /** Re-read the toolbar model (called when the plot's structure changed). */
  update(toolbar, location) {
    const tools = (prop(toolbar, "tools", []) || []).filter(Boolean);
    const key = tools.map((t) => t.id).join(",") + "|" + location + "|" + (toolbar ? toolbar.id : "");
    if (key !== this._key) {
      this._key = key;
      this.tools = tools;
      this.activeDrag = pick(tools, prop(toolbar, "active_drag", "auto"), DRAG_TOOLS);
      this.activeScroll = pick(tools, prop(toolbar, "active_scroll", "auto"), SCROLL_TOOLS);
      const tap = prop(toolbar, "active_tap", "auto");
      this.tapActive = new Set(tools.filter((t) => TAP_TOOLS.has(t.type) &&
        (tap === "auto" || tap === t || (Array.isArray(tap) && tap.includes(t)))));
      const inspect = prop(toolbar, "active_inspect", "auto");
      this.hoverActive = new Set(tools.filter((t) => INSPECT_TOOLS.has(t.type) &&
        (inspect === "auto" || inspect === t || (Array.isArray(inspect) && inspect.includes(t)))));
      this._renderToolbar(toolbar, location);
    }
  }

  _renderToolbar(toolbar, location) {
    const el = this.toolbarEl;
    el.replaceChildren();
    this.buttons.clear();
    const shown = this.tools.filter((t) => t.type in ICONS);
    el.hidden = location == null || shown.length === 0;
    el.classList.toggle("docsync-plot-toolbar-autohide", !!prop(toolbar, "autohide", false));
    el.dataset.location = location || "none";
    if (toolbar) {
      el.dataset.modelId = toolbar.id;
      el.dataset.modelType = toolbar.type;
    }
    for (const tool of shown) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "docsync-plot-tool";
      b.dataset.modelId = tool.id;
      b.dataset.modelType = tool.type;
      b.dataset.tool = tool.type;
      b.title = prop(tool, "description", null) || TITLES[tool.type];
      b.setAttribute("aria-label", b.title);
      b.innerHTML = `<svg viewBox="0 0 24 24" width="18" height="18" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round">${ICONS[tool.type]}</svg>`;
      b.addEventListener("click", (ev) => {
        ev.preventDefault();
        this.toggle(tool);
      });
      this.buttons.set(tool, b);
      el.appendChild(b);
    }
    this._refreshButtons();
  }

  _refreshButtons() {
    for (const [tool, b] of this.buttons) {
      const active = tool === this.activeDrag || tool === this.activeScroll || this.hoverActive.has(tool) ||
        this.tapActive.has(tool);
      b.classList.toggle("active", active);
      if (!ACTION_TOOLS.has(tool.type)) b.setAttribute("aria-pressed", String(active));
    }
  }

  /** Toolbar click: actions run, gesture tools toggle (one active drag / scroll tool). */
  toggle(tool) {
    if (tool.type === "ResetTool") this.view.resetRanges();
    else if (tool.type === "SaveTool") this.view.savePNG(prop(tool, "filename", null) || "plot");
    else if (tool.type === "ZoomInTool" || tool.type === "ZoomOutTool") this.zoomCentre(tool, tool.type === "ZoomInTool" ? 0.9 : 1 / 0.9);
    else if (TAP_TOOLS.has(tool.type)) {
      if (this.tapActive.has(tool)) this.tapActive.delete(tool);
      else this.tapActive.add(tool);
    }
    else if (DRAG_TOOLS.has(tool.type)) this.activeDrag = this.activeDrag === tool ? null : tool;
    else if (SCROLL_TOOLS.has(tool.type)) this.activeScroll = this.activeScroll === tool ? null : tool;
    else if (INSPECT_TOOLS.has(tool.type)) {
      if (this.hoverActive.has(tool)) this.hoverActive.delete(tool);
      else this.hoverActive.add(tool);
      this.hideTooltip();
    }
    this._refreshButtons();
  }

  _bind() {
    const v = this.view;
    const cv = v.canvas;
    cv.addEventListener("pointerdown", (e) => this._down(e));
    cv.addEventListener("pointermove", (e) => this._move(e));
    cv.addEventListener("pointerup", (e) => this._up(e));
    cv.addEventListener("pointercancel", (e) => this._up(e, true));
    cv.addEventListener("pointerleave", () => { if (!this.drag) this.hideTooltip(); });
    cv.addEventListener("wheel", (e) => this._wheel(e), { passive: false });
  }

  _pos(e) {
    const r = this.view.canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  }

  /** frame | xaxis | yaxis | null: where a screen point is. */
  _region(sx, sy) {
    const f = this.view.frame;
    if (!f) return null;
    const inX = sx >= f.left && sx <= f.left + f.width;
    const inY = sy >= f.top && sy <= f.top + f.height;
    if (inX && inY) return "frame";
    if (inX) return "xaxis";
    if (inY) return "yaxis";
    return null;
  }

  _dims(tool, region) {
    let d = prop(tool, "dimensions", "both");
    if (region === "xaxis") d = d === "height" ? null : "width";
    if (region === "yaxis") d = d === "width" ? null : "height";
    return { x: d === "both" || d === "width", y: d === "both" || d === "height" };
  }

  _down(e) {
    if (e.button !== 0) return;
    const [sx, sy] = this._pos(e);
    const region = this._region(sx, sy);
    if (!region) return;
    const v = this.view;
    this.drag = {
      sx0: sx, sy0: sy, sx, sy, region, moved: false, t0: performance.now(), id: e.pointerId,
      tool: this.activeDrag,
      x: { start: v.xState.start, end: v.xState.end, m: v.xm },
      y: { start: v.yState.start, end: v.yState.end, m: v.ym },
    };
    try { v.canvas.setPointerCapture(e.pointerId); } catch { /* synthetic events */ }
    v.interacting = this.activeDrag !== null && this.activeDrag.type === "PanTool";
    this.hideTooltip();
  }

  _move(e) {
    const [sx, sy] = this._pos(e);
    const d = this.drag;
    if (!d) {
      this._hover(sx, sy);
      return;
    }
    d.sx = sx;
    d.sy = sy;
    if (Math.abs(sx - d.sx0) + Math.abs(sy - d.sy0) > 3) d.moved = true;
    if (!d.moved || !d.tool) return;
    e.preventDefault();
    if (d.tool.type === "PanTool") this._pan(d);
    else if (d.tool.type === "BoxZoomTool" || d.tool.type === "BoxSelectTool") this._box(d);
  }

  _pan(d) {
    const dims = this._dims(d.tool, d.region === "frame" ? "frame" : d.region);
    const v = this.view;
    const dx = d.sx - d.sx0;
    const dy = d.sy - d.sy0;
    if (dims.x && (dx !== 0 || d.xMoved)) {
      d.xMoved = true;
      const m = d.x.m;
      v.xState.setUser(m.invert(m.map(d.x.start) - dx), m.invert(m.map(d.x.end) - dx));
    }
    if (dims.y && (dy !== 0 || d.yMoved)) {
      d.yMoved = true;
      const m = d.y.m;
      v.yState.setUser(m.invert(m.map(d.y.start) - dy), m.invert(m.map(d.y.end) - dy));
    }
  }

  _boxRect(d) {
    const f = this.view.frame;
    const dims = this._dims(d.tool, "frame");
    const clampX = (s) => Math.min(f.left + f.width, Math.max(f.left, s));
    const clampY = (s) => Math.min(f.top + f.height, Math.max(f.top, s));
    let x0 = clampX(Math.min(d.sx0, d.sx)), x1 = clampX(Math.max(d.sx0, d.sx));
    let y0 = clampY(Math.min(d.sy0, d.sy)), y1 = clampY(Math.max(d.sy0, d.sy));
    if (!dims.x) { x0 = f.left; x1 = f.left + f.width; }
    if (!dims.y) { y0 = f.top; y1 = f.top + f.height; }
    return [x0, y0, x1, y1];
  }

  _box(d) {
    const [x0, y0, x1, y1] = this._boxRect(d);
    const o = this.overlay;
    o.hidden = false;
    o.style.left = `${x0}px`;
    o.style.top = `${y0}px`;
    o.style.width = `${x1 - x0}px`;
    o.style.height = `${y1 - y0}px`;
  }

  _up(e, cancelled = false) {
    const d = this.drag;
    if (!d) return;
    this.drag = null;
    if (this.view.interacting) {
      this.view.interacting = false;
      this.view.scheduleDraw(); // the full picture at the final position
    }
    try { this.view.canvas.releasePointerCapture(d.id); } catch { /* already released */ }
    this.overlay.hidden = true;
    if (cancelled) return;
    const v = this.view;
    if (!d.moved) {
      if (v.legendClick(d.sx, d.sy)) return;
      if (d.region === "frame") {
        for (const tool of this.tapActive) this._tapSelect(tool, d.sx, d.sy, e.shiftKey);
        v.sendTap(d.sx, d.sy);
      }
      return;
    }
    if (d.tool && d.tool.type === "BoxSelectTool") {
      const [x0, y0, x1, y1] = this._boxRect(d);
      const only = prop(d.tool, "renderers", "auto");
      v.selectBox(x0, y0, x1, y1, Array.isArray(only) && only.length ? only : null, e.shiftKey);
      return;
    }
    if (d.tool && d.tool.type === "BoxZoomTool") {
      const [x0, y0, x1, y1] = this._boxRect(d);
      if (x1 - x0 < 2 || y1 - y0 < 2) return;
      const xm = d.x.m, ym = d.y.m;
      const dims = this._dims(d.tool, "frame");
      const flipX = v.xState.start > v.xState.end;
      const flipY = v.yState.start > v.yState.end;
      if (dims.x) {
        const a = xm.invert(x0), b = xm.invert(x1);
        v.xState.setUser(flipX ? Math.max(a, b) : Math.min(a, b), flipX ? Math.min(a, b) : Math.max(a, b));
      }
      if (dims.y) {
        const a = ym.invert(y1), b = ym.invert(y0);
        v.yState.setUser(flipY ? Math.max(a, b) : Math.min(a, b), flipY ? Math.min(a, b) : Math.max(a, b));
      }
    }
  }

  _tapSelect(tool, sx, sy, extend) {
    const only = prop(tool, "renderers", "auto");
    const hits = this.view.hitTest(sx, sy, "mouse", Array.isArray(only) && only.length ? only : null);
    this.view.select(hits.length ? [hits[0]] : [], extend);
  }

  /** Zoom both ranges about the frame centre (ZoomIn/ZoomOut tools). */
  zoomCentre(tool, k) {
    const v = this.view;
    const f = v.frame;
    if (!f) return;
    const dims = this._dims(tool, "frame");
    const zoom = (st, m, s) => {
      const s0 = m.map(st.start), s1 = m.map(st.end);
      st.setUser(m.invert(s + (s0 - s) * k), m.invert(s + (s1 - s) * k));
    };
    if (dims.x) zoom(v.xState, v.xm, f.left + f.width / 2);
    if (dims.y) zoom(v.yState, v.ym, f.top + f.height / 2);
  }

  _wheel(e) {
    const tool = this.activeScroll;
    if (!tool) return;
    const [sx, sy] = this._pos(e);
    const region = this._region(sx, sy);
    if (!region) return;
    e.preventDefault();
    const v = this.view;
    const dims = this._dims(tool, region);
    const speed = prop(tool, "speed", 1 / 600);
    const delta = e.deltaY * (e.deltaMode === 1 ? 40 : e.deltaMode === 2 ? 800 : 1);
    const k = Math.exp(Math.max(-0.9, Math.min(0.9, delta * speed)));
    const zoom = (st, m, s) => {
      const s0 = m.map(st.start), s1 = m.map(st.end);
      st.setUser(m.invert(s + (s0 - s) * k), m.invert(s + (s1 - s) * k));
    };
    if (dims.x) zoom(v.xState, v.xm, sx);
    if (dims.y) zoom(v.yState, v.ym, sy);
  }

  // ------------------------------------------------------------ hover

  _hover(sx, sy) {
    if (this.hoverActive.size === 0) return;
    const v = this.view;
    if (this._region(sx, sy) !== "frame") {
      this.hideTooltip();
      return;
    }
    const rows = [];
    let anchor = null;
    for (const tool of this.hoverActive) {
      const mode = prop(tool, "mode", "mouse");
      const only = prop(tool, "renderers", "auto");
      const hits = v.hitTest(sx, sy, mode, Array.isArray(only) && only.length ? only : null);
      const tips = prop(tool, "tooltips", [["index", "$index"], ["data (x, y)", "($x, $y)"], ["screen (x, y)", "($sx, $sy)"]]);
      if (tips == null) continue;
      for (const h of hits.slice(0, 5)) {
        const dt = (axisSide) => (prop(v.model, axisSide, []) || []).some((a) => a && a.type === "DatetimeAxis");
        const fx = v.xm.invert(sx), fy = v.ym.invert(sy);
        const special = {
          index: h.index, sx, sy,
          // on datetime axes $x / $y read as UTC date-times, as the axis does
          x: dt("below") || dt("above") ? isoTime(fx) : fx,
          y: dt("left") || dt("right") ? isoTime(fy) : fy,
          name: prop(h.renderer, "name", null) ?? "", type: h.glyph.type,
          data_x: h.dataX, data_y: h.dataY,
        };
        const fctx = {
          special,
          column: (name) => {
            if (name === "image" && h.image) return h.image.value;
            const col = h.data ? h.data[name] : undefined;
            return col === undefined ? undefined : col[h.index];
          },
        };
        if (typeof tips === "string") rows.push({ html: formatTooltipField(tips, { ...fctx, column: (n) => escapeHTML(formatValue(fctx.column(n))) }) });
        else rows.push({ fields: tips.map(([label, spec]) => [label, formatTooltipField(spec, fctx)]) });
        if (!anchor) anchor = h;
      }
    }
    if (rows.length === 0) {
      this.hideTooltip();
      return;
    }
    const t = this.tooltip;
    t.replaceChildren();
    for (const r of rows) {
      const block = document.createElement("div");
      block.className = "docsync-plot-tooltip-item";
      if (r.html !== undefined) block.innerHTML = r.html;
      else {
        for (const [label, value] of r.fields) {
          const row = document.createElement("div");
          row.className = "docsync-plot-tooltip-row";
          const l = document.createElement("span");
          l.className = "docsync-plot-tooltip-label";
          l.textContent = `${label}:`;
          const val = document.createElement("span");
          val.className = "docsync-plot-tooltip-value";
          val.textContent = value;
          row.append(l, val);
          block.appendChild(row);
        }
      }
      t.appendChild(block);
    }
    t.hidden = false;
    const ax = Number.isFinite(anchor.sx) ? anchor.sx : sx;
    const ay = Number.isFinite(anchor.sy) ? anchor.sy : sy;
    const W = v.width || 0;
    const right = ax + 12 + t.offsetWidth > W;
    t.style.left = `${right ? Math.max(0, ax - 12 - t.offsetWidth) : ax + 12}px`;
    t.style.top = `${Math.max(0, ay - t.offsetHeight / 2)}px`;
    t.dataset.index = String(anchor.index);
    t.dataset.rendererId = anchor.renderer.id;
  }

  hideTooltip() {
    this.tooltip.hidden = true;
  }
}
