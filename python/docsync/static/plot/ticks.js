// Tick computation and tick label formatting (pure functions, tested under node).
//
// Ticks are computed for the visible interval; `start > end` (reversed ranges) is
// accepted. Every ticker returns {major: number[], minor: number[]} in ascending order,
// limited to the interval.

const EPS = 1e-10;

function ordered(a, b) {
  return a <= b ? [a, b] : [b, a];
}

/** Bokeh's adaptive choice: the step among mantissa × 10^k closest to span / desired. */
export function niceStep(span, desired = 6, mantissas = [1, 2, 5]) {
  if (!(span > 0) || !Number.isFinite(span)) return 0;
  const raw = span / Math.max(1, desired);
  const exp = Math.floor(Math.log10(raw));
  let best = 0;
  let bestErr = Infinity;
  for (const e of [exp - 1, exp, exp + 1]) {
    const mag = Math.pow(10, e);
    for (const m of mantissas) {
      const step = m * mag;
      const err = Math.abs(desired - span / step);
      if (err < bestErr) {
        bestErr = err;
        best = step;
      }
    }
  }
  return best;
}

function stepTicks(lo, hi, step) {
  const out = [];
  if (!(step > 0)) return out;
  const first = Math.ceil(lo / step - EPS);
  const last = Math.floor(hi / step + EPS);
  if (last - first > 10000) return out;
  // snap values like 0.30000000000000004 to what the user expects to read
  const d = Math.max(0, Math.min(100, Math.ceil(-Math.log10(step)) + 2));
  for (let i = first; i <= last; i++) {
    const v = i * step;
    out.push(Math.abs(v) < step * 1e-9 ? 0 : +v.toFixed(d));
  }
  return out;
}

/** Linear "nice" ticks (1, 2, 5 × 10^k), with `minorCount` minor intervals per major. */
export function linearTicks(start, end, desired = 6, minorCount = 5) {
  const [lo, hi] = ordered(start, end);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return { major: [], minor: [], step: 0 };
  if (hi - lo <= 0) return { major: [lo], minor: [], step: 0 };
  const step = niceStep(hi - lo, desired);
  const major = stepTicks(lo, hi, step);
  const minor = minorCount > 1 ? stepTicks(lo, hi, step / minorCount).filter(
    (v) => Math.abs(v / step - Math.round(v / step)) > 1e-6) : [];
  return { major, minor, step };
}

/**
 * Log ticks: powers of ten (every k-th decade when there are many), minor ticks at
 * 2..9 × 10^k; falls back to linear ticks when the interval spans less than one decade.
 */
export function logTicks(start, end, desired = 6) {
  let [lo, hi] = ordered(start, end);
  if (!(hi > 0)) return { major: [], minor: [], step: 0 };
  if (!(lo > 0)) lo = hi / 1e6;
  const l0 = Math.log10(lo);
  const l1 = Math.log10(hi);
  if (Math.floor(l1) - Math.ceil(l0) < 1) {
    const t = linearTicks(lo, hi, desired);
    return { ...t, linear: true };
  }
  const decades = Math.ceil(l1 + EPS) - Math.floor(l0 - EPS);
  const every = Math.max(1, Math.ceil(decades / desired));
  const major = [];
  const minor = [];
  for (let e = Math.floor(l0 - EPS); e <= Math.ceil(l1 + EPS); e++) {
    const v = Math.pow(10, e);
    if (e % every === 0 && v >= lo * (1 - 1e-12) && v <= hi * (1 + 1e-12)) major.push(+v.toPrecision(12));
    if (every === 1) {
      for (let m = 2; m <= 9; m++) {
        const w = m * v;
        if (w >= lo && w <= hi) minor.push(+w.toPrecision(12));
      }
    } else if (e % every !== 0 && v >= lo && v <= hi) {
      minor.push(+v.toPrecision(12));
    }
  }
  return { major, minor, step: every };
}

// ---------------------------------------------------------------- datetime ticks

export const MS = 1;
export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
const MONTH_APPROX = 30.44 * DAY;
const YEAR_APPROX = 365.25 * DAY;

// Fixed-length intervals (ms), in increasing order, with their unit for formatting.
const FIXED = [
  ...[1, 2, 5, 10, 20, 50, 100, 200, 500].map((s) => [s, "ms"]),
  ...[1, 2, 5, 10, 15, 30].map((s) => [s * SECOND, "s"]),
  ...[1, 2, 5, 10, 15, 30].map((s) => [s * MINUTE, "min"]),
  ...[1, 2, 3, 6, 12].map((s) => [s * HOUR, "h"]),
  ...[1, 2, 4, 7, 14].map((s) => [s * DAY, "day"]),
];
const MONTH_STEPS = [1, 2, 3, 4, 6];

/**
 * Datetime ticks over ms-since-epoch values (UTC). Returns {major, minor, step, unit}
 * with unit in ms|s|min|h|day|month|year, which `formatDatetime` uses to pick a format.
 */
export function datetimeTicks(start, end, desired = 6) {
  const [lo, hi] = ordered(start, end);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return { major: [], minor: [], step: 0, unit: "ms" };
  const span = hi - lo;
  if (!(span > 0)) return { major: [lo], minor: [], step: 0, unit: "ms" };
  const target = span / desired;
  if (target < 1) {
    const t = linearTicks(lo, hi, desired);
    return { ...t, unit: "ms" };
  }
  // candidates: fixed intervals, months, years; pick the closest to the target count
  const cands = FIXED.map(([s, u]) => ({ kind: "fixed", n: s, unit: u, len: s }));
  for (const m of MONTH_STEPS) cands.push({ kind: "month", n: m, unit: "month", len: m * MONTH_APPROX });
  if (target > 0.5 * YEAR_APPROX) {
    const years = niceStep(span / YEAR_APPROX, desired);
    if (years >= 1) cands.push({ kind: "year", n: Math.round(years), unit: "year", len: Math.round(years) * YEAR_APPROX });
  }
  let best = cands[0];
  let bestErr = Infinity;
  for (const c of cands) {
    const err = Math.abs(desired - span / c.len);
    if (err < bestErr) {
      bestErr = err;
      best = c;
    }
  }
  let major;
  let minor = [];
  if (best.kind === "fixed") {
    major = stepTicks(lo, hi, best.n);
    const minorStep = best.n / (best.unit === "day" && best.n === 7 ? 7 : 5);
    if (Number.isInteger(minorStep) || minorStep >= 1)
      minor = stepTicks(lo, hi, minorStep).filter((v) => Math.abs(v / best.n - Math.round(v / best.n)) > 1e-9);
  } else if (best.kind === "month") {
    major = monthTicks(lo, hi, best.n);
    minor = best.n > 1 ? monthTicks(lo, hi, 1).filter((v) => !major.includes(v)) : [];
  } else {
    major = yearTicks(lo, hi, best.n);
    if (best.n === 1) minor = monthTicks(lo, hi, 3).filter((v) => !major.includes(v));
  }
  return { major, minor, step: best.len, unit: best.unit };
}

function monthTicks(lo, hi, every) {
  const out = [];
  const d = new Date(lo);
  let y = d.getUTCFullYear();
  let m = d.getUTCMonth();
  m -= m % every;
  for (let guard = 0; guard < 5000; guard++) {
    const t = Date.UTC(y, m, 1);
    if (t > hi) break;
    if (t >= lo) out.push(t);
    m += every;
    if (m >= 12) {
      y += Math.floor(m / 12);
      m %= 12;
    }
  }
  return out;
}

function yearTicks(lo, hi, every) {
  const out = [];
  const y0 = new Date(lo).getUTCFullYear();
  const y1 = new Date(hi).getUTCFullYear();
  for (let y = Math.ceil(y0 / every) * every; y <= y1 + 1; y += every) {
    const t = Date.UTC(y, 0, 1);
    if (t >= lo && t <= hi) out.push(t);
  }
  return out;
}

// ---------------------------------------------------------------- formatters

function minimalDecimals(values, step) {
  const tol = Math.abs(step || 0) * 1e-6;
  for (let d = 0; d <= 15; d++) {
    let ok = true;
    for (const v of values) {
      if (Math.abs(parseFloat(v.toFixed(d)) - v) > Math.max(tol, Math.abs(v) * 1e-12)) {
        ok = false;
        break;
      }
    }
    if (ok) return d;
  }
  return 15;
}

/**
 * Bokeh's BasicTickFormatter: fixed notation with the fewest decimals that keep every
 * label exact; scientific when a label reaches 10^5 or (non-zero) falls below 10^-3.
 */
export function formatBasic(ticks, opts = {}) {
  const high = opts.powerLimitHigh ?? 5;
  const low = opts.powerLimitLow ?? -3;
  if (ticks.length === 0) return [];
  const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : 0;
  const useSci = (opts.useScientific ?? true) && ticks.some((t) => {
    const a = Math.abs(t);
    return a !== 0 && (a >= Math.pow(10, high) || a < Math.pow(10, low));
  });
  if (useSci) {
    for (let d = 0; d <= 15; d++) {
      const labels = ticks.map((t) => (t === 0 ? "0" : t.toExponential(d)));
      if (new Set(labels).size === labels.length || d === 15) return labels;
    }
  }
  const d = minimalDecimals(ticks, step);
  return ticks.map((t) => {
    const s = t.toFixed(d);
    return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
  });
}

const SUPERSCRIPT = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };

/** Log axis labels: plain numbers between 10^-3 and 10^5, 10ⁿ outside. */
export function formatLog(ticks, linear = false) {
  if (linear) return formatBasic(ticks);
  return ticks.map((t) => {
    if (!(t > 0)) return String(t);
    const e = Math.log10(t);
    const ei = Math.round(e);
    if (Math.abs(e - ei) < 1e-9) {
      if (ei >= -3 && ei < 5) return ei < 0 ? t.toFixed(-ei) : String(Math.round(t));
      return "10" + String(ei).split("").map((c) => SUPERSCRIPT[c]).join("");
    }
    return formatBasic([t])[0];
  });
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (n, w = 2) => String(n).padStart(w, "0");

/**
 * Datetime labels (UTC) whose precision follows the tick spacing: years "2024",
 * months "Mar 2024", days "Mar 05", hours/minutes "14:05" (a tick at midnight shows
 * its date), seconds "14:05:30", sub-second "14:05:30.125" (or "30.125s" style
 * "05:30.125" below one minute of span is not needed: the full time is kept readable).
 */
export function formatDatetime(ticks, unit, step = null) {
  const subMs = unit === "ms" && step !== null && step > 0 && step < 1
    ? Math.min(6, Math.ceil(-Math.log10(step) - 1e-9)) : 0;
  return ticks.map((t) => {
    if (!Number.isFinite(t)) return "";
    const d = new Date(t);
    const Y = d.getUTCFullYear();
    const M = MONTHS[d.getUTCMonth()];
    const D = pad(d.getUTCDate());
    const hh = pad(d.getUTCHours());
    const mm = pad(d.getUTCMinutes());
    const ss = pad(d.getUTCSeconds());
    const ms = pad(d.getUTCMilliseconds(), 3);
    switch (unit) {
      case "year":
        return String(Y);
      case "month":
        return d.getUTCMonth() === 0 ? String(Y) : `${M} ${Y}`;
      case "day":
        return `${M} ${D}`;
      case "h":
      case "min":
        return hh === "00" && mm === "00" ? `${M} ${D}` : `${hh}:${mm}`;
      case "s":
        return `${hh}:${mm}:${ss}`;
      default: {
        if (subMs === 0) return `${hh}:${mm}:${ss}.${ms}`;
        const secs = (((t % 60000) + 60000) % 60000) / 1000;
        return `${hh}:${mm}:${secs.toFixed(3 + subMs).padStart(6 + subMs, "0")}`;
      }
    }
  });
}

/** Categorical ticks: factor i sits at i + 0.5 (Bokeh's convention). */
export function categoricalTicks(factors, start, end) {
  const [lo, hi] = ordered(start, end);
  const major = [];
  const labels = [];
  factors.forEach((f, i) => {
    const c = i + 0.5;
    if (c >= lo - EPS && c <= hi + EPS) {
      major.push(c);
      labels.push(String(f));
    }
  });
  return { major, minor: [], labels, step: 1 };
}

/** Short numeric formatting for tooltips ($x, $y, @col values). */
export function formatValue(v) {
  if (v == null) return "";
  if (typeof v === "bigint") return v.toString();
  if (typeof v !== "number") return Array.isArray(v) ? `[${v.map(formatValue).join(", ")}]` : String(v);
  if (Number.isNaN(v)) return "NaN";
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(3);
  return String(+v.toPrecision(6));
}

/**
 * NumeralTickFormatter (numbro-style subset): "0,0", "0.00", "0,0.0", "0%", "0.0%",
 * "$0,0.00", "0.0a" (k/m/b/t abbreviations), "(0,0)" (negatives in parentheses),
 * any literal prefix/suffix around the number pattern.
 */
export function formatNumeral(v, format = "0,0") {
  if (!Number.isFinite(v)) return String(v);
  const m = /^([^0#]*)([0#][0#,]*(?:\.[0#]+)?)(\s*[%a]?)(.*)$/.exec(format.replace(/[()]/g, ""));
  if (!m) return String(v);
  const [, prefix, pattern, flagRaw, suffix] = m;
  const flag = flagRaw.trim();
  const paren = format.includes("(") && v < 0;
  let x = Math.abs(v);
  let unit = "";
  if (flag === "%") x *= 100;
  if (flag === "a") {
    for (const [k, u] of [[1e12, "t"], [1e9, "b"], [1e6, "m"], [1e3, "k"]]) {
      if (x >= k) { x /= k; unit = u; break; }
    }
  }
  const dec = pattern.includes(".") ? pattern.split(".")[1].length : 0;
  let s = x.toFixed(dec);
  if (pattern.includes(",")) {
    const [int, frac] = s.split(".");
    s = int.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (frac !== undefined ? "." + frac : "");
  }
  const sign = v < 0 && !paren && Number(s.replace(/,/g, "")) !== 0 ? "-" : "";
  const body = `${prefix}${s}${flag === "%" ? "%" : ""}${unit}${suffix}`;
  return paren ? `(${body})` : sign + body;
}

/** PrintfTickFormatter: %d %i %f %.Nf %e %.Ne %g %s and %% inside any text. */
export function formatPrintf(v, format = "%s") {
  return format.replace(/%([-+ 0#]*)(\d+)?(?:\.(\d+))?([dieEfFgGsx%])/g, (all, flags, width, prec, conv) => {
    let out;
    switch (conv) {
      case "%": return "%";
      case "d": case "i": out = String(Math.trunc(v)); break;
      case "f": case "F": out = v.toFixed(prec === undefined ? 6 : +prec); break;
      case "e": case "E": out = v.toExponential(prec === undefined ? 6 : +prec); if (conv === "E") out = out.toUpperCase(); break;
      case "g": case "G": out = String(+v.toPrecision(prec === undefined ? 6 : Math.max(1, +prec))); break;
      case "x": out = Math.trunc(v).toString(16); break;
      default: out = String(v);
    }
    if (flags.includes("+") && v >= 0 && conv !== "s") out = "+" + out;
    if (width && out.length < +width) out = flags.includes("-") ? out.padEnd(+width) : out.padStart(+width, flags.includes("0") ? "0" : " ");
    return out;
  });
}
