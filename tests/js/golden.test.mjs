// The browser decoder against the golden vectors (tests/fixtures/make_golden.py writes
// them with its own msgpack writer; Rust and Python check the same files).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { decode, encode, Ref, dtypeOf, shapeOf, isTypedArray } from "../../python/docsync/static/codec.js";

const DIR = new URL("../fixtures/", import.meta.url);
// JSON.parse would round 64-bit integers: wrap every long integer literal as {"$int": "..."}.
const expectedText = readFileSync(new URL("expected.json", DIR), "utf8")
  .replace(/([\[:,]\s*)(-?\d{16,})(?=\s*[,\]\}])/g, '$1{"$int": "$2"}');
const expected = JSON.parse(expectedText);
const names = readdirSync(DIR).filter((f) => f.endsWith(".msgpack")).map((f) => f.slice(0, -8));

/** Fresh, 8-aligned bytes of a vector (a Buffer from readFileSync may sit at any offset). */
function aligned(name) {
  const buf = readFileSync(new URL(`${name}.msgpack`, DIR));
  return new Uint8Array(buf); // copies into a new ArrayBuffer at offset 0
}

const NAT = "-9223372036854775808";

function floatOf(e) {
  if (e && typeof e === "object" && "$float" in e) {
    return { nan: NaN, inf: Infinity, "-inf": -Infinity, "-0.0": -0 }[e.$float];
  }
  return e;
}

function check(actual, exp, path) {
  if (exp === null || typeof exp !== "object") {
    if (typeof exp === "number" && !Number.isInteger(exp)) assert.ok(Object.is(actual, exp), `${path}: ${actual} !== ${exp}`);
    else assert.equal(actual, exp, path);
    return;
  }
  if (Array.isArray(exp)) {
    assert.ok(Array.isArray(actual), `${path}: expected a list`);
    assert.equal(actual.length, exp.length, `${path}: length`);
    exp.forEach((e, i) => check(actual[i], e, `${path}[${i}]`));
    return;
  }
  if ("$int" in exp) {
    const big = BigInt(exp.$int);
    if (big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)) assert.equal(actual, Number(big), path);
    else assert.equal(actual, big, `${path}: 64-bit integers beyond 2^53 decode to BigInt`);
    return;
  }
  if ("$float" in exp) {
    assert.ok(Object.is(actual, floatOf(exp)), `${path}: ${actual} is not ${exp.$float}`);
    return;
  }
  if ("$bytes" in exp) {
    assert.ok(actual instanceof ArrayBuffer, `${path}: bin decodes to an ArrayBuffer`);
    assert.equal(Buffer.from(actual).toString("hex"), exp.$bytes, path);
    return;
  }
  if ("$ref" in exp) {
    assert.ok(actual instanceof Ref, `${path}: expected a Ref`);
    assert.equal(actual.id, exp.$ref, path);
    return;
  }
  if ("$array" in exp) {
    const { dtype, shape, data } = exp.$array;
    assert.ok(isTypedArray(actual), `${path}: expected a typed array`);
    assert.equal(dtypeOf(actual), dtype, `${path}: dtype`);
    assert.deepEqual(shapeOf(actual), shape, `${path}: shape`);
    assert.equal(actual.length, data.length, `${path}: length`);
    data.forEach((d, i) => {
      const a = actual[i];
      const p = `${path}[${i}]`;
      if (dtype === "bool") assert.equal(a, d ? 1 : 0, p);
      else if (dtype === "datetime64[ms]") {
        const s = typeof d === "object" ? d.$int : d;
        if (s === NAT) assert.ok(Number.isNaN(a), `${p}: NaT → NaN`);
        else assert.equal(a, Number(s), p);
      } else if (dtype === "int64" || dtype === "uint64") {
        assert.equal(a, BigInt(typeof d === "object" ? d.$int : d), p);
      } else assert.ok(Object.is(a, floatOf(d)), `${p}: ${a} !== ${JSON.stringify(d)}`);
    });
    return;
  }
  assert.ok(actual && typeof actual === "object" && !Array.isArray(actual), `${path}: expected a map`);
  assert.deepEqual(Object.keys(actual), Object.keys(exp), `${path}: keys (in order)`);
  for (const k of Object.keys(exp)) check(actual[k], exp[k], `${path}.${k}`);
}

test("every fixture has an expected value", () => {
  assert.ok(names.length >= 20, `found ${names.length} vectors`);
  for (const n of names) assert.ok(n in expected, n);
});

for (const name of names) {
  test(`golden ${name}: decodes as expected`, () => {
    const bytes = aligned(name);
    const value = decode(bytes);
    check(value, expected[name], name);
    // also from a Buffer at whatever offset node's pool gives (copies if misaligned)
    check(decode(readFileSync(new URL(`${name}.msgpack`, DIR))), expected[name], name);
  });

  test(`golden ${name}: typed arrays are views of the message (no copy)`, () => {
    const bytes = aligned(name);
    const walk = (v) => {
      if (isTypedArray(v)) {
        if (dtypeOf(v) !== "datetime64[ms]") assert.equal(v.buffer, bytes.buffer, `${name}: a ${dtypeOf(v)} array was copied`);
      } else if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === "object" && !(v instanceof Ref) && !(v instanceof ArrayBuffer)) Object.values(v).forEach(walk);
    };
    walk(decode(bytes));
  });

  test(`golden ${name}: re-encodes to the same value`, () => {
    const bytes = aligned(name);
    const value = decode(bytes);
    check(decode(encode(value)), expected[name], name);
  });
}

// Vectors without integral floats (which JS cannot tell from ints) re-encode byte for byte.
for (const name of names.filter((n) => n.startsWith("dtype_") || ["refs", "nested_maps", "envelope", "array_2d", "array_empty"].includes(n))) {
  test(`golden ${name}: re-encodes byte for byte`, () => {
    const bytes = aligned(name);
    assert.equal(Buffer.from(encode(decode(bytes))).toString("hex"), Buffer.from(bytes).toString("hex"));
  });
}

test("golden snapshot_message loads into a DocumentMirror", async () => {
  const { DocumentMirror } = await import("../../python/docsync/static/document.js");
  const msg = decode(aligned("snapshot_message"));
  const doc = new DocumentMirror();
  doc.applySnapshot(msg.p);
  const p1 = doc.get("p1");
  assert.equal(p1.get("width"), 400);
  assert.equal(p1.get("title"), null);
  assert.equal(p1.get("source"), doc.get("s1"));
  assert.deepEqual([...doc.get("s1").get("data").x], [0, 0.25, 0.5, 0.75, 1]);
  assert.ok(doc.get("s1").get("data").y instanceof Int32Array);
});
