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
function extendArray(b, key, arr, from, to, offset = null, sign = 1) {
  let lo = b[key + "0"];
  let hi = b[key + "1"];
  let pos = b["p" + key + "0"];
  const n = Math.min(to, arr.length);
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
 * over both ends (in log space for log scales); a degenerate span widens to ±1 (or a
 * decade each side in log space) like Bokeh. Returns null when there is no data.
 */
export function paddedRange(lo, hi, padding = 0.1, log = false, posLo = lo) {
  if (log) {
    const l = posLo;
    if (!(hi > 0) || !Number.isFinite(l) || !(l > 0)) return null;
    let a = Math.log10(l);
    let b = Math.log10(hi);
    if (a === b) {
      a -= 1;
      b += 1;
    } else {
      const p = ((b - a) * padding) / 2;
      a -= p;
      b += p;
    }
    return [Math.pow(10, a), Math.pow(10, b)];
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return null;
  if (lo === hi) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return [lo - d, hi + d];
  }
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
  const { a: ax, b: bx, log: xlog } = mx;
  const { a: ay, b: by, log: ylog } = my;
  const cap = Math.min(i1 - i0, 1 << 24) * 2 + 16;
  if (out === null || out.length < Math.min(cap, 4 * 8192 + 16)) out = new Float64Array(Math.min(cap, 4 * 8192 + 16));
  let k = 0;
  let col = NaN;
  let fx = 0, fy = 0, lx = 0, ly = 0, minY = 0, minX = 0, maxY = 0, maxX = 0;
  let minI = 0, maxI = 0, cnt = 0;
  let broken = true;

  const ensure = (m) => {
    if (k + m > out.length) {
      const bigger = new Float64Array(Math.max(out.length * 2, k + m));
      bigger.set(out.subarray(0, k));
      out = bigger;
    }
  };
  const flush = () => {
    if (cnt === 0) return;
    ensure(8);
    out[k++] = fx; out[k++] = fy;
    if (cnt > 1) {
      // min and max in index order, skipping those equal to first/last
      const firstIdx = 0;
      const lastIdx = cnt - 1;
      if (minI <= maxI) {
        if (minI !== firstIdx && minI !== lastIdx) { out[k++] = minX; out[k++] = minY; }
        if (maxI !== firstIdx && maxI !== lastIdx && maxI !== minI) { out[k++] = maxX; out[k++] = maxY; }
      } else {
        if (maxI !== firstIdx && maxI !== lastIdx) { out[k++] = maxX; out[k++] = maxY; }
        if (minI !== firstIdx && minI !== lastIdx) { out[k++] = minX; out[k++] = minY; }
      }
      out[k++] = lx; out[k++] = ly;
    }
    cnt = 0;
  };

  for (let i = i0; i < i1; i++) {
    let xv = x[i];
    let yv = y[i];
    if (xlog) xv = xv > 0 ? Math.log10(xv) : NaN;
    if (ylog) yv = yv > 0 ? Math.log10(yv) : NaN;
    const sx = ax * xv + bx;
    const sy = ay * yv + by;
    if (!(sx === sx && sy === sy && Math.abs(sx) < 1e15 && Math.abs(sy) < 1e15)) {
      flush();
      col = NaN;
      if (!broken) {
        ensure(2);
        out[k++] = NaN; out[k++] = NaN;
        broken = true;
      }
      continue;
    }
    broken = false;
    const c = Math.floor(sx);
    if (c === col) {
      if (sy < minY) { minY = sy; minX = sx; minI = cnt; }
      if (sy > maxY) { maxY = sy; maxX = sx; maxI = cnt; }
      lx = sx; ly = sy;
      cnt++;
    } else {
      flush();
      col = c;
      fx = lx = minX = maxX = sx;
      fy = ly = minY = maxY = sy;
      minI = maxI = 0;
      cnt = 1;
    }
  }
  flush();
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
