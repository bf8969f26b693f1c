// Decode + apply benchmarks of docsync.js (issue 6, "Benchmarks"):
//   1. a patch streaming 10,000 rows × 3 float64 columns into a source (rollover 1,000,000)
//   2. a snapshot holding a 1,000,000-row × 3 float64 ColumnDataSource
// Reported as time per message and per MB, beside a plain copy of the same bytes
// (`memcpy`: what a decoder that copies its payload would cost at least).
//
// Browser: benches/browser/decode_bench.html (Playwright reads `window.benchResults` once
// `window.benchDone` is true). The modules come from `?static=<url>` (e.g. `/static/` on a
// docsync server), else from ../../python/docsync/static/ relative to this file.
// Node: `node benches/browser/decode_bench.mjs` prints the same JSON.

const STATIC = (typeof location !== "undefined" && new URLSearchParams(location.search).get("static"))
  || new URL("../../python/docsync/static/", import.meta.url).href;

const now = () => performance.now();

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), p10: q(0.1), p90: q(0.9), n: s.length };
}

function columns(n, offset = 0) {
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = offset + i;
    y[i] = Math.sin((offset + i) / 100);
    z[i] = Math.random();
  }
  return { x, y, z };
}

/**
 * ms per call of `fn`: batches of calls timed together (browsers coarsen performance.now()
 * to 0.1 ms or more), each batch at least ~5 ms, for at least `minMs` and `minSamples`.
 */
function measure(fn, { warmup = 5, minSamples = 15, minMs = 500, maxSamples = 200 } = {}) {
  let i = 0;
  for (; i < warmup; i++) fn(i);
  // calibrate: double until a batch takes 20 ms, then use a quarter of it (~5 ms batches)
  let batch = 1;
  for (;;) {
    const t = now();
    for (let k = 0; k < batch; k++) fn(i++);
    if (now() - t >= 20 || batch >= 1 << 20) break;
    batch *= 2;
  }
  batch = Math.max(1, batch >> 2);
  const samples = [];
  const t0 = now();
  while (samples.length < maxSamples && (samples.length < minSamples || now() - t0 < minMs)) {
    const t = now();
    for (let k = 0; k < batch; k++) fn(i++);
    samples.push((now() - t) / batch);
  }
  return { ...stats(samples), batch };
}

export async function runBench(options = {}) {
  const base = options.static ?? STATIC;
  const { encode, decode, encodeMessage, decodeMessage } = await import(new URL("codec.js", base).href);
  const { DocumentMirror } = await import(new URL("document.js", base).href);
  const MB = 1024 * 1024;
  const results = { userAgent: globalThis.navigator?.userAgent ?? `node ${globalThis.process?.version}` };

  // ---- 1. stream 10,000 rows × 3 float64 --------------------------------------------
  {
    const rows = options.streamRows ?? 10_000;
    const start = columns(100_000);
    const doc = new DocumentMirror();
    doc.applySnapshot(decode(encode({
      title: "", version: 1, roots: [],
      models: [{ id: "src", type: "ColumnDataSource", props: { data: start } }],
      defaults: { ColumnDataSource: { data: {} } },
    })));
    const messages = Array.from({ length: 8 }, (_, k) => encodeMessage("patch", {
      seq: k + 1,
      p: { events: [{ k: "stream", id: "src", prop: "data", columns: columns(rows, k * rows), rollover: 1_000_000 }] },
    }));
    const bytes = messages[0].length;
    let zeroCopy = true;
    const decodeOnly = measure((i) => {
      const m = decodeMessage(messages[i % messages.length]);
      if (m.p.events[0].columns.x.buffer !== messages[i % messages.length].buffer) zeroCopy = false;
    });
    const decodeApply = measure((i) => {
      const m = decodeMessage(messages[i % messages.length]);
      doc.applyPatch(m.p);
    });
    const memcpy = measure((i) => { messages[i % messages.length].slice(); });
    const len = doc.get("src").get("data").x.length;
    results.stream = {
      rows, columns: 3, messageBytes: bytes, zeroCopy, finalRows: len,
      decodeMs: decodeOnly.median,
      decodeApplyMs: decodeApply.median,
      decodeApplyMsPerMB: decodeApply.median / (bytes / MB),
      memcpyMs: memcpy.median,
      ratioToMemcpy: decodeApply.median / memcpy.median,
      p90Ms: decodeApply.p90,
    };
  }

  // ---- 2. snapshot of 1,000,000 rows × 3 float64 --------------------------------------
  {
    const rows = options.snapshotRows ?? 1_000_000;
    const snapshot = {
      title: "big", version: 1, roots: ["plot"],
      models: [
        { id: "plot", type: "Plot", props: { renderers: [] } },
        { id: "src", type: "ColumnDataSource", props: { data: columns(rows) } },
      ],
      defaults: { Plot: { renderers: [], width: 600 }, ColumnDataSource: { data: {} } },
    };
    const message = encodeMessage("snapshot", { seq: 0, p: snapshot });
    const bytes = message.length;
    let zeroCopy = true;
    const decodeApply = measure(() => {
      const m = decodeMessage(message, { maxSize: Infinity });
      const doc = new DocumentMirror();
      doc.applySnapshot(m.p);
      if (doc.get("src").get("data").x.buffer !== message.buffer) zeroCopy = false;
    }, { warmup: 3, minSamples: 15, minMs: 500 });
    const memcpy = measure(() => { message.slice(); }, { warmup: 3, minSamples: 10, minMs: 300 });
    const t = now();
    encodeMessage("snapshot", { seq: 0, p: snapshot });
    const encodeMs = now() - t;
    results.snapshot = {
      rows, columns: 3, messageBytes: bytes, zeroCopy,
      decodeApplyMs: decodeApply.median,
      decodeApplyMsPerMB: decodeApply.median / (bytes / MB),
      memcpyMs: memcpy.median,
      ratioToMemcpy: decodeApply.median / memcpy.median,
      encodeMs,
      p90Ms: decodeApply.p90,
    };
  }
  return results;
}

if (typeof window === "undefined" && globalThis.process?.argv?.[1] && import.meta.url.endsWith(globalThis.process.argv[1].split("/").pop())) {
  runBench().then((r) => console.log(JSON.stringify(r, null, 1)));
}
