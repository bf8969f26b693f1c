"""Real nginx and supervisord for the deployment tests, on 127.0.0.1 high ports.

The configurations under test are the ones users copy from deploy/: each test renders
one of them with its ports and paths replaced (nothing else changed) and runs the real
program from Debian (nginx) or PyPI (supervisord).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest

from support import ROOT, free_port, wait_until

DEPLOY = ROOT / "deploy"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def render_nginx_site(name: str, *, listen: int, backends: list[int], tmp: Path,
                      ssl: tuple[Path, Path] | None = None, static_dir: str | None = None) -> str:
    """deploy/nginx/<name>.conf with its listen ports, backend ports and paths made local."""
    text = (DEPLOY / "nginx" / f"{name}.conf").read_text()
    text = text.replace("/etc/nginx/docsync/proxy_params.conf", str(DEPLOY / "nginx" / "proxy_params.conf"))
    text = re.sub(r"listen 80;", f"listen 127.0.0.1:{listen};" if ssl is None else f"listen 127.0.0.1:{free_port()};", text)
    text = re.sub(r"listen 443 ssl;", f"listen 127.0.0.1:{listen} ssl;", text)
    ports = iter(backends)
    text = re.sub(r"server 127\.0\.0\.1:\d+;", lambda m: f"server 127.0.0.1:{next(ports)};", text)
    if ssl is not None:
        text = text.replace("/etc/ssl/certs/docsync.pem", str(ssl[0])).replace("/etc/ssl/private/docsync.key", str(ssl[1]))
    if static_dir is not None:
        text = text.replace("/opt/docsync/static/", static_dir.rstrip("/") + "/")
    return text


class Nginx:
    """nginx in the foreground with a site from deploy/nginx/."""

    def __init__(self, site: str, tmp: Path, port: int) -> None:
        self.port = port
        self.tmp = tmp
        (tmp / "logs").mkdir(exist_ok=True)
        conf = tmp / "nginx.conf"
        conf.write_text(
            f"""
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/logs/error.log info;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    access_log {tmp}/logs/access.log;
    client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
{site}
}}
"""
        )
        check = subprocess.run([NGINX, "-t", "-c", str(conf), "-p", str(tmp)], capture_output=True, text=True)
        assert check.returncode == 0, f"nginx rejected the config:\n{check.stderr}\n{conf.read_text()}"
        self.proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import socket

        def listening() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return True
            except OSError:
                return False

        wait_until(listening, 15, what="nginx to listen")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture
def nginx_factory(tmp_path: Path) -> Iterator[object]:
    started: list[Nginx] = []

    def start(name: str, backends: list[int], port: int | None = None, **kw: object) -> Nginx:
        port = port or free_port()
        site = render_nginx_site(name, listen=port, backends=backends, tmp=tmp_path, **kw)  # type: ignore[arg-type]
        n = Nginx(site, tmp_path, port)
        started.append(n)
        return n

    yield start
    for n in started:
        n.stop()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


def wait_gone(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
