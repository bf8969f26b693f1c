// Pure data functions of the plot renderer: colors, data specs, bounds (incremental while
// streaming), DataRange1d padding, per-pixel line decimation, hit-testing indexes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseColor, cssColor, isColor } from "../../python/docsync/static/plot/colors.js";
import {
  resolveSpec, specAt, glyphBounds, BoundsCache, paddedRange, decimateLine, GridIndex,
  lowerBound, isSortedAscending, columnLength,
} from "../../python/docsync/static/plot/data.js";
import { paletteIndex, toGrid, dashArray, MARKERS } from "../../python/docsync/static/plot/glyphs.js";
import { legendPosition } from "../../python/docsync/static/plot/legend.js";
import { formatTooltipField } from "../../python/docsync/static/plot/tools.js";
import { Mapper } from "../../python/docsync/static/plot/scales.js";

test("colors: names, hex forms, rgb(a) strings and arrays, packed ints", () => {
  assert.deepEqual(parseColor("red"), [255, 0, 0, 1]);
  assert.deepEqual(parseColor("Navy"), [0, 0, 128, 1]);
  assert.deepEqual(parseColor("#0f0"), [0, 255, 0, 1]);
  assert.deepEqual(parseColor("#00ff0080"), [0, 255, 0, 128 / 255]);
  assert.deepEqual(parseColor("rgb(1, 2, 3)"), [1, 2, 3, 1]);
  assert.deepEqual(parseColor("rgba(1,2,3,0.5)"), [1, 2, 3, 0.5]);
  assert.deepEqual(parseColor([10, 20, 30]), [10, 20, 30, 1]);
  assert.deepEqual(parseColor([10, 20, 30, 0.25]), [10, 20, 30, 0.25]);
  assert.deepEqual(parseColor(0xff000080), [255, 0, 0, 128 / 255]);
  assert.equal(parseColor("x"), null);
  assert.equal(parseColor(null), null);
  assert.ok(isColor("steelblue") && !isColor("price"));
  assert.equal(cssColor("red", 0.5), "rgba(255,0,0,0.5)");
  assert.equal(cssColor("transparent"), null);
  assert.equal(cssColor(null), null);
  assert.equal(cssColor("red", 0), null);
});

test("data specs: field, value, plain values, Bokeh's color rule", () => {
  const data = { x: [1, 2, 3], colors: ["red", "green", "blue"] };
  const f = resolveSpec({ field: "x" }, data);
  assert.equal(specAt(f, 2), 3);
  assert.equal(specAt(resolveSpec({ value: 7 }, data), 5), 7);
  assert.equal(specAt(resolveSpec(4, data), 0), 4);
  assert.equal(specAt(resolveSpec("colors", data, true), 1), "green");
  assert.equal(specAt(resolveSpec("red", { red: [1] }, true), 0), "red"); // a color stays a value
  assert.equal(columnLength(data), 3);
  assert.equal(columnLength({}), 0);
});

test("dash patterns", () => {
  assert.deepEqual(dashArray("dashed"), [6]);
  assert.deepEqual(dashArray("4 2"), [4, 2]);
  assert.deepEqual(dashArray([1, 2]), [1, 2]);
  assert.deepEqual(dashArray("solid"), []);
  assert.equal(MARKERS.length, 17);
});

const getter = (glyph, data) => (name, dflt) => resolveSpec(name in glyph ? glyph[name] : dflt, data);

test("bounds of point, bar and nested glyphs ignore NaN", () => {
  const data = { x: new Float64Array([1, NaN, 5]), y: new Float64Array([-2, 7, 3]) };
  const b = glyphBounds("Line", getter({ x: { field: "x" }, y: { field: "y" } }, data), data, 0, 3);
  assert.deepEqual([b.x0, b.x1, b.y0, b.y1], [1, 5, -2, 7]);
  const bars = { x: [0, 1, 2], top: [3, 4, 5] };
  const vb = glyphBounds("VBar", getter({ x: { field: "x" }, top: { field: "top" }, width: 0.5 }, bars), bars, 0, 3);
  assert.deepEqual([vb.x0, vb.x1, vb.y0, vb.y1], [-0.25, 2.25, 0, 5]);
  const ml = { xs: [[1, 2], [0, 9]], ys: [[5, 6], [7, 8]] };
  const mb = glyphBounds("MultiLine", getter({ xs: { field: "xs" }, ys: { field: "ys" } }, ml), ml, 0, 2);
  assert.deepEqual([mb.x0, mb.x1, mb.y0, mb.y1], [0, 9, 5, 8]);
  const circ = { x: [0, 10], y: [0, 0] };
  const cb = glyphBounds("Circle", getter({ x: { field: "x" }, y: { field: "y" }, radius: 2 }, circ), circ, 0, 2);
  assert.deepEqual([cb.x0, cb.x1], [-2, 12]);
});

test("bounds cache: streams without rollover only read the new rows", () => {
  let x = new Float64Array([0, 1, 2]);
  let y = new Float64Array([5, 6, 7]);
  const glyph = { x: { field: "x" }, y: { field: "y" } };
  const cache = new BoundsCache();
  let reads = 0;
  const tracked = (arr) => new Proxy(arr, {
    get(t, k) {
      if (typeof k === "string" && /^\d+$/.test(k)) reads++;
      const v = Reflect.get(t, k);
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
  let data = { x, y };
  let b = cache.get("Line", getter(glyph, data), data, 3);
  assert.deepEqual([b.x0, b.x1, b.y0, b.y1], [0, 2, 5, 7]);
  x = new Float64Array([0, 1, 2, 3, 4]);
  y = new Float64Array([5, 6, 7, -1, 100]);
  data = { x: tracked(x), y: tracked(y) };
  cache.streamed(0);
  b = cache.get("Line", getter(glyph, data), data, 5);
  assert.deepEqual([b.x0, b.x1, b.y0, b.y1], [0, 4, -1, 100]);
  assert.equal(reads, 4, "only the two new rows of both columns are read");
  assert.equal(cache.recomputes, 1);
  // a rollover drops rows: the next read recomputes
  cache.streamed(2);
  data = { x: x.subarray(2), y: y.subarray(2) };
  b = cache.get("Line", getter(glyph, data), data, 3);
  assert.deepEqual([b.x0, b.x1, b.y0, b.y1], [2, 4, -1, 100]);
  assert.equal(cache.recomputes, 2);
});

test("DataRange1d padding, degenerate spans and log ranges", () => {
  assert.deepEqual(paddedRange(0, 10, 0.1), [-0.5, 10.5]);
  assert.deepEqual(paddedRange(5, 5, 0.1), [4, 6]);
  assert.deepEqual(paddedRange(0, 0, 0.1), [-1, 1]);
  assert.equal(paddedRange(Infinity, -Infinity), null);
  const [a, b] = paddedRange(-5, 1000, 0, true, 1);
  assert.deepEqual([a, b], [1, 1000]);
});

test("decimation keeps first/min/max/last per pixel column", () => {
  const n = 1_000_000;
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = i;
    y[i] = Math.sin(i / 1000);
  }
  y[500_123] = 50; // a spike
  const mx = { a: 600 / n, b: 0, log: false };
  const my = { a: -1, b: 0, log: false };
  const t0 = performance.now();
  const { out, count } = decimateLine(x, y, 0, n, mx, my);
  const ms = performance.now() - t0;
  assert.ok(count <= 600 * 4 + 4, `${count} points`);
  let sawSpike = false;
  for (let k = 0; k < count; k++) if (out[2 * k + 1] === -50) sawSpike = true;
  assert.ok(sawSpike, "the spike survives decimation");
  assert.ok(ms < 1000, `decimation took ${ms} ms`);
});

test("decimation breaks lines at NaN and keeps sparse points", () => {
  const x = new Float64Array([0, 1, 2, 3, 4]);
  const y = new Float64Array([0, 1, NaN, 3, 4]);
  const { out, count } = decimateLine(x, y, 0, 5, { a: 10, b: 0 }, { a: 1, b: 0 });
  const pts = [];
  for (let k = 0; k < count; k++) pts.push([out[2 * k], out[2 * k + 1]]);
  assert.deepEqual(pts, [[0, 0], [10, 1], [NaN, NaN], [30, 3], [40, 4]]);
});

test("decimation within a column emits min and max in index order", () => {
  const x = new Float64Array([0, 0.1, 0.2, 0.3, 0.4]);
  const y = new Float64Array([1, 9, -3, 2, 1.5]);
  const { out, count } = decimateLine(x, y, 0, 5, { a: 1, b: 0 }, { a: 1, b: 0 });
  const ys = [];
  for (let k = 0; k < count; k++) ys.push(out[2 * k + 1]);
  assert.deepEqual(ys, [1, 9, -3, 1.5]);
});

test("sorted search helpers", () => {
  const a = new Float64Array([1, 2, 2, 5, 9]);
  assert.equal(lowerBound(a, 2), 1);
  assert.equal(lowerBound(a, 6), 4);
  assert.equal(lowerBound(a, 100), 5);
  assert.ok(isSortedAscending(a));
  assert.ok(!isSortedAscending(new Float64Array([1, 0])));
  assert.ok(isSortedAscending(a, 3, 5));
});

test("grid index finds points near a query without scanning all", () => {
  const n = 100_000;
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  let seed = 1;
  const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (let i = 0; i < n; i++) { xs[i] = rnd() * 100; ys[i] = rnd() * 100; }
  xs[42] = 50.5; ys[42] = 50.5;
  const idx = new GridIndex(xs, ys, n);
  const found = [];
  idx.query(50.49, 50.51, 50.49, 50.51, (i) => found.push(i));
  assert.ok(found.includes(42));
  // brute force agrees for a box
  const brute = [];
  for (let i = 0; i < n; i++) if (xs[i] >= 10 && xs[i] <= 12 && ys[i] >= 80 && ys[i] <= 83) brute.push(i);
  const got = [];
  idx.query(10, 12, 80, 83, (i) => got.push(i));
  assert.deepEqual(got.sort((a, b) => a - b), brute);
  // NaN points are skipped
  const idx2 = new GridIndex(new Float64Array([NaN, 1]), new Float64Array([1, 1]), 2);
  const g2 = [];
  idx2.query(-10, 10, -10, 10, (i) => g2.push(i));
  assert.deepEqual(g2, [1]);
});

test("mapper: linear, log, factors, inversion", () => {
  const m = new Mapper(0, 10, 100, 200);
  assert.equal(m.map(5), 150);
  assert.equal(m.invert(150), 5);
  const y = new Mapper(0, 10, 200, 100); // y grows upward
  assert.equal(y.map(10), 100);
  const l = new Mapper(1, 1000, 0, 300, true);
  assert.ok(Math.abs(l.map(10) - 100) < 1e-9);
  assert.ok(Math.abs(l.invert(200) - 100) < 1e-9);
  const f = new Mapper(0, 3, 0, 300, false, ["a", "b", "c"]);
  assert.equal(f.map("b"), 150);
  assert.ok(Number.isNaN(f.map("zzz")));
});

test("images: grids from nested lists and shaped typed arrays, palette mapping", () => {
  const g = toGrid([[1, 2, 3], [4, 5, 6]]);
  assert.equal(g.w, 3);
  assert.equal(g.h, 2);
  assert.equal(g.at(1, 2), 6);
  const t = new Float64Array([1, 2, 3, 4]);
  Object.defineProperty(t, "shape", { value: [2, 2] });
  assert.equal(toGrid(t).at(1, 0), 3);
  assert.equal(paletteIndex(0, 0, 10, 5), 0);
  assert.equal(paletteIndex(10, 0, 10, 5), 4);
  assert.equal(paletteIndex(5, 0, 10, 5), 2);
  assert.equal(paletteIndex(NaN, 0, 10, 5), -1);
  assert.equal(paletteIndex(-1, 0, 10, 5), -2);
});

test("legend positions", () => {
  const area = { left: 0, top: 0, width: 400, height: 300 };
  const size = { w: 100, h: 50 };
  assert.deepEqual(legendPosition("top_right", size, area, 10), [290, 10]);
  assert.deepEqual(legendPosition("bottom_left", size, area, 10), [10, 240]);
  assert.deepEqual(legendPosition("center", size, area, 10), [150, 125]);
  assert.deepEqual(legendPosition([20, 30], size, area, 10), [20, 220]);
});

test("tooltip fields: @col, @{col}, $index, $x, formats", () => {
  const ctx = {
    special: { index: 3, x: 1.23456, y: 2, sx: 10, sy: 20 },
    column: (n) => ({ price: 12.5, "my col": "a", t: Date.UTC(2024, 0, 2) })[n],
  };
  assert.equal(formatTooltipField("@price", ctx), "12.5");
  assert.equal(formatTooltipField("@{my col}", ctx), "a");
  assert.equal(formatTooltipField("$index", ctx), "3");
  assert.equal(formatTooltipField("($x, $y)", ctx), "(1.23456, 2)");
  assert.equal(formatTooltipField("@price{0.00}", ctx), "12.50");
  assert.equal(formatTooltipField("@t{%F}", ctx), "2024-01-02");
  assert.equal(formatTooltipField("@missing", ctx), "???");
});

test("pyramid decimation of a sorted line equals the linear one", async () => {
  const { LinePyramid, decimateSorted } = await import("../../python/docsync/static/plot/data.js");
  const m = 50_000;
  const X = new Float64Array(m), Y = new Float64Array(m);
  let s = 3;
  for (let i = 0; i < m; i++) { X[i] = i * 0.37; s = (s * 16807) % 2147483647; Y[i] = s / 2147483647; }
  Y[777] = NaN; // a gap: its column falls back to the linear path
  for (const a of [0.01, 0.5, 3]) {
    const lin = decimateLine(X, Y, 0, m, { a, b: 0.25 }, { a: -1, b: 0 });
    const pyr = decimateSorted(X, Y, 0, m, { a, b: 0.25 }, { a: -1, b: 0 }, new LinePyramid(Y, m));
    assert.equal(pyr.count, lin.count, `scale ${a}`);
    assert.deepEqual(Array.from(pyr.out.subarray(0, 2 * pyr.count)), Array.from(lin.out.subarray(0, 2 * lin.count)));
  }
});
