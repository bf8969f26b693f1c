// Mapping between data values and screen (CSS pixel) coordinates.

/**
 * screen = a * T(v) + b, with T = log10 for log scales. Strings are categorical factors:
 * factor i of `factors` sits at i + 0.5 (Bokeh's convention).
 */
export class Mapper {
  constructor(start, end, s0, s1, log = false, factors = null) {
    this.start = start;
    this.end = end;
    this.s0 = s0;
    this.s1 = s1;
    this.log = !!log;
    this.factors = factors;
    this.factorIndex = null;
    if (factors) {
      this.factorIndex = new Map();
      factors.forEach((f, i) => this.factorIndex.set(Array.isArray(f) ? f.join(",") : String(f), i + 0.5));
    }
    const t0 = this.t(start);
    const t1 = this.t(end);
    const d = t1 - t0;
    this.a = d === 0 || !Number.isFinite(d) ? 0 : (s1 - s0) / d;
    this.b = s0 - this.a * t0;
  }

  t(v) {
    return this.log ? (v > 0 ? Math.log10(v) : NaN) : v;
  }

  /** Numeric data coordinate of a value (factor names → positions). */
  num(v) {
    if (typeof v === "number") return v;
    if (typeof v === "string") {
      if (this.factorIndex) {
        const p = this.factorIndex.get(v);
        return p === undefined ? NaN : p;
      }
      return NaN;
    }
    if (typeof v === "bigint") return Number(v);
    if (v instanceof Date) return v.getTime();
    if (Array.isArray(v) && this.factorIndex) {
      const p = this.factorIndex.get(v.join(","));
      return p === undefined ? NaN : p;
    }
    return v == null ? NaN : Number(v);
  }

  map(v) {
    const n = typeof v === "number" ? v : this.num(v);
    return this.a * (this.log ? (n > 0 ? Math.log10(n) : NaN) : n) + this.b;
  }

  invert(s) {
    const t = (s - this.b) / this.a;
    return this.log ? Math.pow(10, t) : t;
  }

  /** Screen length of a data length `d` around value `v` (for widths, radii). */
  span(v, d) {
    if (!this.log) return Math.abs(this.a * d);
    return Math.abs(this.map(v + d / 2) - this.map(v - d / 2));
  }

  /** Lowest and highest visible data values. */
  visible() {
    return this.start <= this.end ? [this.start, this.end] : [this.end, this.start];
  }
}
