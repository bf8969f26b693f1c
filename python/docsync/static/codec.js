// The docsync wire format (docs/protocol.md): msgpack with two extension types.
//
//   ext 1  a model reference; payload = the model id as UTF-8          → Ref
//   ext 2  a typed array: dtype, ndim, shape, pad, raw little-endian   → TypedArray view
//
// decode() turns typed-array payloads into views of the message's own ArrayBuffer when
// the data is aligned (the encoder pads so it is); it copies only a misaligned payload.
// int64 / uint64 arrays become BigInt64Array / BigUint64Array views; datetime64[ms]
// becomes a Float64Array of milliseconds (a conversion, so a new array; NaT → NaN).
// Arrays with ndim != 1 carry a non-enumerable `shape`; bool and datetime arrays carry a
// non-enumerable `dtype`, so encode() writes them back with the dtype they came with.
// msgpack `bin` decodes to an ArrayBuffer (a copy), so it never gets confused with a
// uint8 typed array (which is a Uint8Array).
//
// Limits are checked while decoding: message size, nesting depth, and every length prefix
// against the bytes actually present (before allocating anything).

export const PROTOCOL_VERSION = 1;

export class DecodeError extends Error {
  constructor(message) {
    super(message);
    this.name = "DecodeError";
  }
}

export class LimitError extends DecodeError {
  constructor(message) {
    super(message);
    this.name = "LimitError";
  }
}

export class EncodeError extends Error {
  constructor(message) {
    super(message);
    this.name = "EncodeError";
  }
}

/** A reference to a model by id (wire: ext type 1). `{ref: id}` as in the architecture. */
export class Ref {
  constructor(id) {
    this.ref = String(id);
  }
  get id() {
    return this.ref;
  }
  toString() {
    return `Ref(${this.ref})`;
  }
}

export const EXT_REF = 1;
export const EXT_ARRAY = 2;

/** dtype code → [name, itemsize, view constructor] (docs/protocol.md table). */
export const DTYPES = [
  ["bool", 1, Uint8Array],
  ["int8", 1, Int8Array],
  ["int16", 2, Int16Array],
  ["int32", 4, Int32Array],
  ["int64", 8, BigInt64Array],
  ["uint8", 1, Uint8Array],
  ["uint16", 2, Uint16Array],
  ["uint32", 4, Uint32Array],
  ["uint64", 8, BigUint64Array],
  ["float32", 4, Float32Array],
  ["float64", 8, Float64Array],
  ["datetime64[ms]", 8, Float64Array],
];
const DTYPE_CODE = new Map(DTYPES.map(([name], code) => [name, code]));
const NAT = -(2n ** 63n);

/** Attach the dtype / shape tags that decode() sets (non-enumerable; tests stay simple). */
export function tagArray(arr, dtype, shape) {
  if (dtype !== undefined && dtype !== defaultDtype(arr)) {
    Object.defineProperty(arr, "dtype", { value: dtype, writable: true, configurable: true });
  }
  if (shape !== undefined && !(shape.length === 1 && shape[0] === arr.length)) {
    Object.defineProperty(arr, "shape", { value: shape, writable: true, configurable: true });
  }
  return arr;
}

/** The wire dtype name of a typed array: its `dtype` tag or its constructor's. */
export function dtypeOf(arr) {
  return (Object.prototype.hasOwnProperty.call(arr, "dtype") && arr.dtype) || defaultDtype(arr);
}

/** The shape of a typed array: its `shape` tag or `[length]`. */
export function shapeOf(arr) {
  return (Object.prototype.hasOwnProperty.call(arr, "shape") && arr.shape) || [arr.length];
}

function defaultDtype(arr) {
  switch (arr.constructor) {
    case Uint8Array: case Uint8ClampedArray: return "uint8";
    case Int8Array: return "int8";
    case Int16Array: return "int16";
    case Int32Array: return "int32";
    case BigInt64Array: return "int64";
    case Uint16Array: return "uint16";
    case Uint32Array: return "uint32";
    case BigUint64Array: return "uint64";
    case Float32Array: return "float32";
    case Float64Array: return "float64";
    default: return undefined;
  }
}

export function isTypedArray(v) {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

export const DEFAULT_LIMITS = Object.freeze({ maxSize: 20 * 1024 * 1024, maxDepth: 64 });

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf8enc = new TextEncoder();

// ---------------------------------------------------------------------------------------
// decode

/**
 * Decode one msgpack value from `bytes` (Uint8Array or ArrayBuffer).
 * Options: `maxSize` (bytes), `maxDepth`. Throws DecodeError / LimitError.
 */
export function decode(bytes, options = {}) {
  const u8 = bytes instanceof Uint8Array ? bytes
    : bytes instanceof ArrayBuffer ? new Uint8Array(bytes)
    : ArrayBuffer.isView(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    : null;
  if (u8 === null) throw new DecodeError("decode() takes a Uint8Array or an ArrayBuffer");
  const maxSize = options.maxSize ?? DEFAULT_LIMITS.maxSize;
  const maxDepth = options.maxDepth ?? DEFAULT_LIMITS.maxDepth;
  if (u8.length > maxSize) {
    throw new LimitError(`message of ${u8.length} bytes is larger than the limit of ${maxSize} bytes`);
  }
  if (u8.length === 0) throw new DecodeError("empty message");
  const d = new Decoder(u8, maxDepth);
  const value = d.value(0);
  if (d.pos !== u8.length) {
    throw new DecodeError(`${u8.length - d.pos} trailing bytes after the value at offset ${d.pos}`);
  }
  return value;
}

class Decoder {
  constructor(u8, maxDepth) {
    this.u8 = u8;
    this.dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
    this.pos = 0;
    this.maxDepth = maxDepth;
  }

  need(n, what) {
    if (n > this.u8.length - this.pos) {
      throw new DecodeError(
        `${what} needs ${n} bytes at offset ${this.pos} but only ${this.u8.length - this.pos} remain`);
    }
  }

  value(depth) {
    if (depth >= this.maxDepth) {
      throw new LimitError(`nesting deeper than the limit of ${this.maxDepth}`);
    }
    this.need(1, "a value");
    const b = this.u8[this.pos++];
    const dv = this.dv;
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    if ((b & 0xf0) === 0x80) return this.map(b & 0x0f, depth);
    if ((b & 0xf0) === 0x90) return this.array(b & 0x0f, depth);
    if ((b & 0xe0) === 0xa0) return this.str(b & 0x1f);
    let v;
    switch (b) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: this.need(1, "bin8 length"); return this.bin(this.u8[this.pos++]);
      case 0xc5: this.need(2, "bin16 length"); v = dv.getUint16(this.pos); this.pos += 2; return this.bin(v);
      case 0xc6: this.need(4, "bin32 length"); v = dv.getUint32(this.pos); this.pos += 4; return this.bin(v);
      case 0xc7: this.need(1, "ext8 length"); v = this.u8[this.pos++]; return this.ext(v);
      case 0xc8: this.need(2, "ext16 length"); v = dv.getUint16(this.pos); this.pos += 2; return this.ext(v);
      case 0xc9: this.need(4, "ext32 length"); v = dv.getUint32(this.pos); this.pos += 4; return this.ext(v);
      case 0xca: this.need(4, "float32"); v = dv.getFloat32(this.pos); this.pos += 4; return v;
      case 0xcb: this.need(8, "float64"); v = dv.getFloat64(this.pos); this.pos += 8; return v;
      case 0xcc: this.need(1, "uint8"); return this.u8[this.pos++];
      case 0xcd: this.need(2, "uint16"); v = dv.getUint16(this.pos); this.pos += 2; return v;
      case 0xce: this.need(4, "uint32"); v = dv.getUint32(this.pos); this.pos += 4; return v;
      case 0xcf: this.need(8, "uint64"); v = dv.getBigUint64(this.pos); this.pos += 8; return bigToNumber(v);
      case 0xd0: this.need(1, "int8"); v = dv.getInt8(this.pos); this.pos += 1; return v;
      case 0xd1: this.need(2, "int16"); v = dv.getInt16(this.pos); this.pos += 2; return v;
      case 0xd2: this.need(4, "int32"); v = dv.getInt32(this.pos); this.pos += 4; return v;
      case 0xd3: this.need(8, "int64"); v = dv.getBigInt64(this.pos); this.pos += 8; return bigToNumber(v);
      case 0xd4: return this.ext(1);
      case 0xd5: return this.ext(2);
      case 0xd6: return this.ext(4);
      case 0xd7: return this.ext(8);
      case 0xd8: return this.ext(16);
      case 0xd9: this.need(1, "str8 length"); return this.str(this.u8[this.pos++]);
      case 0xda: this.need(2, "str16 length"); v = dv.getUint16(this.pos); this.pos += 2; return this.str(v);
      case 0xdb: this.need(4, "str32 length"); v = dv.getUint32(this.pos); this.pos += 4; return this.str(v);
      case 0xdc: this.need(2, "array16 length"); v = dv.getUint16(this.pos); this.pos += 2; return this.array(v, depth);
      case 0xdd: this.need(4, "array32 length"); v = dv.getUint32(this.pos); this.pos += 4; return this.array(v, depth);
      case 0xde: this.need(2, "map16 length"); v = dv.getUint16(this.pos); this.pos += 2; return this.map(v, depth);
      case 0xdf: this.need(4, "map32 length"); v = dv.getUint32(this.pos); this.pos += 4; return this.map(v, depth);
      default: throw new DecodeError(`invalid msgpack type byte 0x${b.toString(16)} at offset ${this.pos - 1}`);
    }
  }

  str(n) {
    this.need(n, "a string");
    const start = this.pos;
    this.pos += n;
    if (n < 24) {
      // Short strings (keys, names): a plain loop beats TextDecoder's call overhead.
      let s = "";
      for (let i = start; i < start + n; i++) {
        const c = this.u8[i];
        if (c >= 0x80) return this.utf8(start, n);
        s += String.fromCharCode(c);
      }
      return s;
    }
    return this.utf8(start, n);
  }

  utf8(start, n) {
    try {
      return utf8.decode(this.u8.subarray(start, start + n));
    } catch {
      throw new DecodeError(`invalid UTF-8 in a string at offset ${start}`);
    }
  }

  bin(n) {
    this.need(n, "a bin payload");
    const start = this.u8.byteOffset + this.pos;
    this.pos += n;
    return this.u8.buffer.slice(start, start + n);
  }

  array(n, depth) {
    this.need(n, `an array of ${n} items`); // each item takes at least one byte
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.value(depth + 1);
    return out;
  }

  map(n, depth) {
    this.need(2 * n, `a map of ${n} entries`);
    const out = {};
    for (let i = 0; i < n; i++) {
      const keyPos = this.pos;
      const key = this.value(depth + 1);
      if (typeof key !== "string") {
        throw new DecodeError(`map key at offset ${keyPos} is not a string`);
      }
      const val = this.value(depth + 1);
      if (key === "__proto__") {
        Object.defineProperty(out, key, { value: val, enumerable: true, writable: true, configurable: true });
      } else {
        out[key] = val;
      }
    }
    return out;
  }

  ext(n) {
    this.need(1 + n, "an ext payload");
    const type = this.dv.getInt8(this.pos);
    const start = this.pos + 1;
    this.pos = start + n;
    if (type === EXT_REF) {
      if (n === 0) throw new DecodeError(`empty model reference at offset ${start}`);
      return new Ref(this.utf8(start, n));
    }
    if (type === EXT_ARRAY) return this.typedArray(start, n);
    throw new DecodeError(`unknown ext type ${type} at offset ${start - 1}`);
  }

  typedArray(start, n) {
    const u8 = this.u8;
    const end = start + n;
    if (n < 3) throw new DecodeError(`typed array header truncated at offset ${start}`);
    const code = u8[start];
    const ndim = u8[start + 1];
    if (code >= DTYPES.length) throw new DecodeError(`unknown dtype code ${code} at offset ${start}`);
    if (ndim < 1 || ndim > 8) throw new DecodeError(`typed array ndim ${ndim} is not in 1..=8 (offset ${start + 1})`);
    let p = start + 2;
    if (p + 4 * ndim + 1 > end) throw new DecodeError(`typed array header truncated at offset ${start}`);
    const shape = new Array(ndim);
    let count = 1;
    for (let i = 0; i < ndim; i++) {
      shape[i] = this.dv.getUint32(p, true);
      count *= shape[i];
      p += 4;
    }
    const pad = u8[p++];
    if (pad > 7) throw new DecodeError(`typed array pad ${pad} is larger than 7 (offset ${p - 1})`);
    if (p + pad > end) throw new DecodeError(`typed array padding truncated at offset ${p}`);
    for (let i = 0; i < pad; i++) {
      if (u8[p + i] !== 0) throw new DecodeError(`typed array padding byte at offset ${p + i} is not zero`);
    }
    p += pad;
    const [dtype, itemsize, Ctor] = DTYPES[code];
    const nbytes = count * itemsize;
    if (end - p !== nbytes) {
      throw new DecodeError(
        `typed array of shape [${shape}] ${dtype} needs ${nbytes} data bytes but the payload holds ${end - p}`);
    }
    const abs = u8.byteOffset + p;
    let arr;
    if (code === 11) {
      arr = new Float64Array(count);
      const dv = this.dv;
      for (let i = 0; i < count; i++) {
        const v = dv.getBigInt64(p + 8 * i, true);
        arr[i] = v === NAT ? NaN : Number(v);
      }
    } else if (!LITTLE_ENDIAN && itemsize > 1) {
      arr = new Ctor(count);
      const dv = new DataView(u8.buffer, abs, nbytes);
      const get = GETTERS[code];
      for (let i = 0; i < count; i++) arr[i] = dv[get](i * itemsize, true);
    } else if (abs % itemsize === 0) {
      arr = new Ctor(u8.buffer, abs, count); // the zero-copy path
    } else {
      arr = new Ctor(u8.buffer.slice(abs, abs + nbytes)); // misaligned: copy
    }
    return tagArray(arr, dtype, ndim === 1 ? undefined : shape);
  }
}

const GETTERS = ["getUint8", "getInt8", "getInt16", "getInt32", "getBigInt64", "getUint8", "getUint16",
  "getUint32", "getBigUint64", "getFloat32", "getFloat64"];

function bigToNumber(v) {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

// ---------------------------------------------------------------------------------------
// encode

/**
 * Encode a value as msgpack bytes (a Uint8Array over a fresh buffer, so typed-array data
 * sits at 8-aligned offsets of `result.buffer`).
 *
 * null/undefined → nil; integers (safe range, not -0) → int; other numbers → float64;
 * BigInt → int64/uint64; strings; ArrayBuffer/DataView → bin; typed arrays → ext 2
 * (dtype from the `dtype` tag or the constructor, shape from the `shape` tag); Ref → ext 1;
 * objects with `toWire()` → what it returns (ModelMirror → Ref); Map and plain objects → map;
 * arrays → array; Date → float64 ms.
 */
export function encode(value, options = {}) {
  const e = new Encoder(options.maxDepth ?? DEFAULT_LIMITS.maxDepth);
  e.value(value, 0);
  return e.u8.subarray(0, e.pos);
}

class Encoder {
  constructor(maxDepth) {
    this.u8 = new Uint8Array(256);
    this.dv = new DataView(this.u8.buffer);
    this.pos = 0;
    this.maxDepth = maxDepth;
  }

  ensure(n) {
    const need = this.pos + n;
    if (need <= this.u8.length) return;
    let cap = this.u8.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.u8.subarray(0, this.pos));
    this.u8 = next;
    this.dv = new DataView(next.buffer);
  }

  byte(b) { this.ensure(1); this.u8[this.pos++] = b; }
  u16(b, v) { this.ensure(3); this.u8[this.pos++] = b; this.dv.setUint16(this.pos, v); this.pos += 2; }
  u32(b, v) { this.ensure(5); this.u8[this.pos++] = b; this.dv.setUint32(this.pos, v); this.pos += 4; }

  value(v, depth) {
    if (depth >= this.maxDepth) throw new EncodeError(`value nested deeper than ${this.maxDepth}`);
    switch (typeof v) {
      case "undefined": this.byte(0xc0); return;
      case "boolean": this.byte(v ? 0xc3 : 0xc2); return;
      case "number": this.number(v); return;
      case "bigint": this.bigint(v); return;
      case "string": this.str(v); return;
      case "object": break;
      default: throw new EncodeError(`cannot encode a value of type ${typeof v}`);
    }
    if (v === null) { this.byte(0xc0); return; }
    if (Array.isArray(v)) {
      this.arrayHeader(v.length);
      for (let i = 0; i < v.length; i++) this.value(v[i], depth + 1);
      return;
    }
    if (v instanceof Ref) { this.ref(v.ref); return; }
    if (isTypedArray(v)) { this.typedArray(v); return; }
    if (v instanceof ArrayBuffer) { this.bin(new Uint8Array(v)); return; }
    if (v instanceof DataView) { this.bin(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)); return; }
    if (typeof v.toWire === "function") { this.value(v.toWire(), depth); return; }
    if (v instanceof Date) { this.float(v.getTime()); return; }
    if (v instanceof Map) {
      this.mapHeader(v.size);
      for (const [k, x] of v) {
        if (typeof k !== "string") throw new EncodeError("map keys must be strings");
        this.str(k);
        this.value(x, depth + 1);
      }
      return;
    }
    const keys = Object.keys(v);
    this.mapHeader(keys.length);
    for (const k of keys) {
      this.str(k);
      this.value(v[k], depth + 1);
    }
  }

  number(v) {
    if (Number.isInteger(v) && Number.isSafeInteger(v) && !Object.is(v, -0)) {
      if (v >= 0) {
        if (v <= 0x7f) this.byte(v);
        else if (v <= 0xff) { this.ensure(2); this.u8[this.pos++] = 0xcc; this.u8[this.pos++] = v; }
        else if (v <= 0xffff) this.u16(0xcd, v);
        else if (v <= 0xffffffff) this.u32(0xce, v);
        else { this.ensure(9); this.u8[this.pos++] = 0xcf; this.dv.setBigUint64(this.pos, BigInt(v)); this.pos += 8; }
      } else {
        if (v >= -32) this.byte(v + 0x100);
        else if (v >= -0x80) { this.ensure(2); this.u8[this.pos++] = 0xd0; this.dv.setInt8(this.pos++, v); }
        else if (v >= -0x8000) { this.ensure(3); this.u8[this.pos++] = 0xd1; this.dv.setInt16(this.pos, v); this.pos += 2; }
        else if (v >= -0x80000000) { this.ensure(5); this.u8[this.pos++] = 0xd2; this.dv.setInt32(this.pos, v); this.pos += 4; }
        else { this.ensure(9); this.u8[this.pos++] = 0xd3; this.dv.setBigInt64(this.pos, BigInt(v)); this.pos += 8; }
      }
      return;
    }
    this.float(v);
  }

  float(v) {
    this.ensure(9);
    this.u8[this.pos++] = 0xcb;
    this.dv.setFloat64(this.pos, v);
    this.pos += 8;
  }

  bigint(v) {
    if (v >= -(2n ** 63n) && v < 2n ** 63n) {
      if (v >= -9007199254740991n && v <= 9007199254740991n) { this.number(Number(v)); return; }
      this.ensure(9); this.u8[this.pos++] = 0xd3; this.dv.setBigInt64(this.pos, v); this.pos += 8;
    } else if (v >= 0n && v < 2n ** 64n) {
      this.ensure(9); this.u8[this.pos++] = 0xcf; this.dv.setBigUint64(this.pos, v); this.pos += 8;
    } else {
      throw new EncodeError(`integer ${v} does not fit in 64 bits`);
    }
  }

  str(s) {
    // Worst case 3 bytes per UTF-16 unit; write the bytes first, then the header.
    const max = s.length * 3;
    const headerLen = max < 32 ? 1 : max <= 0xff ? 2 : max <= 0xffff ? 3 : 5;
    this.ensure(headerLen + max);
    const start = this.pos + headerLen;
    let n;
    if (s.length < 24) {
      n = 0;
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) { n = -1; break; }
        this.u8[start + n++] = c;
      }
      if (n < 0) n = utf8enc.encodeInto(s, this.u8.subarray(start)).written;
    } else {
      n = utf8enc.encodeInto(s, this.u8.subarray(start)).written;
    }
    // Move the header to the real (smallest) size.
    const realHeader = n < 32 ? 1 : n <= 0xff ? 2 : n <= 0xffff ? 3 : 5;
    if (realHeader !== headerLen) this.u8.copyWithin(this.pos + realHeader, start, start + n);
    const p = this.pos;
    if (realHeader === 1) this.u8[p] = 0xa0 | n;
    else if (realHeader === 2) { this.u8[p] = 0xd9; this.u8[p + 1] = n; }
    else if (realHeader === 3) { this.u8[p] = 0xda; this.dv.setUint16(p + 1, n); }
    else { this.u8[p] = 0xdb; this.dv.setUint32(p + 1, n); }
    this.pos = p + realHeader + n;
  }

  bin(bytes) {
    const n = bytes.length;
    if (n <= 0xff) { this.ensure(2); this.u8[this.pos++] = 0xc4; this.u8[this.pos++] = n; }
    else if (n <= 0xffff) this.u16(0xc5, n);
    else this.u32(0xc6, n);
    this.ensure(n);
    this.u8.set(bytes, this.pos);
    this.pos += n;
  }

  arrayHeader(n) {
    if (n < 16) this.byte(0x90 | n);
    else if (n <= 0xffff) this.u16(0xdc, n);
    else this.u32(0xdd, n);
  }

  mapHeader(n) {
    if (n < 16) this.byte(0x80 | n);
    else if (n <= 0xffff) this.u16(0xde, n);
    else this.u32(0xdf, n);
  }

  ref(id) {
    const bytes = utf8enc.encode(id);
    const n = bytes.length;
    if (n === 0) throw new EncodeError("a model reference needs a non-empty id");
    const fix = { 1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8 }[n];
    if (fix !== undefined) { this.ensure(2); this.u8[this.pos++] = fix; }
    else if (n <= 0xff) { this.ensure(2); this.u8[this.pos++] = 0xc7; this.u8[this.pos++] = n; }
    else if (n <= 0xffff) this.u16(0xc8, n);
    else this.u32(0xc9, n);
    this.ensure(1 + n);
    this.u8[this.pos++] = EXT_REF;
    this.u8.set(bytes, this.pos);
    this.pos += n;
  }

  typedArray(arr) {
    const dtype = dtypeOf(arr);
    const code = DTYPE_CODE.get(dtype);
    if (code === undefined) throw new EncodeError(`cannot encode a ${arr.constructor.name} (no wire dtype)`);
    const itemsize = DTYPES[code][1];
    const shape = shapeOf(arr);
    const ndim = shape.length;
    if (ndim < 1 || ndim > 8) throw new EncodeError(`typed arrays need 1..=8 dimensions, not ${ndim}`);
    let count = 1;
    for (const s of shape) count *= s;
    if (count !== arr.length) throw new EncodeError(`shape [${shape}] does not match ${arr.length} elements`);
    const nbytes = count * itemsize;
    // 0xc9, u32 length, i8 type, then dtype, ndim, shape, pad byte → data must be 8-aligned.
    const unpadded = this.pos + 6 + 2 + 4 * ndim + 1;
    const pad = (8 - (unpadded % 8)) % 8;
    const len = 2 + 4 * ndim + 1 + pad + nbytes;
    if (len > 0xffffffff) throw new EncodeError("typed array too large");
    this.ensure(6 + len);
    const u8 = this.u8;
    const dv = this.dv;
    let p = this.pos;
    u8[p++] = 0xc9;
    dv.setUint32(p, len); p += 4;
    u8[p++] = EXT_ARRAY;
    u8[p++] = code;
    u8[p++] = ndim;
    for (const s of shape) { dv.setUint32(p, s, true); p += 4; }
    u8[p++] = pad;
    for (let i = 0; i < pad; i++) u8[p++] = 0;
    if (code === 11) {
      for (let i = 0; i < count; i++) {
        const v = arr[i];
        dv.setBigInt64(p + 8 * i, Number.isFinite(v) ? BigInt(Math.round(v)) : NAT, true);
      }
    } else if (!LITTLE_ENDIAN && itemsize > 1) {
      const set = GETTERS[code].replace("get", "set");
      for (let i = 0; i < count; i++) dv[set](p + i * itemsize, arr[i], true);
    } else {
      u8.set(new Uint8Array(arr.buffer, arr.byteOffset, nbytes), p);
    }
    this.pos = p + nbytes;
  }
}

// ---------------------------------------------------------------------------------------
// envelopes

/** Build a message envelope `{v: 1, t, ...fields}` and encode it. */
export function encodeMessage(t, fields = {}) {
  return encode({ v: PROTOCOL_VERSION, t, ...fields });
}

/** Decode a message and check the envelope (`v` = 1, `t` a string). */
export function decodeMessage(bytes, options) {
  const msg = decode(bytes, options);
  if (msg === null || typeof msg !== "object" || Array.isArray(msg) || isTypedArray(msg) || msg instanceof Ref) {
    throw new DecodeError("a message must be a map");
  }
  if (msg.v !== PROTOCOL_VERSION) throw new DecodeError(`unsupported protocol version ${msg.v}`);
  if (typeof msg.t !== "string") throw new DecodeError("a message needs a string `t`");
  return msg;
}
