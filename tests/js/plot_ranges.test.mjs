// Range state: DataRange1d follows the data until the person pans; writes back are
// batched; Range1d reset restores the initial values; linked views share one state.
import { test } from "node:test";
import assert from "node:assert/strict";
import { rangeState } from "../../python/docsync/static/plot/ranges.js";

class FakeModel {
  constructor(type, props = {}) {
    this.type = type;
    this.props = { ...props };
    this.sets = [];
    this.listeners = [];
  }
  get(name) { return this.props[name]; }
  set(name, v) {
    this.props[name] = v;
    this.sets.push([name, v]);
  }
}

const view = () => ({ draws: 0, scheduleDraw() { this.draws++; } });

test("DataRange1d follows contributed bounds with padding, writes back throttled", () => {
  const m = new FakeModel("DataRange1d", { start: null, end: null, range_padding: 0.1 });
  const st = rangeState(m);
  const v = view();
  st.views.add(v);
  st.contribute(v, 0, 10, 1);
  assert.equal(st.updateAuto(), true);
  assert.deepEqual([st.start, st.end], [-0.5, 10.5]);
  assert.equal(st.flush(1000), false);
  assert.deepEqual(m.sets, [["start", -0.5], ["end", 10.5]]);
  // streaming: new bounds; the write waits for the 250 ms throttle
  st.contribute(v, 0, 20, 1);
  assert.equal(st.updateAuto(), true);
  assert.equal(st.flush(1100), true);
  assert.equal(m.sets.length, 2);
  assert.equal(st.flush(1300), false);
  assert.deepEqual(m.sets.slice(2), [["start", -1], ["end", 21]]);
  // our own write coming back is not taken for an explicit value
  assert.equal(st.modelChanged("start"), false);
  assert.equal(st.updateAuto(), false);
});

test("panning a DataRange1d stops following; reset follows again", () => {
  const m = new FakeModel("DataRange1d", { start: null, end: null });
  const st = rangeState(m);
  const v = view();
  st.views.add(v);
  st.contribute(v, 0, 10, 1);
  st.updateAuto();
  st.setUser(2, 4);
  assert.ok(v.draws > 0);
  st.flush(0);
  assert.deepEqual(m.sets.slice(-2), [["start", 2], ["end", 4]]);
  st.contribute(v, 0, 100, 1);
  assert.equal(st.updateAuto(), false, "a panned range stays where the person left it");
  st.reset();
  assert.equal(st.updateAuto(), true);
  assert.deepEqual([st.start, st.end], [-5, 105]);
});

test("explicit DataRange1d start from Python is kept (bar charts: y_range.start = 0)", () => {
  const m = new FakeModel("DataRange1d", { start: 0, end: null });
  const st = rangeState(m);
  st.contribute({}, 3, 10, 3);
  st.updateAuto();
  assert.deepEqual([st.start, st.end], [0, 10.35]);
  m.props.end = 50; // Python sets end
  assert.equal(st.modelChanged("end"), true);
  st.updateAuto();
  assert.deepEqual([st.start, st.end], [0, 50]);
});

test("follow=end with follow_interval keeps a sliding window", () => {
  const m = new FakeModel("DataRange1d", { follow: "end", follow_interval: 100, range_padding: 0 });
  const st = rangeState(m);
  const v = {};
  st.contribute(v, 0, 1000, 1);
  st.updateAuto();
  assert.deepEqual([st.start, st.end], [900, 1000]);
  st.contribute(v, 950, 1000, 950); // narrower than the interval: the data span wins
  st.updateAuto();
  assert.deepEqual([st.start, st.end], [950, 1000]);
});

test("Range1d: person's changes written at flush, reset restores the initial values", () => {
  const m = new FakeModel("Range1d", { start: 0, end: 10 });
  const st = rangeState(m);
  st.setUser(1, 11);
  st.setUser(2, 12); // several moves within one frame → one write
  st.flush(0);
  assert.deepEqual(m.sets, [["start", 2], ["end", 12]]);
  st.reset();
  st.flush(1);
  assert.deepEqual([st.start, st.end], [0, 10]);
  assert.deepEqual(m.sets.slice(2), [["start", 0], ["end", 10]]);
  // Python moves the range
  m.props.start = -5;
  assert.equal(st.modelChanged("start"), true);
  assert.equal(st.start, -5);
});

test("Range1d bounds clamp panning", () => {
  const m = new FakeModel("Range1d", { start: 0, end: 10, bounds: [0, 20] });
  const st = rangeState(m);
  st.setUser(-5, 5);
  assert.deepEqual([st.start, st.end], [0, 10]);
  st.setUser(15, 25);
  assert.deepEqual([st.start, st.end], [10, 20]);
});

test("one state per range model (linked plots)", () => {
  const m = new FakeModel("Range1d", { start: 0, end: 1 });
  assert.equal(rangeState(m), rangeState(m));
});

test("a DataRange1d value from the server shows until the data changes (no frozen tabs)", () => {
  const m = new FakeModel("DataRange1d", { start: null, end: null, range_padding: 0 });
  const st = rangeState(m);
  const v = {};
  st.contribute(v, 0, 10, 1);
  st.updateAuto();
  m.props.start = 3; // another tab's write-back, or Python
  m.props.end = 7;
  st.modelChanged("start");
  st.modelChanged("end");
  st.contribute(v, 0, 10, 1); // same data: the value stays
  assert.equal(st.updateAuto(), false);
  assert.deepEqual([st.start, st.end], [3, 7]);
  st.contribute(v, 0, 20, 1); // new rows: follow the data again
  assert.equal(st.updateAuto(), true);
  assert.deepEqual([st.start, st.end], [0, 20]);
});
