// Range state shared by every plot view that draws a range model (linked plots share
// one state): DataRange1d follows the data of all views (with range_padding, follow,
// flipped) until the person pans or zooms; Range1d is fixed; FactorRange spans its
// factors. Changes made in the page are written back with model.set("start"/"end") —
// at most once per animation frame for the person's changes, and throttled for values
// a DataRange1d computes from streaming data.

import { paddedRange, prop } from "./data.js";

const AUTO_WRITE_INTERVAL_MS = 250;
const states = new WeakMap();

/** The one RangeState of a range model (created on first use). */
export function rangeState(model) {
  let s = states.get(model);
  if (!s) {
    s = new RangeState(model);
    states.set(model, s);
  }
  return s;
}

function finiteOrNull(v) {
  if (v instanceof Date) return v.getTime();
  if (typeof v === "bigint") return Number(v);
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

export class RangeState {
  constructor(model) {
    this.model = model;
    this.type = model.type;
    this.views = new Set(); // views to redraw when the range changes
    this.contrib = new Map(); // view → {lo, hi, posLo} data bounds of its renderers
    this.userSet = false; // the person panned/zoomed a DataRange1d
    this.pendingUser = false;
    this.pendingAuto = false;
    this.lastAutoWrite = -Infinity;
    this.written = { start: undefined, end: undefined };
    this.start = NaN;
    this.end = NaN;
    this.loadFromModel();
    this.initial = { start: this.start, end: this.end };
    this.initialExplicit = { ...this.explicit };
    if (this.type === "Range1d") {
      const rs = finiteOrNull(prop(model, "reset_start", null));
      const re = finiteOrNull(prop(model, "reset_end", null));
      if (rs !== null) this.initial.start = rs;
      if (re !== null) this.initial.end = re;
    }
  }

  get isData() {
    return this.type === "DataRange1d";
  }

  get isFactor() {
    return this.type === "FactorRange";
  }

  loadFromModel() {
    const m = this.model;
    if (this.isFactor) {
      this.factors = (prop(m, "factors", []) || []).slice();
      this.start = 0;
      this.end = this.factors.length;
      this.explicit = {};
      return;
    }
    const s = finiteOrNull(prop(m, "start", null));
    const e = finiteOrNull(prop(m, "end", null));
    if (this.isData) {
      this.explicit = { start: s, end: e };
      if (s !== null) this.start = s;
      if (e !== null) this.end = e;
    } else {
      this.explicit = {};
      this.start = s ?? 0;
      this.end = e ?? 1;
    }
  }

  /** A property of the model changed (from Python, or another view). Returns true if relevant. */
  modelChanged(name) {
    if (name === "factors" && this.isFactor) {
      this.loadFromModel();
      return true;
    }
    if (name !== "start" && name !== "end") return name === "range_padding" || name === "follow" ||
      name === "follow_interval" || name === "flipped" || name === "bounds";
    const v = finiteOrNull(prop(this.model, name, null));
    if (this.written[name] !== undefined && v === this.written[name]) return false; // our own write
    if (this.isData) {
      // As in BokehJS, only the initial start/end of a DataRange1d are fixed; a later value
      // from the server (Python, or another tab of the session writing back its own
      // computed range) is shown until the data changes, then the range follows the data
      // again. (Treating it as fixed would freeze every other tab of a shared session.)
      if (v === null) {
        this.explicit[name] = null;
        this.remoteHold = false;
      } else {
        this[name] = v;
        this.remoteHold = true;
      }
    } else {
      this[name] = v ?? this[name];
    }
    return true;
  }

  /** Record the data bounds contributed by one view (DataRange1d). */
  contribute(view, lo, hi, posLo) {
    const prev = this.contrib.get(view);
    if (prev && (prev.lo !== lo || prev.hi !== hi || prev.posLo !== posLo)) this.remoteHold = false;
    if (!prev || prev.lo !== lo || prev.hi !== hi || prev.posLo !== posLo) this.contrib.set(view, { lo, hi, posLo });
  }

  forget(view) {
    this.contrib.delete(view);
    this.views.delete(view);
  }

  /** Recompute a DataRange1d from the contributions; true when start/end changed. */
  updateAuto(log = false) {
    if (!this.isData || this.userSet || this.remoteHold) return false;
    if (this.explicit.start !== null && this.explicit.end !== null) return false;
    let lo = Infinity, hi = -Infinity, posLo = Infinity;
    for (const c of this.contrib.values()) {
      if (c.lo < lo) lo = c.lo;
      if (c.hi > hi) hi = c.hi;
      if (c.posLo < posLo) posLo = c.posLo;
    }
    const m = this.model;
    let r;
    if (prop(m, "range_padding_units", "percent") === "absolute" && Number.isFinite(lo) && Number.isFinite(hi)) {
      const pad = prop(m, "range_padding", 0.1);
      r = [lo - pad, hi + pad];
    } else r = paddedRange(lo, hi, prop(m, "range_padding", 0.1), log, posLo, prop(m, "default_span", 2));
    if (r === null) r = Number.isFinite(this.start) && Number.isFinite(this.end) ? [this.start, this.end] : (log ? [0.1, 10] : [-1, 1]);
    let [s, e] = r;
    const follow = prop(m, "follow", null);
    const interval = finiteOrNull(prop(m, "follow_interval", null));
    // follow_interval bounds the width ("at most"), as in BokehJS
    if (interval !== null && Math.abs(e - s) > interval) {
      if (follow === "end") s = e - interval;
      else if (follow === "start") e = s + interval;
    }
    if (this.explicit.start !== null) s = this.explicit.start;
    if (this.explicit.end !== null) e = this.explicit.end;
    if (prop(m, "flipped", false)) [s, e] = [e, s];
    if (s === this.start && e === this.end) return false;
    this.start = s;
    this.end = e;
    this.pendingAuto = true;
    return true;
  }

  /** The person moved the range (pan, zoom, box zoom). */
  setUser(start, end) {
    if (!Number.isFinite(start) || !Number.isFinite(end) || start === end) return;
    [start, end] = this.clampToBounds(start, end);
    this.start = start;
    this.end = end;
    if (this.isData) this.userSet = true;
    this.pendingUser = true;
    this.redrawViews();
  }

  clampToBounds(start, end) {
    const b = prop(this.model, "bounds", null);
    if (!Array.isArray(b)) return [start, end];
    const lo = finiteOrNull(b[0]);
    const hi = finiteOrNull(b[1]);
    const flipped = start > end;
    let [a, z] = flipped ? [end, start] : [start, end];
    const w = z - a;
    if (lo !== null && hi !== null && w > hi - lo) { a = lo; z = hi; }
    else {
      if (lo !== null && a < lo) { a = lo; z = lo + w; }
      if (hi !== null && z > hi) { z = hi; a = hi - w; }
    }
    return flipped ? [z, a] : [a, z];
  }

  reset() {
    this.remoteHold = false;
    if (this.isFactor) {
      this.loadFromModel();
    } else if (this.isData) {
      this.userSet = false;
      this.explicit = { ...this.initialExplicit };
      this.start = NaN; // force a recompute (and a write-back)
      this.end = NaN;
      this.pendingUser = true;
    } else {
      this.start = this.initial.start;
      this.end = this.initial.end;
      this.pendingUser = true;
    }
    this.redrawViews();
  }

  redrawViews() {
    for (const v of this.views) v.scheduleDraw();
  }

  /**
   * Write the current start/end to the model when due: immediately for the person's
   * changes (this is called once per animation frame), at most every 250 ms for
   * auto-computed ones. Returns true when a later flush is still due.
   */
  flush(now) {
    if (this.isFactor) {
      this.pendingUser = this.pendingAuto = false;
      return false;
    }
    if (!this.pendingUser && !this.pendingAuto) return false;
    if (!this.pendingUser && now - this.lastAutoWrite < AUTO_WRITE_INTERVAL_MS) return true;
    if (!Number.isFinite(this.start) || !Number.isFinite(this.end)) return false;
    this.pendingUser = this.pendingAuto = false;
    this.lastAutoWrite = now;
    const m = this.model;
    this.written = { start: this.start, end: this.end };
    try {
      if (finiteOrNull(prop(m, "start", null)) !== this.start) m.set("start", this.start);
      if (finiteOrNull(prop(m, "end", null)) !== this.end) m.set("end", this.end);
    } catch (err) {
      console.warn("docsync plot: could not write the range back", err);
    }
    return false;
  }
}
