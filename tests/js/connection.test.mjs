import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeMessage, encodeMessage, Ref } from "../../python/docsync/static/codec.js";
import { DocumentMirror } from "../../python/docsync/static/document.js";
import { Connection, NOTICE_TEXT } from "../../python/docsync/static/connection.js";

class FakeSocket {
  static all = [];
  constructor(url) {
    this.url = url;
    this.sent = [];
    this.closed = null;
    FakeSocket.all.push(this);
  }
  send(bytes) {
    assert.ok(bytes instanceof Uint8Array);
    this.sent.push(decodeMessage(bytes));
  }
  close(code) { this.closed = code ?? 1000; }
  // test side
  open() { this.onopen?.(); }
  receive(t, fields = {}) {
    const bytes = encodeMessage(t, fields);
    this.onmessage?.({ data: bytes.buffer.slice(0, bytes.length) });
  }
  drop(code = 1006) { this.closed = code; this.onclose?.({ code, reason: "" }); }
  take(t) {
    const out = this.sent.filter((m) => !t || m.t === t);
    this.sent = this.sent.filter((m) => t && m.t !== t);
    return out;
  }
}

class FakeTimers {
  constructor() { this.now = 0; this.queue = []; this.id = 0; }
  setTimeout = (f, ms) => { const id = ++this.id; this.queue.push({ id, at: this.now + ms, f }); return id; };
  clearTimeout = (id) => { this.queue = this.queue.filter((t) => t.id !== id); };
  advance(ms) {
    const end = this.now + ms;
    for (;;) {
      this.queue.sort((a, b) => a.at - b.at);
      const t = this.queue[0];
      if (!t || t.at > end) break;
      this.queue.shift();
      this.now = t.at;
      t.f();
    }
    this.now = end;
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0));

const snapshot = {
  title: "", version: 1, roots: ["s"],
  models: [{ id: "s", type: "Slider", props: { value: 1 } }, { id: "t", type: "TextInput", props: {} },
    { id: "b", type: "Button", props: {} }],
  defaults: { Slider: { value: 0, title: "" }, TextInput: { value: "", value_input: "" }, Button: { label: "Button" } },
};

function setup(opts = {}) {
  FakeSocket.all = [];
  const timers = new FakeTimers();
  const notices = [];
  const doc = new DocumentMirror();
  const conn = new Connection(doc, {
    wsUrl: "ws://h/app/ws", token: "tok en", clientId: "c1", WebSocket: FakeSocket, timers, random: () => 0.5,
    notice: { show: (kind, text) => notices.push([kind, text]) }, ...opts,
  });
  conn.start();
  const ws = FakeSocket.all[0];
  ws.open();
  ws.receive("snapshot", { seq: 5, p: snapshot });
  return { doc, conn, ws, timers, notices };
}

test("opens with the token, says hello, loads the snapshot", async () => {
  const { doc, conn, ws } = setup();
  assert.equal(ws.url, "ws://h/app/ws?docsync-token=tok%20en");
  const [hello] = ws.take("hello");
  assert.deepEqual(hello, { v: 1, t: "hello", p: { client_id: "c1", resume: null, push: null } });
  assert.equal(await conn.ready, doc);
  assert.equal(doc.get("s").get("value"), 1);
  assert.equal(conn.lastSeq, 5);
});

test("patches apply in order and are acknowledged in batches", () => {
  const { doc, ws, timers } = setup();
  ws.take();
  for (let seq = 6; seq <= 8; seq++) ws.receive("patch", { seq, p: { events: [{ k: "set", id: "s", prop: "value", value: seq }] } });
  assert.equal(doc.get("s").get("value"), 8);
  assert.deepEqual(ws.take("ack"), []);
  timers.advance(4999);
  assert.deepEqual(ws.take("ack"), []);
  timers.advance(1);
  assert.deepEqual(ws.take("ack").map((m) => m.ack), [8]);
  ws.receive("patch", { seq: 8, p: { events: [{ k: "set", id: "s", prop: "value", value: 0 }] } }); // duplicate
  assert.equal(doc.get("s").get("value"), 8);
});

test("an ack goes out at once after ackEvery changes or ackBytes of them", () => {
  const set = (seq, value) => ({ seq, p: { events: [{ k: "set", id: "s", prop: "value", value } ] } });
  const { ws } = setup({ ackEvery: 3 });
  ws.take();
  ws.receive("patch", set(6, 1));
  ws.receive("patch", set(7, 2));
  assert.deepEqual(ws.take("ack"), []);
  ws.receive("patch", set(8, 3));
  assert.deepEqual(ws.take("ack").map((m) => m.ack), [8]);

  const big = setup({ ackBytes: 1000 });
  big.ws.take();
  big.ws.receive("patch", set(6, "x".repeat(600)));
  assert.deepEqual(big.ws.take("ack"), []);
  big.ws.receive("patch", set(7, "y".repeat(600))); // 1,200+ bytes unacknowledged
  assert.deepEqual(big.ws.take("ack").map((m) => m.ack), [7]);
  big.ws.receive("patch", set(8, "z".repeat(600))); // the count starts again after an ack
  assert.deepEqual(big.ws.take("ack"), []);
  big.timers.advance(5000);
  assert.deepEqual(big.ws.take("ack").map((m) => m.ack), [8]);
});

test("a dragged slider: one change in flight, then only the latest value", async () => {
  const { doc, ws, conn } = setup();
  ws.take();
  const s = doc.get("s");
  s.value = 2;
  await tick();
  const first = ws.take("patch");
  assert.equal(first.length, 1);
  assert.deepEqual(first[0].p.events, [{ k: "set", id: "s", prop: "value", value: 2 }]);
  for (let v = 3; v <= 50; v++) { s.value = v; await tick(); }
  assert.deepEqual(ws.take("patch"), [], "nothing more while the first is in flight");
  assert.equal(s.value, 50, "the local widget stays responsive");
  ws.receive("ok", { ack: first[0].seq, seq: 6 });
  await tick();
  const second = ws.take("patch");
  assert.equal(second.length, 1);
  assert.deepEqual(second[0].p.events, [{ k: "set", id: "s", prop: "value", value: 50 }]);
  assert.ok(second[0].seq > first[0].seq);
  ws.receive("ok", { ack: second[0].seq, seq: 7 });
  await tick();
  assert.deepEqual(ws.take("patch"), []);
  assert.equal(conn.lastSeq, 7, "own changes advance the session seq");
  ws.receive("patch", { seq: 8, p: { events: [{ k: "set", id: "s", prop: "value", value: 99 }] } });
  assert.equal(s.value, 99);
});

test("properties coalesce independently; changes of one handler go in one patch", async () => {
  const { doc, ws } = setup();
  ws.take();
  doc.get("s").value = 2;
  doc.get("t").value_input = "a";
  await tick();
  const [p] = ws.take("patch");
  assert.equal(p.p.events.length, 2);
  doc.get("t").value = "abc"; // a different property: not blocked
  await tick();
  assert.deepEqual(ws.take("patch").map((m) => m.p.events.map((e) => e.prop)), [["value"]]);
});

test("conflict rule: incoming sets for a property in flight are ignored", async () => {
  const { doc, ws } = setup();
  ws.take();
  doc.get("s").value = 2;
  await tick();
  const [p] = ws.take("patch");
  ws.receive("patch", { seq: 6, p: { events: [{ k: "set", id: "s", prop: "value", value: 7 }, { k: "set", id: "t", prop: "value", value: "x" }] } });
  assert.equal(doc.get("s").value, 2);
  assert.equal(doc.get("t").value, "x");
  ws.receive("ok", { ack: p.seq, seq: 7 });
  ws.receive("patch", { seq: 8, p: { events: [{ k: "set", id: "s", prop: "value", value: 9 }] } });
  assert.equal(doc.get("s").value, 9);
});

test("a UI event takes waiting changes with it, in order", async () => {
  const { doc, ws } = setup();
  ws.take();
  doc.get("s").value = 2;
  await tick();
  ws.take("patch");
  doc.get("s").value = 3;
  doc.get("b").sendEvent("button_click");
  await tick();
  const [p] = ws.take("patch");
  assert.deepEqual(p.p.events, [{ k: "set", id: "s", prop: "value", value: 3 }, { k: "msg", id: "b", name: "button_click", data: null }]);
});

test("error: the change is put back and the page says so", async () => {
  const { doc, ws, notices } = setup();
  ws.take();
  doc.get("s").value = 2;
  await tick();
  const [p] = ws.take("patch");
  ws.receive("error", { ack: p.seq, p: { code: "ReadOnlyPropertyError", message: "value is read-only" } });
  assert.equal(doc.get("s").value, 1);
  assert.match(notices.at(-1)[1], /rejected.*read-only/);
});

test("a dropped connection resumes: hello with resume, unconfirmed patches resent, notice shown and cleared", async () => {
  const { doc, ws, timers, notices, conn } = setup();
  ws.take();
  ws.receive("patch", { seq: 6, p: { events: [{ k: "set", id: "s", prop: "value", value: 6 }] } });
  doc.get("t").value = "sent";
  await tick();
  const [inflight] = ws.take("patch");
  ws.drop(1006);
  assert.deepEqual(notices.at(-1), ["lost", NOTICE_TEXT.lost]);
  doc.get("s").value = 10; // made while disconnected
  doc.get("s").value = 11;
  await tick();
  timers.advance(10_000);
  assert.equal(FakeSocket.all.length, 2);
  const ws2 = FakeSocket.all[1];
  ws2.open();
  const sent = ws2.take();
  assert.deepEqual(sent.map((m) => m.t), ["hello", "patch", "patch"]);
  assert.equal(sent[0].p.resume, 6);
  assert.equal(sent[1].seq, inflight.seq, "same client seq: the server drops it if already applied");
  assert.deepEqual(sent[2].p.events, [{ k: "set", id: "s", prop: "value", value: 11 }], "only the latest offline value");
  assert.deepEqual(notices.at(-1), ["restored", NOTICE_TEXT.restored]);
  ws2.receive("patch", { seq: 7, p: { events: [{ k: "set", id: "t", prop: "value_input", value: "replayed" }] } });
  assert.equal(conn.lastSeq, 7);
});

test("resume answered by a resync snapshot keeps unconfirmed local values", async () => {
  const { doc, ws, timers } = setup();
  ws.take();
  ws.drop();
  doc.get("s").value = 42;
  await tick();
  timers.advance(10_000);
  const ws2 = FakeSocket.all[1];
  ws2.open();
  ws2.receive("snapshot", { seq: 20, p: snapshot });
  assert.equal(doc.get("s").value, 42);
});

test("backoff grows between failed attempts", () => {
  const { ws, timers } = setup({ backoff: { initial: 100, max: 1000, factor: 2 } });
  ws.drop();
  const times = [];
  for (let i = 0; i < 6; i++) {
    const n = FakeSocket.all.length;
    const t0 = timers.now;
    while (FakeSocket.all.length === n) timers.advance(10);
    times.push(timers.now - t0);
    FakeSocket.all.at(-1).drop();
  }
  assert.deepEqual(times, [100, 200, 400, 800, 1000, 1000]);
});

test("expired stops for good and says unconfirmed changes were not applied", async () => {
  const { doc, ws, timers, notices, conn } = setup();
  ws.take();
  ws.drop();
  doc.get("s").value = 3;
  await tick();
  timers.advance(10_000);
  const ws2 = FakeSocket.all[1];
  ws2.open();
  ws2.receive("expired", { p: { message: "gone" } });
  assert.equal(conn.state, "expired");
  assert.match(notices.at(-1)[1], /^Session expired — reload the page \(1 change made while disconnected could not be applied\)/);
  ws2.drop(4004);
  timers.advance(100_000);
  assert.equal(FakeSocket.all.length, 2);
  await assert.rejects(conn.ready.then(() => { throw new Error("x"); }).catch((e) => { throw e; }));
});

test("close code 4004 also means expired", () => {
  const { ws, timers, conn } = setup();
  ws.drop(4004);
  timers.advance(100_000);
  assert.equal(conn.state, "expired");
  assert.equal(FakeSocket.all.length, 1);
});

test("a malformed or unappliable message triggers a resync, not a half-update", () => {
  const { doc, ws, timers } = setup({ onError: () => {} });
  ws.take();
  const errs = console.error;
  console.error = () => {};
  try {
    ws.onmessage({ data: new Uint8Array([0xc1]).buffer });
    timers.advance(10_000);
    let w = FakeSocket.all.at(-1);
    w.open();
    assert.equal(w.take("hello")[0].p.resume, 5, "malformed bytes: resume (replay)");
    w.receive("patch", { seq: 6, p: { events: [{ k: "set", id: "s", prop: "value", value: 2 }, { k: "set", id: "zz", prop: "x", value: 1 }] } });
    assert.equal(doc.get("s").value, 1);
    timers.advance(10_000);
    w = FakeSocket.all.at(-1);
    w.open();
    assert.equal(w.take("hello")[0].p.resume, null, "an unappliable patch: full resync");
  } finally {
    console.error = errs;
  }
});

test("a gap in seq resumes from the last applied change", () => {
  const { ws, timers } = setup();
  ws.take();
  const warn = console.warn;
  console.warn = () => {};
  ws.receive("patch", { seq: 9, p: { events: [] } });
  console.warn = warn;
  timers.advance(10_000);
  const w = FakeSocket.all.at(-1);
  w.open();
  assert.equal(w.take("hello")[0].p.resume, 5);
});

test("ping resolves on pong", async () => {
  const { ws, conn } = setup();
  ws.take();
  const p = conn.ping();
  const [ping] = ws.take("ping");
  ws.receive("pong", { ack: ping.seq });
  assert.equal(typeof (await p), "number");
});

test("close() then reopen() (back/forward cache) resumes without a lost/restored flash", async () => {
  const { ws, conn, notices } = setup();
  ws.take();
  conn.close();
  assert.equal(ws.closed, 1000);
  conn.reopen();
  const ws2 = FakeSocket.all.at(-1);
  assert.notEqual(ws2, ws);
  ws2.open();
  assert.equal(ws2.take("hello")[0].p.resume, 5);
  assert.deepEqual(notices, []);
});

test("the ok of a UI-event-only patch does not skip a server change", async () => {
  const { doc, ws } = setup();
  ws.take();
  doc.get("b").sendEvent("button_click");
  await tick();
  const [p] = ws.take("patch");
  ws.receive("ok", { ack: p.seq, seq: 6 }); // current number; patch 6 not yet delivered
  ws.receive("patch", { seq: 6, p: { events: [{ k: "set", id: "s", prop: "value", value: 66 }] } });
  assert.equal(doc.get("s").value, 66);
});

test("a server that cannot be reached at first says so and keeps retrying", () => {
  FakeSocket.all = [];
  const timers = new FakeTimers();
  const notices = [];
  const conn = new Connection(new DocumentMirror(), { wsUrl: "ws://h/ws", WebSocket: FakeSocket, timers,
    random: () => 0.5, notice: { show: (k, t) => notices.push([k, t]) } });
  conn.start();
  FakeSocket.all[0].drop(1006);
  assert.deepEqual(notices.at(-1), ["lost", NOTICE_TEXT.unreachable]);
  timers.advance(1000);
  assert.equal(FakeSocket.all.length, 2);
  FakeSocket.all[1].open();
  assert.equal(FakeSocket.all[1].take("hello")[0].p.resume, null);
  assert.deepEqual(notices.at(-1), ["restored", NOTICE_TEXT.restored]);
});
