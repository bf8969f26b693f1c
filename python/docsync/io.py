"""Output functions of the seed era: ``output_server`` then ``show``/``push``.

    output_server("hover")            # session id "hover" on http://localhost:5006/
    p = figure(title="Server Plot"); p.circle([1, 2, 3], [4, 5, 6])
    show(p)                           # pushes curdoc() and opens the browser
"""

from __future__ import annotations

import webbrowser
from dataclasses import dataclass
from typing import Any

from docsync.document import Document, _reset_default_curdoc, curdoc

__all__ = ["curdoc", "output_server", "show", "push", "reset_output", "output_file"]

DEFAULT_SESSION_ID = "default"
DEFAULT_SERVER_URL = "http://localhost:5006/"


@dataclass
class _ServerOutput:
    session_id: str
    url: str
    autopush: bool
    session: Any = None


_state: dict[str, Any] = {"server": None}


def _resolve_url(url: str, app_path: str | None) -> str:
    if url == "default":
        url = DEFAULT_SERVER_URL
    if app_path and app_path != "/":
        url = url.rstrip("/") + "/" + app_path.lstrip("/")
    return url


def output_server(session_id: str = DEFAULT_SESSION_ID, url: str = "default", app_path: str | None = None, autopush: bool = False) -> None:
    """Send the current document to a running ``docsync serve`` when ``show()`` or
    ``push()`` is called, in the session ``session_id`` (``url`` is the app's URL;
    ``"default"`` is http://localhost:5006/)."""
    _state["server"] = _ServerOutput(session_id=session_id, url=_resolve_url(url, app_path), autopush=autopush)


def output_file(filename: str, title: str = "docsync plot", **kw: Any) -> None:
    """Standalone HTML output is not part of docsync (it is a server): a clear error."""
    raise NotImplementedError(
        "docsync has no standalone HTML output; run `docsync serve app.py`, or use "
        "output_server() then show()"
    )


def reset_output() -> None:
    """Forget output_server() settings and the default document."""
    out = _state["server"]
    if out is not None and out.session is not None and hasattr(out.session, "close"):
        out.session.close()
    _state["server"] = None
    _reset_default_curdoc()


def _session(doc: Document) -> Any:
    out: _ServerOutput | None = _state["server"]
    if out is None:
        raise RuntimeError(
            "no output set: call output_server() first (or run this file with `docsync serve`)"
        )
    if out.session is None or getattr(out.session, "document", doc) is not doc:
        from docsync.client import push_session  # written by the client engineer

        out.session = push_session(doc, session_id=out.session_id, url=out.url)
    return out.session


def push(document: Document | None = None) -> None:
    """Push the document's current state to the server session set by output_server()."""
    doc = document if document is not None else curdoc()
    session = _session(doc)
    if hasattr(session, "push"):
        session.push(doc)


def show(obj: Any = None, browser: str | None = None, new: str = "tab") -> Any:
    """Add ``obj`` to the current document (if it is not in it yet), push the document
    to the server session of output_server(), and open it in a browser."""
    from docsync.document import _curdoc

    if _curdoc.get() is not None and _state["server"] is None:
        # Inside a served app or a session callback the page already shows the
        # document: show() has nothing to open, as in Bokeh (`bokeh serve` ignores it).
        return None
    doc = curdoc()
    if obj is not None and obj not in doc.roots:
        if getattr(obj, "document", None) is None:
            doc.add_root(obj)
    session = _session(doc)
    if hasattr(session, "show"):  # docsync.client.ClientSession: syncs, then opens the page
        session.show(obj, browser=browser, new=new)
        return session
    out: _ServerOutput = _state["server"]
    sep = "&" if "?" in out.url else "?"
    url = f"{out.url}{sep}docsync-session-id={out.session_id}"
    controller = webbrowser.get(browser) if browser else webbrowser
    controller.open(url, new={"window": 1, "tab": 2}.get(new, 2))
    return session
