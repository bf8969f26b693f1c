// Glyph drawing, legend samples and hit-testing. Each glyph kind is an object with
// draw(rc), hit(rc, sx, sy, mode) and legend(ctx, rc, x0, y0, x1, y1), where `rc` is the
// per-renderer render context built by the plot view:
//   rc.get(name, dflt, isColor) → resolved data spec ({array, value}), rc.n rows,
//   rc.xm / rc.ym mappers, rc.ctx (2d context in CSS pixels), rc.frame, rc.dpr,
//   rc.cache (persistent per renderer: decimation buffers, indexes, images),
//   rc.version (changes whenever the source's data changes).

import { cssColor } from "./colors.js";
import {
  decimateLine, decimateSorted, GridIndex, isSortedAscending, LinePyramid, lowerBound, specAt,
} from "./data.js";

// ---------------------------------------------------------------- visuals

const DASHES = {
  solid: [],
  dashed: [6],
  dotted: [2, 4],
  dotdash: [2, 4, 6, 4],
  dashdot: [6, 4, 2, 4],
};

export function dashArray(v) {
  if (v == null) return [];
  if (typeof v === "string") {
    if (v in DASHES) return DASHES[v];
    return v.trim().split(/\s+/).map(Number).filter((n) => Number.isFinite(n));
  }
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return Array.from(v, Number);
  return [];
}

function num(v, d) {
  if (typeof v === "number") return v;
  if (v == null) return d;
  const n = Number(v);
  return Number.isFinite(n) ? n : d;
}

/** Stroke style of row i; `apply(ctx, i)` returns false when nothing is drawn. */
export function lineVisual(rc, prefix = "line") {
  const color = rc.get(`${prefix}_color`, "black", true);
  const alpha = rc.get(`${prefix}_alpha`, 1);
  const width = rc.get(`${prefix}_width`, 1);
  const dash = rc.get(`${prefix}_dash`, []);
  const join = rc.get(`${prefix}_join`, "bevel");
  const cap = rc.get(`${prefix}_cap`, "butt");
  const constant = !color.array && !alpha.array && !width.array && !dash.array;
  const g = rc.globalAlpha ?? 1;
  let last = null;
  return {
    constant,
    apply(ctx, i) {
      const c = cssColor(specAt(color, i), num(specAt(alpha, i), 1) * g);
      const w = num(specAt(width, i), 1);
      if (c === null || !(w > 0)) return false;
      if (constant && last === ctx) return true;
      ctx.strokeStyle = c;
      ctx.lineWidth = w;
      ctx.setLineDash(dashArray(specAt(dash, i)));
      ctx.lineJoin = join.value === "round" || join.value === "miter" ? join.value : "bevel";
      ctx.lineCap = cap.value === "round" || cap.value === "square" ? cap.value : "butt";
      last = constant ? ctx : null;
      return true;
    },
    color(i) {
      return cssColor(specAt(color, i), num(specAt(alpha, i), 1) * g);
    },
  };
}

export function fillVisual(rc, prefix = "fill") {
  const color = rc.get(`${prefix}_color`, "gray", true);
  const alpha = rc.get(`${prefix}_alpha`, 1);
  const constant = !color.array && !alpha.array;
  const g = rc.globalAlpha ?? 1;
  let last = null;
  return {
    constant,
    apply(ctx, i) {
      const c = cssColor(specAt(color, i), num(specAt(alpha, i), 1) * g);
      if (c === null) return false;
      if (constant && last === ctx) return true;
      ctx.fillStyle = c;
      last = constant ? ctx : null;
      return true;
    },
    color(i) {
      return cssColor(specAt(color, i), num(specAt(alpha, i), 1) * g);
    },
  };
}

export function textVisual(rc) {
  const color = rc.get("text_color", "#444444", true);
  const alpha = rc.get("text_alpha", 1);
  const font = rc.get("text_font", "helvetica");
  const size = rc.get("text_font_size", "16px");
  const style = rc.get("text_font_style", "normal");
  const align = rc.get("text_align", "left");
  const baseline = rc.get("text_baseline", "bottom");
  const g = rc.globalAlpha ?? 1;
  return {
    apply(ctx, i) {
      const c = cssColor(specAt(color, i), num(specAt(alpha, i), 1) * g);
      if (c === null) return false;
      ctx.fillStyle = c;
      ctx.font = fontString(specAt(style, i), specAt(size, i), specAt(font, i));
      ctx.textAlign = specAt(align, i) || "left";
      ctx.textBaseline = specAt(baseline, i) || "bottom";
      return true;
    },
    lineHeight(i) {
      return parseFloat(fontSize(specAt(size, i))) * 1.2;
    },
  };
}

function fontSize(s) {
  if (typeof s === "number") return `${s}px`;
  return s || "16px";
}

export function fontString(style, size, family) {
  const st = style === "bold italic" || style === "italic bold" || style === "bold_italic" ? "italic bold" : style || "normal";
  return `${st === "normal" ? "" : st + " "}${fontSize(size)} ${family || "helvetica"}, sans-serif`;
}

// ---------------------------------------------------------------- coordinates

/** Numeric column for a coordinate spec (strings → factor positions), cached per array. */
function coords(rc, spec, mapper) {
  const arr = spec.array;
  if (!arr) return null;
  if (ArrayBuffer.isView(arr) && !(arr instanceof BigInt64Array) && !(arr instanceof BigUint64Array)) return arr;
  const c = rc.cache.coords || (rc.cache.coords = new WeakMap());
  let hit = c.get(arr);
  if (hit && hit.length === arr.length) return hit;
  hit = new Float64Array(arr.length);
  for (let i = 0; i < arr.length; i++) hit[i] = mapper.num(arr[i]);
  c.set(arr, hit);
  return hit;
}

function scalarCoord(spec, mapper) {
  return mapper.num(spec.value);
}

/** Accessor of a coordinate: (i) → numeric data value. */
function coordAt(rc, spec, mapper) {
  const arr = coords(rc, spec, mapper);
  if (arr) return (i) => arr[i];
  const v = scalarCoord(spec, mapper);
  return () => v;
}

function valueAt(spec, d = 0) {
  if (spec.array) {
    const a = spec.array;
    return (i) => num(a[i], d);
  }
  const v = num(spec.value, d);
  return () => v;
}

function rowCount(rc) {
  return rc.n;
}

// ---------------------------------------------------------------- markers

const SQ3 = Math.sqrt(3);

/** Add marker outlines to the current path; returns true when the marker has an area. */
export function markerPath(ctx, marker, x, y, r) {
  switch (marker) {
    case "square":
    case "square_cross":
    case "square_x":
      ctx.rect(x - r, y - r, 2 * r, 2 * r);
      return true;
    case "diamond":
      ctx.moveTo(x, y - r * 1.25);
      ctx.lineTo(x + r / 1.1, y);
      ctx.lineTo(x, y + r * 1.25);
      ctx.lineTo(x - r / 1.1, y);
      ctx.closePath();
      return true;
    case "triangle": {
      const h = r * SQ3;
      const a = h / 3;
      ctx.moveTo(x - r, y + a);
      ctx.lineTo(x + r, y + a);
      ctx.lineTo(x, y + a - h);
      ctx.closePath();
      return true;
    }
    case "inverted_triangle": {
      const h = r * SQ3;
      const a = h / 3;
      ctx.moveTo(x - r, y - a);
      ctx.lineTo(x + r, y - a);
      ctx.lineTo(x, y - a + h);
      ctx.closePath();
      return true;
    }
    case "hex":
      for (let k = 0; k < 6; k++) {
        const t = (Math.PI / 3) * k;
        const px = x + r * Math.cos(t);
        const py = y + r * Math.sin(t);
        if (k === 0) ctx.moveTo(px, py);
        else ctx.lineTo(px, py);
      }
      ctx.closePath();
      return true;
    case "star": {
      const ri = r * 0.382;
      for (let k = 0; k < 10; k++) {
        const t = -Math.PI / 2 + (Math.PI / 5) * k;
        const rr = k % 2 === 0 ? r : ri;
        const px = x + rr * Math.cos(t);
        const py = y + rr * Math.sin(t);
        if (k === 0) ctx.moveTo(px, py);
        else ctx.lineTo(px, py);
      }
      ctx.closePath();
      return true;
    }
    case "plus": {
      const a = r / 3;
      ctx.moveTo(x - a, y - r);
      ctx.lineTo(x + a, y - r);
      ctx.lineTo(x + a, y - a);
      ctx.lineTo(x + r, y - a);
      ctx.lineTo(x + r, y + a);
      ctx.lineTo(x + a, y + a);
      ctx.lineTo(x + a, y + r);
      ctx.lineTo(x - a, y + r);
      ctx.lineTo(x - a, y + a);
      ctx.lineTo(x - r, y + a);
      ctx.lineTo(x - r, y - a);
      ctx.lineTo(x - a, y - a);
      ctx.closePath();
      return true;
    }
    case "cross":
    case "asterisk":
    case "x":
    case "y":
    case "dash":
      return false;
    default: // circle, circle_cross, circle_x and unknown names
      ctx.moveTo(x + r, y);
      ctx.arc(x, y, r, 0, 2 * Math.PI);
      return true;
  }
}

/** Lines drawn over (or instead of) the marker's area. */
export function markerLines(ctx, marker, x, y, r) {
  const d = r / Math.SQRT2;
  switch (marker) {
    case "cross":
    case "circle_cross":
    case "square_cross":
      ctx.moveTo(x, y - r); ctx.lineTo(x, y + r);
      ctx.moveTo(x - r, y); ctx.lineTo(x + r, y);
      return true;
    case "x":
    case "circle_x":
      ctx.moveTo(x - d, y - d); ctx.lineTo(x + d, y + d);
      ctx.moveTo(x - d, y + d); ctx.lineTo(x + d, y - d);
      return true;
    case "square_x":
      ctx.moveTo(x - r, y - r); ctx.lineTo(x + r, y + r);
      ctx.moveTo(x - r, y + r); ctx.lineTo(x + r, y - r);
      return true;
    case "asterisk":
      ctx.moveTo(x, y - r); ctx.lineTo(x, y + r);
      ctx.moveTo(x - d, y - d); ctx.lineTo(x + d, y + d);
      ctx.moveTo(x - d, y + d); ctx.lineTo(x + d, y - d);
      return true;
    case "dash":
      ctx.moveTo(x - r, y); ctx.lineTo(x + r, y);
      return true;
    case "y":
      ctx.moveTo(x, y); ctx.lineTo(x, y + r);
      ctx.moveTo(x, y); ctx.lineTo(x - r * 0.866, y - r / 2);
      ctx.moveTo(x, y); ctx.lineTo(x + r * 0.866, y - r / 2);
      return true;
    default:
      return false;
  }
}

export const MARKERS = ["asterisk", "circle", "circle_cross", "circle_x", "cross", "dash", "diamond",
  "hex", "inverted_triangle", "plus", "square", "square_cross", "square_x", "star", "triangle", "x", "y"];

function drawMarker(ctx, marker, x, y, r, angle, fill, line, i) {
  if (angle) {
    ctx.save();
    ctx.translate(x, y);
    ctx.rotate(-angle);
    x = 0;
    y = 0;
  }
  ctx.beginPath();
  const area = markerPath(ctx, marker, x, y, r);
  if (area && fill.apply(ctx, i)) ctx.fill();
  if (line.apply(ctx, i)) {
    if (area) ctx.stroke();
    ctx.beginPath();
    if (markerLines(ctx, marker, x, y, r)) ctx.stroke();
  }
  if (angle) ctx.restore();
}

/** Pre-rendered marker (device pixels) for the large-N fast path. */
function markerSprite(marker, r, fill, line, dpr, lineWidth) {
  const pad = Math.ceil(lineWidth / 2) + 1;
  const half = Math.ceil(r + pad);
  const size = Math.max(1, Math.ceil(2 * half * dpr));
  const cv = typeof OffscreenCanvas !== "undefined" ? new OffscreenCanvas(size, size) : document.createElement("canvas");
  cv.width = size;
  cv.height = size;
  const c = cv.getContext("2d");
  c.scale(dpr, dpr);
  drawMarker(c, marker, half, half, r, 0, fill, line, 0);
  return { canvas: cv, half: half * dpr };
}

/** Sprite canvas → premultiplied pixels (only the non-transparent ones). */
function spritePixels(sprite) {
  const { canvas, half } = sprite;
  const c = canvas.getContext("2d");
  const { data, width, height } = c.getImageData(0, 0, canvas.width, canvas.height);
  const offs = [];
  const vals = [];
  for (let yy = 0; yy < height; yy++) {
    for (let xx = 0; xx < width; xx++) {
      const o = (yy * width + xx) * 4;
      const a = data[o + 3] / 255;
      if (a === 0) continue;
      offs.push(xx, yy);
      vals.push((data[o] / 255) * a, (data[o + 1] / 255) * a, (data[o + 2] / 255) * a, a);
    }
  }
  // uniform colour: every pixel's straight colour is the same (within rounding)
  let uniform = null;
  for (let k = 0; k < vals.length; k += 4) {
    const a = vals[k + 3];
    const rgb = [Math.round((vals[k] / a) * 255), Math.round((vals[k + 1] / a) * 255), Math.round((vals[k + 2] / a) * 255)];
    if (a < 0.05) continue; // faint antialiasing fringes carry rounding noise
    if (uniform === null) uniform = rgb;
    else if (Math.abs(uniform[0] - rgb[0]) > 3 || Math.abs(uniform[1] - rgb[1]) > 3 || Math.abs(uniform[2] - rgb[2]) > 3) {
      uniform = false;
      break;
    }
  }
  return {
    size: width, half: Math.round(half), offs: Int32Array.from(offs), vals: Float32Array.from(vals),
    uniform: uniform || null,
  };
}

/**
 * Draw n points with one sprite. Pass 1 snaps points to device pixels and counts them per
 * pixel (O(n), no drawing); pass 2 stamps the sprite once per occupied pixel into a
 * premultiplied float buffer, with the alpha that `count` stacked stamps would have
 * (1 − (1 − a)^count: exact for identical stamps, so translucent markers keep showing
 * density); the buffer is drawn with one drawImage. Returns the number of stamps.
 */
function stampPoints(ctx, rc, xs, ys, n, sp) {
  const F = rc.frame;
  const dpr = rc.dpr;
  const half = sp.half;
  const ox = Math.floor(F.left * dpr) - half;
  const oy = Math.floor(F.top * dpr) - half;
  const W = Math.ceil(F.width * dpr) + 2 * half + 2;
  const H = Math.ceil(F.height * dpr) + 2 * half + 2;
  const c = rc.cache;
  const ax0 = rc.xm.a * dpr, ay0 = rc.ym.a * dpr;
  if (rc.interacting && c.last && c.last.version === rc.version && c.last.W === W && c.last.H === H &&
      Math.abs(c.last.ax - ax0) < 1e-12 * Math.abs(ax0) && Math.abs(c.last.ay - ay0) < 1e-12 * Math.abs(ay0) &&
      c.last.key === rc.cache.spriteKey) {
    // panning: the picture only moved; shift the last raster (full redraw when the drag ends)
    const dx = Math.round(rc.xm.b * dpr - ox - c.last.bx);
    const dy = Math.round(rc.ym.b * dpr - oy - c.last.by);
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(c.imgCanvas, ox + dx, oy + dy);
    ctx.restore();
    rc.stats.shifted = true;
    return c.last.nc;
  }
  rc.stats.shifted = false;
  if (!c.count || c.accW !== W || c.accH !== H) {
    c.count = new Uint8Array(W * H);
    c.cells = new Int32Array(1024);
    c.acc = null; // the 4-channel buffer only for multi-coloured sprites (allocated below)
    c.accW = W;
    c.accH = H;
    c.img = null;
  } else {
    c.count.fill(0);
  }
  if (!sp.uniform) {
    if (!c.acc) c.acc = new Float32Array(W * H * 4);
    else c.acc.fill(0);
  }
  const acc = c.acc, count = c.count, offs = sp.offs, vals = sp.vals, m = offs.length >> 1;
  const ax = rc.xm.a * dpr, bx = rc.xm.b * dpr - ox, ay = rc.ym.a * dpr, by = rc.ym.b * dpr - oy;
  const xlog = rc.xm.log, ylog = rc.ym.log;
  let cells = c.cells;
  let nc = 0;
  const T0 = performance.now();
  const lo = half - 0.5, hiX = W - half - 0.5, hiY = H - half - 0.5;
  for (let i = 0; i < n; i++) {
    let xv = xs[i], yv = ys[i];
    if (xlog) xv = Math.log10(xv);
    if (ylog) yv = Math.log10(yv);
    const fx = ax * xv + bx;
    const fy = ay * yv + by;
    // compare as floats first (NaN and huge values fall out), then round positives by |0
    if (!(fx >= lo && fx < hiX && fy >= lo && fy < hiY)) continue;
    const cell = ((fy + 0.5) | 0) * W + ((fx + 0.5) | 0);
    const k = count[cell];
    if (k === 0) {
      if (nc === cells.length) {
        const bigger = new Int32Array(cells.length * 2);
        bigger.set(cells);
        cells = c.cells = bigger;
      }
      cells[nc++] = cell;
    }
    if (k < 255) count[cell] = k + 1;
  }
  const T1 = performance.now();
  // per sprite pixel: straight colour and, for every count, the alpha left uncovered
  if (!sp.keep) {
    sp.keep = new Float32Array(256 * m);
    sp.rgb = new Float32Array(3 * m);
    for (let k = 0; k < m; k++) {
      const a = vals[4 * k + 3];
      sp.rgb[3 * k] = vals[4 * k] / a;
      sp.rgb[3 * k + 1] = vals[4 * k + 1] / a;
      sp.rgb[3 * k + 2] = vals[4 * k + 2] / a;
      for (let q = 1; q < 256; q++) sp.keep[q * m + k] = Math.pow(1 - a, q);
    }
  }
  const keepT = sp.keep, rgb = sp.rgb;
  const T2u = performance.now();
  if (sp.uniform) {
    // one colour everywhere (fill = line colour, or only one of them): only coverage is
    // needed, one multiply per sprite pixel, and the output is that colour with alpha 1 − T
    let T = c.trans;
    if (!T || T.length !== W * H) T = c.trans = new Float32Array(W * H);
    T.fill(1);
    // occupied pixels in memory order (not point order): sequential, cache-friendly writes
    const lin = c.lin || (c.lin = new Int32Array(0));
    let rel = lin;
    if (rel.length !== m) {
      rel = c.lin = new Int32Array(m);
    }
    for (let k = 0; k < m; k++) rel[k] = (offs[2 * k + 1] - half) * W + offs[2 * k] - half;
    const end = W * H;
    for (let cell = 0; cell < end; cell++) {
      const cnt = count[cell];
      if (cnt === 0) continue;
      const q = cnt * m;
      for (let k = 0; k < m; k++) T[cell + rel[k]] *= keepT[q + k];
    }
    if (!c.img) {
      c.imgCanvas = typeof OffscreenCanvas !== "undefined" ? new OffscreenCanvas(W, H) : Object.assign(document.createElement("canvas"), { width: W, height: H });
      c.img = c.imgCanvas.getContext("2d").createImageData(W, H);
    }
    const out32 = new Uint32Array(c.img.data.buffer);
    const [ur, ug, ub] = sp.uniform;
    const rgbBits = (ub << 16) | (ug << 8) | ur; // little-endian RGBA
    for (let p = 0; p < W * H; p++) {
      const t = T[p];
      out32[p] = t >= 1 ? 0 : ((((1 - t) * 255 + 0.5) | 0) << 24 | rgbBits) >>> 0;
    }
    c.imgCanvas.getContext("2d").putImageData(c.img, 0, 0);
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(c.imgCanvas, ox, oy);
    ctx.restore();
    rc.stats.phases = [T1 - T0, T2u - T1, performance.now() - T2u, m, nc];
    c.last = { version: rc.version, W, H, ax: ax0, ay: ay0, bx: rc.xm.b * dpr - ox, by: rc.ym.b * dpr - oy, nc, key: c.spriteKey };
    return nc;
  }
  for (let j = 0; j < nc; j++) {
    const cell = cells[j];
    const q = count[cell] * m;
    const y0 = ((cell / W) | 0) - half, x0 = (cell % W) - half;
    for (let k = 0; k < m; k++) {
      const o = ((y0 + offs[2 * k + 1]) * W + x0 + offs[2 * k]) * 4;
      const keep = keepT[q + k];
      const a = 1 - keep;
      acc[o] = rgb[3 * k] * a + acc[o] * keep;
      acc[o + 1] = rgb[3 * k + 1] * a + acc[o + 1] * keep;
      acc[o + 2] = rgb[3 * k + 2] * a + acc[o + 2] * keep;
      acc[o + 3] = a + acc[o + 3] * keep;
    }
  }
  const T2 = performance.now();
  if (!c.img) {
    c.imgCanvas = typeof OffscreenCanvas !== "undefined" ? new OffscreenCanvas(W, H) : Object.assign(document.createElement("canvas"), { width: W, height: H });
    c.img = c.imgCanvas.getContext("2d").createImageData(W, H);
  }
  const out = c.img.data;
  for (let p = 0, o = 0; p < W * H; p++, o += 4) {
    const a = acc[o + 3];
    if (a === 0) {
      out[o + 3] = 0;
      continue;
    }
    out[o] = (acc[o] / a) * 255;
    out[o + 1] = (acc[o + 1] / a) * 255;
    out[o + 2] = (acc[o + 2] / a) * 255;
    out[o + 3] = a * 255;
  }
  c.imgCanvas.getContext("2d").putImageData(c.img, 0, 0);
  ctx.save();
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.drawImage(c.imgCanvas, ox, oy);
  ctx.restore();
  rc.stats.phases = [T1 - T0, T2 - T1, performance.now() - T2, m, nc];
  c.last = { version: rc.version, W, H, ax: ax0, ay: ay0, bx: rc.xm.b * dpr - ox, by: rc.ym.b * dpr - oy, nc, key: c.spriteKey };
  return nc;
}

// ---------------------------------------------------------------- glyph kinds

function xyGet(rc) {
  return [coordAt(rc, rc.get("x"), rc.xm), coordAt(rc, rc.get("y"), rc.ym)];
}

/** Shared hit-test for point glyphs through a grid index rebuilt only on data change. */
function pointIndex(rc) {
  const c = rc.cache;
  const logKey = `${rc.xm.log}${rc.ym.log}`;
  if (!c.index || c.indexVersion !== rc.version || c.indexLog !== logKey) {
    const x = rc.get("x");
    const y = rc.get("y");
    const n = rowCount(rc);
    const xs = coords(rc, x, rc.xm) || new Float64Array(n).fill(scalarCoord(x, rc.xm));
    const ys = coords(rc, y, rc.ym) || new Float64Array(n).fill(scalarCoord(y, rc.ym));
    const lg = (v) => (v > 0 ? Math.log10(v) : NaN);
    c.index = new GridIndex(xs, ys, n, { x: rc.xm.log ? lg : null, y: rc.ym.log ? lg : null });
    c.indexVersion = rc.version;
    c.indexLog = logKey;
    c.indexBuilds = (c.indexBuilds || 0) + 1;
  }
  return c.index;
}

function nearestPoint(rc, sx, sy, radiusAt, mode) {
  const idx = pointIndex(rc);
  const maxR = radiusAt.max + 3;
  const { xm, ym } = rc;
  let best = -1;
  let bestD = Infinity;
  const [X, Y] = [idx.X, idx.Y];
  const xa = xm.invert(sx - maxR), xb = xm.invert(sx + maxR);
  let ya = ym.invert(sy - maxR), yb = ym.invert(sy + maxR);
  if (mode === "vline") { ya = -Infinity; yb = Infinity; }
  if (mode === "hline") {
    const yq0 = ya, yq1 = yb;
    idx.query(-Infinity, Infinity, yq0, yq1, (i) => consider(i));
  } else if (mode === "vline") {
    idx.query(xa, xb, -Infinity, Infinity, (i) => consider(i));
  } else idx.query(xa, xb, ya, yb, (i) => consider(i));
  function consider(i) {
    const px = xm.a * X[i] + xm.b;
    const py = ym.a * Y[i] + ym.b;
    const d = mode === "vline" ? Math.abs(px - sx) : mode === "hline" ? Math.abs(py - sy) : Math.hypot(px - sx, py - sy);
    if (d <= radiusAt(i) + 3 && d <= bestD) {
      bestD = d;
      best = i;
    }
  }
  if (best < 0) return null;
  return { index: best, sx: xm.a * X[best] + xm.b, sy: ym.a * Y[best] + ym.b };
}

function sizeInfo(rc, name, dflt) {
  const s = rc.get(name, dflt);
  const at = valueAt(s, dflt);
  let max = 0;
  if (s.array) {
    // the largest size/radius, once per data version (not per mouse move)
    const key = `${name}|${rc.version}|${s.array.length}`;
    if (rc.cache.sizeMaxKey === key) max = rc.cache.sizeMax;
    else {
      for (let i = 0; i < s.array.length; i++) max = Math.max(max, num(s.array[i], 0));
      rc.cache.sizeMaxKey = key;
      rc.cache.sizeMax = max;
    }
  } else max = num(s.value, dflt);
  return { at, max, spec: s };
}

const Line = {
  draw(rc) {
    const { ctx } = rc;
    const line = lineVisual(rc);
    if (!line.apply(ctx, 0)) return;
    const xs = rc.get("x");
    const ys = rc.get("y");
    const n = rowCount(rc);
    const x = coords(rc, xs, rc.xm) || new Float64Array(n).fill(scalarCoord(xs, rc.xm));
    const y = coords(rc, ys, rc.ym) || new Float64Array(n).fill(scalarCoord(ys, rc.ym));
    let i0 = 0;
    let i1 = Math.min(n, x.length, y.length);
    if (sortedX(rc, x, i1)) {
      const [lo, hi] = rc.xm.visible();
      i0 = Math.max(0, lowerBound(x, lo, 0, i1) - 1);
      i1 = Math.min(i1, lowerBound(x, hi, i0, i1) + 1);
    }
    const mx = { a: rc.xm.a * rc.dpr, b: rc.xm.b * rc.dpr, log: rc.xm.log };
    const my = { a: rc.ym.a * rc.dpr, b: rc.ym.b * rc.dpr, log: rc.ym.log };
    const c = rc.cache;
    let res;
    if (c.sorted && !mx.log && mx.a > 0 && i1 - i0 > 20000) {
      // a large, sorted, unchanged line: a min/max pyramid makes each frame O(columns · log n)
      if (!c.pyr || c.pyrVersion !== rc.version || c.pyr.y !== y) {
        if (c.pyrWanted === rc.version) {
          c.pyr = new LinePyramid(y, Math.min(n, y.length));
          c.pyrVersion = rc.version;
        } else c.pyrWanted = rc.version; // build only once the data held still for a frame
      }
    }
    if (c.pyr && c.pyrVersion === rc.version && c.pyr.y === y && !mx.log && mx.a > 0 && c.sorted) {
      res = decimateSorted(x, y, i0, i1, mx, my, c.pyr, c.lineBuf || null);
    } else {
      res = decimateLine(x, y, i0, i1, mx, my, c.lineBuf || null);
    }
    rc.cache.lineBuf = res.out;
    rc.stats.points = i1 - i0;
    rc.stats.drawn = res.count;
    strokePolyline(ctx, res.out, res.count, 1 / rc.dpr);
  },
  hit(rc, sx, sy, mode) {
    const n = rowCount(rc);
    const xs = rc.get("x");
    const ys = rc.get("y");
    const x = coords(rc, xs, rc.xm);
    const y = coords(rc, ys, rc.ym);
    if (!x || !y || n === 0) return null;
    const { xm, ym } = rc;
    const tol = 6;
    if (sortedX(rc, x, n)) {
      const xv = xm.invert(sx);
      const k = lowerBound(x, xv, 0, n);
      if (mode === "vline") {
        let best = -1, bd = Infinity;
        for (const i of [k - 1, k]) {
          if (i < 0 || i >= n || !Number.isFinite(y[i])) continue;
          const d = Math.abs(xm.map(x[i]) - sx);
          if (d < bd) { bd = d; best = i; }
        }
        return best < 0 ? null : { index: best, sx: xm.map(x[best]), sy: ym.map(y[best]) };
      }
      // points within the tolerance window in x (bounded scan), then segments
      const a = lowerBound(x, xm.invert(sx - tol) < xm.invert(sx + tol) ? xm.invert(sx - tol) : xm.invert(sx + tol), 0, n);
      const bHi = lowerBound(x, Math.max(xm.invert(sx - tol), xm.invert(sx + tol)), a, n);
      const lo = Math.max(0, a - 1);
      const hi = Math.min(n - 1, bHi);
      return nearestOnPolyline(xm, ym, x, y, lo, hi, sx, sy, tol, 20000);
    }
    if (n > 50000) {
      // a long unsorted line: vertices near the mouse through the grid index (segments
      // passing by without a vertex nearby are not found, the price of not scanning n)
      const r = () => tol;
      r.max = tol;
      return nearestPoint(rc, sx, sy, r, mode);
    }
    return nearestOnPolyline(xm, ym, x, y, 0, n - 1, sx, sy, tol, Infinity);
  },
  legend(ctx, rc, x0, y0, x1, y1) {
    const line = lineVisual(rc);
    if (!line.apply(ctx, rc.legendRow || 0)) return;
    ctx.beginPath();
    ctx.moveTo(x0, (y0 + y1) / 2);
    ctx.lineTo(x1, (y0 + y1) / 2);
    ctx.stroke();
  },
};

function sortedX(rc, x, n) {
  const c = rc.cache;
  if (c.sortedArr === x && c.sortedN === n) return c.sorted;
  // incremental: the same buffer that grew and/or dropped rows at the front (a stream,
  // with or without rollover) keeps the old rows sorted → check the new rows only
  const prev = c.sortedArr;
  const shift = prev && prev.buffer === x.buffer && x.BYTES_PER_ELEMENT === prev.BYTES_PER_ELEMENT
    ? (x.byteOffset - prev.byteOffset) / x.BYTES_PER_ELEMENT : -1;
  if (c.sorted && shift >= 0 && Number.isInteger(shift) && c.sortedN - shift >= 1 && n >= c.sortedN - shift) {
    c.sorted = isSortedAscending(x, Math.max(0, c.sortedN - shift), n);
  } else {
    c.sorted = isSortedAscending(x, 0, n);
  }
  c.sortedArr = x;
  c.sortedN = n;
  return c.sorted;
}

function nearestOnPolyline(xm, ym, x, y, lo, hi, sx, sy, tol, limit) {
  let best = -1;
  let bd = Infinity;
  let bx = 0, by = 0;
  let steps = 0;
  let px = xm.map(x[lo]);
  let py = ym.map(y[lo]);
  for (let i = lo; i <= hi && steps < limit; i++, steps++) {
    const qx = xm.map(x[i]);
    const qy = ym.map(y[i]);
    if (Number.isFinite(qx) && Number.isFinite(qy)) {
      const d = Math.hypot(qx - sx, qy - sy);
      if (d < bd) { bd = d; best = i; bx = qx; by = qy; }
      if (i > lo && Number.isFinite(px) && Number.isFinite(py)) {
        const ds = segDist(sx, sy, px, py, qx, qy);
        if (ds < tol && ds < bd) {
          const dp = Math.hypot(px - sx, py - sy);
          const dq = Math.hypot(qx - sx, qy - sy);
          const j = dp <= dq ? i - 1 : i;
          bd = ds;
          best = j;
          bx = xm.map(x[j]);
          by = ym.map(y[j]);
        }
      }
    }
    px = qx;
    py = qy;
  }
  return best >= 0 && bd <= tol ? { index: best, sx: bx, sy: by } : null;
}

function segDist(px, py, ax, ay, bx, by) {
  const dx = bx - ax, dy = by - ay;
  const l2 = dx * dx + dy * dy;
  let t = l2 === 0 ? 0 : ((px - ax) * dx + (py - ay) * dy) / l2;
  t = Math.max(0, Math.min(1, t));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/** Stroke a device-pixel polyline buffer (NaN pairs break it) in CSS-pixel context. */
function strokePolyline(ctx, buf, count, scale) {
  ctx.save();
  ctx.scale(scale, scale);
  ctx.lineWidth *= 1 / scale;
  const dash = ctx.getLineDash();
  if (dash.length) ctx.setLineDash(dash.map((d) => d / scale));
  ctx.beginPath();
  let pen = false;
  const CHUNK = 20000;
  let inPath = 0;
  for (let k = 0; k < count; k++) {
    const x = buf[2 * k];
    const y = buf[2 * k + 1];
    if (x !== x) {
      pen = false;
      continue;
    }
    if (pen) ctx.lineTo(x, y);
    else ctx.moveTo(x, y);
    pen = true;
    if (++inPath >= CHUNK) {
      // very long paths stroke faster in chunks
      ctx.stroke();
      ctx.beginPath();
      ctx.moveTo(x, y);
      inPath = 0;
    }
  }
  ctx.stroke();
  ctx.restore();
}

const Scatter = {
  draw(rc, markerDefault = "circle", radiusMode = false) {
    const { ctx } = rc;
    const n = rowCount(rc);
    const [X, Y] = xyGet(rc);
    const fill = fillVisual(rc);
    const line = lineVisual(rc);
    const markerSpec = radiusMode ? { array: null, value: "circle" } : rc.get("marker", markerDefault);
    const angleSpec = rc.get("angle", 0);
    const angleAt = valueAt(angleSpec, 0);
    let radiusAt;
    if (radiusMode === "data") {
      const r = rc.get("radius");
      const rAt = valueAt(r, 0);
      radiusAt = (i) => rc.xm.span(X(i), 2 * rAt(i)) / 2;
    } else {
      const s = valueAt(rc.get("size", 4), 4);
      radiusAt = (i) => s(i) / 2;
    }
    const sizeSpec = radiusMode === "data" ? rc.get("radius") : rc.get("size", 4);
    const constant = fill.constant && line.constant && !markerSpec.array && !angleSpec.array && !sizeSpec.array;
    const F = rc.frame;
    const x0 = F.left - 50, x1 = F.left + F.width + 50, y0 = F.top - 50, y1 = F.top + F.height + 50;
    if (constant && n > 2000 && !angleSpec.value) {
      // large N: stamp one pre-rendered marker per occupied device pixel into a pixel
      // buffer in JS and draw that once (a drawImage per point is ~10x slower)
      const r = radiusAt(0);
      const lw = line.apply(ctx, 0) ? ctx.lineWidth : 0;
      const key = `${markerSpec.value}|${r}|${fill.color(0)}|${line.color(0)}|${lw}|${rc.dpr}`;
      if (!rc.cache.sprite || rc.cache.spriteKey !== key) {
        rc.cache.sprite = spritePixels(markerSprite(markerSpec.value, r, fill, line, rc.dpr, lw));
        rc.cache.spriteKey = key;
      }
      const xs = coords(rc, rc.get("x"), rc.xm) || new Float64Array(n).fill(scalarCoord(rc.get("x"), rc.xm));
      const ys = coords(rc, rc.get("y"), rc.ym) || new Float64Array(n).fill(scalarCoord(rc.get("y"), rc.ym));
      rc.stats.drawn = stampPoints(ctx, rc, xs, ys, n, rc.cache.sprite);
      return;
    }
    for (let i = 0; i < n; i++) {
      const sx = rc.xm.map(X(i));
      const sy = rc.ym.map(Y(i));
      if (!(sx >= x0 && sx <= x1 && sy >= y0 && sy <= y1)) continue;
      const r = radiusAt(i);
      if (!(r > 0)) continue;
      drawMarker(ctx, String(specAt(markerSpec, i) || markerDefault), sx, sy, r, angleAt(i), fill, line, i);
    }
    rc.stats.drawn = n;
  },
  hit(rc, sx, sy, mode, radiusMode = false) {
    let radiusAt;
    if (radiusMode === "data") {
      const r = valueAt(rc.get("radius"), 0);
      const X = coordAt(rc, rc.get("x"), rc.xm);
      const maxR = sizeInfo(rc, "radius", 0).max;
      radiusAt = (i) => rc.xm.span(X(i), 2 * r(i)) / 2;
      radiusAt.max = Math.abs(rc.xm.a * maxR) || 10;
    } else {
      const s = sizeInfo(rc, "size", 4);
      radiusAt = (i) => s.at(i) / 2;
      radiusAt.max = s.max / 2;
    }
    return nearestPoint(rc, sx, sy, radiusAt, mode);
  },
  legend(ctx, rc, x0, y0, x1, y1, radiusMode = false) {
    const fill = fillVisual(rc);
    const line = lineVisual(rc);
    const marker = radiusMode ? "circle" : String(rc.get("marker", "circle").value || "circle");
    const size = radiusMode ? 10 : num(specAt(rc.get("size", 4), rc.legendRow || 0), 4);
    const r = Math.max(2, Math.min(size / 2, Math.min(x1 - x0, y1 - y0) * 0.4));
    drawMarker(ctx, marker, (x0 + x1) / 2, (y0 + y1) / 2, r, 0, fill, line, rc.legendRow || 0);
  },
};

const Circle = {
  draw(rc) {
    const r = rc.get("radius", null);
    const dataRadius = r.array || (typeof r.value === "number" && r.value > 0);
    Scatter.draw(rc, "circle", dataRadius ? "data" : "size");
  },
  hit(rc, sx, sy, mode) {
    const r = rc.get("radius", null);
    const dataRadius = r.array || (typeof r.value === "number" && r.value > 0);
    return Scatter.hit(rc, sx, sy, mode, dataRadius ? "data" : "size");
  },
  legend(ctx, rc, x0, y0, x1, y1) {
    Scatter.legend(ctx, rc, x0, y0, x1, y1, true);
  },
};

const Text = {
  draw(rc) {
    const { ctx } = rc;
    const n = rowCount(rc);
    const [X, Y] = xyGet(rc);
    let text = rc.get("text", "text");
    // Bokeh's StringSpec: a plain string naming a column is that column
    if (!text.array && typeof text.value === "string" && rc.data && text.value in rc.data) {
      text = { array: rc.data[text.value], value: undefined };
    }
    const angle = valueAt(rc.get("angle", 0), 0);
    const xo = valueAt(rc.get("x_offset", 0), 0);
    const yo = valueAt(rc.get("y_offset", 0), 0);
    const vis = textVisual(rc);
    for (let i = 0; i < n; i++) {
      const t = specAt(text, i);
      if (t == null || t === "") continue;
      const sx = rc.xm.map(X(i)) + xo(i);
      const sy = rc.ym.map(Y(i)) + yo(i);
      if (!Number.isFinite(sx) || !Number.isFinite(sy)) continue;
      if (!vis.apply(ctx, i)) continue;
      const lines = String(t).split("\n");
      const lh = vis.lineHeight(i);
      const a = angle(i);
      ctx.save();
      ctx.translate(sx, sy);
      if (a) ctx.rotate(-a);
      const baseline = ctx.textBaseline;
      const shift = baseline === "bottom" || baseline === "alphabetic" ? -(lines.length - 1) * lh
        : baseline === "middle" ? (-(lines.length - 1) * lh) / 2 : 0;
      lines.forEach((ln, k) => ctx.fillText(ln, 0, shift + k * lh));
      ctx.restore();
    }
  },
  hit(rc, sx, sy, mode) {
    const r = () => 8;
    r.max = 8;
    return nearestPoint(rc, sx, sy, r, mode);
  },
  legend(ctx, rc, x0, y0, x1, y1) {
    const vis = textVisual(rc);
    if (!vis.apply(ctx, rc.legendRow || 0)) return;
    ctx.font = ctx.font.replace(/\d+(\.\d+)?px/, "10px");
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText("text", (x0 + x1) / 2, (y0 + y1) / 2);
  },
};

// Rectangular glyphs share drawing and hit-testing through a rect(i) → [l, r, t, b] in data.
function rectGlyph(rectOf) {
  return {
    draw(rc) {
      const { ctx } = rc;
      const n = rowCount(rc);
      const rect = rectOf(rc);
      const fill = fillVisual(rc);
      const line = lineVisual(rc);
      const F = rc.frame;
      const constant = fill.constant && line.constant && !rect.angle;
      if (constant) ctx.beginPath();
      for (let i = 0; i < n; i++) {
        const q = rect.screen(i);
        if (q === null) continue;
        const [l, r, t, b] = q;
        if (r < F.left - 1 || l > F.left + F.width + 1 || b < F.top - 1 || t > F.top + F.height + 1) {
          if (!rect.angle) continue;
        }
        if (constant) {
          ctx.rect(l, t, r - l, b - t);
          continue;
        }
        const a = rect.angle ? rect.angle(i) : 0;
        ctx.beginPath();
        if (a) {
          const cx = (l + r) / 2, cy = (t + b) / 2;
          ctx.save();
          ctx.translate(cx, cy);
          ctx.rotate(-a);
          ctx.rect(l - cx, t - cy, r - l, b - t);
          ctx.restore();
        } else ctx.rect(l, t, r - l, b - t);
        if (fill.apply(ctx, i)) ctx.fill();
        if (line.apply(ctx, i)) ctx.stroke();
      }
      if (constant) {
        if (fill.apply(ctx, 0)) ctx.fill();
        if (line.apply(ctx, 0)) ctx.stroke();
      }
    },
    hit(rc, sx, sy) {
      const n = rowCount(rc);
      const rect = rectOf(rc);
      for (let i = n - 1; i >= 0; i--) {
        const q = rect.screen(i);
        if (q === null) continue;
        const [l, r, t, b] = q;
        if (sx >= l && sx <= r && sy >= t && sy <= b) return { index: i, sx, sy };
      }
      return null;
    },
    legend(ctx, rc, x0, y0, x1, y1) {
      const fill = fillVisual(rc);
      const line = lineVisual(rc);
      ctx.beginPath();
      ctx.rect(x0 + 2, y0 + 2, x1 - x0 - 4, y1 - y0 - 4);
      if (fill.apply(ctx, rc.legendRow || 0)) ctx.fill();
      if (line.apply(ctx, rc.legendRow || 0)) ctx.stroke();
    },
  };
}

function ordered4(x0, x1, y0, y1) {
  const l = Math.min(x0, x1), r = Math.max(x0, x1), t = Math.min(y0, y1), b = Math.max(y0, y1);
  if (!(Number.isFinite(l) && Number.isFinite(r) && Number.isFinite(t) && Number.isFinite(b))) return null;
  return [l, r, t, b];
}

const VBar = rectGlyph((rc) => {
  const X = coordAt(rc, rc.get("x"), rc.xm);
  const w = valueAt(rc.get("width", 1), 1);
  const top = coordAt(rc, rc.get("top"), rc.ym);
  const bottom = coordAt(rc, rc.get("bottom", 0), rc.ym);
  return {
    screen(i) {
      const x = X(i), hw = w(i) / 2;
      return ordered4(rc.xm.map(x - hw), rc.xm.map(x + hw), rc.ym.map(top(i)), rc.ym.map(bottom(i)));
    },
  };
});

const HBar = rectGlyph((rc) => {
  const Y = coordAt(rc, rc.get("y"), rc.ym);
  const h = valueAt(rc.get("height", 1), 1);
  const right = coordAt(rc, rc.get("right"), rc.xm);
  const left = coordAt(rc, rc.get("left", 0), rc.xm);
  return {
    screen(i) {
      const y = Y(i), hh = h(i) / 2;
      return ordered4(rc.xm.map(left(i)), rc.xm.map(right(i)), rc.ym.map(y + hh), rc.ym.map(y - hh));
    },
  };
});

const Quad = rectGlyph((rc) => {
  const L = coordAt(rc, rc.get("left"), rc.xm);
  const R = coordAt(rc, rc.get("right"), rc.xm);
  const T = coordAt(rc, rc.get("top"), rc.ym);
  const B = coordAt(rc, rc.get("bottom"), rc.ym);
  return {
    screen(i) {
      return ordered4(rc.xm.map(L(i)), rc.xm.map(R(i)), rc.ym.map(T(i)), rc.ym.map(B(i)));
    },
  };
});

const Rect = rectGlyph((rc) => {
  const X = coordAt(rc, rc.get("x"), rc.xm);
  const Y = coordAt(rc, rc.get("y"), rc.ym);
  const w = valueAt(rc.get("width", 1), 1);
  const h = valueAt(rc.get("height", 1), 1);
  const wScreen = rc.get("width_units", "data").value === "screen";
  const hScreen = rc.get("height_units", "data").value === "screen";
  const angleSpec = rc.get("angle", 0);
  const angle = angleSpec.array || angleSpec.value ? valueAt(angleSpec, 0) : null;
  return {
    angle,
    screen(i) {
      const sx = rc.xm.map(X(i));
      const sy = rc.ym.map(Y(i));
      const sw = wScreen ? w(i) : rc.xm.span(X(i), w(i));
      const sh = hScreen ? h(i) : rc.ym.span(Y(i), h(i));
      return ordered4(sx - sw / 2, sx + sw / 2, sy - sh / 2, sy + sh / 2);
    },
  };
});

function nestedAt(spec, i) {
  const v = specAt(spec, i);
  return v && typeof v.length === "number" ? v : [];
}

const MultiLine = {
  draw(rc) {
    const { ctx } = rc;
    const xs = rc.get("xs");
    const ys = rc.get("ys");
    const line = lineVisual(rc);
    for (let i = 0; i < rc.n; i++) {
      const x = nestedAt(xs, i);
      const y = nestedAt(ys, i);
      if (!line.apply(ctx, i)) continue;
      ctx.beginPath();
      let pen = false;
      for (let k = 0; k < Math.min(x.length, y.length); k++) {
        const sx = rc.xm.map(x[k]);
        const sy = rc.ym.map(y[k]);
        if (!Number.isFinite(sx) || !Number.isFinite(sy)) { pen = false; continue; }
        if (pen) ctx.lineTo(sx, sy);
        else ctx.moveTo(sx, sy);
        pen = true;
      }
      ctx.stroke();
    }
  },
  hit(rc, sx, sy) {
    const xs = rc.get("xs");
    const ys = rc.get("ys");
    for (let i = rc.n - 1; i >= 0; i--) {
      const x = nestedAt(xs, i);
      const y = nestedAt(ys, i);
      if (x.length === 0) continue;
      const h = nearestOnPolyline(rc.xm, rc.ym, x, y, 0, Math.min(x.length, y.length) - 1, sx, sy, 6, Infinity);
      if (h) return { index: i, sx: h.sx, sy: h.sy };
    }
    return null;
  },
  legend: Line.legend,
};

function polygonRings(rc, x, y) {
  // split at NaN into separate rings, in screen space
  const rings = [];
  let ring = [];
  for (let k = 0; k < Math.min(x.length, y.length); k++) {
    const sx = rc.xm.map(x[k]);
    const sy = rc.ym.map(y[k]);
    if (!Number.isFinite(sx) || !Number.isFinite(sy)) {
      if (ring.length) rings.push(ring);
      ring = [];
      continue;
    }
    ring.push(sx, sy);
  }
  if (ring.length) rings.push(ring);
  return rings;
}

function pathRings(ctx, rings) {
  for (const r of rings) {
    ctx.moveTo(r[0], r[1]);
    for (let k = 2; k < r.length; k += 2) ctx.lineTo(r[k], r[k + 1]);
    ctx.closePath();
  }
}

function insideRings(rings, px, py) {
  let inside = false;
  for (const r of rings) {
    for (let a = 0, b = r.length - 2; a < r.length; b = a, a += 2) {
      const xa = r[a], ya = r[a + 1], xb = r[b], yb = r[b + 1];
      if ((ya > py) !== (yb > py) && px < ((xb - xa) * (py - ya)) / (yb - ya) + xa) inside = !inside;
    }
  }
  return inside;
}

const Patches = {
  draw(rc) {
    const { ctx } = rc;
    const xs = rc.get("xs");
    const ys = rc.get("ys");
    const fill = fillVisual(rc);
    const line = lineVisual(rc);
    for (let i = 0; i < rc.n; i++) {
      const rings = polygonRings(rc, nestedAt(xs, i), nestedAt(ys, i));
      ctx.beginPath();
      pathRings(ctx, rings);
      if (fill.apply(ctx, i)) ctx.fill("evenodd");
      if (line.apply(ctx, i)) ctx.stroke();
    }
  },
  hit(rc, sx, sy) {
    const xs = rc.get("xs");
    const ys = rc.get("ys");
    for (let i = rc.n - 1; i >= 0; i--) {
      if (insideRings(polygonRings(rc, nestedAt(xs, i), nestedAt(ys, i)), sx, sy)) return { index: i, sx, sy };
    }
    return null;
  },
  legend: rectGlyph(() => null).legend,
};

const VArea = {
  draw(rc) {
    const { ctx } = rc;
    const [X] = xyGet(rc);
    const Y1 = coordAt(rc, rc.get("y1"), rc.ym);
    const Y2 = coordAt(rc, rc.get("y2"), rc.ym);
    const fill = fillVisual(rc);
    if (!fill.apply(ctx, 0)) return;
    ctx.beginPath();
    let seg = [];
    const flush = () => {
      if (seg.length < 2) { seg = []; return; }
      ctx.moveTo(rc.xm.map(X(seg[0])), rc.ym.map(Y1(seg[0])));
      for (const i of seg) ctx.lineTo(rc.xm.map(X(i)), rc.ym.map(Y1(i)));
      for (let k = seg.length - 1; k >= 0; k--) ctx.lineTo(rc.xm.map(X(seg[k])), rc.ym.map(Y2(seg[k])));
      ctx.closePath();
      seg = [];
    };
    for (let i = 0; i < rc.n; i++) {
      if (Number.isFinite(rc.xm.map(X(i))) && Number.isFinite(rc.ym.map(Y1(i))) && Number.isFinite(rc.ym.map(Y2(i)))) seg.push(i);
      else flush();
    }
    flush();
    ctx.fill();
  },
  hit(rc, sx, sy) {
    const [X] = xyGet(rc);
    const Y1 = coordAt(rc, rc.get("y1"), rc.ym);
    const Y2 = coordAt(rc, rc.get("y2"), rc.ym);
    for (let i = 0; i + 1 < rc.n; i++) {
      const a = rc.xm.map(X(i)), b = rc.xm.map(X(i + 1));
      if (sx < Math.min(a, b) || sx > Math.max(a, b)) continue;
      const t = b === a ? 0 : (sx - a) / (b - a);
      const y1 = rc.ym.map(Y1(i)) * (1 - t) + rc.ym.map(Y1(i + 1)) * t;
      const y2 = rc.ym.map(Y2(i)) * (1 - t) + rc.ym.map(Y2(i + 1)) * t;
      if (sy >= Math.min(y1, y2) && sy <= Math.max(y1, y2)) return { index: t < 0.5 ? i : i + 1, sx, sy };
    }
    return null;
  },
  legend: rectGlyph(() => null).legend,
};

// ---------------------------------------------------------------- images

/** A 2-d array in any of the shapes the mirror may hold → {w, h, at(r, c)}. */
export function toGrid(v) {
  if (v == null) return null;
  if (ArrayBuffer.isView(v) && v.shape && v.shape.length === 2) {
    const [h, w] = v.shape;
    return { w, h, at: (r, c) => Number(v[r * w + c]) };
  }
  if (typeof v === "object" && !Array.isArray(v) && v.shape) {
    const arr = v.array || v.data || v.values || v.buffer;
    const [h, w] = v.shape;
    if (arr && typeof arr.length === "number") return { w, h, at: (r, c) => Number(arr[r * w + c]) };
  }
  if (Array.isArray(v) && v.length && v[0] != null && typeof v[0].length === "number") {
    const h = v.length;
    const w = v[0].length;
    return { w, h, at: (r, c) => Number(v[r][c]) };
  }
  return null;
}

function imagesOf(spec, n) {
  const out = [];
  const a = spec.array;
  if (!a) {
    const g = toGrid(spec.value);
    if (g) out.push(g);
    return out;
  }
  if (ArrayBuffer.isView(a) && a.shape && a.shape.length === 3) {
    const [k, h, w] = a.shape;
    for (let i = 0; i < k; i++) {
      const off = i * h * w;
      out.push({ w, h, at: (r, c) => Number(a[off + r * w + c]) });
    }
    return out;
  }
  for (let i = 0; i < Math.min(n, a.length); i++) out.push(toGrid(a[i]));
  return out;
}

/** Map values through a palette between low and high (LinearColorMapper semantics). */
export function paletteIndex(v, low, high, count) {
  if (!Number.isFinite(v)) return -1;
  if (high === low) return v < low ? -2 : v > high ? -3 : count - 1;
  if (v < low) return -2;
  if (v > high) return -3;
  const k = Math.floor(((v - low) / (high - low)) * count);
  return Math.min(count - 1, Math.max(0, k));
}

const Image = {
  draw(rc) {
    const { ctx } = rc;
    const imgs = imagesOf(rc.get("image"), rc.n);
    const X = coordAt(rc, rc.get("x"), rc.xm);
    const Y = coordAt(rc, rc.get("y"), rc.ym);
    const dw = valueAt(rc.get("dw", 1), 1);
    const dh = valueAt(rc.get("dh", 1), 1);
    const mapper = rc.colorMapper;
    const palette = (mapper && mapper.palette) || rc.get("palette", null).value || ["#000000", "#ffffff"];
    const cols = palette.map((c) => (cssColor(c) ? parseRGBA(c) : [0, 0, 0, 0]));
    const key = `${rc.version}|${palette.join(",")}|${mapper ? `${mapper.low}|${mapper.high}|${mapper.log}|${mapper.version}` : ""}|${rc.globalAlpha}`;
    if (rc.cache.imageKey !== key) {
      rc.cache.images = imgs.map((g) => (g ? rasterize(g, cols, mapper, rc.globalAlpha ?? 1) : null));
      rc.cache.imageKey = key;
    }
    ctx.save();
    ctx.imageSmoothingEnabled = false;
    rc.cache.images.forEach((cv, i) => {
      if (!cv) return;
      const l = rc.xm.map(X(i)), r = rc.xm.map(X(i) + dw(i));
      const b = rc.ym.map(Y(i)), t = rc.ym.map(Y(i) + dh(i));
      if (![l, r, t, b].every(Number.isFinite)) return;
      ctx.drawImage(cv, Math.min(l, r), Math.min(t, b), Math.abs(r - l), Math.abs(b - t));
    });
    ctx.restore();
  },
  hit(rc, sx, sy) {
    const imgs = imagesOf(rc.get("image"), rc.n);
    const X = coordAt(rc, rc.get("x"), rc.xm);
    const Y = coordAt(rc, rc.get("y"), rc.ym);
    const dw = valueAt(rc.get("dw", 1), 1);
    const dh = valueAt(rc.get("dh", 1), 1);
    for (let i = imgs.length - 1; i >= 0; i--) {
      const g = imgs[i];
      if (!g) continue;
      const xv = rc.xm.invert(sx), yv = rc.ym.invert(sy);
      const fx = (xv - X(i)) / dw(i), fy = (yv - Y(i)) / dh(i);
      if (fx >= 0 && fx < 1 && fy >= 0 && fy < 1) {
        const c = Math.floor(fx * g.w), r = Math.floor(fy * g.h);
        return { index: i, sx, sy, image: { value: g.at(r, c), i: c, j: r } };
      }
    }
    return null;
  },
  legend(ctx, rc, x0, y0, x1, y1) {
    const g = ctx.createLinearGradient(x0, 0, x1, 0);
    const palette = (rc.colorMapper && rc.colorMapper.palette) || ["#000", "#fff"];
    palette.forEach((c, k) => g.addColorStop(palette.length > 1 ? k / (palette.length - 1) : 0, cssColor(c) || "transparent"));
    ctx.fillStyle = g;
    ctx.fillRect(x0 + 2, y0 + 2, x1 - x0 - 4, y1 - y0 - 4);
  },
};

function parseRGBA(c) {
  const s = cssColor(c);
  const m = /rgba\((\d+),(\d+),(\d+),([\d.]+)\)/.exec(s);
  return m ? [+m[1], +m[2], +m[3], Math.round(+m[4] * 255)] : [0, 0, 0, 0];
}

function rasterize(g, cols, mapper, alpha) {
  let low = mapper && mapper.low != null ? mapper.low : Infinity;
  let high = mapper && mapper.high != null ? mapper.high : -Infinity;
  if (!Number.isFinite(low) || !Number.isFinite(high)) {
    for (let r = 0; r < g.h; r++)
      for (let c = 0; c < g.w; c++) {
        const v = g.at(r, c);
        if (!Number.isFinite(v) || (mapper && mapper.log && !(v > 0))) continue;
        if (!(mapper && mapper.low != null) && v < low) low = v;
        if (!(mapper && mapper.high != null) && v > high) high = v;
      }
  }
  const nan = mapper && mapper.nan_color ? parseRGBA(mapper.nan_color) : [0, 0, 0, 0];
  const lowC = mapper && mapper.low_color ? parseRGBA(mapper.low_color) : cols[0];
  const highC = mapper && mapper.high_color ? parseRGBA(mapper.high_color) : cols[cols.length - 1];
  const cv = typeof OffscreenCanvas !== "undefined" ? new OffscreenCanvas(g.w, g.h) : document.createElement("canvas");
  cv.width = g.w;
  cv.height = g.h;
  const c2 = cv.getContext("2d");
  const img = c2.createImageData(g.w, g.h);
  const d = img.data;
  for (let r = 0; r < g.h; r++) {
    const row = g.h - 1 - r; // row 0 of the data is at the bottom (y up)
    for (let c = 0; c < g.w; c++) {
      const v = g.at(r, c);
      const k = mapper && mapper.log
        ? (v > 0 ? paletteIndex(Math.log(v), Math.log(low), Math.log(high), cols.length) : -1)
        : paletteIndex(v, low, high, cols.length);
      const col = k === -1 ? nan : k === -2 ? lowC : k === -3 ? highC : cols[k];
      const o = (row * g.w + c) * 4;
      d[o] = col[0];
      d[o + 1] = col[1];
      d[o + 2] = col[2];
      d[o + 3] = col[3] * alpha;
    }
  }
  c2.putImageData(img, 0, 0);
  return cv;
}

/**
 * Rows whose anchor (x/y, bar or rect centre, first vertex of nested glyphs) lies inside
 * the screen box [x0, x1] × [y0, y1] (BoxSelectTool).
 */
export function rowsInBox(rc, x0, y0, x1, y1) {
  const out = [];
  const inside = (sx, sy) => sx >= x0 && sx <= x1 && sy >= y0 && sy <= y1;
  const t = rc.type;
  let X, Y;
  if (t === "VBar") {
    X = coordAt(rc, rc.get("x"), rc.xm);
    const top = coordAt(rc, rc.get("top"), rc.ym), bottom = coordAt(rc, rc.get("bottom", 0), rc.ym);
    Y = (i) => (top(i) + bottom(i)) / 2;
  } else if (t === "HBar") {
    Y = coordAt(rc, rc.get("y"), rc.ym);
    const l = coordAt(rc, rc.get("left", 0), rc.xm), r = coordAt(rc, rc.get("right"), rc.xm);
    X = (i) => (l(i) + r(i)) / 2;
  } else if (t === "Quad") {
    const l = coordAt(rc, rc.get("left"), rc.xm), r = coordAt(rc, rc.get("right"), rc.xm);
    const tp = coordAt(rc, rc.get("top"), rc.ym), b = coordAt(rc, rc.get("bottom"), rc.ym);
    X = (i) => (l(i) + r(i)) / 2;
    Y = (i) => (tp(i) + b(i)) / 2;
  } else if (t === "MultiLine" || t === "Patches") {
    const xs = rc.get("xs"), ys = rc.get("ys");
    X = (i) => rc.xm.num(nestedAt(xs, i)[0]);
    Y = (i) => rc.ym.num(nestedAt(ys, i)[0]);
  } else if (t === "Image") {
    return out;
  } else {
    X = coordAt(rc, rc.get("x"), rc.xm);
    Y = coordAt(rc, rc.get("y"), rc.ym);
  }
  for (let i = 0; i < rc.n; i++) if (inside(rc.xm.map(X(i)), rc.ym.map(Y(i)))) out.push(i);
  return out;
}

export const GLYPHS = {
  Line, Scatter, Circle, Text, VBar, HBar, Quad, Rect, MultiLine, Patches, VArea, Image,
};
