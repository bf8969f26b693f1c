// Widgets as real DOM elements, built once and updated in place (docs/catalogue.md,
// "Widgets"). Value changes made by the person go through `model.set(...)`, which updates
// the mirror at once and lets the connection coalesce what goes to the server.

import { View, registerView, EmptyView } from "./views.js";

const h = (tag, props = {}, ...children) => {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") el.className = v;
    else if (k in el) el[k] = v;
    else el.setAttribute(k, v);
  }
  el.append(...children);
  return el;
};

let uid = 0;
const nextId = (prefix) => `docsync-${prefix}-${++uid}`;

/** Base of input widgets: an optional title label above the control. */
class WidgetView extends View {
  /** A `<label>` bound to `control` showing the `title` property (hidden when empty). */
  titleLabel(control, format = (t) => t) {
    const label = h("label", { class: "docsync-title" });
    if (control) {
      if (!control.id) control.id = nextId("input");
      label.htmlFor = control.id;
    }
    const update = () => {
      const t = this.model.get("title");
      const text = t == null || t === "" ? "" : format(String(t));
      label.textContent = text;
      label.hidden = text === "";
    };
    update();
    this.listen("title", update);
    this._updateTitle = update;
    return label;
  }

  trackDisabled(...controls) {
    const update = () => { for (const c of controls) c.disabled = this.model.get("disabled") === true; };
    update();
    this.listen("disabled", update);
  }
}

// ---------------------------------------------------------------------------------------

const BUTTON_TYPES = ["default", "primary", "success", "warning", "danger", "light"];

function trackButtonType(view, button) {
  const update = () => {
    for (const t of BUTTON_TYPES) button.classList.remove(`docsync-btn-${t}`);
    const t = view.model.get("button_type") ?? "default";
    button.classList.add(`docsync-btn-${BUTTON_TYPES.includes(t) ? t : "default"}`);
  };
  update();
  view.listen("button_type", update);
}

function trackLabel(view, button) {
  const update = () => { button.textContent = String(view.model.get("label") ?? ""); };
  update();
  view.listen("label", update);
}

export class ButtonView extends WidgetView {
  render() {
    this.el.classList.add("docsync-widget");
    const button = h("button", { type: "button", class: "docsync-btn" });
    this.button = button;
    trackLabel(this, button);
    trackButtonType(this, button);
    this.trackDisabled(button);
    button.addEventListener("click", () => this.emitEvent("button_click", null));
    this.el.append(button);
  }
}

export class ToggleView extends WidgetView {
  render() {
    this.el.classList.add("docsync-widget");
    const button = h("button", { type: "button", class: "docsync-btn docsync-toggle" });
    this.button = button;
    trackLabel(this, button);
    trackButtonType(this, button);
    this.trackDisabled(button);
    const active = () => {
      const on = this.model.get("active") === true;
      button.classList.toggle("docsync-active", on);
      button.setAttribute("aria-pressed", String(on));
    };
    active();
    this.listen("active", active);
    button.addEventListener("click", () => {
      this.model.set("active", !(this.model.get("active") === true));
      this.emitEvent("button_click", null, { send: false });
    });
    this.el.append(button);
  }
}

// ---------------------------------------------------------------------------------------
// sliders

function decimalsOf(step) {
  if (typeof step !== "number" || !Number.isFinite(step)) return 0;
  const s = String(step);
  if (s.includes("e-")) return Number(s.split("e-")[1]);
  const dot = s.indexOf(".");
  return dot < 0 ? 0 : s.length - dot - 1;
}

/** A number shown with the slider's precision (the `format` property: printf-ish or a
 * numbro pattern like "0[.]00"; the number of decimals is taken from it, else from step). */
function formatValue(v, model) {
  if (typeof v !== "number" || !Number.isFinite(v)) return String(v);
  const fmt = model.get("format");
  let decimals = decimalsOf(model.get("step"));
  if (typeof fmt === "string") {
    const m = /\.(0+)|%\.(\d+)f/.exec(fmt.replace(/\[|\]/g, ""));
    if (m) decimals = m[1] ? m[1].length : Number(m[2]);
  }
  return v.toFixed(Math.min(decimals, 20));
}

function setRangeAttrs(input, model) {
  const start = model.get("start");
  const end = model.get("end");
  const step = model.get("step");
  input.min = String(start ?? 0);
  input.max = String(end ?? 100);
  input.step = typeof step === "number" && step > 0 ? String(step) : "any";
}

export class SliderView extends WidgetView {
  render() {
    const m = this.model;
    this.el.classList.add("docsync-widget", "docsync-slider-widget");
    const input = h("input", { type: "range", class: "docsync-range" });
    this.input = input;
    const head = h("div", { class: "docsync-slider-head" });
    const title = this.titleLabel(input);
    const value = h("span", { class: "docsync-slider-value" });
    head.append(title, value);
    const attrs = () => { setRangeAttrs(input, m); showValue(); };
    const showValue = () => {
      const v = m.get("value");
      const s = String(v);
      if (input.value !== s) input.value = s;
      value.textContent = formatValue(v, m);
    };
    attrs();
    for (const p of ["start", "end", "step"]) this.listen(p, attrs);
    this.listen("value", showValue);
    this.listen("format", showValue);
    this.trackDisabled(input);
    input.addEventListener("input", () => {
      const v = Number(input.value);
      if (Number.isFinite(v)) m.set("value", v);
    });
    // Bokeh's value_throttled: the value when the drag ends (if the type has it).
    input.addEventListener("change", () => {
      if (m.has("value_throttled")) m.set("value_throttled", Number(input.value));
    });
    this.el.append(head, input);
  }
}

export class RangeSliderView extends WidgetView {
  render() {
    const m = this.model;
    this.el.classList.add("docsync-widget", "docsync-slider-widget");
    const lo = h("input", { type: "range", class: "docsync-range docsync-range-lo", "aria-label": "lower value" });
    const hi = h("input", { type: "range", class: "docsync-range docsync-range-hi", "aria-label": "upper value" });
    this.inputs = [lo, hi];
    const track = h("div", { class: "docsync-dual-range" }, h("div", { class: "docsync-dual-fill" }), lo, hi);
    const fill = track.firstChild;
    const head = h("div", { class: "docsync-slider-head" });
    const value = h("span", { class: "docsync-slider-value" });
    head.append(this.titleLabel(lo), value);
    const current = () => {
      const v = m.get("value");
      return Array.isArray(v) && v.length === 2 ? v.map(Number) : [Number(m.get("start") ?? 0), Number(m.get("end") ?? 1)];
    };
    const show = () => {
      const [a, b] = current();
      if (lo.value !== String(a)) lo.value = String(a);
      if (hi.value !== String(b)) hi.value = String(b);
      value.textContent = `${formatValue(a, m)} … ${formatValue(b, m)}`;
      const s = Number(m.get("start") ?? 0);
      const e = Number(m.get("end") ?? 1);
      const span = e - s || 1;
      fill.style.left = `${((Number(lo.value) - s) / span) * 100}%`;
      fill.style.right = `${(1 - (Number(hi.value) - s) / span) * 100}%`;
    };
    const attrs = () => { setRangeAttrs(lo, m); setRangeAttrs(hi, m); show(); };
    attrs();
    for (const p of ["start", "end", "step"]) this.listen(p, attrs);
    this.listen("value", show);
    this.listen("format", show);
    this.trackDisabled(lo, hi);
    const onInput = (which) => () => {
      let a = Number(lo.value);
      let b = Number(hi.value);
      if (a > b) { if (which === lo) a = b; else b = a; lo.value = String(a); hi.value = String(b); }
      m.set("value", [a, b]);
    };
    lo.addEventListener("input", onInput(lo));
    hi.addEventListener("input", onInput(hi));
    const throttled = () => { if (m.has("value_throttled")) m.set("value_throttled", [Number(lo.value), Number(hi.value)]); };
    lo.addEventListener("change", throttled);
    hi.addEventListener("change", throttled);
    this.el.append(head, track);
  }
}

// ---------------------------------------------------------------------------------------
// text and choices

export class TextInputView extends WidgetView {
  render() {
    const m = this.model;
    this.el.classList.add("docsync-widget");
    const input = h("input", { type: "text", class: "docsync-input" });
    this.input = input;
    const show = () => {
      const v = String(m.get("value") ?? "");
      if (input.value !== v) input.value = v; // never touch an equal value: the caret stays
    };
    const placeholder = () => { input.placeholder = String(m.get("placeholder") ?? ""); };
    show(); placeholder();
    this.listen("value", show);
    this.listen("value_input", () => {
      const v = String(m.get("value_input") ?? "");
      if (document.activeElement !== input && input.value !== v) input.value = v;
    });
    this.listen("placeholder", placeholder);
    this.trackDisabled(input);
    input.addEventListener("input", () => { if (m.has("value_input")) m.set("value_input", input.value); });
    input.addEventListener("change", () => m.set("value", input.value)); // Enter or leaving the field
    this.el.append(this.titleLabel(input), input);
  }
}

function normOptions(options) {
  if (!Array.isArray(options)) return [];
  return options.map((o) => (Array.isArray(o) ? [String(o[0]), String(o[1] ?? o[0])] : [String(o), String(o)]));
}

export class SelectView extends WidgetView {
  render() {
    const m = this.model;
    this.el.classList.add("docsync-widget");
    const select = h("select", { class: "docsync-select" });
    this.select = select;
    const options = () => {
      const opts = normOptions(m.get("options"));
      // update option elements in place; add or drop only the difference
      while (select.options.length > opts.length) select.remove(select.options.length - 1);
      opts.forEach(([value, label], i) => {
        let o = select.options[i];
        if (!o) { o = document.createElement("option"); select.append(o); }
        if (o.value !== value) o.value = value;
        if (o.textContent !== label) o.textContent = label;
      });
      value();
    };
    const value = () => {
      const v = m.get("value");
      const s = v == null ? "" : String(v);
      if (select.value !== s) select.value = s;
    };
    options();
    this.listen("options", options);
    this.listen("value", value);
    this.trackDisabled(select);
    select.addEventListener("change", () => m.set("value", select.value));
    this.el.append(this.titleLabel(select), select);
  }
}

/** CheckboxGroup / RadioGroup: one input per label, rebuilt only when labels change. */
class ChoiceGroupView extends WidgetView {
  static inputType = "checkbox";

  render() {
    const m = this.model;
    this.el.classList.add("docsync-widget", "docsync-choice-group");
    this.el.setAttribute("role", this.constructor.inputType === "radio" ? "radiogroup" : "group");
    const name = nextId("group");
    this.inputs = [];
    const labels = () => {
      const ls = Array.isArray(m.get("labels")) ? m.get("labels") : [];
      while (this.inputs.length > ls.length) this.inputs.pop().closest("label").remove();
      ls.forEach((text, i) => {
        let input = this.inputs[i];
        if (!input) {
          input = h("input", { type: this.constructor.inputType, name, value: String(i) });
          input.addEventListener("change", () => this.changed());
          const label = h("label", { class: "docsync-choice" }, input, h("span"));
          this.el.append(label);
          this.inputs.push(input);
        }
        const span = input.nextSibling;
        if (span.textContent !== String(text)) span.textContent = String(text);
      });
      this.showActive();
      this.disable();
    };
    labels();
    this.listen("labels", labels);
    this.listen("active", () => this.showActive());
    this.listen("disabled", () => this.disable());
    this.listen("inline", () => this.el.classList.toggle("docsync-inline", m.get("inline") === true));
    this.el.classList.toggle("docsync-inline", m.get("inline") === true);
  }

  disable() {
    for (const i of this.inputs) i.disabled = this.model.get("disabled") === true;
  }
}

export class CheckboxGroupView extends ChoiceGroupView {
  static inputType = "checkbox";
  showActive() {
    const active = new Set(Array.isArray(this.model.get("active")) ? this.model.get("active") : []);
    this.inputs.forEach((input, i) => { input.checked = active.has(i); });
  }
  changed() {
    this.model.set("active", this.inputs.flatMap((input, i) => (input.checked ? [i] : [])));
  }
}

export class RadioGroupView extends ChoiceGroupView {
  static inputType = "radio";
  showActive() {
    const a = this.model.get("active");
    this.inputs.forEach((input, i) => { input.checked = a === i; });
  }
  changed() {
    const i = this.inputs.findIndex((input) => input.checked);
    this.model.set("active", i < 0 ? null : i);
  }
}

// ---------------------------------------------------------------------------------------
// text blocks

export class DivView extends View {
  render() {
    this.el.classList.add("docsync-markup");
    const update = () => {
      const t = String(this.model.get("text") ?? "");
      if (this.model.get("render_as_text") === true) this.el.textContent = t;
      else if (this.el.innerHTML !== t) this.el.innerHTML = t; // Div renders HTML, as in Bokeh
    };
    update();
    this.listen("text", update);
    this.listen("render_as_text", update);
  }
}

export class ParagraphView extends View {
  static tagName = "p";
  render() {
    this.el.classList.add("docsync-markup");
    const update = () => { this.el.textContent = String(this.model.get("text") ?? ""); };
    update();
    this.listen("text", update);
  }
}

export class PreTextView extends ParagraphView {
  static tagName = "pre";
}

export class SpacerView extends View {
  render() { this.el.setAttribute("aria-hidden", "true"); }
}

// ---------------------------------------------------------------------------------------
// DataTable

const ROW_HEIGHT = 28; // px; must match .docsync-table td height in docsync.css
const OVERSCAN = 10;

function formatCell(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") {
    if (Number.isNaN(v)) return "NaN";
    return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  }
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "object") return ArrayBuffer.isView(v) ? `[${v.length} values]` : JSON.stringify(v);
  return String(v);
}

const pad2 = (n) => String(n).padStart(2, "0");
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** A strftime subset for DateFormatter (%Y %m %d %H %M %S %b %y %j %%), in UTC. */
function strftime(ms, fmt) {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return "";
  const map = {
    Y: d.getUTCFullYear(), y: pad2(d.getUTCFullYear() % 100), m: pad2(d.getUTCMonth() + 1), d: pad2(d.getUTCDate()),
    H: pad2(d.getUTCHours()), M: pad2(d.getUTCMinutes()), S: pad2(d.getUTCSeconds()), b: MONTHS[d.getUTCMonth()],
    f: String(d.getUTCMilliseconds()).padStart(3, "0"), "%": "%",
  };
  return fmt.replace(/%([a-zA-Z%])/g, (m0, c) => (c in map ? String(map[c]) : m0));
}

/** A cell's text through a TableColumn formatter model (Number/Date/String), else a default. */
function formatWith(formatter, v) {
  if (!formatter || typeof formatter.get !== "function") return formatCell(v);
  switch (formatter.type) {
    case "NumberFormatter": {
      if (typeof v !== "number" || !Number.isFinite(v)) return formatCell(v);
      const fmt = String(formatter.get("format") ?? "0,0");
      const m = /\.(0+)/.exec(fmt.replace(/\[|\]/g, ""));
      const decimals = m ? m[1].length : 0;
      const pct = fmt.includes("%");
      const x = pct ? v * 100 : v;
      const s = fmt.includes(",")
        ? x.toLocaleString("en-US", { minimumFractionDigits: decimals, maximumFractionDigits: decimals })
        : x.toFixed(decimals);
      return pct ? `${s}%` : s;
    }
    case "DateFormatter": {
      if (typeof v !== "number") return formatCell(v);
      const f = formatter.get("format");
      const fmt = f === "ISO-8601" || f === "iso" ? "%Y-%m-%dT%H:%M:%S" : typeof f === "string" && f.includes("%") ? f : "%Y-%m-%d";
      return strftime(v, fmt);
    }
    case "StringFormatter":
      return v == null ? "" : String(v);
    default:
      return formatCell(v);
  }
}

function compareValues(a, b) {
  if (a === b) return 0;
  if (a === null || a === undefined || (typeof a === "number" && Number.isNaN(a))) return 1;
  if (b === null || b === undefined || (typeof b === "number" && Number.isNaN(b))) return -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "bigint" && typeof b === "bigint") return a < b ? -1 : 1;
  return collator.compare(String(a), String(b));
}

const collator = new Intl.Collator(undefined, { numeric: true }); // ~20x faster than localeCompare per call

/**
 * A scrolling table of a ColumnDataSource. Only the rows in view are in the DOM (long
 * tables stay fast); clicking a header sorts (ascending, descending, original); clicking a
 * row selects it (Ctrl/⌘ toggles, Shift extends) and sets `source.selected.indices`.
 */
export class DataTableView extends View {
  render() {
    const m = this.model;
    this.el.classList.add("docsync-widget");
    this.scroller = h("div", { class: "docsync-table-scroll", tabIndex: 0 });
    this.table = h("table", { class: "docsync-table" });
    this.thead = h("thead");
    this.tbody = h("tbody");
    this.table.append(this.thead, this.tbody);
    this.scroller.append(this.table);
    this.el.append(this.scroller);
    this.sort = null; // {field, dir: 1 | -1}
    this.order = null; // row indices in display order (null: natural)
    this.anchor = null;
    this.source = null;
    this.selection = null;
    this.sourceUnsubs = [];
    this.frame = 0;

    const height = () => {
      const hgt = m.get("height");
      this.scroller.style.maxHeight = typeof hgt === "number" ? `${hgt}px` : "";
    };
    height();
    this.listen("height", height);
    this.listen("columns", () => { this.buildHeader(); this.refresh(); });
    this.listen("index_position", () => { this.buildHeader(); this.refresh(); });
    this.listen("sortable", () => this.buildHeader());
    this.listen("source", () => { this.attachSource(); this.refresh(); });
    this.scroller.addEventListener("scroll", () => this.schedule());
    this.tbody.addEventListener("click", (ev) => this.onRowClick(ev));
    this.buildHeader();
    this.attachSource();
    this.refresh();
  }

  columns() {
    const cols = this.model.get("columns");
    return Array.isArray(cols) ? cols.filter((c) => c && typeof c.get === "function") : [];
  }

  attachSource() {
    for (const off of this.sourceUnsubs) off();
    this.sourceUnsubs = [];
    this.source = this.model.get("source") ?? null;
    if (!this.source || typeof this.source.on !== "function") { this.source = null; return; }
    const onData = () => { this.order = null; this.refresh(); };
    this.sourceUnsubs.push(this.listen("data", onData, this.source));
    this.sourceUnsubs.push(this.listen("selected", () => this.attachSelection(), this.source));
    this.attachSelection();
  }

  attachSelection() {
    if (this.selUnsub) this.selUnsub();
    this.selUnsub = null;
    this.selection = this.source?.get("selected") ?? null;
    if (this.selection && typeof this.selection.on === "function") {
      this.selUnsub = this.listen("indices", () => this.schedule(), this.selection);
    }
    this.schedule();
  }

  buildHeader() {
    const tr = h("tr");
    const sortable = this.model.get("sortable") !== false;
    const index = this.model.get("index_position");
    const cells = [];
    if (index !== null && index !== undefined) cells.push(h("th", { class: "docsync-index", scope: "col" }, "#"));
    for (const col of this.columns()) {
      const field = col.get("field");
      const th = h("th", { scope: "col" }, String(col.get("title") ?? field ?? ""));
      const w = col.get("width");
      if (typeof w === "number") th.style.width = `${w}px`;
      if (sortable) {
        th.classList.add("docsync-sortable");
        th.tabIndex = 0;
        if (this.sort?.field === field) th.dataset.sort = this.sort.dir > 0 ? "asc" : "desc";
        th.setAttribute("aria-sort", this.sort?.field === field ? (this.sort.dir > 0 ? "ascending" : "descending") : "none");
        const toggle = () => this.toggleSort(field);
        th.addEventListener("click", toggle);
        th.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); toggle(); } });
      }
      cells.push(th);
    }
    if (index !== null && index !== undefined && index !== 0 && index !== -1 && index < cells.length) {
      cells.splice(index, 0, cells.shift());
    } else if (index === -1) {
      cells.push(cells.shift());
    }
    tr.append(...cells);
    this.thead.replaceChildren(tr);
  }

  toggleSort(field) {
    if (this.sort?.field !== field) this.sort = { field, dir: 1 };
    else if (this.sort.dir === 1) this.sort = { field, dir: -1 };
    else this.sort = null;
    this.order = null;
    this.buildHeader();
    this.refresh();
  }

  data() {
    return this.source ? this.source.get("data") ?? {} : {};
  }

  length() {
    const d = this.data();
    for (const v of Object.values(d)) return v.length;
    return 0;
  }

  displayOrder() {
    if (this.order) return this.order;
    const n = this.length();
    if (!this.sort) return null;
    const col = this.data()[this.sort.field];
    const idx = Array.from({ length: n }, (_, i) => i);
    if (col) {
      const dir = this.sort.dir;
      idx.sort((a, b) => dir * compareValues(col[a], col[b]) || a - b);
    }
    this.order = idx;
    return idx;
  }

  refresh() { this.schedule(); }

  schedule() {
    if (this.frame) return;
    const raf = globalThis.requestAnimationFrame ?? ((f) => setTimeout(f, 16));
    this.frame = raf(() => { this.frame = 0; if (!this.removed) this.paint(); });
  }

  /** Draw the visible window of rows (plus a little overscan) between two spacers. */
  paint() {
    const n = this.length();
    const order = this.displayOrder();
    const data = this.data();
    const cols = this.columns();
    const index = this.model.get("index_position");
    const withIndex = index !== null && index !== undefined;
    const selected = new Set(Array.isArray(this.selection?.get("indices")) ? this.selection.get("indices") : []);
    const top = this.scroller.scrollTop;
    const view = this.scroller.clientHeight || 400;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(n, Math.ceil((top + view) / ROW_HEIGHT) + OVERSCAN);
    const ncols = cols.length + (withIndex ? 1 : 0);
    const rows = [];
    const spacer = (px) => {
      const tr = h("tr", { class: "docsync-table-pad" });
      const td = h("td", { colSpan: Math.max(1, ncols) });
      td.style.height = `${px}px`;
      tr.append(td);
      return tr;
    };
    if (first > 0) rows.push(spacer(first * ROW_HEIGHT));
    const fields = cols.map((c) => data[c.get("field")]);
    const formatters = cols.map((c) => (c.has("formatter") ? c.get("formatter") : null));
    for (let r = first; r < last; r++) {
      const i = order ? order[r] : r;
      const tr = h("tr");
      tr.dataset.index = String(i);
      if (selected.has(i)) { tr.classList.add("docsync-selected"); tr.setAttribute("aria-selected", "true"); }
      const cells = fields.map((col, k) => {
        const td = h("td", {}, formatWith(formatters[k], col ? col[i] : undefined));
        if (formatters[k]?.type === "NumberFormatter") td.classList.add("docsync-num");
        return td;
      });
      if (withIndex) {
        const td = h("td", { class: "docsync-index" }, String(i));
        if (index === -1 || index >= cells.length) cells.push(td);
        else cells.splice(index, 0, td);
      }
      tr.append(...cells);
      rows.push(tr);
    }
    if (last < n) rows.push(spacer((n - last) * ROW_HEIGHT));
    this.tbody.replaceChildren(...rows);
  }

  onRowClick(ev) {
    if (this.model.get("selectable") === false || !this.selection) return;
    const tr = ev.target.closest("tr");
    if (!tr || tr.dataset.index === undefined) return;
    const i = Number(tr.dataset.index);
    const current = Array.isArray(this.selection.get("indices")) ? this.selection.get("indices") : [];
    let next;
    if (ev.shiftKey && this.anchor !== null) {
      const order = this.displayOrder() ?? Array.from({ length: this.length() }, (_, k) => k);
      const a = order.indexOf(this.anchor);
      const b = order.indexOf(i);
      next = order.slice(Math.min(a, b), Math.max(a, b) + 1);
    } else if (ev.ctrlKey || ev.metaKey) {
      next = current.includes(i) ? current.filter((x) => x !== i) : [...current, i];
      this.anchor = i;
    } else {
      next = [i];
      this.anchor = i;
    }
    this.selection.set("indices", next);
  }

  remove() {
    for (const off of this.sourceUnsubs) off();
    if (this.selUnsub) this.selUnsub();
    super.remove();
  }
}

registerView("Button", ButtonView);
registerView("Toggle", ToggleView);
registerView("Slider", SliderView);
registerView("RangeSlider", RangeSliderView);
registerView("TextInput", TextInputView);
registerView("Select", SelectView);
registerView("CheckboxGroup", CheckboxGroupView);
registerView("RadioGroup", RadioGroupView);
registerView("Div", DivView);
registerView("Paragraph", ParagraphView);
registerView("PreText", PreTextView);
registerView("DataTable", DataTableView);
registerView("Spacer", SpacerView);
// Non-visual models that may still appear where a view is asked for.
for (const t of ["ColumnDataSource", "Selection", "CustomJS", "TableColumn", "NumberFormatter", "DateFormatter",
  "StringFormatter"]) registerView(t, EmptyView);
