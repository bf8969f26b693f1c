import { test } from "node:test";
import assert from "node:assert/strict";
import { decode, encode, Ref, tagArray, shapeOf } from "../../python/docsync/static/codec.js";
import { DocumentMirror, ModelMirror, PatchError } from "../../python/docsync/static/document.js";

const f64 = (...xs) => new Float64Array(xs);

function snapshot(extra = {}) {
  return {
    title: "t", version: 1, roots: ["row"],
    models: [
      { id: "row", type: "Row", props: { children: [new Ref("s1"), new Ref("btn")] } },
      { id: "s1", type: "Slider", props: { value: 3, title: "freq" } },
      { id: "btn", type: "Button", props: {} },
      { id: "src", type: "ColumnDataSource", props: { data: { x: f64(0, 1, 2), y: f64(10, 11, 12), name: ["a", "b", "c"] }, selected: new Ref("sel") } },
      { id: "sel", type: "Selection", props: {} },
      ...(extra.models ?? []),
    ],
    defaults: {
      Row: { children: [], spacing: 0, sizing_mode: null },
      Slider: { value: 0, start: 0, end: 10, step: 1, title: "" },
      Button: { label: "Button", button_type: "default" },
      ColumnDataSource: { data: {}, selected: null, name: null },
      Selection: { indices: [] },
      ...(extra.defaults ?? {}),
    },
  };
}

function load(extra) {
  const doc = new DocumentMirror();
  // through the codec, so arrays are views as in the browser
  doc.applySnapshot(decode(encode(snapshot(extra))));
  return doc;
}

const data = (doc) => doc.get("src").get("data");

test("snapshot: models, roots, defaults, refs resolved", () => {
  const doc = load();
  assert.equal(doc.title, "t");
  assert.deepEqual(doc.roots.map((m) => m.id), ["row"]);
  const row = doc.get("row");
  assert.ok(row instanceof ModelMirror);
  assert.deepEqual(row.get("children").map((m) => m.id), ["s1", "btn"]);
  assert.equal(row.get("children")[0], doc.get("s1"));
  assert.equal(doc.get("btn").get("label"), "Button");
  assert.equal(doc.get("s1").get("value"), 3);
  assert.equal(doc.get("s1").get("end"), 10);
  // property accessors, as in BokehJS
  assert.equal(doc.get("s1").value, 3);
  assert.equal(doc.get("src").selected, doc.get("sel"));
  assert.deepEqual(doc.get("src").data.x, f64(0, 1, 2));
});

test("snapshot with a dangling reference is rejected", () => {
  const doc = new DocumentMirror();
  const snap = snapshot();
  snap.models[0].props.children.push(new Ref("nope"));
  assert.throws(() => doc.applySnapshot(snap), PatchError);
});

test("set: remote set, listeners, old value", () => {
  const doc = load();
  const seen = [];
  doc.get("s1").on("value", (info) => seen.push([info.kind, info.old, info.model.get("value")]));
  doc.applyPatch({ events: [{ k: "set", id: "s1", prop: "value", value: 7 }] });
  assert.deepEqual(seen, [["set", 3, 7]]);
});

test("stream with rollover: O(new rows) views of a growing buffer", () => {
  const doc = load();
  const seen = [];
  doc.get("src").on("data", (i) => seen.push([i.kind, i.added, i.removed]));
  doc.applyPatch({ events: [{ k: "stream", id: "src", prop: "data", columns: { x: f64(3, 4), y: f64(13, 14), name: ["d", "e"] }, rollover: null }] });
  assert.deepEqual(data(doc).x, f64(0, 1, 2, 3, 4));
  assert.deepEqual(data(doc).name, ["a", "b", "c", "d", "e"]);
  const before = data(doc).x;
  const buffer = before.buffer;
  doc.applyPatch({ events: [{ k: "stream", id: "src", prop: "data", columns: { x: f64(5), y: f64(15), name: ["f"] }, rollover: 4 }] });
  assert.deepEqual(data(doc).x, f64(2, 3, 4, 5));
  assert.deepEqual(data(doc).y, f64(12, 13, 14, 15));
  assert.deepEqual(data(doc).name, ["c", "d", "e", "f"]);
  assert.equal(data(doc).x.buffer, buffer, "same buffer, new view");
  assert.deepEqual(before, f64(0, 1, 2, 3, 4), "appends never write into the rows of an earlier view");
  assert.deepEqual(seen, [["stream", 2, 0], ["stream", 1, 2]]);
});

test("stream: more new rows than the rollover keeps only the last of them", () => {
  const doc = load();
  doc.applyPatch({ events: [{ k: "stream", id: "src", prop: "data", columns: { x: f64(3, 4, 5, 6), y: f64(3, 4, 5, 6), name: ["d", "e", "f", "g"] }, rollover: 2 }] });
  assert.deepEqual(data(doc).x, f64(5, 6));
  assert.deepEqual(data(doc).name, ["f", "g"]);
});

test("many streams with rollover match a plain reference (random sizes)", () => {
  const doc = new DocumentMirror();
  doc.applySnapshot({ title: "", roots: [], models: [{ id: "s", type: "ColumnDataSource", props: { data: { a: new Float64Array(0), b: new Int32Array(0), c: [] } } }], defaults: {} });
  let ref = [];
  let seed = 1;
  const rand = (n) => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
  let k = 0;
  for (let step = 0; step < 500; step++) {
    const n = rand(20);
    const rows = Array.from({ length: n }, () => k++);
    const rollover = rand(3) === 0 ? null : 1 + rand(60);
    doc.applyPatch({ events: [{ k: "stream", id: "s", prop: "data", rollover,
      columns: { a: Float64Array.from(rows), b: Int32Array.from(rows), c: rows.map(String) } }] });
    ref = ref.concat(rows);
    if (rollover !== null) ref = ref.slice(Math.max(0, ref.length - rollover));
    const d = doc.get("s").get("data");
    assert.deepEqual([...d.a], ref);
    assert.deepEqual([...d.b], ref);
    assert.deepEqual(d.c, ref.map(String));
  }
});

test("stream cost does not grow with the column length (amortised)", () => {
  const doc = new DocumentMirror();
  const big = new Float64Array(1_000_000);
  doc.applySnapshot({ title: "", roots: [], models: [{ id: "s", type: "CDS", props: { data: { x: big } } }], defaults: {} });
  const row = { k: "stream", id: "s", prop: "data", columns: { x: f64(1) }, rollover: 1_000_000 };
  doc.applyPatch({ events: [row] }); // the one growth copy
  const t0 = performance.now();
  for (let i = 0; i < 10_000; i++) doc.applyPatch({ events: [row] });
  const perAppend = (performance.now() - t0) / 10_000;
  // a copy of the whole column would cost ~1 ms; O(new rows) is microseconds
  assert.ok(perAppend < 0.2, `${perAppend} ms per 1-row append`);
  assert.equal(doc.get("s").get("data").x.length, 1_000_000);
});

test("patch: index, slice and multi-index (the engine's rules)", () => {
  const img = tagArray(new Float64Array(6), undefined, [2, 3]);
  const doc = load({ models: [{ id: "im", type: "ColumnDataSource", props: { data: {
    image: [img], z: tagArray(new Float32Array(8), undefined, [2, 2, 2]) } } }] });
  doc.applyPatch({ events: [{ k: "patch", id: "src", prop: "data", patches: {
    x: [[0, 100], [{ start: 1, stop: null, step: null }, [101, 102]]],
    name: [[2, "z"], [{ start: 0, stop: 2, step: null }, ["p", "q"]]],
  } }] });
  assert.deepEqual(data(doc).x, f64(100, 101, 102));
  assert.deepEqual(data(doc).name, ["p", "q", "z"]);
  doc.applyPatch({ events: [{ k: "patch", id: "im", prop: "data", patches: {
    z: [[[1, 0, 1], 5], [[0, { start: 0, stop: 2, step: 1 }, 0], [1, 2]], [1, [9, 9, 9, 9]]],
  } }] });
  const d = doc.get("im").get("data");
  assert.deepEqual([...d.z], [1, 0, 2, 0, 9, 9, 9, 9]);
  assert.deepEqual(shapeOf(d.z), [2, 2, 2]);
  // a whole-row slice of an n-d column takes one value per selected element (flattened)
  doc.applyPatch({ events: [{ k: "patch", id: "im", prop: "data", patches: { z: [[{ start: 0, stop: 1, step: null }, [[1, 2], [3, 4]]]] } }] });
  assert.deepEqual([...doc.get("im").get("data").z], [1, 2, 3, 4, 9, 9, 9, 9]);
  // multi-indices need a typed column of n-d rows
  assert.throws(() => doc.applyPatch({ events: [{ k: "patch", id: "im", prop: "data", patches: { image: [[[0, 1, 1], 7]] } }] }), PatchError);
  assert.throws(() => doc.applyPatch({ events: [{ k: "patch", id: "src", prop: "data", patches: { x: [[[0, 0], 7]] } }] }), PatchError);
  assert.throws(() => doc.applyPatch({ events: [{ k: "patch", id: "im", prop: "data", patches: { z: [[[0, 2], [1, 1]]] } }] }), PatchError);
  assert.throws(() => doc.applyPatch({ events: [{ k: "patch", id: "im", prop: "data", patches: { z: [[[0, 0], [1, 1, 1]]] } }] }), PatchError);
});

test("patch bounds: i == len is out of range; reversed and negative slices", () => {
  const doc = load();
  const bad = [
    { x: [[3, 1]] }, { x: [[-1, 1]] }, { x: [[{ start: 2, stop: 1, step: null }, []]] },
    { x: [[{ start: -1, stop: null, step: null }, [1]]] }, { x: [[{ start: 0, stop: 3, step: 0 }, [1]]] },
    { x: [[{ start: 0, stop: 2, step: null }, [1]]] }, { nope: [[0, 1]] },
    { x: [[{ start: 0, stop: 4, step: null }, [1, 2, 3]]] }, { x: [[{ start: 0, stop: 1, foo: 1 }, [1]]] },
    { x: [[0, [1, 2]]] }, { name: [[{ start: 0, stop: 1, step: null }, "a"]] },
  ];
  for (const patches of bad) {
    assert.throws(() => doc.applyPatch({ events: [{ k: "patch", id: "src", prop: "data", patches }] }), PatchError, JSON.stringify(patches));
  }
  assert.deepEqual(data(doc).x, f64(0, 1, 2));
});

test("a patch is atomic: one bad event changes nothing", () => {
  const doc = load();
  const notified = [];
  doc.on("change", (m, i) => notified.push(i.kind));
  const bads = [
    [{ k: "set", id: "s1", prop: "value", value: 9 }, { k: "set", id: "ghost", prop: "value", value: 1 }],
    [{ k: "stream", id: "src", prop: "data", columns: { x: f64(9), y: f64(9), name: ["q"] }, rollover: null },
      { k: "stream", id: "src", prop: "data", columns: { x: f64(9), y: f64(9, 9), name: ["q"] }, rollover: null }],
    [{ k: "stream", id: "src", prop: "data", columns: { x: f64(9), y: f64(9) }, rollover: null }],
    [{ k: "stream", id: "src", prop: "data", columns: { x: f64(9), y: f64(9), name: ["q"] }, rollover: 0 }],
    [{ k: "set", id: "s1", prop: "no_such_prop", value: 1 }],
    [{ k: "title", title: "x" }, { k: "set", id: "s1", prop: "value", value: new Ref("ghost") }],
    [{ k: "del", id: "btn" }, { k: "set", id: "btn", prop: "label", value: "x" }],
    [{ k: "root-", id: "s1" }],
    [{ k: "bogus" }],
    [{ k: "new", id: "s1", type: "Slider", props: {} }],
    [{ k: "stream", id: "src", prop: "data", columns: { x: f64(9), y: f64(9), name: ["q"] }, rollover: null },
      { k: "patch", id: "src", prop: "data", patches: { x: [[4, 0]] } }],
  ];
  for (const events of bads) {
    assert.throws(() => doc.applyPatch({ events }), PatchError, JSON.stringify(events, (k, v) => (ArrayBuffer.isView(v) ? [...v] : v)));
  }
  assert.equal(doc.get("s1").get("value"), 3);
  assert.equal(doc.title, "t");
  assert.deepEqual(data(doc).x, f64(0, 1, 2));
  assert.ok(doc.get("btn"));
  assert.deepEqual(notified, []);
});

test("events of one patch see the earlier ones: stream then patch the new row", () => {
  const doc = load();
  doc.applyPatch({ events: [
    { k: "stream", id: "src", prop: "data", columns: { x: f64(3), y: f64(13), name: ["d"] }, rollover: null },
    { k: "patch", id: "src", prop: "data", patches: { x: [[3, 33]] } },
  ] });
  assert.deepEqual(data(doc).x, f64(0, 1, 2, 33));
});

test("new models may refer to each other in any order; root+, root-, title, del, msg", () => {
  const doc = load();
  const seen = [];
  for (const k of ["new", "root+", "root-", "title", "del", "msg"]) doc.on(k, (x) => seen.push(k));
  let msg;
  doc.on("msg", (m) => (msg = m));
  doc.applyPatch({ events: [
    { k: "new", id: "c2", type: "Column", props: { children: [new Ref("d1")] } },
    { k: "new", id: "d1", type: "Div", props: { text: "<b>hi</b>" } },
    { k: "root+", id: "c2" },
    { k: "root-", id: "row" },
    { k: "title", title: "new title" },
    { k: "msg", id: "btn", name: "note", data: { a: 1 } },
  ], defaults: { Column: { children: [] }, Div: { text: "" } } });
  assert.deepEqual(doc.roots.map((m) => m.id), ["c2"]);
  assert.equal(doc.get("c2").get("children")[0], doc.get("d1"));
  assert.equal(doc.title, "new title");
  assert.equal(msg.model, doc.get("btn"));
  assert.deepEqual(msg.data, { a: 1 });
  doc.applyPatch({ events: [{ k: "del", id: "row" }] });
  assert.equal(doc.get("row"), undefined);
  assert.deepEqual(seen, ["new", "new", "root+", "root-", "title", "msg", "del"]);
});

test("data events: replace all, or only the listed columns", () => {
  const doc = load();
  doc.applyPatch({ events: [{ k: "data", id: "src", prop: "data", replace: false, columns: { y: f64(7, 8, 9) } }] });
  assert.deepEqual(data(doc).y, f64(7, 8, 9));
  assert.deepEqual(data(doc).x, f64(0, 1, 2));
  assert.throws(() => doc.applyPatch({ events: [{ k: "data", id: "src", prop: "data", replace: false, columns: { y: f64(1) } }] }), PatchError);
  doc.applyPatch({ events: [{ k: "data", id: "src", prop: "data", replace: true, columns: { q: [1] } }] });
  assert.deepEqual(data(doc), { q: [1] });
});

test("the conflict rule: skipSet drops incoming sets for properties in flight", () => {
  const doc = load();
  doc.applyPatch({ events: [{ k: "set", id: "s1", prop: "value", value: 9 }, { k: "set", id: "s1", prop: "title", value: "T" }] },
    { skipSet: (id, prop) => id === "s1" && prop === "value" });
  assert.equal(doc.get("s1").get("value"), 3);
  assert.equal(doc.get("s1").get("title"), "T");
});

test("local set: mirror, listeners, sink; accessors and change.emit()", () => {
  const doc = load();
  const sent = [];
  doc.sink = { set: (m, p, v) => sent.push([m.id, p, v]), event: (id, name, data) => sent.push([id, name, data]) };
  const s1 = doc.get("s1");
  const seen = [];
  s1.on("*", (i) => seen.push([i.prop, i.kind, i.origin]));
  s1.value = 5;
  s1.set("value", 5); // same value: nothing
  assert.equal(s1.value, 5);
  doc.get("row").children = [doc.get("btn")];
  assert.deepEqual(doc.get("row").get("children"), [doc.get("btn")]);
  doc.get("src").change.emit();
  doc.get("btn").sendEvent("button_click");
  assert.deepEqual(seen, [["value", "set", "local"]]);
  assert.deepEqual(sent, [["s1", "value", 5], ["row", "children", [new Ref("btn")]], ["btn", "button_click", null]]);
  let emitted = 0;
  doc.get("src").on("data", (i) => { if (i.kind === "emit") emitted++; });
  doc.get("src").change.emit();
  assert.equal(emitted, 1);
});

test("resync snapshot keeps model objects and reports what changed", () => {
  const doc = load();
  const s1 = doc.get("s1");
  const seen = [];
  s1.on("value", (i) => seen.push(i.model.get("value")));
  s1.on("title", () => seen.push("title"));
  const snap = snapshot();
  snap.models[1].props.value = 8;
  doc.applySnapshot(snap);
  assert.equal(doc.get("s1"), s1);
  assert.deepEqual(seen, [8]);
});

test("stream: numbers into typed columns (lists converted), anything else rejected", () => {
  const doc = load();
  doc.applyPatch({ events: [{ k: "stream", id: "src", prop: "data", columns: { x: [3, null], y: new Int32Array([13, 14]), name: new Float64Array([1, 2]) }, rollover: null }] });
  assert.deepEqual([...data(doc).x], [0, 1, 2, 3, NaN]);
  assert.deepEqual(data(doc).y, f64(10, 11, 12, 13, 14));
  assert.deepEqual(data(doc).name, ["a", "b", "c", 1, 2]);
  assert.throws(() => doc.applyPatch({ events: [{ k: "stream", id: "src", prop: "data", columns: { x: ["no"], y: [1], name: ["n"] }, rollover: null }] }), PatchError);
});

test("changes to properties the server owns stay in the page (CustomJS), writable ones are sent", () => {
  const doc = new DocumentMirror();
  const sent = [];
  doc.sink = { set: (model, prop, raw) => sent.push([model.id, prop, raw]), event: () => {} };
  doc.applySnapshot({
    title: "", version: 0, roots: ["s", "d"],
    models: [{ id: "s", type: "Slider", props: {} }, { id: "d", type: "Div", props: {} }],
    defaults: { Slider: { value: 0, title: "" }, Div: { text: "" } },
    writable: { Slider: ["value"], Div: [] },
  });
  doc.get("d").set("text", "from CustomJS");
  doc.get("s").set("title", "local title");
  doc.get("s").set("value", 5);
  assert.equal(doc.get("d").get("text"), "from CustomJS");
  assert.equal(doc.get("s").get("title"), "local title");
  assert.deepEqual(sent.map(([id, prop]) => [id, prop]), [["s", "value"]]);
  // a type the server named no writable list for keeps the old behaviour (sent)
  doc.applyPatch({ events: [{ k: "new", id: "x", type: "Custom", props: {} }, { k: "root+", id: "x" }], defaults: { Custom: { a: 1 } } });
  doc.get("x").set("a", 2);
  assert.deepEqual(sent.at(-1).slice(0, 2), ["x", "a"]);
});
