"""Apps: a ``.py`` file, a directory, a function, or the empty app.

Each session runs the app code afresh in a new module namespace (so module globals are
per session and released with it). A directory app is a synthetic package
(``docsync_app_<hash>``, ``__path__`` = the directory), created once per server process:
``main.py`` runs per session as a module of that package, so ``from . import helpers``
and ``from .data import load`` work, and helper modules are imported once per process
(shared by sessions, like any Python module). ``__init__.py``, if present, runs once
when the app is loaded. ``__file__`` is the real path, ``sys.argv`` is
``[path, *args]`` (from ``--args``), and the app's directory is on ``sys.path``.

Directory layout::

    myapp/
      main.py               required: builds the document (curdoc())
      server_lifecycle.py   optional: on_server_loaded(server_context),
                            on_server_unloaded(server_context),
                            on_session_created(session_context),
                            on_session_destroyed(session_context); sync or async
                            (``app_hooks.py`` is accepted as the same thing)
      static/               served at /<app>/static/...
      templates/index.html  Jinja2 page template (see server/templates/page.html)
      theme.yaml            {attrs: {TypeName: {prop: value}}}: default overrides
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.machinery
import importlib.util
import logging
import os
import sys
import threading
import types
import uuid
from typing import TYPE_CHECKING, Any, Callable, Iterator

import yaml

from docsync import _core

if TYPE_CHECKING:
    from docsync.server.session import ServerSession

__all__ = [
    "Application",
    "ScriptApplication",
    "DirectoryApplication",
    "FunctionApplication",
    "load_application",
    "new_document",
    "build_document",
    "AppLoadError",
    "expand_app_paths",
]

log = logging.getLogger("docsync.server")

HOOK_NAMES = ("on_server_loaded", "on_server_unloaded", "on_session_created", "on_session_destroyed")


class AppLoadError(Exception):
    """An app that cannot be loaded (missing file, syntax error, bad theme)."""


def new_document() -> Any:
    """A fresh Python Document (``docsync.document.Document``), or a bare engine
    Document while the model layer is not available."""
    try:
        from docsync.document import Document
    except ImportError:
        return _core.Document()
    register_model_catalogue()
    return Document()


def register_model_catalogue() -> None:
    """Import every model class so their types are registered with the engine: a
    pushed document or a client patch may use any of them, whatever the app imported."""
    try:
        import docsync.models  # noqa: F401
    except ImportError:
        log.debug("docsync.models is not available; only app-defined types are known")


class Application:
    """The empty app (serves an empty document that a client may push into).

    Subclasses override :meth:`run_code`. Attributes used by the server: ``name`` (the
    route without slashes, ``""`` for the root), ``static_path``, ``template_path``,
    ``theme``, ``hooks`` (dict of lifecycle functions), ``watch_files`` (for ``--dev``)."""

    def __init__(self, name: str = "") -> None:
        self.name = name.strip("/")
        self.static_path: str | None = None
        self.template_path: str | None = None
        self.theme: dict[str, dict[str, Any]] | None = None
        self.hooks: dict[str, Callable[..., Any]] = {}
        self.watch_files: list[str] = []
        self.argv: list[str] = []
        self.summary = ""  # first line of the app's docstring (shown on the index page)
        # The empty app serves documents that clients push (push_session, output_server):
        # its clients own the document, so their patches may change any property. Apps
        # with code own their documents: clients may only change client-writable
        # properties, and a push (replacing everything) is refused.
        self.accepts_push = type(self) is Application

    @property
    def description(self) -> str:
        return "empty app (accepts pushed documents)"

    def create_document(self) -> Any:
        doc = new_document()
        if self.theme:
            _apply_theme(doc, self.theme)
        return doc

    def run_code(self, session: "ServerSession") -> None:
        """Build the session's document (called in a session job, curdoc() set)."""

    def unload(self) -> None:
        """Forget process-wide state (the synthetic package)."""


class FunctionApplication(Application):
    """An app given as a function ``modify_doc(doc)`` (programmatic use and tests)."""

    def __init__(self, fn: Callable[[Any], Any], name: str = "") -> None:
        super().__init__(name)
        self.fn = fn
        doc = (getattr(fn, "__doc__", None) or "").strip()
        self.summary = doc.splitlines()[0] if doc else ""

    @property
    def description(self) -> str:
        return f"function {getattr(self.fn, '__qualname__', self.fn)!r}"

    def run_code(self, session: "ServerSession") -> None:
        result = self.fn(session.document)
        if hasattr(result, "__await__"):
            from docsync.server.executor import run_awaitable

            run_awaitable(result)


class ScriptApplication(Application):
    """A single ``.py`` file, compiled once, executed per session in a fresh module."""

    def __init__(self, path: str, argv: list[str] | None = None, name: str | None = None) -> None:
        path = os.path.abspath(path)
        super().__init__(name if name is not None else os.path.splitext(os.path.basename(path))[0])
        self.path = path
        self.argv = list(argv or [])
        self.code = _compile(path)
        self.summary = _summary(path)
        self.watch_files = [path]
        _add_sys_path(os.path.dirname(path))
        if os.path.basename(path) == "main.py":
            log.warning("%s is named main.py: to serve a directory app, pass its directory", path)

    @property
    def description(self) -> str:
        return self.path

    def run_code(self, session: "ServerSession") -> None:
        name = f"docsync_app_{uuid.uuid4().hex}"
        module = types.ModuleType(name)
        module.__file__ = self.path
        module.__spec__ = importlib.machinery.ModuleSpec(name, None, origin=self.path)
        session.module = module
        sys.modules[name] = module
        with app_argv([self.path, *self.argv]):
            exec(self.code, module.__dict__)


class DirectoryApplication(Application):
    """A directory with ``main.py`` (see the module docstring)."""

    def __init__(self, path: str, argv: list[str] | None = None, name: str | None = None) -> None:
        path = os.path.abspath(path.rstrip("/\\"))
        super().__init__(name if name is not None else os.path.basename(path))
        self.path = path
        self.argv = list(argv or [])
        main = os.path.join(path, "main.py")
        if not os.path.isfile(main):
            raise AppLoadError(f"{path} has no main.py: a directory app needs one")
        self.main_path = main
        self.code = _compile(main)
        self.summary = _summary(main)
        self.watch_files = [main]
        _add_sys_path(path)
        digest = hashlib.sha1(path.encode("utf-8")).hexdigest()[:12]
        self.package_name = f"docsync_app_{digest}"
        pkg = types.ModuleType(self.package_name)
        pkg.__path__ = [path]
        pkg.__package__ = self.package_name
        init = os.path.join(path, "__init__.py")
        pkg.__file__ = init if os.path.isfile(init) else os.path.join(path, "__init__.py")
        pkg.__spec__ = importlib.machinery.ModuleSpec(self.package_name, None, origin=pkg.__file__, is_package=True)
        pkg.__spec__.submodule_search_locations = [path]
        sys.modules[self.package_name] = pkg
        self.package = pkg
        if os.path.isfile(init):
            with app_argv([init, *self.argv]):
                exec(_compile(init), pkg.__dict__)
            self.watch_files.append(init)
        hooks_file = None
        for candidate in ("server_lifecycle.py", "app_hooks.py"):
            if os.path.isfile(os.path.join(path, candidate)):
                if hooks_file is not None:
                    raise AppLoadError(f"{path} has both {hooks_file} and {candidate}: keep one")
                hooks_file = candidate
        if hooks_file is not None:
            mod_name = f"{self.package_name}.{hooks_file[:-3]}"
            try:
                hooks_module = importlib.import_module(mod_name)
            except SyntaxError as e:
                raise AppLoadError(f"syntax error in {os.path.join(path, hooks_file)}: {e}") from e
            self.watch_files.append(os.path.join(path, hooks_file))
            for hook in HOOK_NAMES:
                fn = getattr(hooks_module, hook, None)
                if callable(fn):
                    self.hooks[hook] = fn
        static = os.path.join(path, "static")
        if os.path.isdir(static):
            self.static_path = static
        template = os.path.join(path, "templates", "index.html")
        if os.path.isfile(template):
            self.template_path = template
            self.watch_files.append(template)
        theme = os.path.join(path, "theme.yaml")
        if os.path.isfile(theme):
            self.theme = _load_theme(theme)
            self.watch_files.append(theme)

    @property
    def description(self) -> str:
        return self.path

    def run_code(self, session: "ServerSession") -> None:
        name = f"{self.package_name}.main_{uuid.uuid4().hex}"
        module = types.ModuleType(name)
        module.__file__ = self.main_path
        module.__package__ = self.package_name
        module.__spec__ = importlib.machinery.ModuleSpec(name, None, origin=self.main_path)
        session.module = module
        sys.modules[name] = module
        with app_argv([self.main_path, *self.argv]):
            exec(self.code, module.__dict__)

    def unload(self) -> None:
        for key in [k for k in sys.modules if k == self.package_name or k.startswith(self.package_name + ".")]:
            del sys.modules[key]


def load_application(path: str, argv: list[str] | None = None) -> Application:
    """A ``.py`` file or an app directory → Application. Raises AppLoadError."""
    if not os.path.exists(path):
        raise AppLoadError(f"no such file or directory: {path}")
    if os.path.isdir(path):
        return DirectoryApplication(path, argv)
    if path.endswith(".py"):
        return ScriptApplication(path, argv)
    raise AppLoadError(f"{path}: an app is a .py file or a directory with main.py")


def build_document(app: Application) -> Any:
    """Run an app once outside any server (for ``docsync json``) and return its document."""
    from docsync.server.contexts import RequestInfo, ServerContext, SessionContext
    from docsync.server.session import ServerSession
    from tornado.ioloop import IOLoop

    doc = app.create_document()
    ctx = SessionContext("docsync-json", RequestInfo(), ServerContext(app))
    session = ServerSession("docsync-json", doc, ctx, IOLoop.current(), app_name=app.name)
    with session._entered():
        app.run_code(session)
    return doc


_argv_lock = threading.Lock()
_argv_runs = 0
_argv_saved: list[str] = []


@contextlib.contextmanager
def app_argv(argv: list[str]) -> Iterator[None]:
    """``sys.argv`` is ``argv`` while app code runs (as in ``python app.py args``); the
    process's own argv comes back when no app code is running any more. (sys.argv is
    process-wide: apps building sessions at the same moment see the last one set.)"""
    global _argv_runs, _argv_saved
    with _argv_lock:
        if _argv_runs == 0:
            _argv_saved = sys.argv
        _argv_runs += 1
        sys.argv = list(argv)
    try:
        yield
    finally:
        with _argv_lock:
            _argv_runs -= 1
            if _argv_runs == 0:
                sys.argv = _argv_saved


def _compile(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            source = f.read()
    except OSError as e:
        raise AppLoadError(f"cannot read {path}: {e}") from e
    try:
        return compile(source, path, "exec")
    except SyntaxError as e:
        raise AppLoadError(f"syntax error in {path}, line {e.lineno}: {e.msg}") from e


def _summary(path: str) -> str:
    import ast

    try:
        with open(path, encoding="utf-8") as f:
            doc = ast.get_docstring(ast.parse(f.read()))
    except (OSError, SyntaxError, ValueError):
        return ""
    return doc.strip().splitlines()[0] if doc else ""


def expand_app_paths(paths: list[str]) -> list[str]:
    """A directory without ``main.py`` stands for the apps inside it: its ``*.py`` files
    (not starting with ``_``) and its subdirectories that have a ``main.py``."""
    out: list[str] = []
    for p in paths:
        if os.path.isdir(p) and not os.path.isfile(os.path.join(p, "main.py")):
            found = []
            for entry in sorted(os.listdir(p)):
                full = os.path.join(p, entry)
                if entry.startswith(("_", ".")):
                    continue
                if entry.endswith(".py") and os.path.isfile(full):
                    found.append(full)
                elif os.path.isfile(os.path.join(full, "main.py")):
                    found.append(full)
            if found:
                log.info("%s has no main.py: serving the %d apps in it", p, len(found))
                out.extend(found)
                continue
        out.append(p)
    return out


def _add_sys_path(path: str) -> None:
    if path not in sys.path:
        sys.path.insert(0, path)


def _load_theme(path: str) -> dict[str, dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f) or {}
    except (OSError, yaml.YAMLError) as e:
        raise AppLoadError(f"cannot read theme {path}: {e}") from e
    attrs = data.get("attrs", data) if isinstance(data, dict) else None
    if not isinstance(attrs, dict) or not all(isinstance(v, dict) for v in attrs.values()):
        raise AppLoadError(f"{path}: a theme is {{attrs: {{TypeName: {{property: value}}}}}}")
    return attrs


def _apply_theme(doc: Any, theme: dict[str, dict[str, Any]]) -> None:
    if isinstance(doc, _core.Document):
        doc.set_theme(theme)
        return
    if hasattr(doc, "theme"):
        try:
            doc.theme = theme
            return
        except Exception:
            log.exception("the document refused the theme")
            return
    from docsync.server.session import DocumentHandle

    DocumentHandle(doc).engine.set_theme(theme)
