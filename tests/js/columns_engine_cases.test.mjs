// The engine's column cases (rust/docsync-core/src/columns.rs, mod tests), run against the
// browser mirror: the same streams, rollovers, patches and rejections give the same result.
import { test } from "node:test";
import assert from "node:assert/strict";
import { tagArray } from "../../python/docsync/static/codec.js";
import { DocumentMirror, PatchError } from "../../python/docsync/static/document.js";

const arr = (...xs) => new Float64Array(xs);
const i32 = (...xs) => new Int32Array(xs);
const slice = (start, stop, step) => ({ start, stop, step });

function source(data) {
  const doc = new DocumentMirror();
  doc.applySnapshot({ title: "", roots: [], models: [{ id: "s", type: "ColumnDataSource", props: { data } }], defaults: { ColumnDataSource: { data: {} } } });
  const m = doc.get("s");
  return {
    doc,
    data: () => m.get("data"),
    stream: (columns, rollover = null) => doc.applyPatch({ events: [{ k: "stream", id: "s", prop: "data", columns, rollover }] }),
    patch: (patches) => doc.applyPatch({ events: [{ k: "patch", id: "s", prop: "data", patches }] }),
    snapshot: () => JSON.stringify(Object.fromEntries(Object.entries(m.get("data")).map(([k, v]) => [k, Array.from(v, String)]))),
  };
}

test("engine case stream_and_rollover", () => {
  const d = source({ x: arr(1, 2), s: [1, 2] });
  d.stream({ x: arr(3), s: [3] });
  assert.deepEqual([...d.data().x], [1, 2, 3]);
  d.stream({ x: [4, 5.0], s: i32(4, 5) }, 3);
  assert.deepEqual([...d.data().x], [3, 4, 5]);
  assert.deepEqual(d.data().s, [3, 4, 5]);
  const before = d.snapshot();
  for (const [columns, rollover] of [
    [{ x: arr(1) }, null],
    [{ x: arr(1), s: [] }, null],
    [{ x: arr(1), s: [1], z: arr(1) }, null],
    [{ x: arr(1), s: [1] }, 0],
  ]) {
    assert.throws(() => d.stream(columns, rollover), PatchError);
    assert.equal(d.snapshot(), before);
  }
});

test("engine case dtype_rules", () => {
  const d = source({ i: i32(1) });
  assert.throws(() => d.stream({ i: arr(1.5) }), /float/);
  assert.throws(() => d.stream({ i: [2 ** 40] }), PatchError);
  d.stream({ i: [7] });
  assert.deepEqual([...d.data().i], [1, 7]);
});

test("engine case patches", () => {
  const d = source({ x: arr(0, 1, 2, 3, 4) });
  d.patch({ x: [
    [4, 40.0],
    [slice(0, 4, 2), [10, 12]],
    [slice(null, null, null), arr(5, 6, 7, 8, 9)],
    [0, -1.0],
  ] });
  assert.deepEqual([...d.data().x], [-1, 6, 7, 8, 9]);
  const before = d.snapshot();
  for (const bad of [
    [5, 1.0], [-1, 1.0], [slice(3, 1, null), []], [slice(-1, null, null), []], [slice(null, 6, null), []],
    [slice(null, null, 0), []], [slice(0, 2, null), [1.0]], [0, "a"],
  ]) {
    assert.throws(() => d.patch({ x: [[1, 100.0], bad] }), PatchError, JSON.stringify(bad));
    assert.equal(d.snapshot(), before, `nothing changed after ${JSON.stringify(bad)}`);
  }
  assert.throws(() => d.patch({ nope: [] }), PatchError);
});

test("engine case nd_multi_index", () => {
  const img = tagArray(Float64Array.from({ length: 12 }, (_, i) => i), undefined, [2, 2, 3]);
  const d = source({ img });
  d.patch({ img: [
    [[1, 0, slice(1, null, null)], [-1.0, -2.0]],
    [[0, 1, 2], 99.0],
  ] });
  assert.deepEqual([...d.data().img], [0, 1, 2, 3, 4, 99, 6, -1, -2, 9, 10, 11]);
  assert.throws(() => d.patch({ img: [[[0, 2], 0.0]] }), PatchError);
  d.stream({ img: tagArray(new Float64Array(6), undefined, [1, 2, 3]) });
  assert.equal(d.data().img.length, 18);
  assert.throws(() => d.stream({ img: arr(1.0) }), PatchError);
});

test("engine case set_column_allows_transient_mismatch (a data event replacing columns)", () => {
  const d = source({ x: arr(1), y: arr(1) });
  // the mirror receives whole events; a partial data event that leaves unequal lengths is rejected
  assert.throws(() => d.doc.applyPatch({ events: [{ k: "data", id: "s", prop: "data", replace: false, columns: { x: arr(1, 2) } }] }), PatchError);
  d.doc.applyPatch({ events: [
    { k: "data", id: "s", prop: "data", replace: false, columns: { x: arr(1, 2), y: arr(1, 2) } },
    { k: "stream", id: "s", prop: "data", columns: { x: arr(1), y: arr(1) }, rollover: null },
  ] });
  assert.equal(d.data().x.length, 3);
});

test("engine case streaming_long_columns_is_amortised_constant", () => {
  const d = source({ x: new Float64Array(0) });
  // count copies: the buffer moves only O(log n) times while growing
  let buffers = new Set();
  for (let i = 0; i < 100_000; i++) {
    d.stream({ x: arr(i) });
    if (i % 1000 === 0) buffers.add(d.data().x.buffer);
  }
  assert.ok(buffers.size < 20, `${buffers.size} distinct buffers`);
  assert.equal(d.data().x[99_999], 99_999);
});
