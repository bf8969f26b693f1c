"""Client URLs: the app's URL, the WebSocket URL derived from it, the page URL, tokens.

The contract (docs/../DESIGN.md): ``url`` is the app's URL (server root + prefix + app
path, as in Bokeh: ``http://localhost:5006/myapp``); ``url="default"`` is
``http://localhost:5006/`` (the root app); the seed's ``app_path=`` is appended. For
convenience a WebSocket URL (``ws://host:port/app/ws``) is accepted too and mapped back
to the app URL.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

__all__ = [
    "DEFAULT_URL",
    "SESSION_ID_ARG",
    "TOKEN_ARG",
    "app_url",
    "websocket_url",
    "page_url",
    "session_id_and_token",
    "split_session_id",
]

DEFAULT_URL = "http://localhost:5006/"
SESSION_ID_ARG = "docsync-session-id"
TOKEN_ARG = "docsync-token"


def app_url(url: str = "default", app_path: str | None = None) -> str:
    """Normalise ``url`` (+ ``app_path``) to the app's http(s) URL, without a trailing
    slash except for the server root (``http://localhost:5006/``).

    Raises ValueError naming the URL when it is not an http(s)/ws(s) URL."""
    if url is None or url == "default":
        url = DEFAULT_URL
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, not {type(url).__name__}")
    text = url.strip()
    if "://" not in text:
        # "localhost:5006/app" is a common slip; treat it as http.
        text = "http://" + text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    path = parts.path
    if scheme in ("ws", "wss"):
        scheme = "http" if scheme == "ws" else "https"
        stripped = path.rstrip("/")
        if stripped.endswith("/ws"):
            path = stripped[: -len("/ws")]
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"invalid docsync url {url!r}: expected the app's URL, e.g. "
            f"'http://localhost:5006/' or 'http://localhost:5006/myapp'"
        )
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError as e:
        raise ValueError(f"invalid docsync url {url!r}: {e}") from None
    if app_path:
        path = path.rstrip("/") + "/" + app_path.strip("/")
    path = path.rstrip("/") or "/"
    return urlunsplit((scheme, parts.netloc, path, parts.query, ""))


def websocket_url(app: str, token: str) -> str:
    """``http://host:port/app`` → ``ws://host:port/app/ws?docsync-token=<token>``."""
    parts = urlsplit(app)
    scheme = "wss" if parts.scheme == "https" else "ws"
    path = parts.path.rstrip("/") + "/ws"
    query = urlencode({TOKEN_ARG: token})
    if parts.query:
        query = parts.query + "&" + query
    return urlunsplit((scheme, parts.netloc, path, query, ""))


def page_url(app: str, session_id: str) -> str:
    """The page of the session: ``<app url>?docsync-session-id=<id>``."""
    parts = urlsplit(app)
    query = f"{SESSION_ID_ARG}={quote(session_id, safe='')}"
    if parts.query:
        query = parts.query + "&" + query
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def split_session_id(app: str) -> tuple[str, str | None]:
    """A session page URL (``…/app?docsync-session-id=x``) → (the app URL, ``"x"``)."""
    parts = urlsplit(app)
    if SESSION_ID_ARG not in parts.query:
        return app, None
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    ids = [v for k, v in pairs if k == SESSION_ID_ARG]
    rest = urlencode([(k, v) for k, v in pairs if k != SESSION_ID_ARG])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, rest, "")), (ids[-1] or None) if ids else None


def session_id_and_token(session_id: str | None) -> tuple[str, str]:
    """Pick (or check) the session id and make the WebSocket token, the way the server
    expects them (``docsync.server.tokens``): without ``DOCSYNC_SECRET_KEY`` any valid id
    may be chosen; with it set in this process's environment, new ids are signed and a
    given id must carry a valid signature."""
    from docsync.server import tokens

    key = tokens.secret_key_from_env()
    if session_id is None:
        session_id = tokens.generate_session_id(key)
    else:
        try:
            tokens.check_session_id(session_id, key)
        except tokens.TokenError as e:
            hint = (
                " (with DOCSYNC_SECRET_KEY set, let the client generate the id or use "
                "docsync.server.tokens.generate_session_id(key))"
                if key
                else ""
            )
            raise ValueError(f"session id {session_id!r}: {e}{hint}") from None
    return session_id, tokens.generate_token(session_id, key)
