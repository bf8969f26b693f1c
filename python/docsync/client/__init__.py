"""The Python client: keep a local Document in sync with a session on a docsync server.

    from docsync.client import push_session, pull_session

    session = push_session(curdoc())             # the server gets this process's document
    session = pull_session(url="http://localhost:5006/myapp")   # a local copy of a session

Both block until the session is in sync and work from any thread, also inside Jupyter or
a running asyncio loop (the I/O runs on a private background loop). From asyncio code,
``await push_session_async(doc)`` / ``await pull_session_async()`` (or
``await ClientSession.connect_async(...)``) run on the caller's loop instead.

``url`` is the app's URL (``http://localhost:5006/myapp``); ``"default"`` means
``http://localhost:5006/``; ``app_path=`` (the seed's argument) is appended.
"""

from docsync.client.session import (
    ClientSession,
    pull_session,
    pull_session_async,
    push_session,
    push_session_async,
    show_session,
)

__all__ = [
    "ClientSession",
    "push_session",
    "pull_session",
    "push_session_async",
    "pull_session_async",
    "show_session",
    "DEFAULT_URL",
]

DEFAULT_URL = "http://localhost:5006/"
