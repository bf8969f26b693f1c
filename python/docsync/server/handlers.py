"""Tornado handlers: thin adapters between HTTP/WebSocket and the docsync server.

Routes (``P`` = ``--prefix``): ``P/<app>`` page, ``P/<app>/ws`` WebSocket,
``P/<app>/autoload.js`` embed script, ``P/<app>/static/...`` app files, ``P/static/...``
the client library, ``P/metrics``, ``P/`` (the lone app, the root app, or an index).
Every handler checks the Host header exactly (403 otherwise).
"""

from __future__ import annotations

import json
import logging
import mimetypes
import os
import weakref
from typing import TYPE_CHECKING, Any

import jinja2
from tornado import web, websocket
from tornado.ioloop import IOLoop

from docsync.server.contexts import RequestInfo
from docsync.server.protocol import CLOSE_FORBIDDEN, CLOSE_TRY_AGAIN, ServerConnection
from docsync.server.relay import RELAY_HEADER, Relay, find_peer
from docsync.server.tokens import TokenError, check_session_id, decode_token, generate_session_id, generate_token
from docsync.server.writer import FrameWriter, install

if TYPE_CHECKING:
    from docsync.server.manager import AppSessions
    from docsync.server.server import Server

__all__ = [
    "STATIC_PATH",
    "TEMPLATES_PATH",
    "PageHandler",
    "WSHandler",
    "AutoloadHandler",
    "StaticHandler",
    "IndexHandler",
    "MetricsHandler",
    "FaviconHandler",
]

log = logging.getLogger("docsync.server")

STATIC_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "static")
TEMPLATES_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
SESSION_ID_ARG = "docsync-session-id"
TOKEN_ARG = "docsync-token"
AUTOLOAD_ELEMENT_ARG = "docsync-autoload-element"
_INTERNAL_ARGS = {SESSION_ID_ARG, TOKEN_ARG, AUTOLOAD_ELEMENT_ARG}

mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("text/css", ".css")


def _json(value: Any) -> str:
    # safe inside <script>: no "</" sequences
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class _Base(web.RequestHandler):
    server: "Server"

    def initialize(self, server: "Server", **kw: Any) -> None:
        self.server = server

    def prepare(self) -> None:
        if not self.server.host_policy.host_allowed(self.request.host):
            log.warning("refused request with Host %r (allowed: %s)", self.request.host, self.server.host_policy.hosts)
            raise web.HTTPError(403, "Host not allowed")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        # never a traceback, even with debug settings
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(f"{status_code} {self._reason}\n")

    def request_info(self) -> RequestInfo:
        args = {
            k: [v.decode("utf-8", "replace") for v in vs]
            for k, vs in self.request.query_arguments.items()
            if k not in _INTERNAL_ARGS
        }
        headers = {k: v for k, v in self.request.headers.items() if k.lower() != "cookie"}
        cookies = {k: m.value for k, m in self.request.cookies.items()}
        return RequestInfo(args, headers, cookies)

    def session_id_for_request(self) -> str:
        key = self.server.secret_key
        requested = self.get_argument(SESSION_ID_ARG, None)
        if requested is None:
            requested = self.request.headers.get("Docsync-Session-Id")
        if requested is None:
            return generate_session_id(key)
        try:
            return check_session_id(requested, key)
        except TokenError as e:
            raise web.HTTPError(403, str(e)) from e

    def make_token(self) -> tuple[str, str]:
        session_id = self.session_id_for_request()
        info = self.request_info()
        token = generate_token(session_id, self.server.secret_key, info.arguments, info.headers, info.cookies)
        return session_id, token

    def cors(self) -> None:
        origin = self.request.headers.get("Origin")
        if origin and self.server.host_policy.origin_allowed(origin):
            self.set_header("Access-Control-Allow-Origin", origin)
            self.set_header("Vary", "Origin")


class PageHandler(_Base):
    """The app page: a template with a token; the session is created by the WebSocket."""

    def initialize(self, server: "Server", sessions: "AppSessions", **kw: Any) -> None:  # type: ignore[override]
        self.server = server
        self.sessions = sessions

    def get(self) -> None:
        app = self.sessions.app
        session_id, token = self.make_token()
        app_path = self.server.app_url_path(app)
        ws_path = self.server.app_ws_path(app)
        prefix = self.server.prefix
        element_id = "docsync-root"
        ws_url_js = (
            '(location.protocol === "https:" ? "wss://" : "ws://") + location.host + ' + _json(ws_path)
        )
        docsync_js = f"{prefix}/static/docsync.js"
        embed_div = f'<div class="docsync-root" id="{element_id}"></div>'
        embed_script = (
            '<script type="module">\n'
            f"import * as docsync from {_json(docsync_js)};\n"
            "const embed = docsync.embed || window.Docsync.embed;\n"
            f"embed(document.getElementById({_json(element_id)}), "
            f"{{wsUrl: {ws_url_js}, token: {_json(token)}}});\n"
            "</script>"
        )
        css = ""
        if os.path.isfile(os.path.join(STATIC_PATH, "docsync.css")):
            css = f'<link rel="stylesheet" href="{prefix}/static/docsync.css">'
        variables = {
            "title": app.name or "docsync",
            "embed_div": embed_div,
            "embed_script": embed_script,
            "embed": embed_div + "\n" + embed_script,
            "docsync_css": css,
            "docsync_js": docsync_js,
            "ws_path": ws_path,
            "token": token,
            "session_id": session_id,
            "app_path": app_path,
            "static_url": f"{app_path}/static" if app.static_path else f"{prefix}/static",
            "prefix": prefix,
            "request": self.request,
            "request_info": self.request_info(),
        }
        html = self.server.render_page(app, variables)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(html)


class AutoloadHandler(_Base):
    """``/<app>/autoload.js``: inserts the app after the ``<script>`` tag (embedding)."""

    def initialize(self, server: "Server", sessions: "AppSessions", **kw: Any) -> None:  # type: ignore[override]
        self.server = server
        self.sessions = sessions

    def get(self) -> None:
        app = self.sessions.app
        _, token = self.make_token()
        scheme = "wss" if self.request.protocol == "https" else "ws"
        base = f"{self.request.protocol}://{self.request.host}{self.server.prefix}"
        css = None
        if os.path.isfile(os.path.join(STATIC_PATH, "docsync.css")):
            css = _json(f"{base}/static/docsync.css")
        js = self.server.jinja.get_template("autoload.js").render(
            element_id_json=_json(self.get_argument(AUTOLOAD_ELEMENT_ARG, "")),
            app_path_json=_json(self.server.app_url_path(app)),
            ws_url_json=_json(f"{scheme}://{self.request.host}{self.server.app_ws_path(app)}"),
            token_json=_json(token),
            docsync_js_json=_json(f"{base}/static/docsync.js"),
            css_url_json=css,
        )
        self.cors()
        self.set_header("Content-Type", "application/javascript; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(js)


class StaticHandler(_Base, web.StaticFileHandler):
    """Static files (``validate_absolute_path`` keeps requests inside the folder);
    CORS for allowed origins so pages embedding an app can import the modules."""

    def initialize(self, server: "Server", path: str, default_filename: str | None = None) -> None:  # type: ignore[override]
        self.server = server
        web.StaticFileHandler.initialize(self, path, default_filename)

    def set_extra_headers(self, path: str) -> None:
        self.cors()
        self.set_header("Cache-Control", "no-cache")


class IndexHandler(_Base):
    def get(self) -> None:
        apps = [
            {"name": a.name or "/", "url": self.server.app_url_path(a), "summary": a.summary}
            for a in self.server.apps
        ]
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(self.server.jinja.get_template("index.html").render(apps=apps))


class FaviconHandler(_Base):
    """No icon, but no 404 in every page's console either."""

    def get(self) -> None:
        self.set_status(204)
        self.set_header("Cache-Control", "max-age=86400")
        self.finish()


class MetricsHandler(_Base):
    def get(self) -> None:
        self.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.finish(self.server.metrics.render())


class WSHandler(_Base, websocket.WebSocketHandler):
    """``/<app>/ws``: a thin adapter around :class:`ServerConnection`."""

    def initialize(self, server: "Server", sessions: "AppSessions", **kw: Any) -> None:  # type: ignore[override]
        self.server = server
        self.sessions = sessions
        self.conn: ServerConnection | None = None
        self.relay: Relay | None = None  # --num-procs: the session lives in a sibling worker
        self.writer: FrameWriter | None = None  # every frame to the client goes through it

    def prepare(self) -> None:
        _Base.prepare(self)

    def check_origin(self, origin: str) -> bool:
        ok = self.server.host_policy.origin_allowed(origin)
        if not ok:
            log.warning("refused WebSocket from origin %r (allowed: %s)", origin, self.server.host_policy.origins)
        return ok

    def get_compression_options(self) -> None:
        return None

    def _session_from_request(self) -> tuple[str, RequestInfo]:
        key = self.server.secret_key
        token = self.get_argument(TOKEN_ARG, None)
        if token is not None:
            payload = decode_token(token, key)
            return payload["session_id"], RequestInfo.from_payload(payload)
        requested = self.get_argument(SESSION_ID_ARG, None)
        if requested is None:
            requested = self.request.headers.get("Docsync-Session-Id")
        info = self.request_info()
        if requested is None:
            return generate_session_id(key), info
        return check_session_id(requested, key), info

    async def open(self, *args: Any) -> None:
        self.set_nodelay(True)
        ws = self.ws_connection
        stream = getattr(ws, "stream", None)
        assert ws is not None and stream is not None and stream.socket is not None
        loop = IOLoop.current().asyncio_loop  # type: ignore[attr-defined]
        self.writer = FrameWriter(stream.socket, loop, self.server.max_write_buffer, self._too_slow)
        install(ws, self.writer)
        self.send = self.writer.send  # type: ignore[method-assign,assignment]  # (see send)
        self.server.metrics.inc("docsync_connections_opened_total", app=self.sessions.app.name)
        try:
            session_id, info = self._session_from_request()
        except TokenError as e:
            self.server.metrics.inc("docsync_connections_closed_total", code=str(CLOSE_FORBIDDEN))
            self.close(CLOSE_FORBIDDEN, str(e)[:120])
            return
        if (
            self.server.peer_ports
            and self.sessions.get(session_id) is None
            and self.request.headers.get(RELAY_HEADER) != self.server.relay_secret
        ):
            port = await find_peer(self.server, self.sessions.app.name, session_id, self.request.host)
            if port is not None:
                relay = Relay(self, port)
                try:
                    await relay.start()
                except Exception as e:
                    log.warning("could not relay session %s to the worker on port %d: %s", session_id, port, e)
                else:
                    log.debug("relaying session %s to the worker on port %d", session_id, port)
                    self.server.metrics.inc("docsync_relayed_connections_total")
                    self.relay = relay
                    self.server.connections.add(self)
                    return
        self.conn = ServerConnection(
            self.sessions,
            session_id,
            info,
            self,
            metrics=self.server.metrics,
            max_message_size=self.server.websocket_max_message_size,
            rate=self.server.make_rate_limit(),
        )
        self.server.connections.add(self)
        if self.server.hello_timeout_s > 0:
            # a connection that never says hello must not hold resources forever (the
            # timer holds it weakly: a closed connection must not keep its session alive)
            ref = weakref.ref(self.conn)
            IOLoop.current().call_later(self.server.hello_timeout_s, lambda: _close_if_silent(ref))

    async def on_message(self, message: str | bytes) -> None:
        if self.relay is not None:
            await self.relay.forward(message)
        elif self.conn is not None:
            await self.conn.receive(message)

    def on_close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.server.connections.discard(self)
        if self.relay is not None:
            self.relay.close(self.close_code, self.close_reason)
        if self.conn is not None:
            self.conn.connection_lost()

    # Transport
    def send(self, data: bytes) -> None:
        """Write one binary message, from any thread (see :mod:`docsync.server.writer`);
        the kernel gathers the frame header and ``data``, so a broadcast copies nothing.
        Once the connection is open this is the writer's own ``send`` (bound in
        :meth:`open`: no Python frame of ours per change); before, nothing is sent."""

    def _too_slow(self, pending: int) -> None:
        # a client this far behind gets a replay or a resync when it reconnects
        log.warning("closing a connection %d bytes behind (client too slow)", pending)
        self.server.metrics.inc("docsync_client_errors_total", code="too_slow")
        if self.conn is not None:
            self.conn.close(CLOSE_TRY_AGAIN, "client too slow")
        else:
            self.close(CLOSE_TRY_AGAIN, "client too slow")

    # close(code, reason) is WebSocketHandler.close


def _close_if_silent(ref: "weakref.ReferenceType[ServerConnection]") -> None:
    conn = ref()
    if conn is not None:
        conn.close_if_silent()
