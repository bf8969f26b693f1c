"""Embedding a served app in a page of another web framework (Flask, Django, FastAPI).

``server_document(url)`` returns a ``<script>`` tag that loads ``<url>/autoload.js``;
the script inserts a ``<div>`` right after itself and connects it to a new session of the
app. The embedding page's origin must be allowed by the docsync server
(``--allow-websocket-origin host:port``), which also lets it load the client library
(CORS is limited to allowed origins).
"""

from __future__ import annotations

import html
import uuid
from urllib.parse import urlencode

__all__ = ["server_document"]

DEFAULT_URL = "http://localhost:5006/"


def server_document(url: str = "default", arguments: dict[str, str] | None = None) -> str:
    """A ``<script>`` tag embedding the app served at ``url`` (e.g.
    ``"http://localhost:5006/myapp"``; ``"default"`` is the root app at
    ``http://localhost:5006/``). ``arguments`` become request arguments of the session
    (``curdoc().session_context.request.arguments``)."""
    if url == "default":
        url = DEFAULT_URL
    base = url.rstrip("/")
    element_id = f"docsync-{uuid.uuid4().hex}"
    query: dict[str, str] = {"docsync-autoload-element": element_id}
    for k, v in (arguments or {}).items():
        if k in query or k.startswith("docsync-"):
            raise ValueError(f"argument name {k!r} is reserved")
        query[str(k)] = str(v)
    src = f"{base}/autoload.js?{urlencode(query)}"
    return (
        f'<script src="{html.escape(src, quote=True)}" id="{element_id}" '
        f'data-docsync-url="{html.escape(base, quote=True)}"></script>'
    )
