"""Sessions shared by the workers of ``docsync serve --num-procs N``.

Workers share the public listening socket, so a page's WebSocket, a reconnect, or a
second tab on ``?docsync-session-id=shared`` can land in any worker. Each worker also
listens on a private loopback port (bound before the fork). A worker that receives a
WebSocket for a session it does not have asks its siblings (``GET
<prefix>/_docsync/has?app=&session=`` with the run's shared secret); the one that has the
session gets the connection relayed to it, message by message, so resume, replay and
shared sessions work whichever worker the kernel picked. A new session is created where
its WebSocket arrived, as with one process.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from tornado import web, websocket
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

if TYPE_CHECKING:
    from docsync.server.handlers import WSHandler
    from docsync.server.server import Server

__all__ = ["RELAY_HEADER", "HasSessionHandler", "find_peer", "Relay"]

log = logging.getLogger("docsync.server")

RELAY_HEADER = "X-Docsync-Relay"


class HasSessionHandler(web.RequestHandler):
    """200 when this worker has the session, 404 otherwise (siblings only)."""

    def initialize(self, server: "Server") -> None:
        self.server = server

    def get(self) -> None:
        secret = self.server.relay_secret
        if not secret or self.request.headers.get(RELAY_HEADER) != secret:
            raise web.HTTPError(404)
        sessions = self.server.sessions.get(self.get_argument("app", ""))
        session = sessions.get(self.get_argument("session", "")) if sessions is not None else None
        self.set_status(200 if session is not None and not session.destroyed else 404)
        self.finish()


async def find_peer(server: "Server", app: str, session_id: str, host: str) -> int | None:
    """The private port of the sibling worker holding the session, if any."""
    if not server.peer_ports or not server.relay_secret:
        return None
    client = AsyncHTTPClient()
    query = urlencode({"app": app, "session": session_id})

    async def ask(port: int) -> int | None:
        req = HTTPRequest(
            f"http://127.0.0.1:{port}{server.prefix}/_docsync/has?{query}",
            headers={"Host": host, RELAY_HEADER: server.relay_secret or ""},
            connect_timeout=1.0,
            request_timeout=2.0,
        )
        r = await client.fetch(req, raise_error=False)
        return port if r.code == 200 else None

    results = await asyncio.gather(*(ask(p) for p in server.peer_ports), return_exceptions=True)
    for r in results:
        if isinstance(r, int):
            return r
    return None


class Relay:
    """Forwards one client WebSocket to the sibling worker that has its session."""

    def __init__(self, handler: "WSHandler", port: int) -> None:
        self.handler = handler
        self.port = port
        self.ws: websocket.WebSocketClientConnection | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        h = self.handler
        headers = {"Host": h.request.host, RELAY_HEADER: h.server.relay_secret or ""}
        origin = h.request.headers.get("Origin")
        if origin:
            headers["Origin"] = origin
        req = HTTPRequest(f"ws://127.0.0.1:{self.port}{h.request.uri}", headers=headers, connect_timeout=5.0)
        self.ws = await websocket.websocket_connect(
            req, max_message_size=h.server.websocket_max_message_size + 1024
        )
        self.ws.protocol.set_nodelay(True)  # type: ignore[union-attr]
        self._task = asyncio.ensure_future(self._pump())

    async def _pump(self) -> None:
        ws, h = self.ws, self.handler
        assert ws is not None
        while True:
            msg = await ws.read_message()
            if msg is None:
                h.close(ws.close_code or 1011, ws.close_reason or "")
                return
            h.send(msg if isinstance(msg, bytes) else msg.encode("utf-8"))

    async def forward(self, message: str | bytes) -> None:
        if self.ws is not None:
            try:
                await self.ws.write_message(message, binary=isinstance(message, bytes))
            except websocket.WebSocketClosedError:
                pass

    def close(self, code: int | None, reason: str | None) -> None:
        if self.ws is not None:
            self.ws.close(code if code and 1000 <= code < 5000 and code not in (1005, 1006) else 1000, reason)
            self.ws = None
