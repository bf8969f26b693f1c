"""Deployment scenarios from deploy/, with the real nginx, openssl and supervisord.

Each test renders a configuration users copy from deploy/ (ports and paths made local,
nothing else changed), runs the real programs on 127.0.0.1 high ports, and drives a real
chromium page or Python client through nginx.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from deploy_support import DEPLOY
from support import ROOT, DocsyncServe, free_port, free_port_block, subprocess_env, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BUTTON_APP = str(ROOT / "examples" / "gallery" / "button.py")

TEXT_ROWS = """() => {
  const docs = (window.Docsync && window.Docsync.documents) || [];
  for (const d of docs) for (const m of d.models.values())
    if (m.type === "ColumnDataSource" && m.get("data").text) return m.get("data").text.length;
  return -1;
}"""


def press_and_count(page: Any, times: int = 2) -> None:
    """Clicks the seed's "Press Me" button and waits for the Python callback's rows."""
    page.wait_for_function(f"({TEXT_ROWS})() === 0", timeout=20_000)
    for n in range(1, times + 1):
        page.get_by_role("button", name="Press Me").click()
        page.wait_for_function(f"({TEXT_ROWS})() === {n}", timeout=10_000)


def http_status(url: str, host: str | None = None) -> int:
    req = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def test_reverse_proxy_button_and_spoofed_host(nginx_factory: Any, browser: Any) -> None:
    backend = free_port()
    nginx = nginx_factory("reverse-proxy", [backend])
    with DocsyncServe([BUTTON_APP, "--host", f"127.0.0.1:{nginx.port}"], port=backend):
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{nginx.port}/button")
        press_and_count(page)
        page.close()
        # a Host that docsync does not allow is refused, also through the proxy
        assert http_status(f"http://127.0.0.1:{nginx.port}/button", host="localhost.evil.net") == 403
        assert http_status(f"http://127.0.0.1:{nginx.port}/button", host=f"evil.net:{nginx.port}") == 403
        assert http_status(f"http://127.0.0.1:{nginx.port}/button") == 200


def test_ssl_termination_uses_wss(nginx_factory: Any, browser: Any, certificate: tuple[Path, Path]) -> None:
    backend = free_port()
    nginx = nginx_factory("ssl", [backend], ssl=certificate)
    with DocsyncServe([BUTTON_APP, "--use-xheaders", "--host", f"127.0.0.1:{nginx.port}"], port=backend):
        context = browser.new_context(ignore_https_errors=True)
        page = context.new_page()
        sockets: list[str] = []
        page.on("websocket", lambda ws: sockets.append(ws.url))
        page.goto(f"https://127.0.0.1:{nginx.port}/button")
        press_and_count(page, times=1)
        assert sockets and all(u.startswith(f"wss://127.0.0.1:{nginx.port}/button/ws") for u in sockets), sockets
        context.close()


def test_prefix_serves_app_and_static(nginx_factory: Any, browser: Any) -> None:
    backend = free_port()
    nginx = nginx_factory("prefix", [backend])
    with DocsyncServe([BUTTON_APP, "--prefix", "dashboards", "--host", f"127.0.0.1:{nginx.port}"], port=backend):
        base = f"http://127.0.0.1:{nginx.port}/dashboards"
        assert http_status(f"{base}/static/docsync.js") == 200
        page = browser.new_page()
        failed: list[str] = []
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.on("response", lambda r: failed.append(r.url) if r.status >= 400 and not r.url.endswith("favicon.ico") else None)
        page.goto(f"{base}/button")
        press_and_count(page, times=1)
        assert not failed, failed
        page.close()


def test_nginx_serves_static_files_directly(nginx_factory: Any, browser: Any) -> None:
    static = subprocess.run([sys.executable, "-m", "docsync", "static"], capture_output=True, text=True, check=True).stdout.strip()
    assert Path(static, "docsync.js").is_file()
    backend = free_port()
    nginx = nginx_factory("static-files", [backend], static_dir=static)
    with DocsyncServe([BUTTON_APP, "--host", f"127.0.0.1:{nginx.port}"], port=backend):
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{nginx.port}/button")
        press_and_count(page, times=1)
        page.close()
    # docsync is stopped: nginx still serves the client library on its own
    assert http_status(f"http://127.0.0.1:{nginx.port}/static/docsync.js") == 200


# -- load balancing over 3 processes under supervisord ----------------------------------


class Supervisor:
    """supervisord running deploy/supervisor/docsync.conf with local ports and paths."""

    def __init__(self, tmp: Path, ports: list[int], host: str, secret: str) -> None:
        text = (DEPLOY / "supervisor" / "docsync.conf").read_text()
        text = text.replace("command=docsync serve /opt/docsync/app.py --port 510%(process_num)d --host example.com",
                            f"command={sys.executable} -m docsync serve {BUTTON_APP} --port {ports[0] // 10}%(process_num)d "
                            f"--host {host} --check-unused-sessions 500 --unused-session-lifetime 60000")
        assert "--port" in text and str(ports[0] // 10) in text, "the supervisor config changed shape"
        text = text.replace('environment=DOCSYNC_SECRET_KEY="change-me"', f'environment=DOCSYNC_SECRET_KEY="{secret}",BROWSER="true"')
        text = text.replace("/var/log/docsync/", f"{tmp}/")
        self.conf = tmp / "supervisord.conf"
        self.conf.write_text(
            f"[supervisord]\nnodaemon=true\nlogfile={tmp}/supervisord.log\npidfile={tmp}/supervisord.pid\n"
            f"[unix_http_server]\nfile={tmp}/supervisor.sock\n"
            f"[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n"
            f"[supervisorctl]\nserverurl=unix://{tmp}/supervisor.sock\n\n{text}"
        )
        bindir = Path(sys.executable).parent
        self.ctl = [str(bindir / "supervisorctl"), "-c", str(self.conf)]
        self.proc = subprocess.Popen([str(bindir / "supervisord"), "-c", str(self.conf)],
                                     env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def pids(self) -> dict[str, int]:
        out = subprocess.run([*self.ctl, "status"], capture_output=True, text=True).stdout
        return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\S+)\s+RUNNING\s+pid (\d+)", out, re.M)}

    def stop(self) -> None:
        subprocess.run([*self.ctl, "shutdown"], capture_output=True)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def metrics_sessions(port: int, host: str) -> float:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Host": host})
    with urllib.request.urlopen(req, timeout=5) as resp:
        text = resp.read().decode()
    m = re.search(r"^docsync_sessions(?:\{[^}]*\})? (\S+)$", text, re.M)
    assert m, text[:500]
    return float(m.group(1))


def test_load_balancing_without_sticky_sessions(nginx_factory: Any, browser: Any, tmp_path: Path) -> None:
    from docsync.client import pull_session
    from docsync.errors import SessionExpiredError

    base = free_port_block(3)
    ports = [base, base + 1, base + 2]
    nginx = nginx_factory("load-balancer", ports)
    secret = "x" * 44
    sup = Supervisor(tmp_path, ports, f"127.0.0.1:{nginx.port}", secret)
    clients: list[Any] = []
    try:
        wait_until(lambda: len(sup.pids()) == 3, 60, what="three docsync processes")
        wait_until(lambda: all(_up(p, f"127.0.0.1:{nginx.port}") for p in ports), 60, what="three docsync servers listening")
        url = f"http://127.0.0.1:{nginx.port}/button"
        old_key = os.environ.get("DOCSYNC_SECRET_KEY")
        os.environ["DOCSYNC_SECRET_KEY"] = secret
        try:
            for _ in range(27):
                clients.append(pull_session(url=url))
        finally:
            if old_key is None:
                os.environ.pop("DOCSYNC_SECRET_KEY", None)
            else:
                os.environ["DOCSYNC_SECRET_KEY"] = old_key
        pages = [browser.new_page() for _ in range(3)]
        for page in pages:
            page.goto(url)
            press_and_count(page, times=1)
        for c in clients:
            assert any(type(r).__name__ == "Column" for r in c.document.roots)
        per_server = {p: metrics_sessions(p, f"127.0.0.1:{nginx.port}") for p in ports}
        assert sum(per_server.values()) >= 30 and all(n > 0 for n in per_server.values()), per_server

        # SIGKILL one server: the sessions on the others are untouched; supervisord restarts it
        victim_name, victim_pid = sorted(sup.pids().items())[0]
        os.kill(victim_pid, signal.SIGKILL)
        wait_until(lambda: sup.pids().get(victim_name, victim_pid) != victim_pid, 30, what="supervisord to restart the killed server")
        survivors = [c for c in clients if _alive(c)]
        assert 0 < len(survivors) < len(clients)
        for c in survivors:
            c.force_roundtrip(timeout=10)
        dead = [c for c in clients if c not in survivors]
        for c in dead:
            wait_until(lambda c=c: c.error is not None or c.connected, 20, what="the killed server's client to notice")
            assert c.connected or isinstance(c.error, SessionExpiredError), c.error
        # pages: every page is either still live (its button works) or says the session expired
        for page in pages:
            state = page.evaluate("document.querySelector('.docsync-notice')?.textContent || ''")
            if "expired" in state.lower():
                continue
            before = page.evaluate(f"({TEXT_ROWS})()")
            try:
                page.get_by_role("button", name="Press Me").click()
                page.wait_for_function(f"({TEXT_ROWS})() === {before + 1}", timeout=10_000)
            except Exception:
                page.wait_for_function("(document.querySelector('.docsync-notice')?.textContent || '').toLowerCase().includes('expired')", timeout=20_000)
    finally:
        for c in clients:
            try:
                c.close()
            except Exception:
                pass
        sup.stop()


def _up(port: int, host: str) -> bool:
    try:
        return http_status(f"http://127.0.0.1:{port}/metrics", host=host) == 200
    except OSError:
        return False


def _alive(client: Any) -> bool:
    try:
        client.force_roundtrip(timeout=3)
        return True
    except Exception:
        return False
