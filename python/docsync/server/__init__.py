"""The docsync server: ``docsync serve`` and its building blocks.

Routes (``P`` = ``--prefix``)::

    P/<app>                 the app page (a lone app also at P/; an index when several)
    P/<app>/ws              the WebSocket (docs/protocol.md); ?docsync-token= or
                            ?docsync-session-id= (or a Docsync-Session-Id header)
    P/<app>/autoload.js     embed script (docsync.embed.server_document); CORS for
                            allowed origins only
    P/<app>/static/...      the app's static/ folder
    P/static/...            the client library (python/docsync/static)
    P/metrics               Prometheus text: server and per-session figures

Modules:

* :mod:`~docsync.server.application` — loading apps (file, directory, function, empty)
* :mod:`~docsync.server.session` — a live session: document, log, connections, scheduler
* :mod:`~docsync.server.protocol` — the wire protocol, independent of the transport
  (:class:`~docsync.server.protocol.ServerConnection`; message builders for clients)
* :mod:`~docsync.server.manager` — the sessions of one app, lifecycle hooks, cleanup
* :mod:`~docsync.server.executor` — per-session serial queues and timers on a shared pool
* :mod:`~docsync.server.writer` — WebSocket frames written from any thread (session workers)
* :mod:`~docsync.server.handlers` — Tornado adapters; :mod:`~docsync.server.server` — the server
* :mod:`~docsync.server.relay` — ``--num-procs`` workers relaying sessions to each other
* :mod:`~docsync.server.tokens` — session ids and tokens; :mod:`~docsync.server.hosts` — Host/Origin
* :mod:`~docsync.server.metrics` — counters and the Prometheus rendering
"""

from docsync.server.application import (
    Application,
    DirectoryApplication,
    FunctionApplication,
    ScriptApplication,
    load_application,
)
from docsync.server.contexts import RequestInfo, ServerContext, SessionContext
from docsync.server.server import Server
from docsync.server.session import ServerSession, current_session_context

__all__ = [
    "Application",
    "DirectoryApplication",
    "FunctionApplication",
    "ScriptApplication",
    "load_application",
    "RequestInfo",
    "ServerContext",
    "SessionContext",
    "Server",
    "ServerSession",
    "current_session_context",
]
