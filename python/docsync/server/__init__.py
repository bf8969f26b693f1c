"""The docsync server: ``docsync serve`` and its building blocks.

* :mod:`~docsync.server.application` — loading apps (file, directory, function, empty)
* :mod:`~docsync.server.session` — a live session: document, log, connections, scheduler
* :mod:`~docsync.server.protocol` — the wire protocol, independent of the transport
* :mod:`~docsync.server.handlers` — Tornado adapters; :mod:`~docsync.server.server` — the server
* :mod:`~docsync.server.tokens` — session ids and tokens; :mod:`~docsync.server.hosts` — Host/Origin
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
