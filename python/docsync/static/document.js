// The browser's mirror of a docsync document (docs/architecture.md, "Browser").
//
// DocumentMirror holds ModelMirror objects by id and applies snapshots and patches with
// the engine's semantics (docs/protocol.md): every event of a patch is validated against
// the document *as the earlier events of the same patch leave it* before anything changes,
// so a bad patch changes nothing. Column data (a ColumnDataSource's `data`) lives in
// growable typed buffers once it is streamed or patched: a stream costs O(new rows)
// including rollover (a start offset plus capacity doubling, with amortised in-place
// compaction), and `get("data")[name]` is a subarray view. A view is valid until the next
// stream / patch of its source: compaction moves the live rows to the front of the same
// buffer (no allocation at steady state, so no GC pauses while streaming), so take
// `get("data")` again after each change notification, as views and CustomJS do.

import { Ref, isTypedArray, tagArray, dtypeOf, shapeOf } from "./codec.js";

export class PatchError extends Error {
  constructor(message) {
    super(message);
    this.name = "PatchError";
  }
}

// ---------------------------------------------------------------------------------------
// column store

const product = (xs) => xs.reduce((a, b) => a * b, 1);
const isBigArray = (a) => a instanceof BigInt64Array || a instanceof BigUint64Array;
const isArrayLike = (v) => Array.isArray(v) || isTypedArray(v);

function toElement(target, v) {
  // Converts one incoming value for a typed buffer `target`.
  if (isBigArray(target)) {
    if (typeof v === "bigint") return v;
    if (typeof v === "number" && Number.isFinite(v)) return BigInt(Math.trunc(v));
    if (typeof v === "boolean") return v ? 1n : 0n;
    return 0n;
  }
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "boolean") return v ? 1 : 0;
  return NaN; // null (missing) → NaN, as numpy would store it in a float column
}

const INT_RANGES = {
  int8: [-128n, 127n], int16: [-32768n, 32767n], int32: [-(2n ** 31n), 2n ** 31n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n], "datetime64[ms]": [-(2n ** 63n), 2n ** 63n - 1n],
  uint8: [0n, 255n], uint16: [0n, 65535n], uint32: [0n, 2n ** 32n - 1n], uint64: [0n, 2n ** 64n - 1n],
};

/**
 * The engine's rules for values entering a typed column of `dtype` (validation only):
 * anything numeric into float columns; ints (in range) into int columns, never floats;
 * only bools into bool columns; nil only into float and datetime columns (NaN / NaT).
 */
function checkValues(dtype, values, where) {
  const isFloat = dtype === "float32" || dtype === "float64";
  const bad = (what) => new PatchError(`${where}: the column holds ${dtype}; cannot store ${what} in it`
    + (what.startsWith("float") && !isFloat ? " (floats into int columns would lose data)" : ""));
  if (isTypedArray(values)) {
    const vd = dtypeOf(values);
    if (vd === dtype || isFloat) return;
    if (dtype === "datetime64[ms]" && (vd === "float64" || vd === "float32")) return; // ms as JS numbers
    if (vd === "float32" || vd === "float64") throw bad("float values");
    if (dtype === "bool" || vd === "bool") throw bad(`${vd} values`);
    const [lo, hi] = INT_RANGES[dtype];
    for (const v of values) {
      const b = BigInt(v);
      if (b < lo || b > hi) throw new PatchError(`${where}: value ${b} does not fit a column of ${dtype}`);
    }
    return;
  }
  for (const v of values) {
    if (v === null) {
      if (isFloat || dtype === "datetime64[ms]") continue;
      throw bad("nil");
    }
    if (typeof v === "boolean") {
      if (dtype === "datetime64[ms]") throw bad("bool values");
      continue;
    }
    if (typeof v !== "number" && typeof v !== "bigint") throw bad(`${typeof v} values`);
    if (isFloat) continue;
    if (dtype === "bool") throw bad("int values");
    if (typeof v === "number" && !Number.isInteger(v)) {
      if (dtype === "datetime64[ms]" && Number.isFinite(v)) continue; // JS ms numbers
      throw bad("float values");
    }
    const [lo, hi] = INT_RANGES[dtype];
    const b = BigInt(v);
    if (b < lo || b > hi) throw new PatchError(`${where}: value ${b} does not fit a column of ${dtype}`);
  }
}

/** A typed column: rows [start, start + len) of `buf`, each row `rowSize` elements. */
class TypedColumn {
  constructor(arr) {
    const shape = shapeOf(arr);
    this.dtype = dtypeOf(arr);
    this.tail = shape.slice(1);
    this.rowSize = product(this.tail);
    this.Ctor = arr.constructor;
    this.buf = arr; // starts as the decoded view itself: no copy until an append needs room
    this.owned = false; // a buffer we allocated (never the message's or the caller's memory)
    this.start = 0;
    this.len = shape[0];
    this.cap = this.len;
  }

  get typed() { return true; }

  view() {
    const r = this.rowSize;
    const v = this.buf.subarray(this.start * r, (this.start + this.len) * r);
    return tagArray(v, this.dtype, this.tail.length ? [this.len, ...this.tail] : undefined);
  }

  /** Keep the last `keep` rows of the column. */
  keepLast(keep) {
    if (keep < this.len) {
      this.start += this.len - keep;
      this.len = keep;
    }
  }

  /**
   * Make room for `n` more rows. While the live rows fit in half the capacity they are
   * moved to the front in place (no allocation, so no GC pressure at steady state with a
   * rollover); otherwise the buffer doubles. Either way a move happens only after at
   * least as many rows were appended as it copies: O(1) amortised per row.
   */
  reserve(n) {
    const need = this.len + n;
    if (this.start + need <= this.cap) return;
    const r = this.rowSize;
    if (this.owned && need * 2 <= this.cap) {
      this.buf.copyWithin(0, this.start * r, (this.start + this.len) * r);
      this.start = 0;
      return;
    }
    const cap = Math.max(need * 2, 16);
    const next = new this.Ctor(cap * r);
    next.set(this.buf.subarray(this.start * r, (this.start + this.len) * r));
    this.buf = next;
    this.owned = true;
    this.start = 0;
    this.cap = cap;
  }

  /** Append rows `from..n` of `values` (typed array, or list of scalars / rows). */
  append(values, from, n) {
    const count = n - from;
    this.reserve(count);
    const r = this.rowSize;
    const at = (this.start + this.len) * r;
    const buf = this.buf;
    if (isTypedArray(values) && values.constructor === this.Ctor) {
      buf.set(values.subarray(from * r, n * r), at);
    } else if (isTypedArray(values)) {
      for (let i = from * r, j = at; i < n * r; i++, j++) buf[j] = toElement(buf, values[i]);
    } else if (r === 1) {
      for (let i = from, j = at; i < n; i++, j++) buf[j] = toElement(buf, values[i]);
    } else {
      let j = at;
      for (let i = from; i < n; i++) {
        const row = flatten(values[i]);
        for (let k = 0; k < r; k++) buf[j++] = toElement(buf, row[k]);
      }
    }
    this.len += count;
  }

  /** Write flattened `values` at element offsets relative to the first live row. */
  writeElements(elems, values) {
    const base = this.start * this.rowSize;
    const buf = this.buf;
    for (let k = 0; k < elems.length; k++) buf[base + elems[k]] = toElement(buf, values[k]);
  }
}

/** A list column (strings, mixed values, lists of arrays). */
class ListColumn {
  constructor(items) {
    this.items = Array.isArray(items) ? items : Array.from(items);
    this.tail = [];
    this.rowSize = 1;
  }
  get typed() { return false; }
  get len() { return this.items.length; }
  view() { return this.items; }
  keepLast(keep) {
    if (keep < this.items.length) this.items.splice(0, this.items.length - keep);
  }
  append(values, from, n) {
    if (isTypedArray(values)) {
      const shape = shapeOf(values);
      const r = product(shape.slice(1));
      for (let i = from; i < n; i++) {
        this.items.push(r === 1 ? values[i] : tagArray(values.subarray(i * r, (i + 1) * r), dtypeOf(values), shape.slice(1)));
      }
    } else {
      for (let i = from; i < n; i++) this.items.push(values[i]);
    }
  }
  /** Rows of a typed array as list items (scalars, or sub-arrays of n-d rows). */
  appendAll(values) {
    this.append(values, 0, rowsOf(values));
    return this.items;
  }
}

function flatten(v) {
  if (isTypedArray(v)) return v;
  if (!Array.isArray(v)) return [v];
  if (!v.some((x) => isArrayLike(x))) return v;
  const out = [];
  const walk = (x) => { if (isArrayLike(x)) for (const y of x) walk(y); else out.push(x); };
  walk(v);
  return out;
}

/** Column data of one property, in growable buffers. */
export class ColumnStore {
  constructor(map) {
    this.columns = new Map();
    for (const [name, arr] of Object.entries(map)) this.columns.set(name, makeColumn(arr));
    this._object = null;
  }

  get length() {
    for (const c of this.columns.values()) return c.len;
    return 0;
  }

  /** `{name: TypedArray | Array}`, cached until the next change. */
  object() {
    if (this._object === null) {
      const o = {};
      for (const [name, c] of this.columns) o[name] = c.view();
      this._object = o;
    }
    return this._object;
  }

  changed() { this._object = null; }

  stream(columns, rollover) {
    let n = 0;
    for (const v of Object.values(columns)) { n = rowsOf(v); break; }
    const oldLen = this.length;
    let from = 0;
    let keepOld = oldLen;
    if (rollover != null) {
      from = Math.max(0, n - rollover);
      keepOld = Math.min(oldLen, Math.max(0, rollover - n));
    }
    for (const [name, col] of this.columns) {
      const values = columns[name];
      col.keepLast(keepOld);
      col.append(values, from, n);
    }
    this.changed();
    return { added: n, removed: oldLen + n - this.length };
  }

  replace(columns) {
    for (const [name, arr] of Object.entries(columns)) this.columns.set(name, makeColumn(arr));
    this.changed();
  }
}

function makeColumn(arr) {
  return isTypedArray(arr) ? new TypedColumn(arr) : new ListColumn(arr);
}

function rowsOf(v) {
  return isTypedArray(v) ? shapeOf(v)[0] : v.length;
}

/** Is `v` a column map (`{name: array}` with every value a typed array or a list)? */
function isColumnMap(v) {
  if (v instanceof ColumnStore) return true;
  if (v === null || typeof v !== "object" || Array.isArray(v) || isTypedArray(v) || v instanceof Ref) return false;
  for (const x of Object.values(v)) if (!isArrayLike(x)) return false;
  return true;
}

/** {names, len, rowShape(name)} of a column map value, for validation. */
function columnInfo(v) {
  if (v instanceof ColumnStore) {
    const cols = new Map();
    for (const [name, c] of v.columns) cols.set(name, { len: c.len, tail: c.tail, typed: c.typed, dtype: c.dtype });
    return cols;
  }
  const cols = new Map();
  for (const [name, arr] of Object.entries(v)) {
    cols.set(name, isTypedArray(arr)
      ? { len: shapeOf(arr)[0], tail: shapeOf(arr).slice(1), typed: true, dtype: dtypeOf(arr) }
      : { len: arr.length, tail: [], typed: false });
  }
  return cols;
}

// ---------------------------------------------------------------------------------------
// slices and indices (ColumnsPatched)

function isSlice(x) {
  return x !== null && typeof x === "object" && !Array.isArray(x) && !isTypedArray(x) && !(x instanceof Ref);
}

/** Positions selected along an axis of length `len` by an int or a slice map (the engine's rules). */
function axisPositions(ix, len, where, what = "index") {
  if (typeof ix === "number") {
    if (!Number.isInteger(ix)) throw new PatchError(`${where}: ${what} ${ix} is not an integer`);
    if (ix < 0) throw new PatchError(`${where}: negative ${what} ${ix}`);
    if (ix >= len) throw new PatchError(`${where}: ${what} ${ix} out of range (length ${len})`);
    return [ix];
  }
  if (!isSlice(ix)) throw new PatchError(`${where}: an index must be an int, a slice map or a list`);
  for (const k of Object.keys(ix)) {
    if (k !== "start" && k !== "stop" && k !== "step") {
      throw new PatchError(`${where}: slice has an unknown key ${JSON.stringify(k)} (allowed: start, stop, step)`);
    }
  }
  const field = (k) => {
    const v = ix[k];
    if (v === undefined || v === null) return null;
    if (!Number.isInteger(v)) throw new PatchError(`${where}: slice ${k} must be an int or nil`);
    return v;
  };
  const start0 = field("start");
  const stop0 = field("stop");
  const step = field("step") ?? 1;
  for (const [k, v] of [["start", start0], ["stop", stop0]]) {
    if (v !== null && v < 0) throw new PatchError(`${where}: negative slice ${k} ${v} (negative slices are not supported)`);
  }
  if (step <= 0) throw new PatchError(`${where}: slice step must be positive, got ${step}`);
  const start = start0 ?? 0;
  const stop = stop0 ?? len;
  if (start > stop) throw new PatchError(`${where}: reversed slice (start ${start} > stop ${stop})`);
  if (stop > len) throw new PatchError(`${where}: slice stop ${stop} out of range (length ${len})`);
  const out = [];
  for (let i = start; i < stop; i += step) out.push(i);
  return out;
}

/**
 * One `[index, value]` patch of a column described by `c` ({len, tail, typed}), checked
 * as the engine does. Typed columns: element offsets (flat, relative to the first live
 * row) and the flattened values; list columns: rows and one value per row.
 */
function planPatch(c, index, value, where) {
  if (c.typed) {
    const rowSize = product(c.tail);
    let elems;
    if (Array.isArray(index)) {
      if (c.tail.length === 0) throw new PatchError(`${where}: a multi-index needs a column of n-d rows; this column is 1-d`);
      if (index.length === 0 || index.length > 1 + c.tail.length) {
        throw new PatchError(`${where}: a multi-index has 1 to ${1 + c.tail.length} entries, got ${index.length}`);
      }
      if (!Number.isInteger(index[0])) throw new PatchError(`${where}: the first entry of a multi-index must be a row number`);
      const axes = [axisPositions(index[0], c.len, where, "row")];
      c.tail.forEach((dim, d) => {
        axes.push(index[d + 1] === undefined ? [...Array(dim).keys()] : axisPositions(index[d + 1], dim, where));
      });
      const dims = [c.len, ...c.tail];
      elems = [0];
      axes.forEach((positions, d) => {
        const next = [];
        for (const o of elems) for (const p of positions) next.push(o * dims[d] + p);
        elems = next;
      });
    } else {
      const rows = axisPositions(index, c.len, where);
      elems = [];
      for (const r of rows) for (let k = 0; k < rowSize; k++) elems.push(r * rowSize + k);
    }
    const values = flatten(value);
    if (values.length !== elems.length) {
      throw new PatchError(`${where}: the index selects ${elems.length} element(s) but ${values.length} value(s) were given`);
    }
    if (c.dtype) checkValues(c.dtype, values, where);
    return { elems, values };
  }
  if (Array.isArray(index)) throw new PatchError(`${where}: a multi-index needs a typed column of n-d rows`);
  const rows = axisPositions(index, c.len, where);
  if (typeof index === "number") return { rows, values: [value] };
  let values;
  if (Array.isArray(value)) values = value;
  else if (isTypedArray(value)) values = new ListColumn([]).appendAll(value);
  else throw new PatchError(`${where}: a slice needs a list of values`);
  if (values.length !== rows.length) {
    throw new PatchError(`${where}: the slice selects ${rows.length} row(s) but ${values.length} value(s) were given`);
  }
  return { rows, values };
}

// ---------------------------------------------------------------------------------------
// values

/** Replace Refs by models (and models by themselves), allocating only where needed. */
function resolveValue(doc, v) {
  if (v instanceof Ref) return doc.models.get(v.ref) ?? v;
  if (Array.isArray(v)) {
    let out = null;
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (x !== null && typeof x === "object") {
        const r = resolveValue(doc, x);
        if (r !== x) {
          if (out === null) out = v.slice();
          out[i] = r;
        }
      }
    }
    return out ?? v;
  }
  if (v !== null && typeof v === "object" && !isTypedArray(v) && !(v instanceof ArrayBuffer) && !(v instanceof ModelMirror)
      && Object.getPrototypeOf(v) === Object.prototype) {
    let out = null;
    for (const k of Object.keys(v)) {
      const x = v[k];
      if (x !== null && typeof x === "object") {
        const r = resolveValue(doc, x);
        if (r !== x) {
          if (out === null) out = { ...v };
          out[k] = r;
        }
      }
    }
    return out ?? v;
  }
  return v;
}

/** Models → Refs, deeply (what local sets store and send). */
export function toWireValue(v) {
  if (v instanceof ModelMirror) return new Ref(v.id);
  if (Array.isArray(v)) return v.some((x) => x !== null && typeof x === "object") ? v.map(toWireValue) : v;
  if (v !== null && typeof v === "object" && !isTypedArray(v) && !(v instanceof Ref) && !(v instanceof ArrayBuffer)
      && Object.getPrototypeOf(v) === Object.prototype) {
    const out = {};
    for (const k of Object.keys(v)) out[k] = toWireValue(v[k]);
    return out;
  }
  return v;
}

function forEachRef(v, f) {
  if (v instanceof Ref) f(v.ref);
  else if (Array.isArray(v)) for (const x of v) { if (x !== null && typeof x === "object") forEachRef(x, f); }
  else if (v !== null && typeof v === "object" && !isTypedArray(v) && !(v instanceof ArrayBuffer) && !(v instanceof ColumnStore)) {
    for (const x of Object.values(v)) if (x !== null && typeof x === "object") forEachRef(x, f);
  }
}

/** Structural equality (typed arrays by content, NaN equal to NaN). */
export function sameValue(a, b) {
  if (Object.is(a, b)) return true;
  if (a instanceof ColumnStore) a = a.object();
  if (b instanceof ColumnStore) b = b.object();
  if (a instanceof Ref || b instanceof Ref) return a instanceof Ref && b instanceof Ref && a.ref === b.ref;
  if (isTypedArray(a) || isTypedArray(b)) {
    if (!isTypedArray(a) || !isTypedArray(b) || a.constructor !== b.constructor || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }
  if (a && b && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    if (ka.length !== kb.length) return false;
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i] || !sameValue(a[ka[i]], b[kb[i]])) return false;
    return true;
  }
  return false;
}

function callSafely(cb, ...args) {
  try {
    cb(...args);
  } catch (err) {
    console.error("docsync: a change listener failed:", err);
  }
}

// ---------------------------------------------------------------------------------------
// models

/** `model.change.emit()` / `.connect(cb)`, as in BokehJS. */
class ChangeSignal {
  constructor(model) { this.model = model; }
  emit() { this.model._notify({ prop: null, kind: "emit", origin: "local" }); }
  connect(cb) { return this.model.on("*", cb); }
}

export class ModelMirror {
  constructor(doc, id, type, props) {
    this.doc = doc;
    this.id = id;
    this.type = type;
    this.props = new Map(Object.entries(props ?? {}));
    this.deleted = false;
    this._resolved = null; // prop → resolved value (created on first use: documents can be large)
    this._listeners = null;
    this._change = null;
    const defaults = doc.defaults[type];
    for (const prop of this.props.keys()) {
      if (defaults === undefined || !(prop in defaults)) defineAccessor(this, prop);
    }
  }

  /** `model.change.emit()` / `model.change.connect(cb)`, as in BokehJS. */
  get change() {
    return (this._change ??= new ChangeSignal(this));
  }

  /** The value of `prop` (the snapshot's default if unset), refs resolved to models. */
  get(prop) {
    if (this._resolved !== null) {
      const cached = this._resolved.get(prop);
      if (cached !== undefined) return cached;
    }
    let v;
    if (this.props.has(prop)) v = this.props.get(prop);
    else {
      const defaults = this.doc.defaults[this.type];
      v = defaults ? defaults[prop] : undefined;
    }
    const r = v instanceof ColumnStore ? v.object() : resolveValue(this.doc, v);
    if (r !== undefined) (this._resolved ??= new Map()).set(prop, r);
    return r;
  }

  /** Whether the type has `prop` (per the snapshot's defaults) or it is set. */
  has(prop) {
    const defaults = this.doc.defaults[this.type];
    return this.props.has(prop) || (defaults !== undefined && Object.prototype.hasOwnProperty.call(defaults, prop));
  }

  /**
   * A local change: updates the mirror, notifies listeners, and sends a coalesced `set`
   * to the server (through the connection, when there is one). Options: `{send: false}`.
   */
  set(prop, value, options = {}) {
    if (this.deleted) throw new Error(`model ${this.id} (${this.type}) is no longer in the document`);
    const raw = toWireValue(value);
    const old = this.get(prop);
    const prev = this.props.get(prop);
    if (prev !== undefined && !(prev instanceof ColumnStore) && (typeof raw !== "object" || raw === null) && Object.is(prev, raw)) {
      return; // same primitive: nothing to sync (BokehJS does the same)
    }
    this._store(prop, raw);
    // Queue the change before listeners run, so changes they make (CustomJS) follow it.
    if (options.send !== false && this.doc.isWritable(this.type, prop)) this.doc._localSet(this, prop, raw, prev);
    this._notify({ prop, kind: "set", old, origin: options.origin ?? "local" });
  }

  /**
   * Put back a raw value without sending it (`undefined` = back to the default): what the
   * connection does when the server rejects a change or a resync must keep local edits.
   */
  _restore(prop, raw, origin = "remote") {
    const old = this.get(prop);
    if (raw === undefined) {
      this.props.delete(prop);
      this._resolved?.delete(prop);
    } else {
      this._store(prop, raw);
    }
    this._notify({ prop, kind: "set", old, origin });
  }

  /** Subscribe to changes of `prop` (or `"*"` for all); returns an unsubscribe function. */
  on(prop, cb) {
    const listeners = (this._listeners ??= new Map());
    let set = listeners.get(prop);
    if (!set) listeners.set(prop, (set = new Set()));
    set.add(cb);
    return () => set.delete(cb);
  }

  /** `model.doc.sendEvent(model, ...)` shortcut: a UI event (`msg`) to Python. */
  sendEvent(name, data = null) {
    this.doc.sendEvent(this, name, data);
  }

  toWire() { return new Ref(this.id); }

  toString() { return `${this.type}(${this.id})`; }

  _store(prop, raw) {
    if (!this.props.has(prop)) defineAccessor(this, prop);
    this.props.set(prop, raw);
    this._resolved?.delete(prop);
  }

  _columns(prop) {
    // The property's value as a ColumnStore, converting a plain column map on first use.
    let v = this.props.get(prop);
    if (!(v instanceof ColumnStore)) {
      v = new ColumnStore(v ?? this.get(prop) ?? {});
      this.props.set(prop, v);
    }
    this._resolved?.delete(prop);
    return v;
  }

  _notify(info) {
    info.model = this;
    const listeners = this._listeners;
    if (listeners !== null) {
      if (info.prop === null) {
        for (const [prop, set] of listeners) {
          for (const cb of [...set]) callSafely(cb, prop === "*" ? info : { ...info, prop });
        }
      } else {
        for (const key of [info.prop, "*"]) {
          const set = listeners.get(key);
          if (set) for (const cb of [...set]) callSafely(cb, info);
        }
      }
    }
    this.doc._emit("change", this, info);
  }
}

const RESERVED = new Set(["doc", "id", "type", "props", "deleted", "change", "constructor", "__proto__",
  ...Object.getOwnPropertyNames(ModelMirror.prototype)]);

/** `model.value` / `model.value = v` for CustomJS code, as in BokehJS. */
function defineAccessor(target, prop) {
  if (RESERVED.has(prop) || prop in target) return;
  Object.defineProperty(target, prop, {
    get() { return this.get(prop); },
    set(v) { this.set(prop, v); },
    enumerable: false,
    configurable: true,
  });
}

// ---------------------------------------------------------------------------------------
// the document

const EVENT_KINDS = new Set(["new", "set", "data", "stream", "patch", "root+", "root-", "title", "del", "msg"]);

export class DocumentMirror {
  constructor() {
    this.models = new Map();
    this.rootIds = [];
    this.title = "";
    this.version = 0;
    this.defaults = {};
    /** type → Set of client-writable props (from the snapshot/patch `writable` maps). */
    this.writable = {};
    this.extensions = [];
    /** Set by the connection: `{set(model, prop, raw, prevRaw), event(id, name, data)}`. */
    this.sink = null;
    this._listeners = new Map();
    this._classes = new Map();
  }

  get(id) { return this.models.get(id); }

  /**
   * Whether the server accepts changes of `prop` from a browser. Changes to other
   * properties (made by CustomJS, say) stay in this page: the server owns them, and
   * sending one would get the whole patch rejected. Unknown types count as writable.
   */
  isWritable(type, prop) {
    const w = this.writable[type];
    return w === undefined || w.has(prop);
  }

  _mergeWritable(map) {
    if (map === null || typeof map !== "object") return;
    for (const [type, props] of Object.entries(map)) {
      if (Array.isArray(props)) this.writable[type] = new Set(props);
    }
  }

  get roots() { return this.rootIds.map((id) => this.models.get(id)).filter(Boolean); }

  /** Models of a type (by type name). */
  ofType(type) { return [...this.models.values()].filter((m) => m.type === type); }

  /** First model whose `name` property is `name` (as BokehJS `get_model_by_name`). */
  getModelByName(name) {
    for (const m of this.models.values()) if (m.get("name") === name) return m;
    return undefined;
  }

  /**
   * Document-level events: "snapshot" (), "new" (model), "del" (model), "root+" (model),
   * "root-" (model), "title" (title), "msg" ({model, name, data}), "change" (model, info),
   * "patch" (events). Returns an unsubscribe function.
   */
  on(name, cb) {
    let set = this._listeners.get(name);
    if (!set) this._listeners.set(name, (set = new Set()));
    set.add(cb);
    return () => set.delete(cb);
  }

  _emit(name, ...args) {
    const set = this._listeners.get(name);
    if (set) for (const cb of [...set]) callSafely(cb, ...args);
  }

  /** A UI event to Python (a `msg` event in the next client patch). */
  sendEvent(model, name, data = null) {
    const id = model == null ? null : typeof model === "string" ? model : model.id;
    if (this.sink) this.sink.event(id, name, data);
  }

  _localSet(model, prop, raw, prev) {
    if (this.sink) this.sink.set(model, prop, raw, prev);
  }

  _newModel(id, type, props) {
    return new (this._classFor(type))(this, id, type, props);
  }

  /**
   * A ModelMirror subclass per type with an accessor per property of the type's defaults
   * on its prototype (per-instance accessors would cost ~0.3 ms per model).
   */
  _classFor(type) {
    let C = this._classes.get(type);
    if (!C) {
      C = class extends ModelMirror {};
      Object.defineProperty(C, "name", { value: /^[A-Za-z_$][\w$]*$/.test(type) ? type : "ModelMirror" });
      this._classes.set(type, C);
    }
    const defaults = this.defaults[type];
    if (defaults && C._defaults !== defaults) {
      for (const prop of Object.keys(defaults)) defineAccessor(C.prototype, prop);
      C._defaults = defaults;
    }
    return C;
  }

  /**
   * Load a snapshot. Models that keep their id and type are updated in place (listeners
   * hear about changed properties), so a resync keeps views alive; the rest are created
   * or deleted.
   */
  applySnapshot(p) {
    checkSnapshot(p);
    this.title = p.title ?? "";
    this.version = p.version ?? 0;
    this.defaults = p.defaults ?? {};
    this.writable = {};
    this._mergeWritable(p.writable);
    for (const type of this._classes.keys()) this._classFor(type);
    if (Array.isArray(p.extensions)) this.extensions = p.extensions;
    const seen = new Set();
    const created = [];
    const updates = [];
    for (const spec of p.models) {
      seen.add(spec.id);
      const old = this.models.get(spec.id);
      if (old && old.type === spec.type) {
        const props = spec.props ?? {};
        const keys = new Set([...old.props.keys(), ...Object.keys(props)]);
        for (const prop of keys) {
          const before = old.props.get(prop);
          const after = props[prop];
          if (after === undefined) {
            old.props.delete(prop);
          } else {
            old._store(prop, after);
          }
          old._resolved?.delete(prop);
          if (!sameValue(before, after)) updates.push([old, prop]);
        }
      } else {
        if (old) { old.deleted = true; this.models.delete(spec.id); }
        const m = this._newModel(spec.id, spec.type, spec.props);
        this.models.set(spec.id, m);
        created.push(m);
      }
    }
    const deleted = [];
    for (const [id, m] of this.models) {
      if (!seen.has(id)) { m.deleted = true; this.models.delete(id); deleted.push(m); }
    }
    for (const m of this.models.values()) m._resolved?.clear();
    this.rootIds = [...p.roots];
    for (const m of deleted) this._emit("del", m);
    for (const m of created) this._emit("new", m);
    for (const [m, prop] of updates) m._notify({ prop, kind: "set", origin: "remote", old: undefined });
    this._emit("snapshot", p);
  }

  /**
   * Apply a patch payload `{events: [...]}` atomically: validate everything, then apply.
   * Options: `skipSet(id, prop)` → true drops that `set` event (the conflict rule).
   * Throws PatchError (and changes nothing) on a bad patch.
   */
  applyPatch(p, options = {}) {
    if (p === null || typeof p !== "object" || !Array.isArray(p.events)) {
      throw new PatchError("a patch is a map with an `events` list");
    }
    let events = p.events;
    if (options.skipSet) events = events.filter((e) => !(e && e.k === "set" && options.skipSet(e.id, e.prop)));
    const defaults = p.defaults && typeof p.defaults === "object" ? { ...this.defaults, ...p.defaults } : this.defaults;
    this._validate(events, defaults);
    this._mergeWritable(p.writable);
    if (defaults !== this.defaults) {
      this.defaults = defaults;
      for (const type of this._classes.keys()) this._classFor(type);
    }
    const notes = [];
    const docNotes = [];
    const touched = new Set();
    for (const e of events) this._applyEvent(e, notes, docNotes, touched);
    for (const m of touched) m._resolved?.clear();
    for (const [m, info] of notes) m._notify(info);
    for (const [name, arg] of docNotes) this._emit(name, arg);
    this._emit("patch", events);
  }

  _validate(events, defaults) {
    const exists = new Map(); // overlay: id → type or null (deleted)
    const typeOf = (id) => (exists.has(id) ? exists.get(id) : this.models.get(id)?.type ?? null);
    const values = new Map(); // overlay: id\0prop → value
    const cols = new Map(); // overlay: id\0prop → column info
    const roots = new Set(this.rootIds);
    const refs = [];
    const colsOf = (id, prop, where) => {
      const key = `${id}\0${prop}`;
      if (cols.has(key)) return cols.get(key);
      let v;
      if (values.has(key)) v = values.get(key);
      else {
        const m = this.models.get(id);
        v = m.props.has(prop) ? m.props.get(prop) : defaults[m.type]?.[prop];
      }
      if (!isColumnMap(v)) throw new PatchError(`${where}: ${prop} of ${id} holds no column data`);
      const info = columnInfo(v);
      cols.set(key, info);
      return info;
    };
    const needModel = (e, where) => {
      if (typeof e.id !== "string" || typeOf(e.id) === null) throw new PatchError(`${where}: unknown model ${JSON.stringify(e.id)}`);
      return typeOf(e.id);
    };
    const needProp = (type, prop, where) => {
      if (typeof prop !== "string") throw new PatchError(`${where}: the property name must be a string`);
      const d = defaults[type];
      if (d && !Object.prototype.hasOwnProperty.call(d, prop)) {
        throw new PatchError(`${where}: ${type} has no property ${JSON.stringify(prop)}`);
      }
    };
    const lengths = (columns, where) => {
      if (!isColumnMap(columns)) throw new PatchError(`${where}: columns must be a map of arrays`);
      let n = null;
      for (const [name, v] of Object.entries(columns)) {
        const len = rowsOf(v);
        if (n !== null && len !== n) {
          const all = Object.entries(columns).map(([k, x]) => `${k}: ${rowsOf(x)}`).join(", ");
          throw new PatchError(`${where}: columns have unequal lengths (${all}); ${name} differs`);
        }
        n = len;
      }
      return n ?? 0;
    };

    events.forEach((e, i) => {
      const where = `event ${i}${e && typeof e.k === "string" ? ` (${e.k})` : ""}`;
      if (e === null || typeof e !== "object" || !EVENT_KINDS.has(e.k)) {
        throw new PatchError(`${where}: not an event (needs k in ${[...EVENT_KINDS].join(", ")})`);
      }
      switch (e.k) {
        case "new": {
          if (typeof e.id !== "string" || e.id === "") throw new PatchError(`${where}: a new model needs a string id`);
          if (typeOf(e.id) !== null) throw new PatchError(`${where}: model ${e.id} already exists`);
          if (typeof e.type !== "string") throw new PatchError(`${where}: a new model needs a type name`);
          const props = e.props ?? {};
          if (typeof props !== "object" || Array.isArray(props)) throw new PatchError(`${where}: props must be a map`);
          for (const [prop, v] of Object.entries(props)) {
            needProp(e.type, prop, where);
            values.set(`${e.id}\0${prop}`, v);
            forEachRef(v, (id) => refs.push([id, where]));
          }
          exists.set(e.id, e.type);
          break;
        }
        case "set": {
          const type = needModel(e, where);
          needProp(type, e.prop, where);
          if (!("value" in e)) throw new PatchError(`${where}: a set needs a value`);
          const key = `${e.id}\0${e.prop}`;
          values.set(key, e.value);
          cols.delete(key);
          forEachRef(e.value, (id) => refs.push([id, where]));
          break;
        }
        case "data": {
          const type = needModel(e, where);
          needProp(type, e.prop, where);
          lengths(e.columns, where);
          if (typeof e.replace !== "boolean") throw new PatchError(`${where}: replace must be a bool`);
          const key = `${e.id}\0${e.prop}`;
          if (e.replace) {
            cols.set(key, columnInfo(e.columns));
          } else {
            const info = new Map(colsOf(e.id, e.prop, where));
            for (const [name, c] of columnInfo(e.columns)) info.set(name, c);
            const lens = new Set([...info.values()].map((c) => c.len));
            if (lens.size > 1) {
              const all = [...info].map(([k, c]) => `${k}: ${c.len}`).join(", ");
              throw new PatchError(`${where}: columns would have unequal lengths (${all})`);
            }
            cols.set(key, info);
          }
          break;
        }
        case "stream": {
          const type = needModel(e, where);
          needProp(type, e.prop, where);
          const info = colsOf(e.id, e.prop, where);
          const n = lengths(e.columns, where);
          const names = Object.keys(e.columns);
          const missing = [...info.keys()].filter((k) => !names.includes(k));
          const unknown = names.filter((k) => !info.has(k));
          if (missing.length || unknown.length) {
            throw new PatchError(`${where}: a stream must hold exactly the source's columns`
              + (missing.length ? `; missing ${missing.join(", ")}` : "")
              + (unknown.length ? `; unknown ${unknown.join(", ")}` : ""));
          }
          const r = e.rollover;
          if (r != null && (!Number.isInteger(r) || r <= 0)) throw new PatchError(`${where}: rollover must be a positive integer or nil, not ${r}`);
          const next = new Map();
          for (const [name, c] of info) {
            const v = e.columns[name];
            if (c.typed && c.tail.length && isTypedArray(v) && shapeOf(v).slice(1).join() !== c.tail.join()) {
              throw new PatchError(`${where}: rows of ${name} have shape [${shapeOf(v).slice(1)}], the column's rows [${c.tail}]`);
            }
            if (c.typed) {
              if (Array.isArray(v) && c.tail.length) {
                const rowSize = product(c.tail);
                for (const row of v) {
                  if (flatten(row).length !== rowSize) throw new PatchError(`${where}: streamed rows of ${name} must have shape [${c.tail}]`);
                }
                checkValues(c.dtype, flatten(v), `${where} column ${name}`);
              } else {
                checkValues(c.dtype, v, `${where} column ${name}`);
              }
            }
            const len = r == null ? c.len + n : Math.min(c.len + n, r);
            next.set(name, { ...c, len });
          }
          cols.set(`${e.id}\0${e.prop}`, next);
          break;
        }
        case "patch": {
          const type = needModel(e, where);
          needProp(type, e.prop, where);
          const info = colsOf(e.id, e.prop, where);
          const patches = e.patches;
          if (!patches || typeof patches !== "object" || Array.isArray(patches)) throw new PatchError(`${where}: patches must be a map`);
          for (const [name, list] of Object.entries(patches)) {
            const c = info.get(name);
            if (!c) throw new PatchError(`${where}: patch of unknown column ${JSON.stringify(name)}`);
            if (!Array.isArray(list)) throw new PatchError(`${where}: patches of ${name} must be a list of [index, value] pairs`);
            for (const item of list) {
              if (!Array.isArray(item) || item.length !== 2) throw new PatchError(`${where}: patches of ${name} must be [index, value] pairs`);
              planPatch(c, item[0], item[1], `${where} column ${name}`);
            }
          }
          break;
        }
        case "root+":
          if (typeof e.id !== "string") throw new PatchError(`${where}: root+ needs an id`);
          refs.push([e.id, where]);
          roots.add(e.id);
          break;
        case "root-":
          if (!roots.has(e.id)) throw new PatchError(`${where}: ${JSON.stringify(e.id)} is not a root`);
          roots.delete(e.id);
          break;
        case "title":
          if (typeof e.title !== "string") throw new PatchError(`${where}: the title must be a string`);
          break;
        case "del":
          needModel(e, where);
          exists.set(e.id, null);
          break;
        case "msg":
          if (typeof e.name !== "string") throw new PatchError(`${where}: a msg needs a name`);
          if (e.id != null) needModel(e, where);
          break;
      }
    });
    for (const [id, where] of refs) {
      if (typeOf(id) === null) throw new PatchError(`${where}: reference to unknown model ${JSON.stringify(id)}`);
    }
  }

  _applyEvent(e, notes, docNotes, touched) {
    switch (e.k) {
      case "new": {
        const m = this._newModel(e.id, e.type, e.props ?? {});
        this.models.set(e.id, m);
        docNotes.push(["new", m]);
        touched.add(m);
        break;
      }
      case "set": {
        const m = this.models.get(e.id);
        const old = m.get(e.prop);
        m._store(e.prop, e.value);
        notes.push([m, { prop: e.prop, kind: "set", old, origin: "remote" }]);
        break;
      }
      case "data": {
        const m = this.models.get(e.id);
        if (e.replace) {
          m._store(e.prop, e.columns);
        } else {
          m._columns(e.prop).replace(e.columns);
        }
        notes.push([m, { prop: e.prop, kind: "replace", columns: Object.keys(e.columns), origin: "remote" }]);
        break;
      }
      case "stream": {
        const m = this.models.get(e.id);
        const { added, removed } = m._columns(e.prop).stream(e.columns, e.rollover ?? null);
        notes.push([m, { prop: e.prop, kind: "stream", added, removed, origin: "remote" }]);
        break;
      }
      case "patch": {
        const m = this.models.get(e.id);
        const store = m._columns(e.prop);
        for (const [name, list] of Object.entries(e.patches)) {
          const col = store.columns.get(name);
          const c = { len: col.len, tail: col.tail, typed: col.typed, dtype: col.dtype };
          for (const [index, value] of list) {
            const plan = planPatch(c, index, value, "patch");
            if (col.typed) col.writeElements(plan.elems, plan.values);
            else plan.rows.forEach((row, k) => { col.items[row] = plan.values[k]; });
          }
        }
        store.changed();
        notes.push([m, { prop: e.prop, kind: "patch", patches: e.patches, origin: "remote" }]);
        break;
      }
      case "root+":
        if (!this.rootIds.includes(e.id)) this.rootIds.push(e.id);
        docNotes.push(["root+", this.models.get(e.id)]);
        break;
      case "root-":
        this.rootIds = this.rootIds.filter((id) => id !== e.id);
        docNotes.push(["root-", this.models.get(e.id)]);
        break;
      case "title":
        this.title = e.title;
        docNotes.push(["title", e.title]);
        break;
      case "del": {
        const m = this.models.get(e.id);
        m.deleted = true;
        this.models.delete(e.id);
        docNotes.push(["del", m]);
        break;
      }
      case "msg":
        docNotes.push(["msg", { model: e.id == null ? null : this.models.get(e.id) ?? null, name: e.name, data: e.data }]);
        break;
    }
  }
}

function checkSnapshot(p) {
  if (p === null || typeof p !== "object") throw new PatchError("a snapshot is a map");
  if (!Array.isArray(p.models)) throw new PatchError("a snapshot needs a `models` list");
  if (!Array.isArray(p.roots)) throw new PatchError("a snapshot needs a `roots` list");
  const ids = new Set();
  for (const m of p.models) {
    if (!m || typeof m.id !== "string" || typeof m.type !== "string") throw new PatchError("every snapshot model needs an id and a type");
    if (ids.has(m.id)) throw new PatchError(`model ${m.id} appears twice in the snapshot`);
    ids.add(m.id);
  }
  for (const m of p.models) {
    forEachRef(m.props ?? {}, (id) => {
      if (!ids.has(id)) throw new PatchError(`model ${m.id} refers to unknown model ${JSON.stringify(id)}`);
    });
  }
  for (const id of p.roots) if (!ids.has(id)) throw new PatchError(`root ${JSON.stringify(id)} is not in the snapshot`);
}
