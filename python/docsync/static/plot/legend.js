// Legend: entries from LegendItems (label as a value, or a field → one entry per
// distinct value), laid out vertically or horizontally at a named location or at
// [x, y] (screen offsets from the frame's bottom-left).

import { cssColor } from "./colors.js";
import { prop } from "./data.js";
import { fontString } from "./glyphs.js";

/** Legend entries: [{label, renderer, row}] — renderer is a GlyphRenderer mirror. */
export function legendEntries(legend, dataOf) {
  const out = [];
  for (const item of prop(legend, "items", []) || []) {
    if (!item || !prop(item, "visible", true)) continue;
    const label = prop(item, "label", null);
    const renderers = (prop(item, "renderers", []) || []).filter(Boolean);
    if (renderers.length === 0) continue;
    const index = prop(item, "index", null);
    if (label && typeof label === "object" && "field" in label) {
      const r = renderers[0];
      const col = (dataOf(r) || {})[label.field];
      if (!col) continue;
      const seen = new Map();
      for (let i = 0; i < col.length; i++) {
        const k = String(col[i]);
        if (!seen.has(k)) seen.set(k, i);
      }
      for (const [k, i] of seen) out.push({ label: k, renderers, row: i });
    } else {
      const text = label && typeof label === "object" && "value" in label ? label.value : label;
      if (text == null || text === "") continue;
      out.push({ label: String(text), renderers, row: index ?? 0 });
    }
  }
  return out;
}

export function legendStyle(m) {
  return {
    visible: prop(m, "visible", true),
    location: prop(m, "location", "top_right"),
    orientation: prop(m, "orientation", "vertical"),
    padding: prop(m, "padding", 10),
    spacing: prop(m, "spacing", 3),
    margin: prop(m, "margin", 10),
    glyphW: prop(m, "glyph_width", 20),
    glyphH: prop(m, "glyph_height", 20),
    standoff: prop(m, "label_standoff", 5),
    font: fontString(prop(m, "label_text_font_style", "normal"), prop(m, "label_text_font_size", "13px"), prop(m, "label_text_font", "helvetica")),
    fontSize: parseFloat(prop(m, "label_text_font_size", "13px")) || 13,
    textColor: cssColor(prop(m, "label_text_color", "#444444"), prop(m, "label_text_alpha", 1)),
    bg: cssColor(prop(m, "background_fill_color", "#ffffff"), prop(m, "background_fill_alpha", 0.95)),
    border: cssColor(prop(m, "border_line_color", "#e5e5e5"), prop(m, "border_line_alpha", 0.5)),
    title: prop(m, "title", null),
  };
}

/** Size of the legend box and of each entry. */
export function measureLegend(ctx, entries, st) {
  ctx.font = st.font;
  const itemH = Math.max(st.glyphH, st.fontSize * 1.2);
  const widths = entries.map((e) => st.glyphW + st.standoff + ctx.measureText(e.label).width);
  let w;
  let h;
  if (st.orientation === "horizontal") {
    w = widths.reduce((a, b) => a + b, 0) + st.spacing * Math.max(0, entries.length - 1);
    h = itemH;
  } else {
    w = Math.max(0, ...widths);
    h = entries.length * itemH + st.spacing * Math.max(0, entries.length - 1);
  }
  let titleH = 0;
  if (st.title) {
    titleH = st.fontSize * 1.3;
    w = Math.max(w, ctx.measureText(String(st.title)).width);
  }
  return { w: w + 2 * st.padding, h: h + titleH + 2 * st.padding, itemH, widths, titleH };
}

/** Top-left corner of the legend box inside `area` ({left, top, width, height}). */
export function legendPosition(location, size, area, margin) {
  if (Array.isArray(location)) {
    return [area.left + location[0], area.top + area.height - location[1] - size.h];
  }
  const loc = String(location || "top_right");
  const [v, h] = loc === "center" ? ["center", "center"]
    : loc.startsWith("top") ? ["top", loc.slice(4) || "center"]
      : loc.startsWith("bottom") ? ["bottom", loc.slice(7) || "center"]
        : loc.startsWith("center_") ? ["center", loc.slice(7)]
          : loc === "left" || loc === "right" ? ["center", loc] : ["top", "right"];
  const x = h === "left" ? area.left + margin
    : h === "right" ? area.left + area.width - size.w - margin
      : area.left + (area.width - size.w) / 2;
  const y = v === "top" ? area.top + margin
    : v === "bottom" ? area.top + area.height - size.h - margin
      : area.top + (area.height - size.h) / 2;
  return [x, y];
}

/**
 * Draw the legend; `sample(ctx, renderer, row, x0, y0, x1, y1)` draws a glyph sample.
 * Returns the box and per-entry boxes (for tests and clicks).
 */
export function drawLegend(ctx, legend, entries, area, sample, inactive = () => false) {
  const st = legendStyle(legend);
  if (!st.visible || entries.length === 0) return null;
  const size = measureLegend(ctx, entries, st);
  const [x, y] = legendPosition(st.location, size, area, st.margin);
  ctx.save();
  if (st.bg) {
    ctx.fillStyle = st.bg;
    ctx.fillRect(x, y, size.w, size.h);
  }
  if (st.border) {
    ctx.strokeStyle = st.border;
    ctx.lineWidth = 1;
    ctx.strokeRect(Math.round(x) + 0.5, Math.round(y) + 0.5, Math.round(size.w), Math.round(size.h));
  }
  ctx.font = st.font;
  let cx = x + st.padding;
  let cy = y + st.padding;
  if (st.title) {
    ctx.fillStyle = st.textColor || "#444";
    ctx.textBaseline = "top";
    ctx.textAlign = "left";
    ctx.font = "bold " + st.font;
    ctx.fillText(String(st.title), cx, cy);
    ctx.font = st.font;
    cy += size.titleH;
  }
  const boxes = [];
  entries.forEach((e, k) => {
    const gy0 = cy + (size.itemH - st.glyphH) / 2;
    ctx.save();
    if (inactive(e)) ctx.globalAlpha = 0.3;
    for (const r of e.renderers) sample(ctx, r, e.row, cx, gy0, cx + st.glyphW, gy0 + st.glyphH);
    ctx.fillStyle = st.textColor || "#444";
    ctx.textBaseline = "middle";
    ctx.textAlign = "left";
    ctx.font = st.font;
    ctx.fillText(e.label, cx + st.glyphW + st.standoff, cy + size.itemH / 2);
    ctx.restore();
    boxes.push({ label: e.label, x: cx, y: cy, w: size.widths[k], h: size.itemH, renderers: e.renderers });
    if (st.orientation === "horizontal") cx += size.widths[k] + st.spacing;
    else cy += size.itemH + st.spacing;
  });
  ctx.restore();
  return { legend, x, y, w: size.w, h: size.h, items: boxes };
}
