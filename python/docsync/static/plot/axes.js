// Axes and grids: ticks and labels from the axis' ticker/formatter, panel sizes for the
// layout, and drawing.

import { cssColor } from "./colors.js";
import { prop } from "./data.js";
import { dashArray, fontString } from "./glyphs.js";
import {
  categoricalTicks, datetimeTicks, formatBasic, formatDatetime, formatLog, formatNumeral, formatPrintf,
  linearTicks, logTicks,
} from "./ticks.js";

/** Ticks for an axis (or grid) given its ticker/formatter models and the mapper. */
export function computeTicks(axisModel, tickerModel, formatterModel, mapper) {
  const tickerType = tickerModel ? tickerModel.type : defaultTicker(axisModel, mapper);
  const desired = prop(tickerModel, "desired_num_ticks", 6);
  const [lo, hi] = mapper.visible();
  let t;
  if (mapper.factors || tickerType === "CategoricalTicker") {
    t = categoricalTicks(mapper.factors || [], lo, hi);
    return { major: t.major, minor: [], labels: t.labels };
  }
  if (tickerType === "FixedTicker") {
    const ticks = (prop(tickerModel, "ticks", []) || []).filter((v) => v >= lo && v <= hi);
    t = { major: ticks, minor: [], step: ticks.length > 1 ? ticks[1] - ticks[0] : 0 };
  } else if (tickerType === "LogTicker" || (mapper.log && tickerType !== "DatetimeTicker")) {
    t = logTicks(lo, hi, desired);
  } else if (tickerType === "DatetimeTicker") {
    t = datetimeTicks(lo, hi, desired);
  } else {
    t = linearTicks(lo, hi, desired, prop(tickerModel, "num_minor_ticks", 5));
  }
  const fmtType = formatterModel ? formatterModel.type : null;
  let labels;
  if (fmtType === "DatetimeTickFormatter" || (!fmtType && tickerType === "DatetimeTicker")) {
    labels = formatDatetime(t.major, t.unit || unitOf(t.step), t.step);
  } else if (fmtType === "NumeralTickFormatter") {
    const f = prop(formatterModel, "format", "0,0");
    labels = t.major.map((v) => formatNumeral(v, f));
  } else if (fmtType === "PrintfTickFormatter") {
    const f = prop(formatterModel, "format", "%s");
    labels = t.major.map((v) => formatPrintf(v, f));
  } else if (fmtType === "LogTickFormatter" || ((!fmtType || fmtType === "BasicTickFormatter") && (tickerType === "LogTicker" || mapper.log) && !t.linear)) {
    labels = formatLog(t.major, !!t.linear);
  } else {
    labels = formatBasic(t.major, {
      useScientific: prop(formatterModel, "use_scientific", true),
      powerLimitHigh: prop(formatterModel, "power_limit_high", 5),
      powerLimitLow: prop(formatterModel, "power_limit_low", -3),
    });
  }
  // minor ticks as the ticker asks (DatetimeTicker defaults to none)
  const minorCount = prop(tickerModel, "num_minor_ticks", tickerType === "DatetimeTicker" ? 0 : 5);
  if (minorCount === 0) t = { ...t, minor: [] };
  const overrides = prop(axisModel, "major_label_overrides", null);
  if (overrides && typeof overrides === "object") {
    labels = labels.map((l, i) => {
      const k = String(t.major[i]);
      return k in overrides ? String(overrides[k]) : l;
    });
  }
  return { major: t.major, minor: t.minor || [], labels };
}

function unitOf(step) {
  if (step < 1000) return "ms";
  if (step < 60000) return "s";
  if (step < 86400000) return "min";
  if (step < 28 * 86400000) return "day";
  if (step < 365 * 86400000) return "month";
  return "year";
}

function defaultTicker(axisModel, mapper) {
  const t = axisModel ? axisModel.type : "";
  if (t === "LogAxis" || mapper.log) return "LogTicker";
  if (t === "DatetimeAxis") return "DatetimeTicker";
  if (t === "CategoricalAxis") return "CategoricalTicker";
  return "BasicTicker";
}

function orientationAngle(o, side) {
  if (typeof o === "number") return o;
  if (o === "vertical") return Math.PI / 2;
  if (o === "parallel") return side === "left" || side === "right" ? Math.PI / 2 : 0;
  return 0; // horizontal / normal
}

/** Axis style props with Bokeh's defaults. */
export function axisStyle(m) {
  return {
    visible: prop(m, "visible", true),
    label: prop(m, "axis_label", null),
    lineColor: cssColor(prop(m, "axis_line_color", "black"), prop(m, "axis_line_alpha", 1)),
    lineWidth: prop(m, "axis_line_width", 1),
    tickColor: cssColor(prop(m, "major_tick_line_color", "black"), prop(m, "major_tick_line_alpha", 1)),
    minorTickColor: cssColor(prop(m, "minor_tick_line_color", "black"), prop(m, "minor_tick_line_alpha", 1)),
    tickOut: prop(m, "major_tick_out", 6),
    tickIn: prop(m, "major_tick_in", 2),
    minorOut: prop(m, "minor_tick_out", 4),
    minorIn: prop(m, "minor_tick_in", 0),
    labelStandoff: prop(m, "major_label_standoff", 5),
    labelFont: fontString(prop(m, "major_label_text_font_style", "normal"), prop(m, "major_label_text_font_size", "11px"), prop(m, "major_label_text_font", "helvetica")),
    labelColor: cssColor(prop(m, "major_label_text_color", "#444444"), prop(m, "major_label_text_alpha", 1)),
    labelSize: parseFloat(prop(m, "major_label_text_font_size", "11px")) || 11,
    orientation: prop(m, "major_label_orientation", "horizontal"),
    titleFont: fontString(prop(m, "axis_label_text_font_style", "italic"), prop(m, "axis_label_text_font_size", "13px"), prop(m, "axis_label_text_font", "helvetica")),
    titleColor: cssColor(prop(m, "axis_label_text_color", "#444444"), prop(m, "axis_label_text_alpha", 1)),
    titleSize: parseFloat(prop(m, "axis_label_text_font_size", "13px")) || 13,
    titleStandoff: prop(m, "axis_label_standoff", 5),
  };
}

/** Depth of an axis panel (px across the axis) given its labels. */
export function axisExtent(ctx, info, side) {
  const st = info.style;
  if (!st.visible) return 0;
  ctx.font = st.labelFont;
  const angle = orientationAngle(st.orientation, side);
  let labelDepth = 0;
  for (const l of info.ticks.labels) {
    const w = ctx.measureText(l).width;
    const h = st.labelSize * 1.15;
    const horizontalSide = side === "below" || side === "above";
    const c = Math.abs(Math.cos(angle)), s = Math.abs(Math.sin(angle));
    const across = horizontalSide ? h * c + w * s : w * c + h * s;
    labelDepth = Math.max(labelDepth, across);
  }
  let d = st.tickOut + st.labelStandoff + labelDepth;
  if (st.label) d += st.titleStandoff + st.titleSize * 1.2;
  return Math.ceil(d + 2);
}

/**
 * Draw an axis in its panel. `side` below|above|left|right; `pos` is the frame edge
 * coordinate the axis hugs; `mapper` maps data → screen along the axis.
 */
export function drawAxis(ctx, info, side, frame, pos, mapper) {
  const st = info.style;
  if (!st.visible) return;
  const horiz = side === "below" || side === "above";
  const dir = side === "below" || side === "right" ? 1 : -1;
  const lo = horiz ? frame.left : frame.top;
  const hi = horiz ? frame.left + frame.width : frame.top + frame.height;
  const within = (s) => s >= lo - 0.5 && s <= hi + 0.5;
  const snap = (v) => Math.round(v) + 0.5;
  ctx.save();
  if (st.lineColor) {
    ctx.strokeStyle = st.lineColor;
    ctx.lineWidth = st.lineWidth;
    ctx.beginPath();
    if (horiz) { ctx.moveTo(lo, snap(pos)); ctx.lineTo(hi, snap(pos)); }
    else { ctx.moveTo(snap(pos), lo); ctx.lineTo(snap(pos), hi); }
    ctx.stroke();
  }
  const ticks = (list, out, inn, color) => {
    if (!color) return;
    ctx.strokeStyle = color;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (const v of list) {
      const s = mapper.map(v);
      if (!within(s)) continue;
      if (horiz) { ctx.moveTo(snap(s), pos - dir * inn); ctx.lineTo(snap(s), pos + dir * out); }
      else { ctx.moveTo(pos - dir * inn, snap(s)); ctx.lineTo(pos + dir * out, snap(s)); }
    }
    ctx.stroke();
  };
  ticks(info.ticks.minor, st.minorOut, st.minorIn, st.minorTickColor);
  ticks(info.ticks.major, st.tickOut, st.tickIn, st.tickColor);
  // labels
  const angle = orientationAngle(st.orientation, side);
  ctx.font = st.labelFont;
  ctx.fillStyle = st.labelColor || "#444";
  const off = st.tickOut + st.labelStandoff;
  let depth = 0;
  let lastEnd = -Infinity; // position and extent of the last label drawn
  let lastAlong = 0;
  const gap = 4;
  info.ticks.major.forEach((v, k) => {
    const s = mapper.map(v);
    if (!within(s)) return;
    const text = info.ticks.labels[k];
    const w = ctx.measureText(text).width;
    // labels that would overlap the previous one along the axis are left out
    const along = horiz ? (angle ? st.labelSize * 1.15 / Math.max(0.2, Math.abs(Math.sin(angle))) : w) : st.labelSize * 1.15;
    if (lastEnd !== -Infinity && Math.abs(s - lastEnd) < (along + lastAlong) / 2 + gap) return;
    lastEnd = s;
    lastAlong = along;
    ctx.save();
    if (horiz) ctx.translate(s, pos + dir * off);
    else ctx.translate(pos + dir * off, s);
    if (angle) {
      ctx.rotate(-angle);
      ctx.textAlign = horiz ? (dir > 0 ? "right" : "left") : "center";
      ctx.textBaseline = "middle";
      if (!horiz) { ctx.textAlign = dir > 0 ? "center" : "center"; ctx.textBaseline = dir > 0 ? "top" : "bottom"; }
    } else if (horiz) {
      ctx.textAlign = "center";
      ctx.textBaseline = dir > 0 ? "top" : "alphabetic";
    } else {
      ctx.textAlign = dir > 0 ? "left" : "right";
      ctx.textBaseline = "middle";
    }
    ctx.fillText(text, 0, 0);
    ctx.restore();
    depth = Math.max(depth, horiz ? st.labelSize * 1.15 * Math.abs(Math.cos(angle)) + w * Math.abs(Math.sin(angle))
      : w * Math.abs(Math.cos(angle)) + st.labelSize * 1.15 * Math.abs(Math.sin(angle)));
  });
  // axis label
  if (st.label) {
    ctx.font = st.titleFont;
    ctx.fillStyle = st.titleColor || "#444";
    ctx.textAlign = "center";
    const d = off + (depth || st.labelSize * 1.15) + st.titleStandoff;
    const mid = (lo + hi) / 2;
    if (horiz) {
      ctx.textBaseline = dir > 0 ? "top" : "alphabetic";
      ctx.fillText(String(st.label), mid, pos + dir * d);
    } else {
      ctx.save();
      ctx.translate(pos + dir * d, mid);
      ctx.rotate(dir > 0 ? Math.PI / 2 : -Math.PI / 2);
      ctx.textBaseline = "alphabetic";
      ctx.fillText(String(st.label), 0, 0);
      ctx.restore();
    }
  }
  ctx.restore();
}

/** Grid lines (and optional bands) at the major ticks. */
export function drawGrid(ctx, gridModel, ticks, dimension, frame, mapper) {
  if (!prop(gridModel, "visible", true)) return;
  const band = cssColor(prop(gridModel, "band_fill_color", null), prop(gridModel, "band_fill_alpha", 0));
  const color = cssColor(prop(gridModel, "grid_line_color", "#e5e5e5"), prop(gridModel, "grid_line_alpha", 1));
  const minorColor = cssColor(prop(gridModel, "minor_grid_line_color", null), prop(gridModel, "minor_grid_line_alpha", 1));
  const L = frame.left, R = frame.left + frame.width, T = frame.top, B = frame.top + frame.height;
  const snap = (v) => Math.round(v) + 0.5;
  ctx.save();
  if (band) {
    ctx.fillStyle = band;
    for (let k = 0; k + 1 < ticks.major.length; k += 2) {
      const a = mapper.map(ticks.major[k]), b = mapper.map(ticks.major[k + 1]);
      if (dimension === 0) ctx.fillRect(Math.min(a, b), T, Math.abs(b - a), B - T);
      else ctx.fillRect(L, Math.min(a, b), R - L, Math.abs(b - a));
    }
  }
  const lines = (list, c, w, dash) => {
    if (!c) return;
    ctx.strokeStyle = c;
    ctx.lineWidth = w;
    ctx.setLineDash(dash);
    ctx.beginPath();
    for (const v of list) {
      const s = mapper.map(v);
      if (dimension === 0) {
        if (s < L - 0.5 || s > R + 0.5) continue;
        ctx.moveTo(snap(s), T); ctx.lineTo(snap(s), B);
      } else {
        if (s < T - 0.5 || s > B + 0.5) continue;
        ctx.moveTo(L, snap(s)); ctx.lineTo(R, snap(s));
      }
    }
    ctx.stroke();
  };
  lines(ticks.minor, minorColor, prop(gridModel, "minor_grid_line_width", 1), dashArray(prop(gridModel, "minor_grid_line_dash", [])));
  lines(ticks.major, color, prop(gridModel, "grid_line_width", 1), dashArray(prop(gridModel, "grid_line_dash", [])));
  ctx.restore();
}
