// Color parsing for the plot renderer: CSS names, #rgb/#rgba/#rrggbb/#rrggbbaa,
// rgb()/rgba() strings, [r, g, b] / [r, g, b, a] arrays (a in 0..1) and packed
// uint32 RGBA numbers (Bokeh's encoding). Everything resolves to [r, g, b, a] with
// r, g, b in 0..255 and a in 0..1, cached per input string.

const NAMED = "aliceblue:f0f8ff,antiquewhite:faebd7,aqua:00ffff,aquamarine:7fffd4,azure:f0ffff," +
  "beige:f5f5dc,bisque:ffe4c4,black:000000,blanchedalmond:ffebcd,blue:0000ff,blueviolet:8a2be2," +
  "brown:a52a2a,burlywood:deb887,cadetblue:5f9ea0,chartreuse:7fff00,chocolate:d2691e,coral:ff7f50," +
  "cornflowerblue:6495ed,cornsilk:fff8dc,crimson:dc143c,cyan:00ffff,darkblue:00008b,darkcyan:008b8b," +
  "darkgoldenrod:b8860b,darkgray:a9a9a9,darkgreen:006400,darkgrey:a9a9a9,darkkhaki:bdb76b," +
  "darkmagenta:8b008b,darkolivegreen:556b2f,darkorange:ff8c00,darkorchid:9932cc,darkred:8b0000," +
  "darksalmon:e9967a,darkseagreen:8fbc8f,darkslateblue:483d8b,darkslategray:2f4f4f," +
  "darkslategrey:2f4f4f,darkturquoise:00ced1,darkviolet:9400d3,deeppink:ff1493,deepskyblue:00bfff," +
  "dimgray:696969,dimgrey:696969,dodgerblue:1e90ff,firebrick:b22222,floralwhite:fffaf0," +
  "forestgreen:228b22,fuchsia:ff00ff,gainsboro:dcdcdc,ghostwhite:f8f8ff,gold:ffd700," +
  "goldenrod:daa520,gray:808080,green:008000,greenyellow:adff2f,grey:808080,honeydew:f0fff0," +
  "hotpink:ff69b4,indianred:cd5c5c,indigo:4b0082,ivory:fffff0,khaki:f0e68c,lavender:e6e6fa," +
  "lavenderblush:fff0f5,lawngreen:7cfc00,lemonchiffon:fffacd,lightblue:add8e6,lightcoral:f08080," +
  "lightcyan:e0ffff,lightgoldenrodyellow:fafad2,lightgray:d3d3d3,lightgreen:90ee90,lightgrey:d3d3d3," +
  "lightpink:ffb6c1,lightsalmon:ffa07a,lightseagreen:20b2aa,lightskyblue:87cefa," +
  "lightslategray:778899,lightslategrey:778899,lightsteelblue:b0c4de,lightyellow:ffffe0," +
  "lime:00ff00,limegreen:32cd32,linen:faf0e6,magenta:ff00ff,maroon:800000,mediumaquamarine:66cdaa," +
  "mediumblue:0000cd,mediumorchid:ba55d3,mediumpurple:9370db,mediumseagreen:3cb371," +
  "mediumslateblue:7b68ee,mediumspringgreen:00fa9a,mediumturquoise:48d1cc,mediumvioletred:c71585," +
  "midnightblue:191970,mintcream:f5fffa,mistyrose:ffe4e1,moccasin:ffe4b5,navajowhite:ffdead," +
  "navy:000080,oldlace:fdf5e6,olive:808000,olivedrab:6b8e23,orange:ffa500,orangered:ff4500," +
  "orchid:da70d6,palegoldenrod:eee8aa,palegreen:98fb98,paleturquoise:afeeee,palevioletred:db7093," +
  "papayawhip:ffefd5,peachpuff:ffdab9,peru:cd853f,pink:ffc0cb,plum:dda0dd,powderblue:b0e0e6," +
  "purple:800080,rebeccapurple:663399,red:ff0000,rosybrown:bc8f8f,royalblue:4169e1," +
  "saddlebrown:8b4513,salmon:fa8072,sandybrown:f4a460,seagreen:2e8b57,seashell:fff5ee," +
  "sienna:a0522d,silver:c0c0c0,skyblue:87ceeb,slateblue:6a5acd,slategray:708090,slategrey:708090," +
  "snow:fffafa,springgreen:00ff7f,steelblue:4682b4,tan:d2b48c,teal:008080,thistle:d8bfd8," +
  "tomato:ff6347,turquoise:40e0d0,violet:ee82ee,wheat:f5deb3,white:ffffff,whitesmoke:f5f5f5," +
  "yellow:ffff00,yellowgreen:9acd32";

const NAMED_COLORS = new Map();
for (const pair of NAMED.split(",")) {
  const [name, hex] = pair.split(":");
  NAMED_COLORS.set(name, hex);
}

const cache = new Map();

function hexToRgba(hex) {
  let h = hex;
  if (h.length === 3 || h.length === 4) h = [...h].map((c) => c + c).join("");
  if (!/^[0-9a-f]+$/i.test(h) || (h.length !== 6 && h.length !== 8)) return null;
  const n = (i) => parseInt(h.slice(i, i + 2), 16);
  return [n(0), n(2), n(4), h.length === 8 ? n(6) / 255 : 1];
}

function parseString(s) {
  const t = s.trim().toLowerCase();
  if (t === "transparent") return [0, 0, 0, 0];
  if (t.startsWith("#")) return hexToRgba(t.slice(1));
  const named = NAMED_COLORS.get(t);
  if (named) return hexToRgba(named);
  const m = /^rgba?\(([^)]*)\)$/.exec(t);
  if (m) {
    const parts = m[1].split(/[\s,/]+/).filter(Boolean);
    if (parts.length < 3 || parts.length > 4) return null;
    const ch = (p) => (p.endsWith("%") ? (parseFloat(p) * 255) / 100 : parseFloat(p));
    const rgba = [ch(parts[0]), ch(parts[1]), ch(parts[2])];
    let a = 1;
    if (parts.length === 4) a = parts[3].endsWith("%") ? parseFloat(parts[3]) / 100 : parseFloat(parts[3]);
    rgba.push(a);
    if (rgba.some((v) => !Number.isFinite(v))) return null;
    return [clamp255(rgba[0]), clamp255(rgba[1]), clamp255(rgba[2]), Math.min(1, Math.max(0, a))];
  }
  return null;
}

function clamp255(v) {
  return Math.min(255, Math.max(0, Math.round(v)));
}

/** Parse any supported color value into [r, g, b, a]; null when it is not a color. */
export function parseColor(value) {
  if (value == null) return null;
  if (typeof value === "string") {
    let hit = cache.get(value);
    if (hit === undefined) {
      hit = parseString(value);
      if (cache.size > 4096) cache.clear();
      cache.set(value, hit);
    }
    return hit;
  }
  if (typeof value === "number") {
    // packed 0xRRGGBBAA, as Bokeh encodes color arrays
    const v = value >>> 0;
    return [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, (v & 255) / 255];
  }
  if (Array.isArray(value) || ArrayBuffer.isView(value)) {
    if (value.length !== 3 && value.length !== 4) return null;
    const a = value.length === 4 ? Number(value[3]) : 1;
    return [clamp255(Number(value[0])), clamp255(Number(value[1])), clamp255(Number(value[2])),
      Math.min(1, Math.max(0, a > 1 ? a / 255 : a))];
  }
  return null;
}

/** True when the value names a color (used to tell `"red"` from a column name). */
export function isColor(value) {
  return parseColor(value) !== null;
}

/**
 * CSS rgba() string for a color value with an extra alpha multiplier; null (draw nothing)
 * for null/"transparent"/unparseable values or zero alpha.
 */
export function cssColor(value, alpha = 1) {
  const rgba = parseColor(value);
  if (rgba === null) return null;
  const a = rgba[3] * (alpha == null || Number.isNaN(alpha) ? 1 : alpha);
  if (a <= 0) return null;
  return `rgba(${rgba[0]},${rgba[1]},${rgba[2]},${+a.toFixed(4)})`;
}

export { NAMED_COLORS };
