// Receiving in the browser, docsync.js against BokehJS (benches/workloads_browser.py).
//
// Both systems get the messages their own server would send, generated in Python by the
// real code (docsync's engine; bokeh.protocol) and fetched as one bundle per message:
//   u32 LE frame count, then per frame: u8 kind (0 text, 1 binary), u32 LE length, bytes.
// The frames are split up before timing, as a WebSocket delivers them: text frames as
// strings, each binary frame as its own ArrayBuffer. Timed work per message:
//   docsync.js  decodeMessage(bytes) → DocumentMirror.applySnapshot / applyPatch
//               (what connection.js does with a frame)
//   BokehJS     Bokeh.protocol.Receiver.consume(each frame) → Document.from_json(content.doc,
//               [], buffers) / doc.apply_json_patch(content, buffers)
//               (what BokehJS's ClientConnection / ClientSession do)
// The two systems alternate sample by sample; each sample is a batch of calls timed with
// performance.now() (coarse in browsers) lasting at least `minBatchMs`, after a full GC.
//
// Page: receive_bench.html?static=<docsync static URL>&bokeh=<URL of bokeh.min.js>
// (bokeh-api.min.js must sit beside it). API: window.receiveBench.{firstLoad, stream}.

const params = new URLSearchParams(location.search);
const STATIC = params.get("static") || new URL("../../python/docsync/static/", import.meta.url).href;
const BOKEH = params.get("bokeh");

const now = () => performance.now();

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.appendChild(s);
  });
}

let modules = null;

async function load() {
  if (modules === null) {
    const codec = await import(new URL("codec.js", STATIC).href);
    const { DocumentMirror } = await import(new URL("document.js", STATIC).href);
    if (!window.Bokeh) {
      if (!BOKEH) throw new Error("no ?bokeh=URL of bokeh.min.js");
      await loadScript(BOKEH);
      await loadScript(BOKEH.replace(/bokeh(\.min)?\.js$/, "bokeh-api$1.js"));
    }
    window.Bokeh.set_log_level("error"); // no console noise per document
    modules = { decodeMessage: codec.decodeMessage, DocumentMirror, Bokeh: window.Bokeh };
  }
  return modules;
}

/** The frames of one bundle: strings for text frames, an own ArrayBuffer per binary frame. */
async function frames(url) {
  const buf = await (await fetch(url)).arrayBuffer();
  const view = new DataView(buf);
  const n = view.getUint32(0, true);
  const out = [];
  const text = new TextDecoder();
  let off = 4;
  for (let i = 0; i < n; i++) {
    const kind = view.getUint8(off);
    const len = view.getUint32(off + 1, true);
    off += 5;
    const bytes = buf.slice(off, off + len);
    out.push(kind === 0 ? text.decode(bytes) : bytes);
    off += len;
  }
  return out;
}

function bokehMessage(frameList) {
  const receiver = new modules.Bokeh.protocol.Receiver();
  for (const f of frameList) receiver.consume(f);
  if (receiver.message === null) throw new Error("BokehJS: incomplete message");
  return receiver.message;
}

function docsyncMessage(ab) {
  return modules.decodeMessage(new Uint8Array(ab), { maxSize: Infinity, maxDepth: 64 });
}

const size = (frameList) => frameList.reduce((s, f) => s + (typeof f === "string" ? f.length : f.byteLength), 0);

/**
 * Alternating timings: `sides` = {name: fn}; each sample of a side is one batch of calls
 * (ms per call). Returns {name: {samples, batch, calls}}.
 */
function alternate(sides, { samples, minBatchMs, warmup }) {
  const names = Object.keys(sides);
  const out = {};
  for (const name of names) {
    const fn = sides[name];
    for (let i = 0; i < warmup; i++) fn();
    // calibrate: the median of a few single calls (a GC pause in one must not decide)
    const single = [];
    for (let i = 0; i < 5; i++) {
      const t = now();
      fn();
      single.push(now() - t);
    }
    single.sort((a, b) => a - b);
    const t = now(); // and 8 calls together, for calls below the clock's resolution
    for (let k = 0; k < 8; k++) fn();
    const estimate = Math.max(Math.min(single[2], (now() - t) / 8), 0.005);
    const batch = Math.min(4096, Math.max(1, Math.ceil(minBatchMs / estimate)));
    out[name] = { samples: [], batch, calls: warmup + 13 };
  }
  for (let s = 0; s < samples; s++) {
    for (const name of (s % 2 ? [...names].reverse() : names)) {
      const { batch } = out[name];
      const fn = sides[name];
      // Collect the other side's garbage first, so nobody pays for the other's GC
      // (chromium runs with --js-flags=--expose-gc).
      if (typeof globalThis.gc === "function") globalThis.gc();
      const t = now();
      for (let k = 0; k < batch; k++) fn();
      out[name].samples.push((now() - t) / batch);
      out[name].calls += batch;
    }
  }
  return out;
}

/** Median ms of one copy of the message's bytes in the page (the floor of any decoder that copies). */
function copyFloor(ab, samples, minBatchMs) {
  const src = new Uint8Array(ab);
  const dst = new Uint8Array(ab.byteLength); // preallocated: a plain memcpy, no allocation
  const t = alternate({ copy: () => dst.set(src) }, { samples, minBatchMs, warmup: 2 });
  const s = [...t.copy.samples].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function bokehSource(doc) {
  const sources = [...doc._all_models.values()].filter((m) => m.type === "ColumnDataSource");
  if (sources.length !== 1) throw new Error(`BokehJS: ${sources.length} ColumnDataSources`);
  return sources[0];
}

function bokehColumns(doc) {
  const data = bokehSource(doc).data;
  const col = (name) => (data instanceof Map ? data.get(name) : data[name]);
  return { x: col("x"), y: col("y"), z: col("z") };
}

function docsyncColumns(doc) {
  const sources = [...doc.models.values()].filter((m) => m.type === "ColumnDataSource");
  if (sources.length !== 1) throw new Error(`docsync.js: ${sources.length} ColumnDataSources`);
  const data = sources[0].get("data");
  return { x: data.x, y: data.y, z: data.z };
}

function summary(cols) {
  const { x, y, z } = cols;
  return {
    rows: x.length, rowsY: y.length, rowsZ: z.length,
    firstX: Number(x[0]), lastX: Number(x[x.length - 1]), lastY: Number(y[y.length - 1]),
    xType: x.constructor.name,
  };
}

/** First load: a snapshot / PULL-DOC-REPLY into a new document, per call. */
async function firstLoad({ docsyncUrl, bokehUrl, samples = 7, minBatchMs = 20, warmup = 2 }) {
  const { DocumentMirror, Bokeh } = await load();
  const [dmsg] = await frames(docsyncUrl);
  const bframes = await frames(bokehUrl);
  let dlast = null;
  let blast = null;
  const runDocsync = () => {
    const m = docsyncMessage(dmsg);
    const doc = new DocumentMirror();
    doc.applySnapshot(m.p);
    dlast = doc;
  };
  const runBokeh = () => {
    const msg = bokehMessage(bframes);
    blast = Bokeh.Document.from_json(msg.content.doc, [], msg.buffers);
  };
  const timings = alternate({ docsync: runDocsync, bokeh: runBokeh }, { samples, minBatchMs, warmup });
  const dcols = docsyncColumns(dlast);
  const copy = copyFloor(dmsg, samples, minBatchMs);
  return {
    docsync: { ...timings.docsync, bytes: dmsg.byteLength, ...summary(dcols), zeroCopy: dcols.x.buffer === dmsg, copyMs: copy },
    bokeh: { ...timings.bokeh, bytes: size(bframes), ...summary(bokehColumns(blast)) },
    userAgent: navigator.userAgent,
    bokehVersion: Bokeh.version,
  };
}

/**
 * Streams: a document loaded from `*BaseUrl`, then the stream messages of `*Urls` applied
 * in turn, over and over (each call decodes and applies the next one).
 */
async function stream({ docsyncBaseUrl, docsyncUrls, bokehBaseUrl, bokehUrls, samples = 7, minBatchMs = 20, warmup = 2 }) {
  const { DocumentMirror, Bokeh } = await load();
  const ddoc = new DocumentMirror();
  ddoc.applySnapshot(docsyncMessage((await frames(docsyncBaseUrl))[0]).p);
  const base = bokehMessage(await frames(bokehBaseUrl));
  const bdoc = Bokeh.Document.from_json(base.content.doc, [], base.buffers);
  const dmsgs = [];
  for (const u of docsyncUrls) dmsgs.push((await frames(u))[0]);
  const bmsgs = [];
  for (const u of bokehUrls) bmsgs.push(await frames(u));
  let di = 0;
  let bi = 0;
  const runDocsync = () => {
    const m = docsyncMessage(dmsgs[di++ % dmsgs.length]);
    ddoc.applyPatch(m.p);
  };
  const runBokeh = () => {
    const msg = bokehMessage(bmsgs[bi++ % bmsgs.length]);
    bdoc.apply_json_patch(msg.content, msg.buffers);
  };
  const timings = alternate({ docsync: runDocsync, bokeh: runBokeh }, { samples, minBatchMs, warmup });
  const copy = copyFloor(dmsgs[0], samples, minBatchMs);
  return {
    docsync: { ...timings.docsync, applied: di, bytes: dmsgs[0].byteLength, ...summary(docsyncColumns(ddoc)), copyMs: copy },
    bokeh: { ...timings.bokeh, applied: bi, bytes: size(bmsgs[0]), ...summary(bokehColumns(bdoc)) },
    userAgent: navigator.userAgent,
    bokehVersion: Bokeh.version,
  };
}

window.receiveBench = { load, firstLoad, stream };
