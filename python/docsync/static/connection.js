// The live connection of one DocumentMirror to its session (docs/protocol.md, "Messages").
//
// * Opens `wsUrl?docsync-token=<token>`, sends `hello`, loads the `snapshot`, applies
//   `patch`es in seq order and acknowledges them in batches (`ack`).
// * Local changes become client `patch` messages with the client's own seq, kept until
//   `ok` / `error`. At most one change per property is in flight; newer values wait and
//   only the latest is sent when the earlier one is confirmed (trailing edge). A UI event
//   (`msg`) flushes every waiting change first, so Python sees them in the order made.
// * Conflict rule: incoming `set`s for a property with a change in flight (or waiting)
//   are ignored; our change reaches the server later and wins there.
// * A dropped connection reconnects with exponential backoff and resumes (`hello` with
//   `resume` = last applied seq): the server replays or sends a resync snapshot; unconfirmed
//   patches are sent again (the server drops numbers it has already applied). `expired`
//   (or close code 4004) stops for good. The person sees the state in a small notice.

import { decodeMessage, encodeMessage, DecodeError } from "./codec.js";
import { PatchError } from "./document.js";

const keyOf = (id, prop) => `${id}\0${prop}`;

function randomId() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === "function") return c.randomUUID();
  return Math.random().toString(36).slice(2) + Date.now().toString(36);
}

export const NOTICE_TEXT = {
  connecting: "Connecting…",
  lost: "Connection lost — reconnecting…",
  restored: "Connection restored",
  expired: "Session expired — reload the page",
  forbidden: "Connection refused by the server — reload the page",
  unreachable: "Cannot reach the server — retrying…",
};

export class Connection {
  /**
   * @param doc DocumentMirror to keep in sync
   * @param options `{wsUrl, token, clientId, WebSocket, notice, timers, random,
   *   backoff: {initial, max, factor}, ackDelay, ackEvery, ackBytes, maxMessageSize, onError}`
   */
  constructor(doc, options = {}) {
    if (!options.wsUrl) throw new Error("Connection needs a wsUrl");
    this.doc = doc;
    this.wsUrl = options.wsUrl;
    this.token = options.token ?? null;
    this.clientId = options.clientId ?? randomId();
    this.WebSocket = options.WebSocket ?? globalThis.WebSocket;
    this.notice = options.notice ?? null;
    this.timers = options.timers ?? { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: (t) => clearTimeout(t) };
    this.random = options.random ?? Math.random;
    this.backoff = { initial: 250, max: 8000, factor: 2, ...(options.backoff ?? {}) };
    // Acks only let the server trim its log (resuming does not depend on them), and each
    // one wakes the server's I/O loop: send one 5 s after the first unacknowledged change,
    // or at once after 256 changes or 4 MiB of them, so the log stays small either way.
    this.ackDelay = options.ackDelay ?? 5000;
    this.ackEvery = options.ackEvery ?? 256;
    this.ackBytes = options.ackBytes ?? 4 * 1024 * 1024;
    this.decodeLimits = { maxSize: options.maxMessageSize ?? Infinity, maxDepth: options.maxDepth ?? 64 };
    this.onError = options.onError ?? null;

    this.state = "idle"; // idle | connecting | open | reconnecting | expired | closed
    this.ws = null;
    this.lastSeq = null; // last server change applied (null: no snapshot yet)
    this.forceSnapshot = false;
    this.clientSeq = 0;
    this.inFlight = new Map(); // client seq → {events, keys}
    this.keyCounts = new Map(); // id\0prop → number of in-flight patches holding it
    this.pending = new Map(); // id\0prop → {id, prop, value}; latest value waiting to be sent
    this.msgQueue = []; // msg events waiting to be sent
    this.base = new Map(); // id\0prop → raw value the server had before our changes
    this.ownSeqs = new Set(); // session change numbers that were our own patches
    this.attempt = 0;
    this.everOpened = false;
    this.lostShown = false;
    this.reconnectTimer = null;
    this.ackTimer = null;
    this.unacked = 0;
    this.unackedBytes = 0;
    this.flushQueued = false;
    this.waiters = new Map(); // client seq → {resolve, reject, t0} for ping/info
    this._ready = null;
    this.ready = new Promise((resolve, reject) => { this._ready = { resolve, reject }; });
    this.ready.catch(() => {});

    doc.sink = {
      set: (model, prop, raw, prev) => this.localSet(model, prop, raw, prev),
      event: (id, name, data) => this.sendEvent(id, name, data),
    };
  }

  /** Open the connection (idempotent). Returns `this.ready` (resolves on the first snapshot). */
  start() {
    if (this.state === "idle") this._open();
    return this.ready;
  }

  /** Close for good (page unload, tests). */
  close() {
    this.state = "closed";
    this._clearTimers();
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      try { ws.close(1000); } catch { /* already closed */ }
    }
  }

  /** Reconnect after close() (a page restored from the back/forward cache): resumes. */
  reopen() {
    if (this.state !== "closed") return;
    this.attempt = 0;
    this._open();
  }

  /** Number of local changes not yet confirmed by the server. */
  get unconfirmed() {
    let n = this.pending.size + this.msgQueue.length;
    for (const f of this.inFlight.values()) n += f.events.length;
    return n;
  }

  /** Application-level round trip (`ping` → `pong`), in ms. */
  ping() { return this._request("ping"); }

  /** Server info (`info`). */
  info() { return this._request("info"); }

  // -------------------------------------------------------------------------------------
  // socket lifecycle

  _url() {
    if (this.token == null) return this.wsUrl;
    const sep = this.wsUrl.includes("?") ? "&" : "?";
    return `${this.wsUrl}${sep}docsync-token=${encodeURIComponent(this.token)}`;
  }

  _open() {
    this.state = this.everOpened ? "reconnecting" : "connecting";
    let ws;
    try {
      ws = new this.WebSocket(this._url());
    } catch (err) {
      this._report(`cannot open the WebSocket: ${err.message}`, err);
      this._scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.binaryType = "arraybuffer";
    ws.onopen = () => { if (this.ws === ws) this._onOpen(); };
    ws.onmessage = (ev) => { if (this.ws === ws) this._onMessage(ev.data); };
    ws.onclose = (ev) => { if (this.ws === ws) this._onClose(ev?.code ?? 1006, ev?.reason ?? ""); };
    ws.onerror = () => { /* onclose follows */ };
  }

  _onOpen() {
    this.state = "open";
    const resume = this.lastSeq !== null && !this.forceSnapshot ? this.lastSeq : null;
    this.forceSnapshot = false;
    this._send("hello", { p: { client_id: this.clientId, resume, push: null } });
    // Unconfirmed patches go again, in order; the server drops numbers already applied.
    for (const [seq, f] of this.inFlight) this._send("patch", { seq, p: { events: f.events } });
    if (this.lostShown) this._showNotice("restored", NOTICE_TEXT.restored, 2500);
    this.lostShown = false;
    this.everOpened = true;
    this.attempt = 0;
    this._flush();
  }

  _onClose(code, reason) {
    this.ws = null;
    for (const w of this.waiters.values()) w.reject(new Error("connection closed"));
    this.waiters.clear();
    if (this.state === "closed" || this.state === "expired") return;
    if (code === 4004) { this._expired(reason || null); return; }
    if (code === 4003) {
      this.state = "closed";
      this._clearTimers();
      this._showNotice("expired", NOTICE_TEXT.forbidden + this._lostSuffix());
      this._ready.reject(new Error(`connection refused (4003 ${reason})`));
      return;
    }
    this._showNotice("lost", this.everOpened ? NOTICE_TEXT.lost : NOTICE_TEXT.unreachable);
    this.lostShown = true;
    this._scheduleReconnect();
  }

  _scheduleReconnect() {
    if (this.state === "closed" || this.state === "expired") return;
    this.state = "reconnecting";
    const { initial, max, factor } = this.backoff;
    const base = Math.min(max, initial * factor ** this.attempt);
    const delay = base * (0.8 + 0.4 * this.random()); // jitter so many pages don't reconnect in step
    this.attempt++;
    this.reconnectTimer = this.timers.setTimeout(() => {
      this.reconnectTimer = null;
      this._open();
    }, delay);
  }

  /** Drop the socket and reconnect (resume; `snapshot: true` forces a full resync). */
  _resync(snapshot) {
    if (snapshot) this.forceSnapshot = true;
    const ws = this.ws;
    this.ws = null;
    if (ws) { try { ws.close(4000); } catch { /* ignore */ } }
    this.attempt = 0;
    this._scheduleReconnect();
  }

  _expired(message) {
    this.state = "expired";
    this._clearTimers();
    const ws = this.ws;
    this.ws = null;
    if (ws) { try { ws.close(1000); } catch { /* ignore */ } }
    this._showNotice("expired", NOTICE_TEXT.expired + this._lostSuffix());
    if (message) console.warn(`docsync: session expired: ${message}`);
    this._ready.reject(new Error("session expired"));
  }

  _lostSuffix() {
    const n = this.unconfirmed;
    if (n === 0) return "";
    return ` (${n} change${n === 1 ? "" : "s"} made while disconnected could not be applied)`;
  }

  _clearTimers() {
    if (this.reconnectTimer !== null) { this.timers.clearTimeout(this.reconnectTimer); this.reconnectTimer = null; }
    if (this.ackTimer !== null) { this.timers.clearTimeout(this.ackTimer); this.ackTimer = null; }
  }

  _send(t, fields) {
    if (!this.ws || this.state !== "open") return false;
    this.ws.send(encodeMessage(t, fields));
    return true;
  }

  // -------------------------------------------------------------------------------------
  // incoming

  _onMessage(data) {
    let msg;
    try {
      if (typeof data === "string") throw new DecodeError("a text frame (messages are binary)");
      msg = decodeMessage(data instanceof ArrayBuffer ? new Uint8Array(data) : data, this.decodeLimits);
    } catch (err) {
      this._report(`malformed message from the server: ${err.message}`, err);
      this._resync(false);
      return;
    }
    switch (msg.t) {
      case "snapshot": this._onSnapshot(msg); break;
      case "patch": this._onPatch(msg, data.byteLength); break;
      case "ok": this._onOk(msg); break;
      case "error": this._onError(msg); break;
      case "pong":
      case "info": {
        const w = this.waiters.get(msg.ack);
        if (w) {
          this.waiters.delete(msg.ack);
          w.resolve(msg.t === "pong" ? performanceNow() - w.t0 : msg.p);
        }
        break;
      }
      case "expired": this._expired(msg.p?.message ?? null); break;
      default: console.warn(`docsync: ignoring an unknown message type ${JSON.stringify(msg.t)}`);
    }
  }

  _onSnapshot(msg) {
    try {
      this.doc.applySnapshot(msg.p);
    } catch (err) {
      this._report(`the server's snapshot could not be loaded: ${err.message}`, err);
      this._resync(true);
      return;
    }
    this.lastSeq = typeof msg.seq === "number" ? msg.seq : 0;
    this.ownSeqs.clear();
    // A resync must not undo what the person did meanwhile: put back the unconfirmed values
    // (they are on their way to the server and will win there).
    for (const f of this.inFlight.values()) {
      for (const e of f.events) if (e.k === "set") this._restoreLocal(e.id, e.prop, e.value);
    }
    for (const ch of this.pending.values()) this._restoreLocal(ch.id, ch.prop, ch.value);
    this._ready.resolve(this.doc);
  }

  _restoreLocal(id, prop, value) {
    const m = this.doc.get(id);
    if (m) m._restore(prop, value, "local");
  }

  _advanceOwn() {
    while (this.lastSeq !== null && this.ownSeqs.has(this.lastSeq + 1)) {
      this.ownSeqs.delete(this.lastSeq + 1);
      this.lastSeq++;
    }
  }

  _onPatch(msg, nbytes = 0) {
    if (this.lastSeq === null) return; // no snapshot yet: the snapshot will include it
    const seq = msg.seq;
    this._advanceOwn();
    if (typeof seq !== "number" || seq <= this.lastSeq) return; // a replayed duplicate
    if (seq !== this.lastSeq + 1) {
      console.warn(`docsync: patch ${seq} arrived after ${this.lastSeq}; resuming to fill the gap`);
      this._resync(false);
      return;
    }
    try {
      this.doc.applyPatch(msg.p, {
        skipSet: (id, prop) => {
          const key = keyOf(id, prop);
          return (this.keyCounts.get(key) ?? 0) > 0 || this.pending.has(key);
        },
      });
    } catch (err) {
      const what = err instanceof PatchError ? "a change from the server could not be applied" : "applying a change failed";
      this._report(`${what}: ${err.message} (reloading the document)`, err);
      this._resync(true);
      return;
    }
    this.lastSeq = seq;
    this._advanceOwn();
    this._scheduleAck(nbytes);
  }

  _scheduleAck(nbytes = 0) {
    this.unacked++;
    this.unackedBytes += nbytes;
    if (this.unacked >= this.ackEvery || this.unackedBytes >= this.ackBytes) { this._sendAck(); return; }
    if (this.ackTimer === null) {
      this.ackTimer = this.timers.setTimeout(() => { this.ackTimer = null; this._sendAck(); }, this.ackDelay);
    }
  }

  _sendAck() {
    if (this.ackTimer !== null) { this.timers.clearTimeout(this.ackTimer); this.ackTimer = null; }
    if (this.unacked === 0 || this.lastSeq === null) return;
    if (this._send("ack", { ack: this.lastSeq })) { this.unacked = 0; this.unackedBytes = 0; }
  }

  _settle(seq) {
    const f = this.inFlight.get(seq);
    if (!f) return null;
    this.inFlight.delete(seq);
    for (const key of f.keys) {
      const n = (this.keyCounts.get(key) ?? 1) - 1;
      if (n > 0) this.keyCounts.set(key, n);
      else this.keyCounts.delete(key);
    }
    return f;
  }

  _onOk(msg) {
    const f = this._settle(msg.ack);
    if (!f) return; // a duplicate ok (after a resume)
    // A patch with state changes became session change `seq` (not sent back to us). A patch
    // of UI events only changes nothing: its ok carries the current number, not ours.
    if (typeof msg.seq === "number" && this.lastSeq !== null && f.events.some((e) => e.k !== "msg")) {
      if (msg.seq > this.lastSeq) this.ownSeqs.add(msg.seq);
      this._advanceOwn();
    }
    for (const key of f.keys) {
      if (!this.keyCounts.has(key) && !this.pending.has(key)) this.base.delete(key);
    }
    if (this.pending.size) this._queueFlush(); // trailing edge: the latest value goes now
  }

  _onError(msg) {
    const message = msg.p?.message ?? "unknown error";
    const code = msg.p?.code ?? "error";
    const f = msg.ack != null ? this._settle(msg.ack) : null;
    if (!f) {
      this._report(`the server reported an error: ${message} (${code})`);
      return;
    }
    // Nothing of that patch was applied: put back the server's value unless a newer local
    // value is still on its way.
    for (const e of f.events) {
      if (e.k !== "set") continue;
      const key = keyOf(e.id, e.prop);
      if (this.keyCounts.has(key) || this.pending.has(key)) continue;
      const m = this.doc.get(e.id);
      if (m && this.base.has(key)) m._restore(e.prop, this.base.get(key), "remote");
      this.base.delete(key);
    }
    this._report(`a change was rejected by the server: ${message} (${code})`);
    if (this.pending.size) this._queueFlush();
  }

  // -------------------------------------------------------------------------------------
  // outgoing

  /** A local property change (called through `doc.sink` by ModelMirror.set). */
  localSet(model, prop, raw, prev) {
    const key = keyOf(model.id, prop);
    if (!this.base.has(key) && !this.keyCounts.has(key) && !this.pending.has(key)) this.base.set(key, prev);
    this.pending.set(key, { id: model.id, prop, value: raw });
    this._queueFlush();
  }

  /** A UI event (`msg` event) to Python. */
  sendEvent(id, name, data = null) {
    this.msgQueue.push({ k: "msg", id, name, data });
    this._queueFlush();
  }

  _queueFlush() {
    if (this.flushQueued) return;
    this.flushQueued = true;
    // A microtask: every change of one synchronous handler goes in one patch.
    queueMicrotask(() => { this.flushQueued = false; this._flush(); });
  }

  /** Send what may be sent now (called on changes, on ok/error, after (re)connecting). */
  _flush() {
    if (this.state !== "open" || !this.ws) return;
    const events = [];
    const keys = [];
    const urgent = this.msgQueue.length > 0; // a UI event takes every waiting change with it
    for (const [key, ch] of this.pending) {
      if (!urgent && this.keyCounts.has(key)) continue; // one in flight per property
      events.push({ k: "set", id: ch.id, prop: ch.prop, value: ch.value });
      keys.push(key);
      this.pending.delete(key);
    }
    events.push(...this.msgQueue);
    this.msgQueue = [];
    if (events.length === 0) return;
    const seq = ++this.clientSeq;
    this.inFlight.set(seq, { events, keys });
    for (const key of keys) this.keyCounts.set(key, (this.keyCounts.get(key) ?? 0) + 1);
    this._send("patch", { seq, p: { events } });
  }

  _request(t) {
    const seq = ++this.clientSeq;
    return new Promise((resolve, reject) => {
      if (!this._send(t, { seq })) { reject(new Error("not connected")); return; }
      this.waiters.set(seq, { resolve, reject, t0: performanceNow() });
    });
  }

  // -------------------------------------------------------------------------------------

  _showNotice(kind, text, autoHideMs) {
    if (this.notice) this.notice.show(kind, text, autoHideMs);
  }

  _report(message, err) {
    console.error(`docsync: ${message}`, err ?? "");
    if (this.notice) this.notice.show("error", message, 8000);
    if (this.onError) this.onError(message, err);
  }
}

function performanceNow() {
  return globalThis.performance ? globalThis.performance.now() : Date.now();
}

/**
 * The small connection notice in the page (bottom right). `show(kind, text, autoHideMs)`;
 * kinds: lost, restored, expired, error. Expired stays; restored and errors hide by
 * themselves; a later state replaces an earlier one.
 */
export class PageNotice {
  constructor(doc = globalThis.document) {
    this.document = doc;
    this.el = null;
    this.timer = null;
  }

  show(kind, text, autoHideMs) {
    const d = this.document;
    if (!d) return;
    if (this.el === null || !this.el.isConnected) {
      this.el = d.createElement("div");
      this.el.className = "docsync-notice";
      this.el.setAttribute("role", "status");
      this.el.setAttribute("aria-live", "polite");
      d.body.appendChild(this.el);
    }
    if (this.el.dataset.kind === "expired" && kind !== "expired") return; // expired stays
    if (this.timer !== null) { clearTimeout(this.timer); this.timer = null; }
    this.el.dataset.kind = kind;
    this.el.textContent = text;
    this.el.hidden = false;
    if (autoHideMs) {
      this.timer = setTimeout(() => { this.timer = null; this.hide(); }, autoHideMs);
    }
  }

  hide() {
    if (this.el) { this.el.hidden = true; this.el.dataset.kind = ""; }
  }
}
