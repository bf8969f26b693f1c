"""``docsync serve``: bind, (fork,) load apps, run until SIGTERM / Ctrl-C."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
import webbrowser
from typing import Any

from tornado import netutil
from tornado.ioloop import IOLoop

log = logging.getLogger("docsync.server")


def setup_logging(level: str, fmt: str) -> None:
    if level == "none":
        logging.disable(logging.CRITICAL)
        return
    numeric = 5 if level == "trace" else getattr(logging, level.upper())
    logging.addLevelName(5, "TRACE")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("docsync").setLevel(numeric)
    logging.getLogger("tornado").setLevel(max(numeric, logging.WARNING) if numeric > logging.DEBUG else numeric)


def _check_apps(paths: list[str]) -> str | None:
    """Compile every app before any process forks (no app code runs)."""
    from docsync.server.application import _compile

    for p in paths:
        if not os.path.exists(p):
            return f"no such file or directory: {p}"
        if os.path.isdir(p):
            main = os.path.join(p, "main.py")
            if not os.path.isfile(main):
                return f"{p} has no main.py: a directory app needs one"
            _compile(main)
        elif p.endswith(".py"):
            _compile(p)
        else:
            return f"{p}: an app is a .py file or a directory with main.py"
    return None


def serve(args: Any) -> int:
    from docsync.server.application import AppLoadError, load_application
    from docsync.server.hosts import HostPolicy
    from docsync.server.server import Server, normalize_prefix

    setup_logging(args.log_level, args.log_format)
    from docsync.server.application import expand_app_paths

    args.apps = expand_app_paths(args.apps)
    try:
        problem = _check_apps(args.apps)
    except AppLoadError as e:
        problem = str(e)
    if problem:
        log.error("docsync serve: %s", problem)
        return 1
    names = [os.path.splitext(os.path.basename(os.path.abspath(p).rstrip("/")))[0] for p in args.apps]
    if len(set(names)) != len(names):
        log.error("docsync serve: two apps would have the same route: %s", names)
        return 1
    num_procs = args.num_procs
    if args.dev and num_procs != 1:
        log.warning("--dev runs one process; ignoring --num-procs %d", num_procs)
        num_procs = 1
    try:
        sockets = netutil.bind_sockets(args.port, args.address or None)
    except OSError as e:
        log.error("docsync serve: cannot listen on %s:%s: %s", args.address, args.port, e)
        return 1
    port = sockets[0].getsockname()[1]
    prefix = normalize_prefix(args.prefix)
    policy = HostPolicy(port, args.host, args.allow_websocket_origin)
    log.info("Allowed Host headers: %s", policy.hosts)
    log.info("These host origins can connect to the websocket: %s", policy.origins)
    host = args.address if args.address not in ("", "0.0.0.0", "::") else "localhost"
    if ":" in host:
        host = f"[{host}]"
    urls = [f"http://{host}:{port}{prefix}/{n}" for n in names] or [f"http://{host}:{port}{prefix}/"]
    if not args.apps:
        log.info("docsync: no app given: an empty app at %s accepts pushed documents", urls[0])
    for url in urls:
        log.info("docsync: serving %s", url)

    private: list[list[Any]] = []
    peer_ports: list[int] = []
    relay_secret = None
    if num_procs != 1:
        import secrets

        n = num_procs if num_procs > 0 else (os.cpu_count() or 1)
        # one private loopback socket per worker, so workers can relay sessions to each
        # other (docsync.server.relay)
        private = [netutil.bind_sockets(0, "127.0.0.1") for _ in range(n)]
        relay_secret = secrets.token_hex(16)
        task = _fork(n)
        if task is None:
            return 0  # the parent: children have exited
        for i, socks in enumerate(private):
            if i != task:
                peer_ports.append(socks[0].getsockname()[1])
                for sock in socks:
                    sock.close()
        private = [private[task]]
        log.info("docsync: worker %d (pid %d) started", task, os.getpid())

    try:
        apps = [load_application(p, args.args) for p in args.apps]
    except AppLoadError as e:
        log.error("docsync serve: %s", e)
        return 1
    loop = IOLoop.current()
    server = Server(
        apps or None,
        port=port,
        address=args.address,
        host=args.host,
        allow_websocket_origin=args.allow_websocket_origin,
        prefix=args.prefix,
        use_xheaders=args.use_xheaders,
        keep_alive_ms=args.keep_alive,
        check_unused_sessions_ms=args.check_unused_sessions,
        unused_session_lifetime_ms=args.unused_session_lifetime,
        websocket_max_message_size=args.websocket_max_message_size,
        sockets=sockets,
        loop=loop,
        private_sockets=private[0] if private else None,
        peer_ports=peer_ports,
        relay_secret=relay_secret,
    )
    server.start()
    if args.dev:
        _start_autoreload(apps)
    if args.show:
        threading.Thread(target=_open_browsers, args=(urls,), daemon=True).start()
    server.run_until_shutdown()
    log.info("docsync: stopped")
    _exit_even_if_callbacks_hang()
    return 0


def _exit_even_if_callbacks_hang(grace_s: float = 5.0) -> None:
    """Python joins worker threads at exit: an app callback stuck in a loop would keep a
    stopped server alive forever. Wait a little, then leave without them."""
    from docsync.server.executor import busy_threads

    deadline = time.monotonic() + grace_s
    while busy_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    if busy_threads():
        log.warning("docsync: %d app callbacks still running after shutdown; exiting anyway", busy_threads())
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _open_browsers(urls: list[str]) -> None:
    for url in urls:
        try:
            webbrowser.open_new_tab(url)
        except Exception as e:  # no browser is not an error of the server
            log.warning("--show: could not open %s: %s", url, e)


def _start_autoreload(apps: list[Any]) -> None:
    from tornado import autoreload

    original_argv = list(sys.argv)
    autoreload.add_reload_hook(lambda: setattr(sys, "argv", original_argv))
    for app in apps:
        for f in app.watch_files:
            autoreload.watch(f)
        root = getattr(app, "path", None)
        if root and os.path.isdir(root):
            for dirpath, _, files in os.walk(root):
                for f in files:
                    if f.endswith((".py", ".html", ".css", ".yaml", ".js")):
                        autoreload.watch(os.path.join(dirpath, f))
    autoreload.start()
    log.info("docsync: --dev: restarting when app files change")


def _fork(n: int) -> int | None:
    """Fork ``n`` workers after the sockets are bound and before any app code runs.
    Returns the worker number in a child; in the parent, forwards SIGTERM/SIGINT to the
    workers, restarts a worker that dies unexpectedly, and returns None when all exited."""
    children: dict[int, int] = {}
    stopping = False

    def spawn(i: int) -> int | None:
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            return i
        children[pid] = i
        return None

    for i in range(n):
        if spawn(i) is not None:
            return i

    def forward(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pid not in children:
            continue
        i = children.pop(pid)
        if not stopping and os.waitstatus_to_exitcode(status) != 0:
            log.warning("docsync: worker %d (pid %d) died (%s); restarting it", i, pid, status)
            time.sleep(0.2)
            if spawn(i) is not None:
                return i
    return None
