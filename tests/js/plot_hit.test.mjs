// Hover hit-testing of the glyphs (pure: no canvas needed), and the index reuse.
import { test } from "node:test";
import assert from "node:assert/strict";
import { GLYPHS, rowsInBox } from "../../python/docsync/static/plot/glyphs.js";
import { resolveSpec } from "../../python/docsync/static/plot/data.js";
import { Mapper } from "../../python/docsync/static/plot/scales.js";

/** A render context over a 100 × 100 px frame showing data [0, 10] × [0, 10]. */
function rc(type, glyph, data, version = 1, cache = {}) {
  const n = Object.values(data)[0].length;
  return {
    type, data, n, version, cache, stats: {},
    xm: new Mapper(0, 10, 0, 100), ym: new Mapper(0, 10, 100, 0),
    get: (name, dflt, isColor) => resolveSpec(name in glyph ? glyph[name] : dflt, data, isColor),
  };
}
const F = (field) => ({ field });

test("scatter: nearest point within its radius, through a grid index built once per data version", () => {
  const data = { x: new Float64Array([1, 5, 9]), y: new Float64Array([1, 5, 9]) };
  const cache = {};
  const c = rc("Scatter", { x: F("x"), y: F("y"), size: 10 }, data, 1, cache);
  assert.equal(GLYPHS.Scatter.hit(c, 50, 50, "mouse").index, 1);
  assert.equal(GLYPHS.Scatter.hit(c, 53, 47, "mouse").index, 1);
  assert.equal(GLYPHS.Scatter.hit(c, 30, 30, "mouse"), null);
  assert.equal(GLYPHS.Scatter.hit(c, 88, 12, "mouse").index, 2);
  assert.equal(cache.indexBuilds, 1, "one index for many mouse moves");
  const c2 = rc("Scatter", { x: F("x"), y: F("y"), size: 10 }, data, 2, cache);
  GLYPHS.Scatter.hit(c2, 50, 50, "mouse");
  assert.equal(cache.indexBuilds, 2, "rebuilt after the data changed");
});

test("circle with a data radius", () => {
  const data = { x: [5], y: [5] };
  const c = rc("Circle", { x: F("x"), y: F("y"), radius: 2 }, data);
  assert.equal(GLYPHS.Circle.hit(c, 65, 50, "mouse").index, 0); // 1.5 data units away
  assert.equal(GLYPHS.Circle.hit(c, 80, 50, "mouse"), null);
});

test("line: sorted x uses binary search; segments and vline mode", () => {
  const x = new Float64Array(1001), y = new Float64Array(1001);
  for (let i = 0; i <= 1000; i++) { x[i] = i / 100; y[i] = 5; }
  const c = rc("Line", { x: F("x"), y: F("y") }, { x, y });
  const h = GLYPHS.Line.hit(c, 42.04, 50, "mouse");
  assert.ok(Math.abs(h.index - 420) <= 1);
  assert.equal(GLYPHS.Line.hit(c, 42, 20, "mouse"), null);
  assert.equal(GLYPHS.Line.hit(c, 42, 20, "vline").index, 420);
  // unsorted (a closed loop): still found by scanning
  const u = rc("Line", { x: F("x"), y: F("y") }, { x: [1, 9, 9, 1, 1], y: [1, 1, 9, 9, 1] });
  assert.ok(GLYPHS.Line.hit(u, 90, 50, "mouse"));
});

test("bars, quads, patches, varea and images", () => {
  const vb = rc("VBar", { x: F("x"), top: F("top"), width: 1 }, { x: [2, 6], top: [4, 8] });
  assert.equal(GLYPHS.VBar.hit(vb, 60, 50).index, 1);
  assert.equal(GLYPHS.VBar.hit(vb, 20, 70).index, 0);
  assert.equal(GLYPHS.VBar.hit(vb, 20, 30), null); // above the bar at x = 2 (top 4)
  const q = rc("Quad", { left: F("l"), right: F("r"), top: F("t"), bottom: F("b") }, { l: [0], r: [5], t: [5], b: [0] });
  assert.equal(GLYPHS.Quad.hit(q, 25, 75).index, 0);
  const p = rc("Patches", { xs: F("xs"), ys: F("ys") }, { xs: [[0, 4, 0], [5, 9, 9, 5]], ys: [[0, 0, 4], [5, 5, 9, 9]] });
  assert.equal(GLYPHS.Patches.hit(p, 70, 30).index, 1);
  assert.equal(GLYPHS.Patches.hit(p, 38, 62), null);
  const va = rc("VArea", { x: F("x"), y1: F("a"), y2: F("b") }, { x: [0, 10], a: [0, 0], b: [5, 5] });
  assert.ok(GLYPHS.VArea.hit(va, 50, 80));
  assert.equal(GLYPHS.VArea.hit(va, 50, 20), null);
  const im = rc("Image", { image: F("image"), x: 0, y: 0, dw: 10, dh: 10 }, { image: [[[1, 2], [3, 4]]] });
  const hi = GLYPHS.Image.hit(im, 75, 25); // right column, top row (row 1: y grows up)
  assert.equal(hi.image.value, 4);
});

test("box selection picks rows by anchor", () => {
  const c = rc("Scatter", { x: F("x"), y: F("y") }, { x: [1, 5, 9], y: [1, 5, 9] });
  assert.deepEqual(rowsInBox(c, 40, 40, 100, 100), [1]); // screen box: x 40..100, y 40..100 → data y 0..6
});
