// Browser benchmark of the docsync plot renderer (static page, no server): builds a real
// DocumentMirror by hand, renders a Plot with the real views, and measures
//   1. frames per second while streaming 1,000 points every 50 ms into a line with
//      rollover 100,000 (through DocumentMirror.applyPatch, as the connection does);
//   2. frames per second while panning a 1,000,000-point line (one range change per frame);
//   3. time to first draw of a 1,000,000-point scatter.
// Also the same work in BokehJS when `bokeh.min.js` is reachable (see plot_bench.html).
// Results go to `window.benchResults` (and the page), for benches/ drivers.

import { DocumentMirror } from "../../python/docsync/static/document.js";
import { ViewContext } from "../../python/docsync/static/views.js";
import { Ref } from "../../python/docsync/static/codec.js";
import "../../python/docsync/static/plot/plot.js";

const params = new URLSearchParams(location.search);
const SECONDS = Number(params.get("seconds") || 5);

let counter = 0;
function builder() {
  const models = [];
  const m = (type, props = {}) => {
    const id = `b${++counter}`;
    models.push({ id, type, props });
    return new Ref(id);
  };
  return { models, m };
}

function plotDoc(glyphType, glyphProps, data, rangeProps = {}) {
  const { models, m } = builder();
  const xaxis = m("LinearAxis");
  const yaxis = m("LinearAxis");
  const src = m("ColumnDataSource", { data });
  const glyph = m(glyphType, glyphProps);
  const r = m("GlyphRenderer", { data_source: src, glyph });
  const tools = [m("PanTool"), m("WheelZoomTool"), m("ResetTool")];
  const plot = m("Plot", {
    width: 800, height: 400,
    x_range: m(rangeProps.x_type || "DataRange1d", rangeProps.x || {}),
    y_range: m("DataRange1d"),
    x_scale: m("LinearScale"), y_scale: m("LinearScale"),
    below: [xaxis], left: [yaxis],
    center: [m("Grid", { dimension: 0, axis: xaxis }), m("Grid", { dimension: 1, axis: yaxis })],
    renderers: [r], toolbar: m("Toolbar", { tools }),
  });
  const doc = new DocumentMirror();
  doc.applySnapshot({ title: "bench", version: 0, roots: [plot.id], models, defaults: {} });
  return { doc, plotId: plot.id, srcId: src.id };
}

function mount(doc) {
  const host = document.getElementById("stage");
  host.replaceChildren();
  const ctx = new ViewContext(doc, host);
  const t0 = performance.now();
  ctx.syncRoots();
  const view = host.querySelector(".docsync-plot").__docsync_view;
  return { view, ctx, t0 };
}

/** Count animation frames and the plot's draws for `seconds` while `tick(now)` runs. */
function measureFrames(seconds, view, onFrame = null) {
  return new Promise((resolve) => {
    let frames = 0;
    const draws0 = view.drawCount;
    let lastCount = draws0;
    const drawTimes = [];
    const gaps = [];
    let last = performance.now();
    const start = last;
    const loop = (now) => {
      frames++;
      gaps.push(now - last);
      last = now;
      if (onFrame) onFrame(now);
      if (view.drawCount !== lastCount) {
        lastCount = view.drawCount;
        drawTimes.push(view.stats.lastDrawMs);
      }
      if (now - start < seconds * 1000) requestAnimationFrame(loop);
      else {
        const el = (now - start) / 1000;
        gaps.sort((a, b) => a - b);
        resolve({
          seconds: +el.toFixed(2),
          fps: +(frames / el).toFixed(1),
          plot_draws_per_s: +((view.drawCount - draws0) / el).toFixed(1),
          mean_draw_ms: +(drawTimes.reduce((a, b) => a + b, 0) / Math.max(1, drawTimes.length)).toFixed(2),
          median_draw_ms: +(drawTimes.sort((a, b) => a - b)[drawTimes.length >> 1] ?? 0).toFixed(2),
          p95_frame_gap_ms: +gaps[Math.floor(gaps.length * 0.95)].toFixed(1),
        });
      }
    };
    requestAnimationFrame(loop);
  });
}

function ramp(n, from = 0) {
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = from + i;
    y[i] = Math.sin((from + i) / 500) + 0.1 * Math.sin((from + i) / 7);
  }
  return { x, y };
}

export async function streamingBench(seconds = SECONDS) {
  const init = ramp(100_000);
  const { doc, srcId } = plotDoc("Line", { x: { field: "x" }, y: { field: "y" }, line_color: "#1f77b4" }, init);
  const { view } = mount(doc);
  await view.nextFrame();
  let next = 100_000;
  const timer = setInterval(() => {
    const cols = ramp(1000, next);
    next += 1000;
    doc.applyPatch({ events: [{ k: "stream", id: srcId, prop: "data", columns: cols, rollover: 100_000 }] });
  }, 50);
  const r = await measureFrames(seconds, view);
  clearInterval(timer);
  r.rows = view.stats.renderers[Object.keys(view.stats.renderers)[0]].rows;
  return r;
}

export async function panBench(seconds = SECONDS) {
  const data = ramp(1_000_000);
  const { doc } = plotDoc("Line", { x: { field: "x" }, y: { field: "y" }, line_color: "#1f77b4" }, data,
    { x_type: "Range1d", x: { start: 0, end: 1_000_000 } });
  const { view } = mount(doc);
  await view.nextFrame();
  const r = await measureFrames(seconds, view, (now) => {
    // one pan step per frame, as a drag delivers
    const shift = 2000 * Math.sin(now / 300);
    view.xState.setUser(shift, 1_000_000 + shift);
  });
  const st = view.stats.renderers[Object.keys(view.stats.renderers)[0]];
  r.points_drawn_after_decimation = st.drawn;
  r.last_glyph_ms = +st.ms.toFixed(2);
  r.last_phases_ms = Object.fromEntries(Object.entries(view.stats.phases).map(([k, v]) => [k, +v.toFixed(2)]));
  return r;
}

export async function scatterFirstDraw() {
  const n = 1_000_000;
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  let s = 7;
  for (let i = 0; i < n; i++) {
    s = (s * 16807) % 2147483647;
    x[i] = s / 2147483647;
    s = (s * 16807) % 2147483647;
    y[i] = s / 2147483647;
  }
  const { doc } = plotDoc("Scatter", { x: { field: "x" }, y: { field: "y" }, size: 3, fill_color: "#1f77b4", line_color: null }, { x, y });
  const t0 = performance.now();
  const { view } = mount(doc);
  await view.nextFrame();
  const first = performance.now() - t0;
  const firstPhases = { ...view.stats.phases };
  const firstStamp = view.stats.renderers[Object.keys(view.stats.renderers)[0]].phases;
  // a second draw (data unchanged) shows the steady-state cost
  view.xState.setUser(0.1, 0.9);
  await view.nextFrame();
  const glyphMs = view.stats.renderers[Object.keys(view.stats.renderers)[0]].ms;
  const r2 = (o) => Object.fromEntries(Object.entries(o || {}).map(([k, v]) => [k, +(+v).toFixed(1)]));
  return {
    first_draw_ms: +first.toFixed(1), first_phases_ms: r2(firstPhases), first_scatter_passes_ms: r2(firstStamp),
    redraw_ms: +view.stats.lastDrawMs.toFixed(1), redraw_glyph_ms: +glyphMs.toFixed(1),
  };
}

export async function runAll() {
  const results = { renderer: "docsync", userAgent: navigator.userAgent, dpr: devicePixelRatio };
  results.scatter_1m = await scatterFirstDraw();
  results.stream_1k_per_50ms_rollover_100k = await streamingBench();
  results.pan_1m_line = await panBench();
  return results;
}
