// The same work as plot_bench.mjs in BokehJS (canvas backend), for a side-by-side report.
// `base` is the URL of bokeh.min.js; bokeh-api.min.js must sit beside it (the `bokeh`
// package's server/static/js folder has both).

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.appendChild(s);
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

function frames(seconds, onFrame = null) {
  return new Promise((resolve) => {
    let n = 0;
    const gaps = [];
    const start = performance.now();
    let last = start;
    const loop = (now) => {
      n++;
      gaps.push(now - last);
      last = now;
      if (onFrame) onFrame(now);
      if (now - start < seconds * 1000) requestAnimationFrame(loop);
      else {
        gaps.sort((a, b) => a - b);
        const el = (now - start) / 1000;
        resolve({ seconds: +el.toFixed(2), fps: +(n / el).toFixed(1), p95_frame_gap_ms: +gaps[Math.floor(gaps.length * 0.95)].toFixed(1) });
      }
    };
    requestAnimationFrame(loop);
  });
}

const raf = () => new Promise((r) => requestAnimationFrame(() => r()));

async function show(p) {
  const host = document.getElementById("stage");
  host.replaceChildren();
  const view = await window.Bokeh.Plotting.show(p, host);
  await raf();
  await raf();
  return view;
}

export async function runBokeh(url, seconds = Number(new URLSearchParams(location.search).get("seconds") || 5)) {
  if (!window.Bokeh) {
    await loadScript(url);
    await loadScript(url.replace(/bokeh(\.min)?\.js$/, "bokeh-api$1.js"));
  }
  const B = window.Bokeh;
  const P = B.Plotting;
  const out = { renderer: `BokehJS ${B.version}` };

  // 1M scatter, first draw
  {
    const n = 1_000_000;
    const x = new Float64Array(n);
    const y = new Float64Array(n);
    let s = 7;
    for (let i = 0; i < n; i++) {
      s = (s * 16807) % 2147483647; x[i] = s / 2147483647;
      s = (s * 16807) % 2147483647; y[i] = s / 2147483647;
    }
    const source = new B.ColumnDataSource({ data: { x, y } });
    const p = P.figure({ width: 800, height: 400, tools: "pan,wheel_zoom,reset" });
    p.scatter({ x: { field: "x" }, y: { field: "y" }, size: 3, fill_color: "#1f77b4", line_color: null, source });
    const t0 = performance.now();
    await show(p);
    out.scatter_1m = { first_draw_ms: +(performance.now() - t0).toFixed(1) };
  }

  // streaming
  {
    const source = new B.ColumnDataSource({ data: ramp(100_000) });
    const p = P.figure({ width: 800, height: 400, tools: "pan,wheel_zoom,reset" });
    p.line({ x: { field: "x" }, y: { field: "y" }, line_color: "#1f77b4", source });
    await show(p);
    let next = 100_000;
    const timer = setInterval(() => {
      source.stream(ramp(1000, next), 100_000);
      next += 1000;
    }, 50);
    out.stream_1k_per_50ms_rollover_100k = await frames(seconds);
    clearInterval(timer);
  }

  // panning a 1M line
  {
    const source = new B.ColumnDataSource({ data: ramp(1_000_000) });
    const xr = new B.Range1d({ start: 0, end: 1_000_000 });
    const p = P.figure({ width: 800, height: 400, x_range: xr, tools: "pan,wheel_zoom,reset" });
    p.line({ x: { field: "x" }, y: { field: "y" }, line_color: "#1f77b4", source });
    await show(p);
    out.pan_1m_line = await frames(seconds, (now) => {
      const shift = 2000 * Math.sin(now / 300);
      xr.setv({ start: shift, end: 1_000_000 + shift });
    });
  }
  return out;
}
