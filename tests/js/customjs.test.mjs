import { test } from "node:test";
import assert from "node:assert/strict";
import { Ref } from "../../python/docsync/static/codec.js";
import { DocumentMirror } from "../../python/docsync/static/document.js";
import { runCustomJS, runEventCallbacks, installJsCallbacks, registerView, getViewClass, View } from "../../python/docsync/static/views.js";

function load() {
  const doc = new DocumentMirror();
  doc.applySnapshot({
    title: "", roots: ["s"],
    models: [
      { id: "s", type: "Slider", props: { value: 1, js_property_callbacks: { "change:value": [new Ref("cb"), new Ref("bad"), new Ref("cb2")] } } },
      { id: "src", type: "ColumnDataSource", props: { data: { x: new Float64Array([1, 2, 3]) } } },
      { id: "d", type: "Div", props: {} },
      { id: "b", type: "Button", props: { js_event_callbacks: { button_click: [new Ref("ev")] } } },
      { id: "cb", type: "CustomJS", props: { args: { source: new Ref("src"), div: new Ref("d") },
        code: "div.text = 'value ' + cb_obj.value + ' sum ' + source.data.x.reduce((a, b) => a + b, 0); source.change.emit();" } },
      { id: "bad", type: "CustomJS", props: { code: "throw new Error('boom')" } },
      { id: "cb2", type: "CustomJS", props: { args: { div: new Ref("d") }, code: "div.tags = [this === cb_obj, typeof cb_data]" } },
      { id: "ev", type: "CustomJS", props: { args: { s: new Ref("s") }, code: "s.value = s.value + cb_obj.x" } },
    ],
    defaults: {
      Slider: { value: 0, js_property_callbacks: {}, js_event_callbacks: {} },
      ColumnDataSource: { data: {} }, Div: { text: "", tags: [] },
      Button: { js_event_callbacks: {}, js_property_callbacks: {} },
      CustomJS: { args: {}, code: "" },
    },
  });
  return doc;
}

test("js_property_callbacks run on changes, args resolved to models; a failing one does not stop the others", () => {
  const doc = load();
  const errors = [];
  const ctx = { reportError: (m) => errors.push(m) };
  installJsCallbacks(doc, ctx);
  let emitted = 0;
  doc.get("src").on("*", (i) => { if (i.kind === "emit") emitted++; });
  doc.applyPatch({ events: [{ k: "set", id: "s", prop: "value", value: 5 }] }); // from Python
  assert.equal(doc.get("d").text, "value 5 sum 6");
  assert.deepEqual(doc.get("d").tags, [true, "object"]);
  assert.equal(emitted, 1);
  assert.equal(errors.length, 1);
  assert.match(errors[0], /CustomJS bad failed: boom/);
  doc.get("s").value = 7; // from the page
  assert.equal(doc.get("d").text, "value 7 sum 6");
});

test("js_event_callbacks get the event as cb_obj", () => {
  const doc = load();
  runEventCallbacks(doc.get("b"), "button_click", { x: 10 }, { reportError() {} });
  assert.equal(doc.get("s").value, 11);
});

test("runCustomJS recompiles when the code changes", () => {
  const doc = load();
  const cb = doc.get("cb2");
  runCustomJS(cb, doc.get("s"), {}, null);
  cb.set("code", "div.text = 'changed'", { send: false });
  runCustomJS(cb, doc.get("s"), {}, null);
  assert.equal(doc.get("d").text, "changed");
});

test("registerView registers, modules load without a DOM", async () => {
  class X extends View {}
  registerView("X", X);
  assert.equal(getViewClass("X"), X);
  await import("../../python/docsync/static/widgets.js");
  await import("../../python/docsync/static/layouts.js");
  const { api } = await import("../../python/docsync/static/docsync.js");
  for (const t of ["Button", "Toggle", "Slider", "RangeSlider", "TextInput", "Select", "CheckboxGroup", "RadioGroup",
    "Div", "Paragraph", "PreText", "DataTable", "Spacer", "Row", "Column", "GridBox"]) {
    assert.ok(api.getViewClass(t), `${t} has a view`);
  }
  assert.throws(() => registerView("Y", null), TypeError);
});
