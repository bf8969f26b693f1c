import { test } from "node:test";
import assert from "node:assert/strict";
import {
  decode, encode, decodeMessage, encodeMessage, Ref, DecodeError, LimitError, EncodeError,
  dtypeOf, shapeOf, tagArray,
} from "../../python/docsync/static/codec.js";

const hex = (u8) => Buffer.from(u8).toString("hex");
const fromHex = (h) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ""), "hex"));

test("scalars use msgpack's smallest forms, floats always float64", () => {
  assert.equal(hex(encode(null)), "c0");
  assert.equal(hex(encode(true)), "c3");
  assert.equal(hex(encode(5)), "05");
  assert.equal(hex(encode(-1)), "ff");
  assert.equal(hex(encode(200)), "ccc8");
  assert.equal(hex(encode(-200)), "d1ff38");
  assert.equal(hex(encode(70000)), "ce00011170");
  assert.equal(hex(encode(2 ** 40)), "cf0000010000000000");
  assert.equal(hex(encode(1.5)), "cb3ff8000000000000");
  assert.equal(hex(encode(-0)), "cb8000000000000000");
  assert.equal(hex(encode("a")), "a161");
  assert.equal(hex(encode(2n ** 63n)), "cf8000000000000000");
  assert.equal(hex(encode(-(2n ** 63n))), "d38000000000000000");
});

test("round trip of every value kind", () => {
  const value = {
    n: null, t: true, f: false, i: 42, neg: -100000, big: 2 ** 53 - 1, fl: 0.1,
    nan: NaN, inf: -Infinity, s: "héllo ✓ ".repeat(10), short: "é", empty: "",
    list: [1, [2, [3, {}]], []], map: { a: { b: "c" } }, ref: new Ref("m1"),
    i64: 2n ** 62n * 3n, u64: 2n ** 64n - 1n,
  };
  const back = decode(encode(value));
  assert.deepEqual(back, value);
  assert.ok(back.ref instanceof Ref);
  assert.equal(back.ref.id, "m1");
  assert.ok(Object.is(decode(encode(-0)), -0));
});

test("map order is kept and __proto__ is a plain key", () => {
  const bytes = fromHex("82 a1 62 01 a9 5f5f70726f746f5f5f 02");
  const m = decode(bytes);
  assert.deepEqual(Object.keys(m), ["b", "__proto__"]);
  assert.equal(Object.getPrototypeOf(m), Object.prototype);
  assert.equal(Object.getOwnPropertyDescriptor(m, "__proto__").value, 2);
});

test("bin decodes to an ArrayBuffer and round-trips as bin", () => {
  const bytes = encode(new Uint8Array([1, 2, 3]).buffer);
  assert.equal(hex(bytes), "c403010203");
  const back = decode(bytes);
  assert.ok(back instanceof ArrayBuffer);
  assert.deepEqual([...new Uint8Array(back)], [1, 2, 3]);
});

const arrays = [
  new Uint8Array([0, 1, 255]), new Int8Array([-1, 2]), new Int16Array([-300, 300]),
  new Int32Array([-7, 1 << 30]), new BigInt64Array([-(2n ** 62n), 5n]), new Uint16Array([65535]),
  new Uint32Array([4e9]), new BigUint64Array([2n ** 64n - 1n]), new Float32Array([1.5, -2]),
  new Float64Array([0.1, NaN, -Infinity, -0]),
];

test("typed arrays of every dtype round-trip as aligned views (no copy)", () => {
  for (const arr of arrays) {
    for (const prefix of [[], [1], ["abc"], ["x".repeat(5), 7]]) {
      const bytes = encode([...prefix, arr]);
      const back = decode(bytes).at(-1);
      assert.equal(back.constructor, arr.constructor);
      assert.deepEqual(back, arr);
      assert.equal(back.buffer, bytes.buffer, `${arr.constructor.name} decoded without copying`);
      assert.equal(back.byteOffset % 8, 0);
    }
  }
});

test("a misaligned payload is copied, with the same values", () => {
  const bytes = encode(new Float64Array([1, 2, 3]));
  const shifted = new Uint8Array(bytes.length + 1);
  shifted.set(bytes, 1);
  const back = decode(shifted.subarray(1));
  assert.deepEqual(back, new Float64Array([1, 2, 3]));
  assert.notEqual(back.buffer, shifted.buffer);
});

test("bool, datetime and n-d arrays keep dtype and shape", () => {
  const b = tagArray(new Uint8Array([1, 0, 1]), "bool");
  const bb = decode(encode(b));
  assert.equal(dtypeOf(bb), "bool");
  assert.deepEqual(hex(encode(bb)), hex(encode(b)));

  const dt = tagArray(new Float64Array([0, 1.7e12, NaN]), "datetime64[ms]");
  const bytes = encode(dt);
  const dback = decode(bytes);
  assert.ok(dback instanceof Float64Array);
  assert.equal(dtypeOf(dback), "datetime64[ms]");
  assert.deepEqual([...dback], [0, 1.7e12, NaN]);
  assert.equal(hex(encode(dback)), hex(bytes));

  const img = tagArray(new Float32Array(6).map((_, i) => i), undefined, [2, 3]);
  const iback = decode(encode(img));
  assert.deepEqual(shapeOf(iback), [2, 3]);
  assert.deepEqual([...iback], [0, 1, 2, 3, 4, 5]);
});

test("typed-array ext layout is exactly the protocol's", () => {
  // top-level: c9 len(4) 02 | dtype ndim shape(4) pad | pad zeros | data at offset 16
  const bytes = encode(new Float64Array([1]));
  assert.equal(hex(bytes.subarray(0, 16)), "c90000001202" + "0a01" + "01000000" + "03" + "000000");
  assert.equal(bytes.length, 24);
});

test("malformed input is rejected with DecodeError, never half-decoded", () => {
  const bad = [
    "", "c1", "92 01", "a3 6162", "dd ffffffff", "df 0000ffff", "c4 05 0102", "c7 00 07",
    "81 01 02", "d4 01 ff".replace("ff", ""), "01 02",
    // typed arrays: pad > 7, nonzero pad, wrong data length, ndim 0, unknown dtype
    "c9 00000009 02 0a 01 01000000 08 00", "c9 0000000a 02 05 01 01000000 01 01 07",
    "c9 0000000a 02 0a 01 02000000 00 0102", "c9 00000003 02 0a 00 00", "c9 00000008 02 0c 01 01000000 00 00",
    "a2 c3 28",
  ];
  for (const h of bad) {
    assert.throws(() => decode(fromHex(h)), DecodeError, `bytes ${h}`);
  }
});

test("limits: depth and size", () => {
  let deep = [];
  for (let i = 0; i < 100; i++) deep = [deep];
  const bytes = encode(deep, { maxDepth: 1000 });
  assert.throws(() => decode(bytes), LimitError);
  assert.doesNotThrow(() => decode(bytes, { maxDepth: 200 }));
  assert.throws(() => decode(new Uint8Array(100), { maxSize: 10 }), LimitError);
  assert.throws(() => encode(deep), EncodeError);
});

test("length prefixes larger than the message fail before allocating", () => {
  // array32 of 2^32-1 items with no bytes after: must not try to allocate
  assert.throws(() => decode(fromHex("dd ffffffff")), /needs/);
  assert.throws(() => decode(fromHex("db ffffffff")), /needs/);
});

test("envelopes", () => {
  const m = decodeMessage(encodeMessage("patch", { seq: 3, p: { events: [] } }));
  assert.deepEqual(m, { v: 1, t: "patch", seq: 3, p: { events: [] } });
  assert.throws(() => decodeMessage(encode({ v: 2, t: "x" })), DecodeError);
  assert.throws(() => decodeMessage(encode([1])), DecodeError);
});

test("toWire objects encode as what they return", () => {
  const model = { id: "x", toWire() { return new Ref(this.id); } };
  assert.deepEqual(decode(encode({ m: model })), { m: new Ref("x") });
});
