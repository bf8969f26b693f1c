"""Exact matching of Host headers and WebSocket origins.

Both lists hold ``host:port`` entries, compared case-insensitively and **exactly**:
``localhost:5006`` does not admit ``localhost.evil.net:5006`` (the seed system matched
dot-separated labels as a prefix). A value without a port means port 80 (as in the seed);
an entry of ``*`` admits everything and must be given on purpose.
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["normalize_host", "HostPolicy"]


def normalize_host(value: str, default_port: int = 80) -> str:
    """``"Example.com"`` → ``"example.com:80"``; ``"[::1]:8080"`` stays as it is."""
    value = value.strip().lower().rstrip("/")
    if value == "*":
        return value
    if value.startswith("["):  # IPv6 literal
        end = value.find("]")
        if end != -1 and value[end + 1 : end + 2] == ":":
            return value
        return f"{value}:{default_port}"
    if ":" in value:
        return value
    return f"{value}:{default_port}"


def _origin_netloc(origin: str) -> str | None:
    try:
        parts = urlsplit(origin.strip())
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if not host or parts.scheme not in ("http", "https"):
        return None
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    if ":" in host:
        host = f"[{host}]"
    return f"{host.lower()}:{port}"


class HostPolicy:
    """Which Host headers the server answers and which origins may open WebSockets.

    ``hosts`` defaults to ``localhost:<port>`` and ``127.0.0.1:<port>``; a ``--host``
    value replaces the defaults (as in the seed) and is also an allowed origin;
    ``origins`` (``--allow-websocket-origin``) adds origins only.
    """

    def __init__(self, port: int, hosts: list[str] | None = None, origins: list[str] | None = None) -> None:
        self.port = port
        if hosts:
            self.hosts = [normalize_host(h) for h in hosts]
        else:
            self.hosts = [f"localhost:{port}", f"127.0.0.1:{port}"]
        allowed = list(self.hosts)
        for o in origins or []:
            n = _origin_netloc(o) if "://" in o else normalize_host(o)
            if n and n not in allowed:
                allowed.append(n)
        self.origins = allowed
        self._hosts = set(self.hosts)
        self._origins = set(self.origins)

    def host_allowed(self, host_header: str | None) -> bool:
        if "*" in self._hosts:
            return True
        if not host_header:
            return False
        return normalize_host(host_header) in self._hosts

    def origin_allowed(self, origin: str | None) -> bool:
        """An absent Origin header (non-browser clients) is allowed; the Host check and
        the token still apply."""
        if origin is None:
            return True
        if "*" in self._origins:
            return True
        netloc = _origin_netloc(origin)
        return netloc is not None and netloc in self._origins
