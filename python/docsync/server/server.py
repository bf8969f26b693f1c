"""The docsync server: apps, sessions, handlers and their lifecycle on one IOLoop.

Programmatic use::

    from docsync.server import Server
    server = Server({"myapp": load_application("myapp.py")}, port=0)
    server.start()          # binds, runs on_server_loaded hooks, logs the URLs
    server.run_until_shutdown()   # until SIGTERM / Ctrl-C, then a clean stop
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from typing import Any, Callable, Iterable

import jinja2
from tornado import httpserver, netutil, web
from tornado.ioloop import IOLoop

from docsync.server.application import Application, register_model_catalogue
from docsync.server.handlers import (
    STATIC_PATH,
    TEMPLATES_PATH,
    AutoloadHandler,
    FaviconHandler,
    IndexHandler,
    MetricsHandler,
    PageHandler,
    StaticHandler,
    WSHandler,
)
from docsync.server.hosts import HostPolicy
from docsync.server.manager import AppSessions
from docsync.server.metrics import Metrics
from docsync.server.protocol import CLOSE_GOING_AWAY, RateLimit
from docsync.server.relay import HasSessionHandler
from docsync.server.tokens import secret_key_from_env

__all__ = ["Server"]

log = logging.getLogger("docsync.server")


def normalize_prefix(prefix: str | None) -> str:
    prefix = (prefix or "").strip("/")
    return f"/{prefix}" if prefix else ""


class Server:
    """Serves apps over HTTP and WebSocket (options as in ``docsync serve``)."""

    def __init__(
        self,
        apps: dict[str, Application] | Iterable[Application] | Application | None = None,
        *,
        port: int = 5006,
        address: str | None = "127.0.0.1",
        host: list[str] | None = None,
        allow_websocket_origin: list[str] | None = None,
        prefix: str = "",
        use_xheaders: bool = False,
        keep_alive_ms: int = 37000,
        check_unused_sessions_ms: int = 17000,
        unused_session_lifetime_ms: int = 15000,
        websocket_max_message_size: int = 20 * 1024 * 1024,
        secret_key: bytes | str | None = None,
        rate: float = 200.0,
        burst: float = 1000.0,
        log_max_messages: int = 1000,
        log_max_bytes: int = 64 * 1024 * 1024,
        sockets: list[socket.socket] | None = None,
        loop: IOLoop | None = None,
        private_sockets: list[socket.socket] | None = None,
        peer_ports: list[int] | None = None,
        relay_secret: str | None = None,
        hello_timeout_s: float = 30.0,
    ) -> None:
        if apps is None:
            app_list = [Application("")]
        elif isinstance(apps, Application):
            app_list = [apps]
        elif isinstance(apps, dict):
            app_list = []
            for name, a in apps.items():
                a.name = name.strip("/")
                app_list.append(a)
        else:
            app_list = list(apps)
        names = [a.name for a in app_list]
        if len(set(names)) != len(names):
            raise ValueError(f"two apps have the same route: {names}")
        self.apps = app_list
        self.port = port
        self.address = address
        self._hosts_arg = host
        self._origins_arg = allow_websocket_origin
        self.prefix = normalize_prefix(prefix)
        self.use_xheaders = use_xheaders
        self.keep_alive_ms = keep_alive_ms
        self.check_unused_sessions_ms = check_unused_sessions_ms
        self.unused_session_lifetime_ms = unused_session_lifetime_ms
        self.websocket_max_message_size = websocket_max_message_size
        if secret_key is None:
            secret_key = secret_key_from_env()
        self.secret_key: bytes | None = secret_key.encode("utf-8") if isinstance(secret_key, str) else secret_key
        self.rate = rate
        self.burst = burst
        self.log_max_messages = log_max_messages
        self.log_max_bytes = log_max_bytes
        self._sockets = sockets
        self._loop = loop
        # --num-procs: this worker's private loopback socket, its siblings' ports, and the
        # run's secret (see docsync.server.relay)
        self._private_sockets = private_sockets or []
        self.peer_ports = list(peer_ports or [])
        self.relay_secret = relay_secret
        self.max_write_buffer = max(64 * 1024 * 1024, 2 * websocket_max_message_size)
        self.hello_timeout_s = hello_timeout_s
        self.metrics = Metrics()
        self.connections: set[WSHandler] = set()
        self.sessions: dict[str, AppSessions] = {}
        self.host_policy = HostPolicy(port, host, allow_websocket_origin)
        self.jinja = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES_PATH), autoescape=jinja2.select_autoescape(["html"])
        )
        self._app_jinja: dict[str, jinja2.Environment] = {}
        self.http_server: httpserver.HTTPServer | None = None
        self._cleanup: object | None = None  # the IOLoop timeout of the next check
        self._started = False
        self._stopping = False

    # ------------------------------------------------------------------ urls
    def app_url_path(self, app: Application) -> str:
        return f"{self.prefix}/{app.name}" if app.name else f"{self.prefix}/"

    def app_ws_path(self, app: Application) -> str:
        return f"{self.prefix}/{app.name}/ws" if app.name else f"{self.prefix}/ws"

    def url_host(self) -> str:
        addr = self.address or "localhost"
        if addr in ("", "0.0.0.0", "::"):
            addr = "localhost"
        if ":" in addr:
            addr = f"[{addr}]"
        return f"{addr}:{self.port}"

    def app_urls(self) -> dict[str, str]:
        return {a.name: f"http://{self.url_host()}{self.app_url_path(a)}" for a in self.apps}

    def make_rate_limit(self) -> RateLimit:
        return RateLimit(self.rate, self.burst)

    # ------------------------------------------------------------------ pages
    def render_page(self, app: Application, variables: dict[str, Any]) -> str:
        if app.template_path:
            env = self._app_jinja.get(app.name)
            if env is None:
                env = jinja2.Environment(
                    loader=jinja2.ChoiceLoader(
                        [
                            jinja2.FileSystemLoader(os.path.dirname(app.template_path)),
                            jinja2.FileSystemLoader(TEMPLATES_PATH),
                        ]
                    ),
                    autoescape=False,
                )
                self._app_jinja[app.name] = env
            return env.get_template(os.path.basename(app.template_path)).render(**variables)
        return self.jinja.get_template("page.html").render(**{**variables, **_markup(variables)})

    # ------------------------------------------------------------------ lifecycle
    def _routes(self) -> list[Any]:
        p = self.prefix
        kw = {"server": self}
        routes: list[Any] = [
            (rf"{p}/metrics", MetricsHandler, kw),
            (rf"{p}/_docsync/has", HasSessionHandler, kw),
            (r"/favicon.ico", FaviconHandler, kw),
            (rf"{p}/static/(.*)", StaticHandler, {**kw, "path": STATIC_PATH}),
        ]
        root_taken = False
        for app in self.apps:
            sessions = self.sessions[app.name]
            akw = {**kw, "sessions": sessions}
            base = f"{p}/{app.name}" if app.name else p
            routes.append((rf"{base}/ws", WSHandler, akw))
            routes.append((rf"{base}/autoload.js", AutoloadHandler, akw))
            if app.static_path:
                routes.append((rf"{base}/static/(.*)", StaticHandler, {**kw, "path": app.static_path}))
            if app.name:
                routes.append((rf"{base}/?", PageHandler, akw))
            else:
                routes.append((rf"{p}/", PageHandler, akw))
                root_taken = True
        if not root_taken:
            if len(self.apps) == 1:
                routes.append((rf"{p}/", PageHandler, {**kw, "sessions": self.sessions[self.apps[0].name]}))
            else:
                routes.append((rf"{p}/", IndexHandler, kw))
        if p:
            routes.append((rf"{p}", web.RedirectHandler, {"url": f"{p}/"}))
        return routes

    def _bind(self) -> list[socket.socket]:
        if self._sockets is None:
            self._sockets = netutil.bind_sockets(self.port, self.address or None)
        port = self._sockets[0].getsockname()[1]
        if port != self.port:
            self.port = port
            self.host_policy = HostPolicy(port, self._hosts_arg, self._origins_arg)
        return self._sockets

    def start(self) -> None:
        """Bind (unless sockets were given), install the handlers, start the cleanup job
        and schedule the ``on_server_loaded`` hooks. Call on the loop's thread."""
        if self._started:
            return
        self._started = True
        loop = self._loop or IOLoop.current()
        self._loop = loop
        register_model_catalogue()
        sockets = self._bind()
        for app in self.apps:
            self.sessions[app.name] = AppSessions(
                app, loop, self.metrics, self.log_max_messages, self.log_max_bytes
            )
            self.sessions[app.name].on_unused = self._arm_cleanup
        self.metrics.gauge(
            "docsync_sessions", "Live sessions", lambda: {(("app", n),): float(len(s.sessions)) for n, s in self.sessions.items()}
        )
        self.metrics.gauge(
            "docsync_connections",
            "Open WebSocket connections",
            lambda: {
                (("app", n),): float(sum(len(x.connections) for x in s.sessions.values())) for n, s in self.sessions.items()
            },
        )
        self.metrics.gauge(
            "docsync_log_bytes",
            "Bytes held in session logs (for resume)",
            lambda: {(("app", n),): float(sum(x.log.nbytes for x in s.sessions.values())) for n, s in self.sessions.items()},
        )
        self._register_session_series()
        settings: dict[str, Any] = {
            "websocket_max_message_size": self.websocket_max_message_size,
            "compress_response": False,
            "xheaders": self.use_xheaders,
        }
        if self.keep_alive_ms > 0:
            settings["websocket_ping_interval"] = self.keep_alive_ms / 1000.0
            settings["websocket_ping_timeout"] = self.keep_alive_ms / 1000.0
        self.tornado_app = web.Application(self._routes(), **settings)
        self.http_server = httpserver.HTTPServer(
            self.tornado_app, xheaders=self.use_xheaders, max_buffer_size=self.websocket_max_message_size + 1024 * 1024
        )
        self.http_server.add_sockets(sockets + self._private_sockets)
        if self.check_unused_sessions_ms > 0:
            self._arm_cleanup()
        for s in self.sessions.values():
            loop.add_callback(s.server_loaded)
        log.debug("Patterns are: %s", [r[0] for r in self._routes()])

    def _register_session_series(self) -> None:
        def per_session(attr: Callable[[Any], float]) -> Callable[[], dict[tuple[tuple[str, str], ...], float]]:
            def samples() -> dict[tuple[tuple[str, str], ...], float]:
                return {
                    (("app", n), ("session", sid)): float(attr(x))
                    for n, s in self.sessions.items()
                    for sid, x in list(s.sessions.items())
                }

            return samples

        series: list[tuple[str, str, Callable[[Any], float], str]] = [
            ("docsync_session_connections", "Open connections of a session", lambda x: len(x.connections), "gauge"),
            ("docsync_session_changes", "Changes (patch sequence number) of a session", lambda x: x.delivered_seq, "counter"),
            ("docsync_session_log_bytes", "Bytes a session keeps for resume", lambda x: x.log.nbytes, "gauge"),
            ("docsync_session_messages_in_total", "Messages received by a session", lambda x: x.messages_in, "counter"),
            ("docsync_session_bytes_in_total", "Bytes received by a session", lambda x: x.bytes_in, "counter"),
            ("docsync_session_messages_out_total", "Messages written by a session", lambda x: x.messages_out, "counter"),
            ("docsync_session_bytes_out_total", "Bytes written by a session", lambda x: x.bytes_out, "counter"),
        ]
        for name, help, attr, kind in series:
            self.metrics.gauge(name, help, per_session(attr), kind)

    def log_startup(self) -> None:
        log.info("Allowed Host headers: %s", self.host_policy.hosts)
        log.info("These host origins can connect to the websocket: %s", self.host_policy.origins)
        for name, url in self.app_urls().items():
            log.info("docsync: serving %s", url)

    def _arm_cleanup(self) -> None:
        """Check for unused sessions in ``--check-unused-sessions`` ms, unless a check is
        already due. Armed at start, when a session is created and when one loses its last
        connection; a check re-arms only while some session has no connection. A server
        whose sessions all have connections never wakes for it (Bokeh checks always)."""
        if self._cleanup is None and not self._stopping and self.check_unused_sessions_ms > 0:
            self._cleanup = IOLoop.current().call_later(self.check_unused_sessions_ms / 1000.0, self._cleanup_sessions)

    def _cleanup_sessions(self) -> None:
        """The check: a plain timer, no task, unless some session is due for destruction
        (then the next check waits until those are destroyed)."""
        self._cleanup = None
        lifetime = self.unused_session_lifetime_ms / 1000.0
        if any(s.unused(lifetime) for s in self.sessions.values()):
            task = asyncio.ensure_future(self._destroy_unused(lifetime))
            task.add_done_callback(lambda _: self._rearm_cleanup())
        else:
            self._rearm_cleanup()

    def _rearm_cleanup(self) -> None:
        if any(not x.connections for s in self.sessions.values() for x in s.sessions.values()):
            self._arm_cleanup()

    async def _destroy_unused(self, lifetime: float) -> None:
        for s in list(self.sessions.values()):
            try:
                await s.cleanup(lifetime)
            except Exception:
                log.exception("session cleanup failed")

    async def stop(self) -> None:
        """Close connections (1001), destroy sessions, run ``on_server_unloaded``."""
        if self._stopping:
            return
        self._stopping = True
        if self.http_server is not None:
            self.http_server.stop()
        if self._cleanup is not None:
            IOLoop.current().remove_timeout(self._cleanup)
            self._cleanup = None
        for ws in list(self.connections):
            try:
                ws.close(CLOSE_GOING_AWAY, "server shutting down")
            except Exception:
                pass
        for s in self.sessions.values():
            await s.destroy_all()
        for s in self.sessions.values():
            await s.run_hook("on_server_unloaded", s.server_context, timeout=10.0)
        if self.http_server is not None:
            try:
                await asyncio.wait_for(self.http_server.close_all_connections(), 2.0)
            except Exception:
                pass
        for app in self.apps:
            app.unload()

    def run_until_shutdown(self) -> None:
        """Run the loop until SIGTERM or SIGINT, then stop cleanly."""
        loop = self._loop or IOLoop.current()
        if not self._started:
            self.start()

        def on_signal(signum: int, frame: Any) -> None:
            log.info("docsync: received %s, shutting down", signal.Signals(signum).name)
            loop.add_callback_from_signal(self._shutdown_and_stop)

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        loop.start()

    async def _shutdown_and_stop(self) -> None:
        try:
            await self.stop()
        finally:
            (self._loop or IOLoop.current()).stop()


def _markup(variables: dict[str, Any]) -> dict[str, Any]:
    """The HTML snippets are markup, not text to escape."""
    return {
        k: jinja2.utils.markupsafe.Markup(v)
        for k, v in variables.items()
        if k in ("embed_div", "embed_script", "embed", "docsync_css")
    }
