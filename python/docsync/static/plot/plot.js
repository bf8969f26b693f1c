// The Plot view: one canvas on which the plot draws everything it holds — title, axes,
// grids, glyph renderers, legends — plus DOM for the toolbar, tooltips and the box-zoom
// overlay. Child models are not separate views: the plot listens to every model it
// draws and redraws at most once per animation frame, only when something changed.
//
// Hooks for tests and tools (stable):
//   el.__docsync_view (also canvas.__docsync_view) — this view, with
//     dataToScreen(x, y) → {x, y}   CSS px relative to the canvas (factors accepted for x/y)
//     screenToData(sx, sy) → {x, y}
//     pixelAt(sx, sy) → [r, g, b, a] of the canvas at a CSS px position
//     frame {left, top, width, height}, ranges {x: [start, end], y: [start, end]}
//     drawCount, nextFrame() (a promise resolved after the next draw),
//     stats {lastDrawMs, phases, renderers: {id: {rows, drawn, ms, ...}}}, legendBoxes
//   el.dataset.drawCount — the number of draws so far
//   hidden <div data-model-id data-model-type> per model drawn on the canvas (renderers carry
//     data-glyph-type, data-glyph-id, data-source-id, data-rows), inside .docsync-plot-models
//   toolbar buttons: button.docsync-plot-tool[data-tool=PanTool|…][data-model-id], class
//     "active" and aria-pressed for active tools; tooltip: .docsync-plot-tooltip
//     (data-index, data-renderer-id); box-zoom overlay: .docsync-plot-boxzoom

import { View, registerView } from "../views.js";
import { cssColor } from "./colors.js";
import { BoundsCache, columnLength, prop, resolveSpec } from "./data.js";
import { axisExtent, axisStyle, computeTicks, drawAxis, drawGrid } from "./axes.js";
import { GLYPHS, fontString, rowsInBox } from "./glyphs.js";
import { drawLegend, legendEntries, legendStyle, measureLegend } from "./legend.js";
import { rangeState } from "./ranges.js";
import { Mapper } from "./scales.js";
import { ToolController } from "./tools.js";

const CSS_URL = new URL("./plot.css", import.meta.url).href;
const TOOLBAR_SIZE = 30;
const AXIS_TYPES = new Set(["LinearAxis", "LogAxis", "DatetimeAxis", "CategoricalAxis", "Axis"]);

function injectCSS() {
  if (typeof document === "undefined" || document.querySelector("link[data-docsync-plot-css]")) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = CSS_URL;
  link.dataset.docsyncPlotCss = "";
  document.head.appendChild(link);
}

const list = (v) => (Array.isArray(v) ? v.filter(Boolean) : []);
const isModel = (v) => v != null && typeof v === "object" && typeof v.on === "function" && typeof v.get === "function";

export class PlotView extends View {
  // the plot sizes itself (width/height/sizing_mode drive the canvas)
  static ownSizing = true;

  render() {
    if (!this._built) this._build();
    this._structureDirty = true;
    this.scheduleDraw();
    return this.el;
  }

  _build() {
    this._built = true;
    injectCSS();
    const el = this.el;
    el.classList.add("docsync-plot");
    el.dataset.modelId ??= this.model.id;
    el.dataset.modelType ??= this.model.type;
    this.wrap = document.createElement("div");
    this.wrap.className = "docsync-plot-canvas-wrap";
    this.canvas = document.createElement("canvas");
    this.canvas.className = "docsync-plot-canvas";
    this.g2d = this.canvas.getContext("2d");
    this.index = document.createElement("div");
    this.index.className = "docsync-plot-models";
    this.index.hidden = true;
    this.wrap.appendChild(this.canvas);
    this.tools = new ToolController(this);
    this.wrap.append(this.tools.overlay, this.tools.tooltip);
    el.append(this.wrap, this.tools.toolbarEl, this.index);
    el.__docsync_view = this;
    this.canvas.__docsync_view = this;

    this.drawCount = 0;
    this.stats = { lastDrawMs: 0, renderers: {} };
    this._raf = null;
    this._subs = new Map(); // model → unsubscribe
    this._rstate = new Map(); // renderer → {cache, bounds, version}
    this._sources = new Map(); // source → Set(renderer)
    this._ranges = new Set();
    this._frameWaiters = [];
    this._hidden = new Set(); // renderers hidden / muted through the legend (click_policy)
    this._muted = new Set();
    this.width = 0;
    this.height = 0;

    if (typeof ResizeObserver !== "undefined") {
      this._resize = new ResizeObserver(() => {
        const mode = prop(this.model, "sizing_mode", null);
        if (mode && mode !== "fixed") this.scheduleDraw();
      });
      this._resize.observe(el);
    }
    this._dprQuery = null;
    this._watchDpr();
  }

  _watchDpr() {
    if (typeof matchMedia === "undefined") return;
    const q = matchMedia(`(resolution: ${window.devicePixelRatio || 1}dppx)`);
    const onChange = () => {
      q.removeEventListener("change", onChange);
      this.scheduleDraw();
      this._watchDpr();
    };
    q.addEventListener("change", onChange);
  }

  remove() {
    if (this._raf !== null) cancelAnimationFrame(this._raf);
    this._raf = null;
    clearTimeout(this._flushTimer);
    for (const off of this._subs.values()) off();
    this._subs.clear();
    for (const st of this._ranges) st.forget(this);
    if (this._resize) this._resize.disconnect();
    if (this.el) delete this.el.__docsync_view;
    if (super.remove) super.remove();
  }

  // ------------------------------------------------------------ scheduling

  /** Redraw on the next animation frame (coalesced: at most one draw per frame). */
  scheduleDraw() {
    if (this._raf !== null || !this._built || this.removed) return;
    this._raf = requestAnimationFrame(() => {
      this._raf = null;
      this.draw();
    });
  }

  /** A promise resolved after the next draw (for tests and benchmarks). */
  nextFrame() {
    return new Promise((resolve) => {
      this._frameWaiters.push(resolve);
      this.scheduleDraw();
    });
  }

  // ------------------------------------------------------------ model graph

  _collect() {
    const p = this.model;
    const models = new Set([p]);
    const add = (m) => {
      if (isModel(m)) models.add(m);
      return m;
    };
    add(prop(p, "title", null));
    add(prop(p, "x_range", null));
    add(prop(p, "y_range", null));
    add(prop(p, "x_scale", null));
    add(prop(p, "y_scale", null));
    const toolbar = add(prop(p, "toolbar", null));
    for (const t of list(prop(toolbar, "tools", []))) add(t);
    for (const side of ["left", "right", "above", "below", "center"]) {
      for (const item of list(prop(p, side, []))) {
        add(item);
        add(prop(item, "ticker", null));
        add(prop(item, "formatter", null));
        if (item.type === "Legend") for (const li of list(prop(item, "items", []))) add(li);
      }
    }
    for (const r of list(prop(p, "renderers", []))) {
      add(r);
      const g = add(prop(r, "glyph", null));
      const src = add(prop(r, "data_source", null));
      add(prop(src, "selected", null));
      add(prop(g, "color_mapper", null));
    }
    return models;
  }

  _resubscribe() {
    const models = this._collect();
    for (const [m, off] of this._subs) {
      if (!models.has(m)) {
        off();
        this._subs.delete(m);
      }
    }
    for (const m of models) {
      if (!this._subs.has(m)) this._subs.set(m, m.on("*", (info) => this._changed(m, info || {})));
    }
    // sources → renderers
    this._sources.clear();
    const renderers = list(prop(this.model, "renderers", []));
    for (const r of renderers) {
      const src = prop(r, "data_source", null);
      if (!src) continue;
      if (!this._sources.has(src)) this._sources.set(src, new Set());
      this._sources.get(src).add(r);
    }
    for (const r of [...this._rstate.keys()]) if (!renderers.includes(r)) this._rstate.delete(r);
    // ranges
    const ranges = new Set([prop(this.model, "x_range", null), prop(this.model, "y_range", null)].filter(Boolean).map(rangeState));
    for (const st of this._ranges) if (!ranges.has(st)) st.forget(this);
    for (const st of ranges) st.views.add(this);
    this._ranges = ranges;
    this._renderIndex(models);
    const loc = prop(this.model, "toolbar_location", "right");
    this.tools.update(prop(this.model, "toolbar", null), loc);
    this._structureDirty = false;
  }

  _changed(model, info) {
    const name = info.prop;
    if (this._sources.has(model)) {
      if (name === "data" || name == null) {
        for (const r of this._sources.get(model)) {
          const st = this._state(r);
          st.version++;
          if (info.kind === "stream" && typeof info.removed === "number") st.bounds.streamed(info.removed);
          else {
            st.bounds.invalidate();
            st.cache.sortedArr = null; // patches write in place: re-check the order
          }
        }
      } else this._structureDirty = true;
      this.scheduleDraw();
      return;
    }
    if (model.type === "Selection") {
      this.scheduleDraw();
      return;
    }
    if (model.type === "Range1d" || model.type === "DataRange1d" || model.type === "FactorRange") {
      if (!rangeState(model).modelChanged(name)) return;
      rangeState(model).redrawViews();
      return;
    }
    if (this._rstate.has(model)) {
      if (name === "glyph" || name === "data_source") this._structureDirty = true;
      this._state(model).bounds.invalidate();
      this._state(model).version++;
    } else if (GLYPHS[model.type] || model.type === "LinearColorMapper" || model.type.endsWith("ColorMapper")) {
      for (const [r, st] of this._rstate) {
        const g = prop(r, "glyph", null);
        if (g === model || prop(g, "color_mapper", null) === model) {
          st.bounds.invalidate();
          st.version++;
        }
      }
      if (name === "color_mapper") this._structureDirty = true;
    } else {
      this._structureDirty = true; // plot, axes, legends, toolbar…: cheap to re-walk
    }
    this.scheduleDraw();
  }

  _state(r) {
    let st = this._rstate.get(r);
    if (!st) {
      st = { cache: {}, bounds: new BoundsCache(), version: 0 };
      this._rstate.set(r, st);
    }
    return st;
  }

  _renderIndex(models) {
    const frag = document.createDocumentFragment();
    for (const m of models) {
      if (m === this.model) continue;
      const d = document.createElement("div");
      d.dataset.modelId = m.id;
      d.dataset.modelType = m.type;
      if (m.type === "GlyphRenderer") {
        const g = prop(m, "glyph", null);
        if (g) {
          d.dataset.glyphId = g.id;
          d.dataset.glyphType = g.type;
        }
        const s = prop(m, "data_source", null);
        if (s) d.dataset.sourceId = s.id;
      }
      frag.appendChild(d);
    }
    this.index.replaceChildren(frag);
    this._indexEls = new Map([...this.index.children].map((d) => [d.dataset.modelId, d]));
  }

  // ------------------------------------------------------------ geometry

  _size() {
    const m = this.model;
    const w = prop(m, "width", 600) ?? 600;
    const h = prop(m, "height", 600) ?? 600;
    const mode = prop(m, "sizing_mode", null);
    const el = this.el;
    el.dataset.sizingMode = mode || "fixed";
    const mw = () => el.clientWidth || (el.parentElement ? el.parentElement.clientWidth : 0) || w;
    const mh = () => el.clientHeight || (el.parentElement ? el.parentElement.clientHeight : 0) || h;
    switch (mode) {
      case "stretch_width": return [mw(), h];
      case "stretch_height": return [w, mh()];
      case "stretch_both": return [mw(), mh()];
      case "scale_width": { const W = mw(); return [W, Math.round((W * h) / w)]; }
      case "scale_height": { const H = mh(); return [Math.round((H * w) / h), H]; }
      case "scale_both": {
        const W = mw(), H = mh();
        const k = Math.min(W / w, H / h);
        return [Math.round(w * k), Math.round(h * k)];
      }
      default: return [w, h];
    }
  }

  _resizeCanvas(W, H) {
    const dpr = (typeof window !== "undefined" && window.devicePixelRatio) || 1;
    const cv = this.canvas;
    const pw = Math.max(1, Math.round(W * dpr));
    const ph = Math.max(1, Math.round(H * dpr));
    if (cv.width !== pw || cv.height !== ph) {
      cv.width = pw;
      cv.height = ph;
    }
    this.dpr = dpr;
    this.width = W;
    this.height = H;
    const mode = prop(this.model, "sizing_mode", null);
    const key = `${W}|${H}|${mode}|${prop(this.model, "visible", true)}`;
    if (key === this._sizeKey) return; // no DOM writes (and no style recalc) when nothing changed
    this._sizeKey = key;
    cv.style.width = `${W}px`;
    cv.style.height = `${H}px`;
    this.wrap.style.width = `${W}px`;
    this.wrap.style.height = `${H}px`;
    const el = this.el;
    // the shared stylesheet's stretch classes (they cooperate with Row/Column/GridBox)
    el.classList.toggle("docsync-stretch-width", mode === "stretch_width" || mode === "stretch_both" || mode === "scale_width" || mode === "scale_both");
    el.classList.toggle("docsync-stretch-height", mode === "stretch_height" || mode === "stretch_both" || mode === "scale_height" || mode === "scale_both");
    el.hidden = prop(this.model, "visible", true) === false;
  }

  _scaleIsLog(which) {
    const s = prop(this.model, which, null);
    return !!s && s.type === "LogScale";
  }

  // ------------------------------------------------------------ drawing

  draw() {
    if (!this._built || !this.model) return;
    const t0 = performance.now();
    if (this._structureDirty) this._resubscribe();
    const p = this.model;
    const [W, H] = this._size();
    this._resizeCanvas(W, H);
    const ctx = this.g2d;
    const dpr = this.dpr;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);

    const xr = prop(p, "x_range", null);
    const yr = prop(p, "y_range", null);
    if (!xr || !yr) return;
    const xs = rangeState(xr);
    const ys = rangeState(yr);
    this.xState = xs;
    this.yState = ys;
    const xlog = this._scaleIsLog("x_scale");
    const ylog = this._scaleIsLog("y_scale");

    // renderers and data ranges
    const renderers = list(prop(p, "renderers", [])).filter((r) => r.type === "GlyphRenderer");
    const visible = renderers.filter((r) => prop(r, "visible", true) && prop(r, "glyph", null) && !this._hidden.has(r));
    this._updateDataRange(xs, visible, "x", xlog, xr);
    this._updateDataRange(ys, visible, "y", ylog, yr);

    // layout: panels around the frame
    const provisional = {
      xm: new Mapper(xs.start, xs.end, 0, 1, xlog, xs.factors || null),
      ym: new Mapper(ys.start, ys.end, 1, 0, ylog, ys.factors || null),
    };
    const panels = this._panels(provisional);
    const minB = prop(p, "min_border", 5) ?? 5;
    const mb = (side) => prop(p, `min_border_${side}`, null) ?? minB;
    const loc = prop(p, "toolbar_location", "right");
    const hasToolbar = loc != null && !this.tools.toolbarEl.hidden;
    const tb = { left: 0, right: 0, above: 0, below: 0 };
    if (hasToolbar) tb[loc] = TOOLBAR_SIZE;
    const ext = (side) => panels[side].reduce((a, q) => a + q.extent, 0);
    const left = Math.max(mb("left"), ext("left")) + tb.left;
    const right = Math.max(mb("right"), ext("right"), panels.below.length || panels.above.length ? 12 : 0) + tb.right;
    const top = Math.max(mb("top"), ext("above")) + tb.above;
    const bottom = Math.max(mb("bottom"), ext("below")) + tb.below;
    const frame = { left, top, width: Math.max(1, W - left - right), height: Math.max(1, H - top - bottom) };
    this.frame = frame;
    const xm = new Mapper(xs.start, xs.end, frame.left, frame.left + frame.width, xlog, xs.factors || null);
    const ym = new Mapper(ys.start, ys.end, frame.top + frame.height, frame.top, ylog, ys.factors || null);
    this.xm = xm;
    this.ym = ym;
    this._placeToolbar(loc, hasToolbar, frame, W, H);

    const tLayout = performance.now();
    // border and background fills
    const border = cssColor(prop(p, "border_fill_color", "#ffffff"), prop(p, "border_fill_alpha", 1));
    if (border) {
      ctx.fillStyle = border;
      ctx.fillRect(0, 0, W, H);
    }
    const bg = cssColor(prop(p, "background_fill_color", "#ffffff"), prop(p, "background_fill_alpha", 1));
    if (bg) {
      ctx.fillStyle = bg;
      ctx.fillRect(frame.left, frame.top, frame.width, frame.height);
    }

    // grids (under the glyphs)
    for (const g of list(prop(p, "center", [])).filter((m) => m.type === "Grid")) this._drawGrid(ctx, g, frame, panels);

    // glyphs, clipped to the frame
    ctx.save();
    ctx.beginPath();
    ctx.rect(frame.left, frame.top, frame.width, frame.height);
    ctx.clip();
    this._rcs = new Map();
    for (const r of visible) {
      const rc = this._renderContext(r, xm, ym, frame);
      if (!rc) continue;
      this._rcs.set(r, rc);
      const tr = performance.now();
      try {
        ctx.save();
        const selected = this._selectedRows(r, rc);
        if (this._muted.has(r)) ctx.globalAlpha = 0.2;
        if (selected) {
          // Bokeh's look: unselected rows faded, selected rows drawn again on top
          ctx.globalAlpha *= 0.2;
          rc.kind.draw(rc);
          ctx.globalAlpha /= 0.2;
          const sub = this._renderContext(r, xm, ym, frame, selected);
          if (sub) rc.kind.draw(sub);
        } else rc.kind.draw(rc);
      } catch (err) {
        console.error(`docsync plot: drawing ${rc.type} (${r.id}) failed`, err);
      } finally {
        ctx.restore();
      }
      rc.stats.ms = performance.now() - tr;
      rc.stats.rows = rc.n;
      this.stats.renderers[r.id] = rc.stats;
      const d = this._indexEls && this._indexEls.get(r.id);
      if (d && d.dataset.rows !== String(rc.n)) d.dataset.rows = String(rc.n);
    }
    ctx.restore();

    const tGlyphs = performance.now();
    // outline
    const outline = cssColor(prop(p, "outline_line_color", "#e5e5e5"), prop(p, "outline_line_alpha", 1));
    const ow = prop(p, "outline_line_width", 1);
    if (outline && ow > 0) {
      ctx.strokeStyle = outline;
      ctx.lineWidth = ow;
      ctx.strokeRect(Math.round(frame.left) + 0.5, Math.round(frame.top) + 0.5, Math.round(frame.width) - 1, Math.round(frame.height) - 1);
    }

    // side panels: axes, titles, legends
    this.legendBoxes = [];
    this._drawPanels(ctx, panels, frame, xm, ym);

    // legends inside the frame
    for (const lg of list(prop(p, "center", [])).filter((m) => m.type === "Legend")) {
      const box = this._drawLegend(ctx, lg, frame);
      if (box) this.legendBoxes.push(box);
    }

    const tGuides = performance.now();
    this._flushRanges();
    this.drawCount++;
    const tEnd = performance.now();
    this.stats.lastDrawMs = tEnd - t0;
    this.stats.phases = { layout: tLayout - t0, glyphs: tGlyphs - tLayout, guides: tGuides - tGlyphs, flush: tEnd - tGuides };
    this.el.dataset.drawCount = String(this.drawCount); // (data-* attribute: no stylesheet rule matches it)
    const waiters = this._frameWaiters;
    this._frameWaiters = [];
    for (const w of waiters) w(this);
  }

  _updateDataRange(st, renderers, dim, log, rangeModel) {
    if (!st.isData) return;
    const only = list(prop(rangeModel, "renderers", []));
    let lo = Infinity, hi = -Infinity, pos = Infinity;
    for (const r of renderers) {
      if (only.length && !only.includes(r)) continue;
      const b = this._bounds(r);
      if (!b) continue;
      const a = b[dim + "0"], z = b[dim + "1"], q = b["p" + dim + "0"];
      if (a < lo) lo = a;
      if (z > hi) hi = z;
      if (q < pos) pos = q;
    }
    st.contribute(this, lo, hi, pos);
    if (st.updateAuto(log)) {
      for (const v of st.views) if (v !== this) v.scheduleDraw();
    }
  }

  _bounds(r) {
    const g = prop(r, "glyph", null);
    const src = prop(r, "data_source", null);
    if (!g) return null;
    const data = src ? prop(src, "data", {}) || {} : {};
    const n = columnLength(data);
    const st = this._state(r);
    const get = (name, dflt) => resolveSpec(prop(g, name, dflt), data);
    return st.bounds.get(g.type, get, data, n);
  }

  /** Selected row indices of a renderer's source (null when nothing is selected). */
  _selectedRows(r, rc) {
    if (rc.type === "Line" || rc.type === "Image" || rc.type === "VArea") return null;
    const sel = prop(prop(r, "data_source", null), "selected", null);
    const idx = prop(sel, "indices", null);
    if (!idx || idx.length === 0) return null;
    return Array.from(idx).filter((i) => i >= 0 && i < rc.n);
  }

  _renderContext(r, xm, ym, frame, rows = null) {
    const g = prop(r, "glyph", null);
    const kind = g && GLYPHS[g.type];
    if (!kind) return null;
    const src = prop(r, "data_source", null);
    let data = src ? prop(src, "data", {}) || {} : {};
    const st = this._state(r);
    if (rows) {
      // the selected rows as their own little column map (selections are small)
      const sub = {};
      for (const k of Object.keys(data)) {
        const col = data[k];
        if (!col || typeof col.length !== "number") continue;
        const out = ArrayBuffer.isView(col) && !col.shape ? new col.constructor(rows.length) : new Array(rows.length);
        rows.forEach((i, j) => { out[j] = col[i]; });
        sub[k] = out;
      }
      data = sub;
      st.selCache ||= {};
    }
    const specs = new Map();
    const cm = prop(g, "color_mapper", null);
    return {
      renderer: r,
      glyph: g,
      type: g.type,
      kind,
      data,
      n: rows ? rows.length : columnLength(data),
      get(name, dflt, isColor = false) {
        let s = specs.get(name);
        if (!s) {
          s = resolveSpec(prop(g, name, dflt), data, isColor || name.endsWith("_color"));
          specs.set(name, s);
        }
        return s;
      },
      xm,
      ym,
      ctx: this.g2d,
      frame,
      dpr: this.dpr,
      cache: rows ? st.selCache : st.cache,
      version: rows ? `${st.version}:${rows.join(",")}` : st.version,
      stats: {},
      globalAlpha: prop(g, "global_alpha", 1),
      interacting: !!this.interacting,
      colorMapper: cm ? {
        palette: prop(cm, "palette", null), low: prop(cm, "low", null), high: prop(cm, "high", null),
        nan_color: prop(cm, "nan_color", "gray"), low_color: prop(cm, "low_color", null),
        high_color: prop(cm, "high_color", null), version: cm.id + ":" + st.version,
        log: cm.type === "LogColorMapper",
      } : null,
    };
  }

  _panels(mappers) {
    const p = this.model;
    const ctx = this.g2d;
    const panels = { left: [], right: [], above: [], below: [] };
    for (const side of ["left", "right", "above", "below"]) {
      for (const m of list(prop(p, side, []))) {
        if (AXIS_TYPES.has(m.type)) {
          const horiz = side === "above" || side === "below";
          const mapper = horiz ? mappers.xm : mappers.ym;
          const info = {
            style: axisStyle(m),
            ticks: computeTicks(m, prop(m, "ticker", null), prop(m, "formatter", null), mapper),
          };
          panels[side].push({ kind: "axis", model: m, info, extent: axisExtent(ctx, info, side) });
        } else if (m.type === "Title") {
          panels[side].push({ kind: "title", model: m, extent: this._titleExtent(m) });
        } else if (m.type === "Legend") {
          const entries = legendEntries(m, (r) => prop(prop(r, "data_source", null), "data", {}));
          const st = legendStyle(m);
          const size = measureLegend(ctx, entries, st);
          const horiz = side === "above" || side === "below";
          panels[side].push({ kind: "legend", model: m, entries, extent: entries.length ? (horiz ? size.h : size.w) + st.margin * 2 : 0 });
        }
      }
    }
    const title = prop(p, "title", null);
    const listed = ["left", "right", "above", "below"].some((side) => list(prop(p, side, [])).includes(title));
    if (title && !listed && prop(title, "text", "")) {
      const loc = prop(p, "title_location", "above") || "above";
      if (panels[loc]) panels[loc].push({ kind: "title", model: title, extent: this._titleExtent(title) });
    }
    return panels;
  }

  _titleExtent(t) {
    if (!prop(t, "visible", true) || !prop(t, "text", "")) return 0;
    const size = parseFloat(prop(t, "text_font_size", "13px")) || 13;
    return Math.ceil(size * 1.2 + 2 * (prop(t, "offset", 0) || 0) + 10);
  }

  _drawPanels(ctx, panels, frame, xm, ym) {
    for (const side of ["left", "right", "above", "below"]) {
      let offset = 0;
      for (const q of panels[side]) {
        let pos;
        if (side === "below") pos = frame.top + frame.height + offset;
        else if (side === "above") pos = frame.top - offset;
        else if (side === "left") pos = frame.left - offset;
        else pos = frame.left + frame.width + offset;
        if (q.kind === "axis") {
          drawAxis(ctx, q.info, side, frame, pos, side === "above" || side === "below" ? xm : ym);
        } else if (q.kind === "title") {
          this._drawTitle(ctx, q.model, side, frame, pos, q.extent);
        } else if (q.kind === "legend" && q.entries.length) {
          const horiz = side === "above" || side === "below";
          const area = horiz
            ? { left: frame.left, width: frame.width, top: side === "below" ? pos : pos - q.extent, height: q.extent }
            : { top: frame.top, height: frame.height, left: side === "right" ? pos : pos - q.extent, width: q.extent };
          const box = drawLegend(ctx, q.model, q.entries, area, (c, r, row, x0, y0, x1, y1) => this._legendSample(c, r, row, x0, y0, x1, y1),
            (e) => e.renderers.some((r) => this._hidden.has(r) || this._muted.has(r)));
          if (box) (this.legendBoxes ||= []).push(box);
        }
        offset += q.extent;
      }
    }
  }

  _drawTitle(ctx, t, side, frame, pos, extent) {
    const text = prop(t, "text", "");
    if (!text || !prop(t, "visible", true)) return;
    const align = prop(t, "align", "left");
    ctx.save();
    ctx.font = fontString(prop(t, "text_font_style", "bold"), prop(t, "text_font_size", "13px"), prop(t, "text_font", "helvetica"));
    ctx.fillStyle = cssColor(prop(t, "text_color", "#444444"), prop(t, "text_alpha", 1)) || "#444";
    const horiz = side === "above" || side === "below";
    const lo = horiz ? frame.left : frame.top;
    const len = horiz ? frame.width : frame.height;
    const at = align === "center" ? lo + len / 2 : align === "right" ? lo + len : lo;
    ctx.textAlign = align === "center" ? "center" : align === "right" ? "right" : "left";
    ctx.textBaseline = "middle";
    if (horiz) {
      const y = side === "above" ? pos - extent / 2 : pos + extent / 2;
      ctx.fillText(String(text), at, y);
    } else {
      const x = side === "left" ? pos - extent / 2 : pos + extent / 2;
      ctx.translate(x, horiz ? 0 : frame.top + frame.height - (at - frame.top));
      ctx.rotate(-Math.PI / 2);
      ctx.fillText(String(text), 0, 0);
    }
    ctx.restore();
  }

  _drawGrid(ctx, g, frame, panels) {
    const dim = prop(g, "dimension", 0);
    const axis = prop(g, "axis", null);
    const m = dim === 0 ? this.xm : this.ym;
    let ticks = null;
    for (const side of dim === 0 ? ["below", "above"] : ["left", "right"]) {
      for (const q of panels[side]) if (q.kind === "axis" && (!axis || q.model === axis) && !ticks) ticks = q.info.ticks;
    }
    const ticker = prop(g, "ticker", null);
    if (ticker || !ticks) ticks = computeTicks(axis, ticker || prop(axis, "ticker", null), null, m);
    drawGrid(ctx, g, ticks, dim, frame, m);
  }

  _drawLegend(ctx, lg, frame) {
    const entries = legendEntries(lg, (r) => prop(prop(r, "data_source", null), "data", {}));
    return drawLegend(ctx, lg, entries, frame, (c, r, row, x0, y0, x1, y1) => this._legendSample(c, r, row, x0, y0, x1, y1),
      (e) => e.renderers.some((r) => this._hidden.has(r) || this._muted.has(r)));
  }

  _legendSample(ctx, r, row, x0, y0, x1, y1) {
    const rc = (this._rcs && this._rcs.get(r)) || this._renderContext(r, this.xm, this.ym, this.frame);
    if (!rc) return;
    rc.legendRow = row;
    ctx.save();
    try {
      rc.kind.legend(ctx, rc, x0, y0, x1, y1);
    } finally {
      ctx.restore();
      rc.legendRow = 0;
    }
  }

  _placeToolbar(loc, shown, frame, W, H) {
    const el = this.tools.toolbarEl;
    if (!shown) return;
    const key = `${loc}|${frame.left}|${frame.top}|${frame.width}|${W}|${H}`;
    if (key === this._toolbarKey) return;
    this._toolbarKey = key;
    const s = el.style;
    s.left = s.top = s.width = s.height = "";
    if (loc === "right") { s.left = `${W - TOOLBAR_SIZE}px`; s.top = `${frame.top}px`; }
    else if (loc === "left") { s.left = "0px"; s.top = `${frame.top}px`; }
    else if (loc === "above") { s.top = "0px"; s.left = `${frame.left}px`; s.width = `${frame.width}px`; }
    else if (loc === "below") { s.top = `${H - TOOLBAR_SIZE}px`; s.left = `${frame.left}px`; s.width = `${frame.width}px`; }
    el.classList.toggle("docsync-plot-toolbar-horizontal", loc === "above" || loc === "below");
  }

  _flushRanges() {
    const now = performance.now();
    let later = false;
    for (const st of this._ranges) if (st.flush(now)) later = true;
    if (later && !this._flushTimer) {
      this._flushTimer = setTimeout(() => {
        this._flushTimer = null;
        this._flushRanges();
      }, 260);
    }
  }

  // ------------------------------------------------------------ interactions

  /** Hover hits at a screen point: [{renderer, glyph, index, sx, sy, data}], topmost first. */
  hitTest(sx, sy, mode = "mouse", only = null) {
    const out = [];
    const rcs = this._rcs ? [...this._rcs.values()].reverse() : [];
    for (const rc of rcs) {
      if (only && !only.includes(rc.renderer)) continue;
      let h = null;
      try {
        h = rc.kind.hit(rc, sx, sy, mode);
      } catch (err) {
        console.error("docsync plot: hit-test failed", err);
      }
      if (h) out.push({ ...h, renderer: rc.renderer, glyph: rc.glyph, data: rc.data });
    }
    return out;
  }

  /** Select hit rows (TapTool): each hit renderer's source gets [index]; nothing hit clears. */
  select(hits, extend = false) {
    const bySource = new Map();
    for (const h of hits) {
      const src = prop(h.renderer, "data_source", null);
      if (src) bySource.set(src, [h.index]);
    }
    if (hits.length === 0) for (const src of this._sources.keys()) bySource.set(src, []);
    this._applySelection(bySource, extend);
  }

  /** BoxSelectTool: rows inside a screen box, per source. */
  selectBox(x0, y0, x1, y1, only = null, extend = false) {
    const bySource = new Map();
    for (const rc of this._rcs ? this._rcs.values() : []) {
      if (only && !only.includes(rc.renderer)) continue;
      const src = prop(rc.renderer, "data_source", null);
      if (!src) continue;
      const rows = rowsInBox(rc, x0, y0, x1, y1);
      bySource.set(src, [...new Set([...(bySource.get(src) || []), ...rows])]);
    }
    this._applySelection(bySource, extend);
  }

  _applySelection(bySource, extend) {
    for (const [src, rows] of bySource) {
      const sel = prop(src, "selected", null);
      if (!sel) continue;
      let next = rows;
      if (extend) next = [...new Set([...(prop(sel, "indices", []) || []), ...rows])];
      const cur = prop(sel, "indices", []) || [];
      if (cur.length === next.length && cur.every((v, i) => v === next[i])) continue;
      try {
        sel.set("indices", next);
      } catch (err) {
        console.warn("docsync plot: could not set the selection", err);
      }
    }
    this.scheduleDraw();
  }

  /** A click on a legend item with click_policy hide/mute toggles its renderers. True if handled. */
  legendClick(sx, sy) {
    for (const box of this.legendBoxes || []) {
      const policy = prop(box.legend, "click_policy", "none");
      if (policy !== "hide" && policy !== "mute") continue;
      for (const item of box.items) {
        if (sx >= item.x && sx <= item.x + item.w && sy >= item.y && sy <= item.y + item.h) {
          const set = policy === "hide" ? this._hidden : this._muted;
          for (const r of item.renderers) {
            if (set.has(r)) set.delete(r);
            else set.add(r);
          }
          this.scheduleDraw();
          return true;
        }
      }
    }
    return false;
  }

  resetRanges() {
    for (const st of this._ranges) st.reset();
    this.tools.hideTooltip();
    this._sendEvent("reset", {});
    this.scheduleDraw();
  }

  sendTap(sx, sy) {
    if (!this.xm) return;
    this._sendEvent("tap", { x: this.xm.invert(sx), y: this.ym.invert(sy), sx, sy });
  }

  /** UI event: js_event_callbacks run; Python gets it unless the model lists its subscriptions without it. */
  _sendEvent(name, data) {
    const m = this.model;
    let send = true;
    if (typeof m.has === "function" && m.has("subscribed_events")) {
      const subs = prop(m, "subscribed_events", []) || [];
      send = subs.includes(name);
    }
    try {
      if (typeof this.emitEvent === "function") this.emitEvent(name, data, { send });
      else if (send && m.doc && typeof m.doc.sendEvent === "function") m.doc.sendEvent(m, name, data);
    } catch (err) {
      console.warn("docsync plot: could not send", name, err);
    }
  }

  /** Download the canvas as PNG (SaveTool). */
  savePNG(filename = "plot") {
    const a = document.createElement("a");
    a.download = `${filename}.png`;
    this.canvas.toBlob((blob) => {
      if (!blob) return;
      const url = URL.createObjectURL(blob);
      a.href = url;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    }, "image/png");
  }

  // ------------------------------------------------------------ test hooks

  /** CSS pixel position (relative to the canvas) of a data point. */
  dataToScreen(x, y) {
    if (!this.xm) return null;
    return { x: this.xm.map(x), y: this.ym.map(y) };
  }

  /** Data coordinates of a CSS pixel position relative to the canvas. */
  screenToData(sx, sy) {
    if (!this.xm) return null;
    return { x: this.xm.invert(sx), y: this.ym.invert(sy) };
  }

  /** Current ranges as drawn: {x: [start, end], y: [start, end]}. */
  get ranges() {
    return { x: [this.xState?.start, this.xState?.end], y: [this.yState?.start, this.yState?.end] };
  }

  /** RGBA of the canvas at a CSS pixel position (device pixels are sampled at the centre). */
  pixelAt(sx, sy) {
    const d = this.g2d.getImageData(Math.floor(sx * this.dpr), Math.floor(sy * this.dpr), 1, 1).data;
    return [d[0], d[1], d[2], d[3]];
  }
}

registerView("Plot", PlotView);
registerView("Figure", PlotView);
