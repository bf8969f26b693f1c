"""The ``docsync`` command: ``serve``, ``json``, ``secret``, ``static``, ``info``.

``docsync serve [APP ...]`` — see ``docsync serve --help``; with no APP an empty app at
``/`` accepts pushed documents. The start-up log lists the allowed Host headers and
origins and one ``docsync: serving <url>`` line per app (port 0 shows the real port).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any, Sequence

__all__ = ["main", "build_parser"]

LOG_LEVELS = ["trace", "debug", "info", "warning", "error", "critical", "none"]
DEFAULT_LOG_FORMAT = "%(asctime)s %(message)s"


def build_parser() -> argparse.ArgumentParser:
    from docsync import __version__

    parser = argparse.ArgumentParser(prog="docsync", description="Live sync between Python objects and the browser.")
    parser.add_argument("-v", "--version", action="version", version=f"docsync {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="serve apps", description="Serve docsync apps over HTTP and WebSocket.")
    serve.add_argument("apps", nargs="*", metavar="APP", help="a .py file or an app directory (route /<name>)")
    serve.add_argument("--port", type=int, default=5006, help="TCP port (default 5006; 0 = any free port)")
    serve.add_argument("--address", default="127.0.0.1", help="address to bind (default 127.0.0.1; 0.0.0.0 = all interfaces)")
    serve.add_argument("--show", action="store_true", help="open every app in a browser (honours $BROWSER)")
    serve.add_argument(
        "--host", action="append", default=None, metavar="HOST[:PORT]",
        help="allowed Host header, repeatable (default localhost:<port> and 127.0.0.1:<port>); also an allowed origin",
    )
    serve.add_argument(
        "--allow-websocket-origin", action="append", default=None, metavar="HOST[:PORT]",
        help="another origin allowed to open WebSockets and embed apps, repeatable",
    )
    serve.add_argument("--use-xheaders", action="store_true", help="trust X-Real-Ip / X-Forwarded-For / X-Scheme / X-Forwarded-Proto")
    serve.add_argument("--prefix", default="", help="URL prefix for every route (e.g. /apps)")
    serve.add_argument("--num-procs", type=int, default=1, help="worker processes sharing the port (0 = one per CPU)")
    serve.add_argument("--keep-alive", type=int, default=37000, metavar="MS", help="WebSocket ping interval; a missing pong within it closes the connection (0 = off)")
    serve.add_argument("--check-unused-sessions", type=int, default=17000, metavar="MS", help="how often to look for unused sessions")
    serve.add_argument("--unused-session-lifetime", type=int, default=15000, metavar="MS", help="how long a session without connections lives")
    serve.add_argument("--websocket-max-message-size", type=int, default=20 * 1024 * 1024, metavar="BYTES", help="largest accepted message (default 20 MiB; larger closes with 1009)")
    serve.add_argument("--log-level", choices=LOG_LEVELS, default="info")
    serve.add_argument("--log-format", default=DEFAULT_LOG_FORMAT)
    serve.add_argument("--dev", action="store_true", help="restart the server when app files or docsync change")
    serve.add_argument("--args", nargs=argparse.REMAINDER, default=[], metavar="...", help="everything after becomes sys.argv[1:] of the apps")

    js = sub.add_parser("json", help="print the document an app builds", description="Run an app once and print its document as JSON.")
    js.add_argument("app", metavar="APP")
    js.add_argument("--output", "-o", default="-", help="file to write (default: stdout)")
    js.add_argument("--indent", type=int, default=None)
    js.add_argument("--args", nargs=argparse.REMAINDER, default=[], metavar="...")

    sub.add_parser("secret", help="print a new DOCSYNC_SECRET_KEY")
    sub.add_parser("static", help="print the path of the client library folder (for nginx)")
    info = sub.add_parser("info", help="print versions (or --static: the static folder)")
    info.add_argument("--static", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        sys.exit(2)
    if args.command == "serve":
        from docsync.command.serve import serve

        sys.exit(serve(args))
    if args.command == "json":
        sys.exit(_json(args))
    if args.command == "secret":
        from docsync.server.tokens import generate_secret_key

        print(generate_secret_key())
        return
    if args.command == "static" or (args.command == "info" and args.static):
        from docsync.server.handlers import STATIC_PATH

        print(STATIC_PATH)
        return
    if args.command == "info":
        _info()
        return


def _info() -> None:
    import platform

    import tornado

    from docsync import __version__, _core

    print(f"docsync        {__version__}")
    print(f"protocol       {getattr(_core, 'PROTOCOL_VERSION', '?')}")
    print(f"python         {platform.python_version()}")
    print(f"tornado        {tornado.version}")


def _json(args: Any) -> int:
    logging.basicConfig(level=logging.WARNING, format=DEFAULT_LOG_FORMAT)
    from docsync.server.application import AppLoadError, build_document, load_application

    try:
        app = load_application(args.app, args.args)
    except AppLoadError as e:
        print(f"docsync json: {e}", file=sys.stderr)
        return 1
    doc = build_document(app)
    if hasattr(doc, "to_json"):
        data = doc.to_json()
    else:
        from docsync import _core
        from docsync.document import _to_json

        data = _to_json(_core.decode(doc.snapshot()))
    text = json.dumps(data, indent=args.indent, allow_nan=True)
    if args.output == "-":
        sys.stdout.write(text + "\n")
    else:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    return 0
