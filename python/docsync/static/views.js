// Views: one DOM element per model, updated in place when the model changes.
//
//   registerView("Slider", SliderView)     // widgets.js, layouts.js, plot/, extensions
//   const view = buildView(model, ctx)     // view.el carries data-model-id / data-model-type
//
// A View subclass builds `this.el` once in `render()` and subscribes to the properties it
// shows with `this.listen(prop, cb)`; listeners update the existing DOM (never rebuild it),
// so focus, caret and scroll positions survive changes from Python. Layout views build
// their children with `this.buildChild(model)` (or `ctx.buildView(model)`).
//
// CustomJS (js_property_callbacks, js_event_callbacks) runs here, with its `args` resolved
// to mirror models, as `new Function(...argNames, "cb_obj", "cb_data", code)`.

const registry = new Map();

/** Register the view class for a model type (a later registration replaces an earlier one). */
export function registerView(type, ViewClass) {
  if (typeof type !== "string" || typeof ViewClass !== "function") {
    throw new TypeError("registerView(typeName, ViewClass)");
  }
  registry.set(type, ViewClass);
}

export function getViewClass(type) {
  return registry.get(type);
}

export function registeredTypes() {
  return [...registry.keys()];
}

const kebab = (s) => s.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();

export class View {
  /** Element tag of `this.el`. */
  static tagName = "div";
  /** Set to true in a subclass that handles width/height/sizing_mode/visible itself. */
  static ownSizing = false;

  constructor(model, ctx) {
    this.model = model;
    this.ctx = ctx;
    this.children = new Map(); // model id → child view
    this._unsubs = [];
    this.removed = false;
    const el = document.createElement(this.constructor.tagName);
    el.dataset.modelId = model.id;
    el.dataset.modelType = model.type;
    el.classList.add("docsync-view", `docsync-type-${kebab(model.type)}`);
    this.el = el;
  }

  /** Build the DOM (once). */
  render() {}

  /** Subscribe to `prop` (or "*"); unsubscribed on remove(). Errors are reported, not thrown. */
  listen(prop, cb, model = this.model) {
    const wrapped = (info) => {
      if (this.removed) return;
      try {
        cb.call(this, info);
      } catch (err) {
        this.ctx.reportError(`${model.type} view failed to update ${prop}: ${err.message}`, err);
      }
    };
    const off = model.on(prop, wrapped);
    this._unsubs.push(off);
    return off;
  }

  /** Build (or reuse) the view of a child model. */
  buildChild(model) {
    const existing = this.children.get(model.id);
    if (existing && existing.model === model && !existing.removed) return existing;
    const view = this.ctx.buildView(model);
    this.children.set(model.id, view);
    return view;
  }

  removeChild(id) {
    const view = this.children.get(id);
    if (view) {
      this.children.delete(id);
      view.remove();
    }
  }

  /**
   * A UI event: runs the model's js_event_callbacks (cb_obj = the event) and sends a `msg`
   * event to Python (unless `{send: false}`).
   */
  emitEvent(name, data = null, options = {}) {
    runEventCallbacks(this.model, name, data, this.ctx);
    if (options.send !== false) this.model.doc.sendEvent(this.model, name, data);
  }

  /** Common widget/layout properties: width, height, sizing_mode, visible, css_classes. */
  trackSizing() {
    const m = this.model;
    const el = this.el;
    let classes = [];
    const sizing = () => {
      const mode = m.get("sizing_mode") ?? null;
      const w = m.get("width");
      const h = m.get("height");
      const stretchW = mode === "stretch_width" || mode === "stretch_both" || mode === "scale_width" || mode === "scale_both";
      const stretchH = mode === "stretch_height" || mode === "stretch_both" || mode === "scale_height" || mode === "scale_both";
      el.classList.toggle("docsync-stretch-width", stretchW);
      el.classList.toggle("docsync-stretch-height", stretchH);
      el.style.width = !stretchW && typeof w === "number" ? `${w}px` : "";
      el.style.height = !stretchH && typeof h === "number" ? `${h}px` : "";
    };
    const visible = () => { el.hidden = m.get("visible") === false; };
    const css = () => {
      for (const c of classes) el.classList.remove(c);
      const v = m.get("css_classes");
      classes = Array.isArray(v) ? v.filter((c) => typeof c === "string" && c) : [];
      for (const c of classes) el.classList.add(c);
    };
    // Bokeh's `styles` (3.x) / `style` (Div, older): a map of CSS properties.
    let styled = [];
    const styles = () => {
      for (const k of styled) el.style.removeProperty(k);
      styled = [];
      for (const p of ["style", "styles"]) {
        const v = m.has(p) ? m.get(p) : null;
        if (!v || typeof v !== "object" || Array.isArray(v)) continue;
        for (const [k, x] of Object.entries(v)) {
          if (x == null) continue;
          const name = k.startsWith("--") ? k : k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
          el.style.setProperty(name, String(x));
          styled.push(name);
        }
      }
    };
    sizing(); visible(); css(); styles();
    for (const p of ["sizing_mode", "width", "height"]) this.listen(p, sizing);
    this.listen("visible", visible);
    this.listen("css_classes", css);
    this.listen("style", styles);
    this.listen("styles", styles);
  }

  remove() {
    if (this.removed) return;
    this.removed = true;
    for (const off of this._unsubs) off();
    this._unsubs = [];
    for (const child of this.children.values()) child.remove();
    this.children.clear();
    this.el.remove();
    this.ctx.views.delete(this.model.id);
  }
}

/** Shown for a model type with no view, or a view that failed to build. */
export class ErrorView extends View {
  constructor(model, ctx, message) {
    super(model, ctx);
    this.message = message;
  }
  render() {
    this.el.classList.add("docsync-error-box");
    this.el.setAttribute("role", "alert");
    this.el.textContent = this.message;
  }
}

/** A view of nothing (models with no visual form, like ColumnDataSource, when placed in a layout). */
export class EmptyView extends View {
  render() { this.el.hidden = true; }
}

/** Build the view of a model; unknown types and failures become a visible error box. */
export function buildView(model, ctx) {
  const ViewClass = registry.get(model.type);
  let view;
  if (!ViewClass) {
    const msg = `docsync: no view for model type ${model.type} (id ${model.id}); `
      + "register one with Docsync.registerView or load its extension module";
    console.error(msg);
    view = new ErrorView(model, ctx, `Cannot display ${model.type}: no view is registered for this type.`);
    view.render();
  } else {
    try {
      view = new ViewClass(model, ctx);
      view.render();
      if (!ViewClass.ownSizing) view.trackSizing();
    } catch (err) {
      if (view) { try { view.remove(); } catch { /* ignore */ } }
      console.error(`docsync: the ${model.type} view failed to build:`, err);
      view = new ErrorView(model, ctx, `Cannot display ${model.type}: ${err.message}`);
      view.render();
    }
  }
  ctx.views.set(model.id, view);
  return view;
}

// ---------------------------------------------------------------------------------------
// CustomJS

const compiled = new WeakMap(); // CustomJS model → {code, names, fn}

/**
 * Run a CustomJS model: `code` as a function of its args' names, `cb_obj` and `cb_data`,
 * called with `this` = cb_obj. Failures are reported in the console and the page; they
 * never break other updates. Returns the function's result (or undefined on failure).
 */
export function runCustomJS(cb, cb_obj, cb_data, ctx) {
  if (!cb || typeof cb.get !== "function") return undefined;
  try {
    const code = cb.get("code") ?? "";
    const args = cb.get("args") ?? {};
    const names = Object.keys(args);
    let entry = compiled.get(cb);
    if (!entry || entry.code !== code || entry.names.join("\0") !== names.join("\0")) {
      entry = { code, names, fn: new Function(...names, "cb_obj", "cb_data", code) };
      compiled.set(cb, entry);
    }
    return entry.fn.apply(cb_obj, [...names.map((n) => args[n]), cb_obj, cb_data ?? {}]);
  } catch (err) {
    const message = `CustomJS ${cb.id} failed: ${err && err.message}`;
    if (ctx) ctx.reportError(message, err);
    else console.error(`docsync: ${message}`, err);
    return undefined;
  }
}

function callbacksFor(model, key, prop) {
  if (!model.has(prop) && !model.props.has(prop)) return [];
  const map = model.get(prop);
  if (!map || typeof map !== "object") return [];
  const list = map[key];
  return Array.isArray(list) ? list : [];
}

/** Run `js_event_callbacks[name]` of a model (cb_obj = the event object). */
export function runEventCallbacks(model, name, data, ctx) {
  const cbs = callbacksFor(model, name, "js_event_callbacks");
  if (!cbs.length) return;
  const event = { event_name: name, model, origin: model, ...(data && typeof data === "object" ? data : {}) };
  for (const cb of cbs) runCustomJS(cb, event, data ?? {}, ctx);
}

/**
 * Run `js_property_callbacks["change:prop"]` whenever a property of any model of `doc`
 * changes (from Python or from the page). Returns an unsubscribe function.
 */
export function installJsCallbacks(doc, ctx) {
  return doc.on("change", (model, info) => {
    if (info.prop === null || info.kind === "emit") return;
    const cbs = callbacksFor(model, `change:${info.prop}`, "js_property_callbacks");
    for (const cb of cbs) runCustomJS(cb, model, { info }, ctx);
  });
}

// ---------------------------------------------------------------------------------------
// the context a document's views share

export class ViewContext {
  /** `container`: the element roots render into (errors show at its top). */
  constructor(doc, container) {
    this.doc = doc;
    this.container = container;
    this.views = new Map(); // model id → view (the latest built for that model)
    this.rootViews = new Map(); // root id → view
  }

  buildView(model) {
    return buildView(model, this);
  }

  /** Make the container show exactly the document's roots, in order, reusing views. */
  syncRoots() {
    const roots = this.doc.roots;
    const keep = new Set(roots.map((m) => m.id));
    for (const [id, view] of this.rootViews) {
      if (!keep.has(id) || view.model !== this.doc.get(id)) {
        view.remove();
        this.rootViews.delete(id);
      }
    }
    let prev = null;
    for (const m of roots) {
      let view = this.rootViews.get(m.id);
      if (!view) {
        view = this.buildView(m);
        view.el.classList.add("docsync-root-view");
        this.rootViews.set(m.id, view);
      }
      placeAfter(this.container, view.el, prev);
      prev = view.el;
    }
  }

  /** Console and page: a dismissible error line at the top of the container. */
  reportError(message, err) {
    console.error(`docsync: ${message}`, err ?? "");
    const c = this.container;
    if (!c || typeof document === "undefined") return;
    let box = c.querySelector(":scope > .docsync-errors");
    if (!box) {
      box = document.createElement("div");
      box.className = "docsync-errors";
      box.setAttribute("role", "alert");
      c.prepend(box);
    }
    const line = document.createElement("div");
    line.className = "docsync-error-line";
    line.textContent = message;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "docsync-error-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", () => { line.remove(); if (!box.children.length) box.remove(); });
    line.append(close);
    box.append(line);
    while (box.children.length > 5) box.firstElementChild.remove();
  }
}

/** Put `el` right after `prev` (or first) inside `parent`, moving it only if needed. */
export function placeAfter(parent, el, prev) {
  const want = prev ? prev.nextSibling : firstViewChild(parent);
  if (want === el) return;
  parent.insertBefore(el, want);
}

function firstViewChild(parent) {
  let n = parent.firstChild;
  while (n && n.nodeType === 1 && n.classList.contains("docsync-errors")) n = n.nextSibling;
  return n;
}

/**
 * Make `parent` hold exactly the views of `models` in order (layouts): reuses views,
 * removes the ones no longer listed, moves elements only when out of place (keeps focus).
 * `wrap(view, i)` may decorate each child element (e.g. grid placement).
 */
export function syncChildViews(view, parent, models, wrap) {
  const keep = new Set(models.filter(Boolean).map((m) => m.id));
  for (const id of [...view.children.keys()]) if (!keep.has(id)) view.removeChild(id);
  let prev = null;
  models.forEach((m, i) => {
    if (!m || typeof m !== "object" || typeof m.id !== "string") return;
    const child = view.buildChild(m);
    if (wrap) wrap(child, i);
    const want = prev ? prev.nextSibling : parent.firstChild;
    if (want !== child.el) parent.insertBefore(child.el, want);
    prev = child.el;
  });
}
