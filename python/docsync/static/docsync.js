// docsync.js — the entry point pages load:
//
//   <script type="module">
//     import {embed} from "/static/docsync.js";
//     embed(document.getElementById("root"), {wsUrl, token});
//   </script>
//
// embed() connects a DocumentMirror to the session, loads the plot renderer
// (./plot/plot.js, optional) and any extension modules, and renders the document's roots
// into the element. `window.Docsync` exposes the live mirrors and the view API for
// debugging, tests and extension modules.
//
// Extension models (the seed's custom.js): pass `extensions: ["/app/static/custom.js"]`
// to embed(), or let the snapshot carry `"extensions": [...]`. Each is an ES module; it
// either calls `window.Docsync.registerView(type, ViewClass)` at load (ViewClass extends
// `Docsync.View`), or exports `default` / `register` as a function that receives the
// Docsync API object. Types are rendered after the modules have loaded.

import * as codec from "./codec.js";
import { DocumentMirror, ModelMirror, PatchError } from "./document.js";
import { Connection, PageNotice } from "./connection.js";
import {
  View, ErrorView, registerView, getViewClass, registeredTypes, buildView, runCustomJS,
  installJsCallbacks, ViewContext, syncChildViews,
} from "./views.js";
import "./widgets.js";
import "./layouts.js";

export const VERSION = "0.1.0";

/** Every live document mirror of this page (`window.Docsync.documents`). */
export const documents = [];
/** The embedded sessions: `{doc, connection, ctx, element}`. */
export const sessions = [];

let plotModule = null;

/** Load ./plot/plot.js once; tolerate its absence (plots then show an error box). */
export function loadPlotModule() {
  if (plotModule === null) {
    plotModule = import("./plot/plot.js")
      .then(async (mod) => {
        const reg = mod.register ?? mod.default;
        if (typeof reg === "function") await reg(api);
        return mod;
      })
      .catch((err) => {
        console.info("docsync: plot renderer not loaded:", err && err.message);
        return null;
      });
  }
  return plotModule;
}

const loadedExtensions = new Map();

/** Import extension modules (by URL), each once; failures are reported, not thrown. */
export function loadExtensions(urls, report = (m, e) => console.error(`docsync: ${m}`, e)) {
  const list = Array.isArray(urls) ? urls : [];
  return Promise.all(list.map((url) => {
    const abs = new URL(url, globalThis.location?.href ?? import.meta.url).href;
    if (!loadedExtensions.has(abs)) {
      loadedExtensions.set(abs, import(abs).then(async (mod) => {
        const reg = mod.register ?? mod.default;
        if (typeof reg === "function") await reg(api);
        return mod;
      }).catch((err) => {
        loadedExtensions.delete(abs);
        report(`the extension module ${url} failed to load: ${err && err.message}`, err);
        return null;
      }));
    }
    return loadedExtensions.get(abs);
  }));
}

/** Add docsync.css to the page once (pages may link it themselves). */
export function ensureStylesheet() {
  if (typeof document === "undefined") return;
  const href = new URL("./docsync.css", import.meta.url).href;
  for (const link of document.querySelectorAll('link[rel="stylesheet"]')) if (link.href === href) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = href;
  document.head.append(link);
}

let sharedNotice = null;

/**
 * Connect to a session and render it into `element`.
 *
 * Options: `wsUrl` (required), `token`, `extensions` (module URLs), `clientId`,
 * `maxMessageSize`, `WebSocket` (for tests), `notice` (object with show(kind, text, ms)).
 * Returns `{doc, connection, ctx, element, ready}` — `ready` resolves when the first
 * snapshot is rendered.
 */
export function embed(element, options = {}) {
  if (!element) throw new Error("Docsync.embed: no element to render into (check the element id)");
  if (!options.wsUrl) throw new Error("Docsync.embed: options.wsUrl is required");
  ensureStylesheet();
  element.classList.add("docsync-root-container");
  const doc = new DocumentMirror();
  documents.push(doc);
  const ctx = new ViewContext(doc, element);
  if (!options.notice && sharedNotice === null) sharedNotice = new PageNotice();
  const connection = new Connection(doc, {
    wsUrl: options.wsUrl,
    token: options.token,
    clientId: options.clientId,
    maxMessageSize: options.maxMessageSize,
    WebSocket: options.WebSocket,
    notice: options.notice ?? sharedNotice,
    onError: () => {},
  });
  doc.connection = connection;
  installJsCallbacks(doc, ctx);

  const modules = Promise.all([loadPlotModule(), loadExtensions(options.extensions, (m, e) => ctx.reportError(m, e))]);
  let rendered = false;
  let renderQueued = false;
  let firstRendered;
  const firstRender = new Promise((r) => { firstRendered = r; });
  const render = () => {
    if (renderQueued) return;
    renderQueued = true;
    Promise.all([modules, loadExtensions(doc.extensions, (m, e) => ctx.reportError(m, e))]).then(() => {
      renderQueued = false;
      try {
        ctx.syncRoots();
        if (doc.title && typeof document !== "undefined" && options.setTitle !== false) document.title = doc.title;
      } catch (err) {
        ctx.reportError(`rendering failed: ${err.message}`, err);
      }
      rendered = true;
      firstRendered(doc);
    });
  };
  doc.on("snapshot", render);
  doc.on("root+", () => { if (rendered) render(); });
  doc.on("root-", () => { if (rendered) render(); });
  doc.on("title", (t) => { if (typeof document !== "undefined" && options.setTitle !== false) document.title = t; });

  const ready = connection.start().then(() => firstRender);
  ready.catch(() => {});
  if (typeof window !== "undefined") {
    // Leaving the page closes the socket cleanly (no "connection lost" flash); a page
    // restored from the back/forward cache resumes its session.
    window.addEventListener("pagehide", () => connection.close());
    window.addEventListener("pageshow", (ev) => { if (ev.persisted) connection.reopen(); });
  }
  const session = { doc, connection, ctx, element, ready };
  sessions.push(session);
  return session;
}

/** The API object (`window.Docsync`), also handed to extension modules. */
export const api = {
  VERSION,
  documents,
  sessions,
  embed,
  registerView,
  getViewClass,
  registeredTypes,
  buildView,
  View,
  ErrorView,
  ViewContext,
  syncChildViews,
  runCustomJS,
  DocumentMirror,
  ModelMirror,
  PatchError,
  Connection,
  codec,
  loadExtensions,
};

if (typeof window !== "undefined") {
  window.Docsync = Object.assign(window.Docsync ?? {}, api);
}
