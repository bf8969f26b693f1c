"""What app code and lifecycle hooks see of the server: request, session and server
contexts (``curdoc().session_context``, ``on_session_created(session_context)``)."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from docsync.server.application import Application
    from docsync.server.session import ServerSession

__all__ = ["RequestInfo", "SessionContext", "ServerContext"]


class RequestInfo:
    """The page request that led to a session, as carried by the session token.

    ``arguments`` maps a query argument to the list of its values (str), without the
    ``docsync-session-id`` / ``docsync-token`` arguments; ``headers`` and ``cookies`` are
    plain dicts of str.
    """

    def __init__(
        self,
        arguments: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
        cookies: dict[str, str] | None = None,
    ) -> None:
        self.arguments: dict[str, list[str]] = dict(arguments or {})
        self.headers: dict[str, str] = dict(headers or {})
        self.cookies: dict[str, str] = dict(cookies or {})

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> "RequestInfo":
        args = {
            str(k): [str(x) for x in (v if isinstance(v, list) else [v])]
            for k, v in (payload.get("arguments") or {}).items()
        }
        headers = {str(k): str(v) for k, v in (payload.get("headers") or {}).items()}
        cookies = {str(k): str(v) for k, v in (payload.get("cookies") or {}).items()}
        return cls(args, headers, cookies)

    def __repr__(self) -> str:
        return f"RequestInfo(arguments={self.arguments!r})"


class ServerContext:
    """One per application per server process; passed to ``on_server_loaded`` /
    ``on_server_unloaded``. ``sessions`` lists the live sessions of this app."""

    def __init__(self, application: "Application") -> None:
        self.application = application
        self._sessions: dict[str, "ServerSession"] = {}

    @property
    def sessions(self) -> list["SessionContext"]:
        return [s.context for s in self._sessions.values()]


class SessionContext:
    """Given to ``on_session_created`` / ``on_session_destroyed`` and available to app
    code as ``curdoc().session_context`` (when the Document supports it) or
    ``docsync.server.session.current_session_context()``."""

    def __init__(self, session_id: str, request: RequestInfo, server_context: ServerContext) -> None:
        self.id = session_id
        self.request = request
        self.server_context = server_context
        self.destroyed = False
        self._session: "weakref.ReferenceType[ServerSession] | None" = None

    @property
    def session(self) -> "ServerSession | None":
        return self._session() if self._session is not None else None

    @property
    def document(self) -> Any:
        s = self.session
        return s.document if s is not None else None

    def __repr__(self) -> str:
        return f"SessionContext(id={self.id!r})"
