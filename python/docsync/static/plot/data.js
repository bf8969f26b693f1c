// Data helpers for the plot renderer (pure functions, tested under node): data-spec
// resolution, data bounds (incremental while streaming), DataRange1d padding, per-pixel
// line decimation and the hover hit-testing indexes.

import { isColor } from "./colors.js";

// ---------------------------------------------------------------- data specs

function isPlainObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

/** Safe property read with a default (unknown properties read as the default). */
export function prop(model, name, dflt) {
  if (model == null) return dflt;
  let v;
  try {
    v = model.get(name);
  } catch {
    v = undefined;
  }
  return v === undefined ? dflt : v;
}

/**
 * Resolve a data spec: `{field}` → the column, `{value}` or a plain value → that value.
 * Color properties follow Bokeh's rule: a string that is not a color but names a column is
 * a field. Returns {array, value}; read row i with `specAt`.
 */
export function resolveSpec(raw, data, isColorProp = false) {
  if (isPlainObject(raw)) {
    if ("field" in raw) return { array: (data && data[raw.field]) ?? null, value: undefined, field: raw.field };
    if ("value" in raw) return { array: null, value: raw.value };
  }
  if (isColorProp && typeof raw === "string" && data && raw in data && !isColor(raw)) {
    return { array: data[raw], value: undefined, field: raw };
  }
  return { array: null, value: raw };
}

export function specAt(spec, i) {
  return spec.array ? spec.array[i] : spec.value;
}

export function glyphSpec(glyph, name, data, dflt, isColorProp = false) {
  return resolveSpec(prop(glyph, name, dflt), data, isColorProp);
}

/** Number of rows of a column map (length of the first column). */
export function columnLength(data) {
  if (!data) return 0;
  for (const k in data) {
    const c = data[k];
    if (c && typeof c.length === "number") return c.length;
  }
  return 0;
}

// ---------------------------------------------------------------- bounds

export function emptyBounds() {
  return { x0: Infinity, x1: -Infinity, y0: Infinity, y1: -Infinity, px0: Infinity, py0: Infinity };
}

/** Extend [lo, hi] over arr[from:to] ignoring non-finite values; px = smallest positive. */
function extendTyped(b, key, arr, from, to) {
  let lo = b[key + "0"];
  let hi = b[key + "1"];
  let pos = b["p" + key + "0"];
  for (let i = from; i < to; i++) {
    const v = arr[i];
    if (v < lo) lo = v; // NaN compares false: skipped
    if (v > hi) hi = v;
    if (v > 0 && v < pos) pos = v;
  }
  if (lo === -Infinity) lo = Infinity; // only -inf values: no finite data
  if (hi === Infinity) hi = -Infinity;
  b[key + "0"] = lo;
  b[key + "1"] = hi;
  b["p" + key + "0"] = pos;
}

function extendArray(b, key, arr, from, to, offset = null, sign = 1) {
  const n = Math.min(to, arr.length);
  if (offset === null && (arr instanceof Float64Array || arr instanceof Float32Array || arr instanceof Int32Array)) {
    extendTyped(b, key, arr, from, n);
    return;
  }
  let lo = b[key + "0"];
  let hi = b[key + "1"];
  let pos = b["p" + key + "0"];
  for (let i = from; i < n; i++) {
    let v = arr[i];
    if (typeof v !== "number") {
      if (typeof v === "bigint") v = Number(v);
      else if (v instanceof Date) v = v.getTime();
      else continue;
    }
    if (offset !== null) {
      const o = offset.array ? offset.array[i] : offset.value;
      v += sign * (typeof o === "number" ? o : 0);
    }
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    if (v > 0 && v < pos) pos = v;
  }
  b[key + "0"] = lo;
  b[key + "1"] = hi;
  b["p" + key + "0"] = pos;
}

function extendValue(b, key, v) {
  if (typeof v !== "number" || !Number.isFinite(v)) return;
  if (v < b[key + "0"]) b[key + "0"] = v;
  if (v > b[key + "1"]) b[key + "1"] = v;
  if (v > 0 && v < b["p" + key + "0"]) b["p" + key + "0"] = v;
}

function extendSpec(b, key, spec, from, to, half = null, sign = 1) {
  if (spec.array) {
    if (half === null) extendArray(b, key, spec.array, from, to);
    else {
      extendArray(b, key, spec.array, from, to, half, sign);
      extendArray(b, key, spec.array, from, to, half, -sign);
    }
  } else if (typeof spec.value === "number") {
    if (half === null) extendValue(b, key, spec.value);
    else {
      const h = half.array ? null : half.value;
      if (h !== null && typeof h === "number") {
        extendValue(b, key, spec.value - h);
        extendValue(b, key, spec.value + h);
      } else extendValue(b, key, spec.value);
    }
  }
}

function halfSpec(spec) {
  // a width spec turned into a half-width spec (for x ± width/2)
  if (spec.array) {
    const a = spec.array;
    const h = new Float64Array(a.length);
    for (let i = 0; i < a.length; i++) h[i] = Number(a[i]) / 2;
    return { array: h, value: undefined };
  }
  return { array: null, value: typeof spec.value === "number" ? spec.value / 2 : 0 };
}

function extendNested(b, key, col, from, to) {
  if (!col) return;
  const n = Math.min(to, col.length);
  for (let i = from; i < n; i++) {
    const a = col[i];
    if (a && typeof a.length === "number") extendArray(b, key, a, 0, a.length);
  }
}

/**
 * Data bounds of one glyph over rows [from, to), extending `b` in place.
 * `type` is the glyph's model type; `get(name, dflt)` reads a resolved spec.
 */
export function glyphBounds(type, get, data, from, to, b = emptyBounds()) {
  switch (type) {
    case "VBar": {
      const x = get("x");
      extendSpec(b, "x", x, from, to, halfSpec(get("width", 1)));
      extendSpec(b, "y", get("top"), from, to);
      extendSpec(b, "y", get("bottom", 0), from, to);
      break;
    }
    case "HBar": {
      extendSpec(b, "y", get("y"), from, to, halfSpec(get("height", 1)));
      extendSpec(b, "x", get("right"), from, to);
      extendSpec(b, "x", get("left", 0), from, to);
      break;
    }
    case "Quad":
      extendSpec(b, "x", get("left"), from, to);
      extendSpec(b, "x", get("right"), from, to);
      extendSpec(b, "y", get("top"), from, to);
      extendSpec(b, "y", get("bottom"), from, to);
      break;
    case "Rect":
    case "Ellipse": {
      const w = get("width", 1);
      const h = get("height", 1);
      const screenW = get("width_units", "data").value === "screen";
      const screenH = get("height_units", "data").value === "screen";
      extendSpec(b, "x", get("x"), from, to, screenW ? null : halfSpec(w));
      extendSpec(b, "y", get("y"), from, to, screenH ? null : halfSpec(h));
      break;
    }
    case "Circle": {
      const r = get("radius", null);
      const hasRadius = r.array || (typeof r.value === "number" && r.value > 0);
      extendSpec(b, "x", get("x"), from, to, hasRadius ? r : null);
      extendSpec(b, "y", get("y"), from, to, hasRadius ? r : null);
      break;
    }
    case "MultiLine":
    case "Patches": {
      const xs = get("xs");
      const ys = get("ys");
      extendNested(b, "x", xs.array, from, to);
      extendNested(b, "y", ys.array, from, to);
      break;
    }
    case "VArea":
      extendSpec(b, "x", get("x"), from, to);
      extendSpec(b, "y", get("y1"), from, to);
      extendSpec(b, "y", get("y2"), from, to);
      break;
    case "HArea":
      extendSpec(b, "y", get("y"), from, to);
      extendSpec(b, "x", get("x1"), from, to);
      extendSpec(b, "x", get("x2"), from, to);
      break;
    case "Image":
    case "ImageRGBA": {
      const x = get("x");
      const y = get("y");
      const dw = get("dw");
      const dh = get("dh");
      extendSpec(b, "x", x, from, to);
      extendSpec(b, "y", y, from, to);
      const n = x.array ? Math.min(to, x.array.length) : Math.max(to, from + 1);
      for (let i = from; i < n; i++) {
        const xi = specAt(x, i);
        const yi = specAt(y, i);
        extendValue(b, "x", Number(xi) + Number(specAt(dw, i)));
        extendValue(b, "y", Number(yi) + Number(specAt(dh, i)));
      }
      break;
    }
    default:
      extendSpec(b, "x", get("x"), from, to);
      extendSpec(b, "y", get("y"), from, to);
  }
  return b;
}

/**
 * Cached bounds of one renderer with incremental streaming: rows appended without
 * rollover extend the cache from the new rows only; a rollover or any other change
 * invalidates it (recomputed lazily by the next `get`).
 */
export class BoundsCache {
  constructor() {
    this.bounds = null;
    this.rows = 0;
  }

  invalidate() {
    this.bounds = null;
    this.rows = 0;
  }

  /** Notify a stream: `removed` rows dropped from the front by rollover. */
  streamed(removed) {
    if (removed > 0) this.invalidate();
  }

  get(type, get, data, n) {
    if (this.bounds === null || n < this.rows) {
      this.bounds = glyphBounds(type, get, data, 0, n);
      this.rows = n;
      this.recomputes = (this.recomputes || 0) + 1;
    } else if (n > this.rows) {
      glyphBounds(type, get, data, this.rows, n, this.bounds);
      this.rows = n;
    }
    return this.bounds;
  }
}

/**
 * DataRange1d's padded interval from data bounds [lo, hi]: `padding` of the span split
 * over both ends (in log space for log scales); a degenerate span widens to
 * `defaultSpan` (in decades for log scales) like BokehJS. Returns null when there is no data.
 */
export function paddedRange(lo, hi, padding = 0.1, log = false, posLo = lo, defaultSpan = 2) {
  if (log) {
    const l = posLo;
    if (!(hi > 0) || !Number.isFinite(l) || !(l > 0)) return null;
    let a = Math.log10(l);
    let b = Math.log10(hi);
    if (a === b) {
      a -= defaultSpan / 2;
      b += defaultSpan / 2;
    } else {
      const p = ((b - a) * padding) / 2;
      a -= p;
      b += p;
    }
    return [Math.pow(10, a), Math.pow(10, b)];
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return null;
  if (lo === hi) return [lo - defaultSpan / 2, hi + defaultSpan / 2]; // BokehJS: default_span
  const p = ((hi - lo) * padding) / 2;
  return [lo - p, hi + p];
}

// ---------------------------------------------------------------- decimation

/**
 * Screen points of a line, decimated per pixel column: each run of consecutive points
 * falling in one column becomes first, min, max, last (min/max in their original order),
 * so the drawn path covers the same pixels and spikes stay visible.
 *
 * Points are mapped with sx = ax * X + bx, sy = ay * Y + by where X = log10(x) when
 * `xlog` (likewise for y). Non-finite points break the line: a pair (NaN, NaN) is
 * written as a separator. Output goes to `out` (a Float64Array, grown as needed);
 * returns {out, count} with count = number of (sx, sy) pairs written.
 */
export function decimateLine(x, y, i0, i1, mx, my, out = null) {
  const ax = mx.a, bx = mx.b, xlog = !!mx.log;
  const ay = my.a, by = my.b, ylog = !!my.log;
  if (out === null || out.length < 64) out = new Float64Array(Math.max(64, Math.min((i1 - i0) * 2 + 16, 1 << 16)));
  let cap = out.length;
  let k = 0;
  let col = NaN;
  let fx = 0, fy = 0, lx = 0, ly = 0, minY = 0, minX = 0, maxY = 0, maxX = 0;
  let minI = 0, maxI = 0, cnt = 0;
  let broken = true;
  // (flush is written out twice below instead of as a closure: closures over these
  // variables would move them to a context object and make the hot loop several times slower)
  for (let i = i0; i <= i1; i++) {
    let sx = NaN, sy = NaN, c = NaN;
    const end = i === i1;
    if (!end) {
      let xv = x[i];
      let yv = y[i];
      if (xlog) xv = xv > 0 ? Math.log10(xv) : NaN;
      if (ylog) yv = yv > 0 ? Math.log10(yv) : NaN;
      sx = ax * xv + bx;
      sy = ay * yv + by;
      if (sx === sx && sy === sy && sx < 1e15 && sx > -1e15 && sy < 1e15 && sy > -1e15) {
        c = Math.floor(sx);
        if (c === col) {
          if (sy < minY) { minY = sy; minX = sx; minI = cnt; }
          if (sy > maxY) { maxY = sy; maxX = sx; maxI = cnt; }
          lx = sx; ly = sy;
          cnt++;
          continue;
        }
      }
    }
    // a new column, a break, or the end: emit the current bucket
    if (cnt > 0) {
      if (k + 10 > cap) {
        const bigger = new Float64Array(cap * 2);
        bigger.set(out.subarray(0, k));
        out = bigger;
        cap = out.length;
      }
      out[k++] = fx; out[k++] = fy;
      if (cnt > 1) {
        const last = cnt - 1;
        if (minI <= maxI) {
          if (minI !== 0 && minI !== last) { out[k++] = minX; out[k++] = minY; }
          if (maxI !== 0 && maxI !== last && maxI !== minI) { out[k++] = maxX; out[k++] = maxY; }
        } else {
          if (maxI !== 0 && maxI !== last) { out[k++] = maxX; out[k++] = maxY; }
          if (minI !== 0 && minI !== last) { out[k++] = minX; out[k++] = minY; }
        }
        out[k++] = lx; out[k++] = ly;
      }
      cnt = 0;
    }
    if (end) break;
    if (c !== c) {
      col = NaN;
      if (!broken) {
        if (k + 2 > cap) {
          const bigger = new Float64Array(cap * 2);
          bigger.set(out.subarray(0, k));
          out = bigger;
          cap = out.length;
        }
        out[k++] = NaN; out[k++] = NaN;
        broken = true;
      }
      continue;
    }
    broken = false;
    col = c;
    fx = lx = minX = maxX = sx;
    fy = ly = minY = maxY = sy;
    minI = maxI = 0;
    cnt = 1;
  }
  return { out, count: k >> 1 };
}

const BLOCK = 64;

/**
 * Min/max index pyramid over a column (blocks of 64 and 4096 rows) and a prefix count of
 * non-finite values: range min/max queries in O(log n)-ish time, so a sorted line of
 * millions of points is decimated per frame in O(pixel columns × log n) while panning.
 * Built in O(n) once per data change.
 */
export class LinePyramid {
  constructor(y, n = y.length) {
    this.y = y;
    this.n = n;
    const nb1 = Math.ceil(n / BLOCK);
    const nb2 = Math.ceil(nb1 / BLOCK);
    const min1 = new Int32Array(nb1), max1 = new Int32Array(nb1);
    const bad = new Int32Array(n + 1);
    let nbad = 0;
    for (let b = 0; b < nb1; b++) {
      const a = b * BLOCK;
      const z = Math.min(n, a + BLOCK);
      let mi = -1, ma = -1, lo = Infinity, hi = -Infinity;
      for (let i = a; i < z; i++) {
        const v = y[i];
        bad[i] = nbad;
        if (!(v === v) || v === Infinity || v === -Infinity) { nbad++; continue; }
        if (v < lo) { lo = v; mi = i; }
        if (v > hi) { hi = v; ma = i; }
      }
      min1[b] = mi;
      max1[b] = ma;
    }
    bad[n] = nbad;
    const min2 = new Int32Array(nb2), max2 = new Int32Array(nb2);
    for (let b = 0; b < nb2; b++) {
      let mi = -1, ma = -1;
      for (let k = b * BLOCK; k < Math.min(nb1, (b + 1) * BLOCK); k++) {
        const a = min1[k], z = max1[k];
        if (a >= 0 && (mi < 0 || y[a] < y[mi])) mi = a;
        if (z >= 0 && (ma < 0 || y[z] > y[ma])) ma = z;
      }
      min2[b] = mi;
      max2[b] = ma;
    }
    Object.assign(this, { min1, max1, min2, max2, bad });
  }

  /** True when rows [a, b) hold a non-finite y. */
  hasBad(a, b) {
    return this.bad[b] - this.bad[a] > 0;
  }

  /** [argmin, argmax] of y over rows [a, b) (finite values only; -1 when none). */
  minmax(a, b) {
    const y = this.y;
    let mi = -1, ma = -1;
    const take = (lo, hi) => {
      if (lo >= 0 && (mi < 0 || y[lo] < y[mi])) mi = lo;
      if (hi >= 0 && (ma < 0 || y[hi] > y[ma])) ma = hi;
    };
    let i = a;
    while (i < b && i % BLOCK !== 0) { const v = y[i]; if (v === v) take(i, i); i++; }
    const B2 = BLOCK * BLOCK;
    while (i + BLOCK <= b && i % B2 !== 0) { take(this.min1[i / BLOCK], this.max1[i / BLOCK]); i += BLOCK; }
    while (i + B2 <= b) { take(this.min2[i / B2], this.max2[i / B2]); i += B2; }
    while (i + BLOCK <= b) { take(this.min1[i / BLOCK], this.max1[i / BLOCK]); i += BLOCK; }
    while (i < b) { const v = y[i]; if (v === v) take(i, i); i++; }
    return [mi, ma];
  }
}

/**
 * decimateLine for ascending x with a LinePyramid: jumps from pixel column to pixel
 * column by binary search and takes each column's min/max from the pyramid. Same output
 * as decimateLine (columns holding a non-finite y fall back to it). Linear x scale with
 * mx.a > 0 only.
 */
export function decimateSorted(x, y, i0, i1, mx, my, pyr, out = null) {
  const { a: ax, b: bx } = mx;
  const { a: ay, b: by, log: ylog } = my;
  if (out === null || out.length < 64) out = new Float64Array(1 << 12);
  let k = 0;
  const push = (px, py) => {
    if (k + 2 > out.length) {
      const bigger = new Float64Array(out.length * 2);
      bigger.set(out.subarray(0, k));
      out = bigger;
    }
    out[k++] = px;
    out[k++] = py;
  };
  const Y = (v) => ay * (ylog ? (v > 0 ? Math.log10(v) : NaN) : v) + by;
  let i = i0;
  while (i < i1) {
    const sx = ax * x[i] + bx;
    const c = Math.floor(sx);
    // first row of the next column
    let j = lowerBound(x, (c + 1 - bx) / ax, i + 1, i1);
    while (j < i1 && Math.floor(ax * x[j] + bx) <= c) j++; // float rounding at the boundary
    if (pyr.hasBad(i, j) || ylog) {
      // a column starting in a gap breaks the line drawn so far (decimateLine starts "broken")
      if (!Number.isFinite(Y(y[i])) && k > 0 && out[k - 2] === out[k - 2]) push(NaN, NaN);
      const r = decimateLine(x, y, i, j, mx, my, null);
      for (let q = 0; q < r.count; q++) push(r.out[2 * q], r.out[2 * q + 1]);
      i = j;
      continue;
    }
    push(sx, Y(y[i]));
    if (j - i > 1) {
      const [mi, ma] = pyr.minmax(i, j);
      const last = j - 1;
      // screen y is flipped relative to data y when ay < 0: min/max swap roles, order by index
      const lo = Math.min(mi, ma), hi = Math.max(mi, ma);
      if (lo !== i && lo !== last) push(ax * x[lo] + bx, Y(y[lo]));
      if (hi !== i && hi !== last && hi !== lo) push(ax * x[hi] + bx, Y(y[hi]));
      push(ax * x[last] + bx, Y(y[last]));
    }
    i = j;
  }
  return { out, count: k >> 1 };
}

// ---------------------------------------------------------------- searching, indexes

/** True when arr[from:to] is ascending (non-finite values make it unsorted). */
export function isSortedAscending(arr, from = 0, to = arr.length) {
  let prev = from > 0 ? arr[from - 1] : -Infinity;
  for (let i = from; i < to; i++) {
    const v = arr[i];
    if (!(v >= prev)) return false;
    prev = v;
  }
  return true;
}

/** First index i in [lo, hi) with arr[i] >= v (arr ascending). */
export function lowerBound(arr, v, lo = 0, hi = arr.length) {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Uniform grid over points (data space) for hover hit-testing: built once per data
 * change in O(n) (counting sort into cells), queried per mouse move in O(points near).
 */
export class GridIndex {
  constructor(xs, ys, n, map = null) {
    // `map(v)` turns a value into the index space (log10 for log scales)
    const fx = map && map.x ? map.x : null;
    const fy = map && map.y ? map.y : null;
    this.fx = fx;
    this.fy = fy;
    const X = new Float64Array(n);
    const Y = new Float64Array(n);
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (let i = 0; i < n; i++) {
      const xv = fx ? fx(Number(xs[i])) : Number(xs[i]);
      const yv = fy ? fy(Number(ys[i])) : Number(ys[i]);
      X[i] = xv;
      Y[i] = yv;
      if (Number.isFinite(xv) && Number.isFinite(yv)) {
        if (xv < x0) x0 = xv;
        if (xv > x1) x1 = xv;
        if (yv < y0) y0 = yv;
        if (yv > y1) y1 = yv;
      }
    }
    this.n = n;
    this.X = X;
    this.Y = Y;
    this.x0 = x0; this.y0 = y0;
    const g = Math.max(1, Math.min(1024, Math.ceil(Math.sqrt(n / 4))));
    this.g = g;
    this.cw = (x1 - x0) / g || 1;
    this.ch = (y1 - y0) / g || 1;
    const cellOf = new Int32Array(n);
    const counts = new Int32Array(g * g + 1);
    for (let i = 0; i < n; i++) {
      const xv = X[i], yv = Y[i];
      if (!(Number.isFinite(xv) && Number.isFinite(yv))) { cellOf[i] = -1; continue; }
      const c = this._cell(xv, yv);
      cellOf[i] = c;
      counts[c + 1]++;
    }
    for (let c = 0; c < g * g; c++) counts[c + 1] += counts[c];
    this.start = counts;
    const fill = counts.slice(0, g * g);
    const items = new Int32Array(counts[g * g]);
    for (let i = 0; i < n; i++) {
      const c = cellOf[i];
      if (c >= 0) items[fill[c]++] = i;
    }
    this.items = items;
  }

  _col(xv) {
    return Math.min(this.g - 1, Math.max(0, Math.floor((xv - this.x0) / this.cw)));
  }

  _row(yv) {
    return Math.min(this.g - 1, Math.max(0, Math.floor((yv - this.y0) / this.ch)));
  }

  _cell(xv, yv) {
    return this._row(yv) * this.g + this._col(xv);
  }

  /** Call cb(i) for every point inside the data box [xa, xb] × [ya, yb]. */
  query(xa, xb, ya, yb, cb) {
    if (this.fx) { xa = this.fx(xa); xb = this.fx(xb); }
    if (this.fy) { ya = this.fy(ya); yb = this.fy(yb); }
    if (xa > xb) [xa, xb] = [xb, xa];
    if (ya > yb) [ya, yb] = [yb, ya];
    const c0 = this._col(xa), c1 = this._col(xb);
    const r0 = this._row(ya), r1 = this._row(yb);
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        const cell = r * this.g + c;
        for (let k = this.start[cell]; k < this.start[cell + 1]; k++) {
          const i = this.items[k];
          const xv = this.X[i], yv = this.Y[i];
          if (xv >= xa && xv <= xb && yv >= ya && yv <= yb) cb(i);
        }
      }
    }
  }
}
