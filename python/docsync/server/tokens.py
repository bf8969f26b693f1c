"""Session ids and session tokens.

A *session id* names a live session. Without ``DOCSYNC_SECRET_KEY`` any string of
1-128 characters from ``[A-Za-z0-9_.-]`` is accepted (so ``?docsync-session-id=hover``
shares a session, as in the seed). With a key set, an id must be
``<random>.<signature>`` where the signature is
``base64url(HMAC-SHA256(key, <random>))`` without padding.

A *token* is what the page hands to the WebSocket so that whichever server process
receives the connection can create the session (no sticky load balancing): it carries
the session id and the request's arguments, headers and cookies. Format::

    base64url(json payload)            without a key
    base64url(json payload).<sig>      with a key (sig = HMAC-SHA256 over the first part)

The payload is not encrypted (as in Bokeh): anybody holding the page can read it. Only
the headers and cookies of the page request are put in it; the ``Cookie`` header itself
is left out because the cookies are stored separately.

Public helpers (also for the Python client): :func:`generate_secret_key`,
:func:`generate_session_id`, :func:`check_session_id`, :func:`generate_token`,
:func:`decode_token`, :func:`secret_key_from_env`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from typing import Any

__all__ = [
    "SECRET_KEY_ENV",
    "TokenError",
    "secret_key_from_env",
    "generate_secret_key",
    "generate_session_id",
    "check_session_id",
    "generate_token",
    "decode_token",
]

SECRET_KEY_ENV = "DOCSYNC_SECRET_KEY"
_ID_RE = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")
_SIGNED_ID_RE = re.compile(r"^([A-Za-z0-9_\-]{1,128})\.([A-Za-z0-9_\-]{43})$")


class TokenError(ValueError):
    """A session id or token that is malformed or not signed with the server's key."""


def secret_key_from_env() -> bytes | None:
    """The secret key from ``DOCSYNC_SECRET_KEY`` (None when unset or empty)."""
    value = os.environ.get(SECRET_KEY_ENV, "")
    return value.encode("utf-8") if value else None


def generate_secret_key() -> str:
    """A new random key for ``DOCSYNC_SECRET_KEY`` (44 url-safe characters, 256 bits)."""
    return secrets.token_urlsafe(33)[:44]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    pad = "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(text + pad)


def _sign(key: bytes, text: str) -> str:
    return _b64(hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest())


def generate_session_id(secret_key: bytes | None = None) -> str:
    """A new random session id, signed when a key is given."""
    base = secrets.token_urlsafe(24)
    if secret_key is None:
        return base
    return f"{base}.{_sign(secret_key, base)}"


def check_session_id(session_id: str, secret_key: bytes | None = None) -> str:
    """Return ``session_id`` if it is acceptable, else raise :class:`TokenError`."""
    if not isinstance(session_id, str):
        raise TokenError("session id must be a string")
    if secret_key is None:
        if _ID_RE.match(session_id) or _SIGNED_ID_RE.match(session_id):
            return session_id
        raise TokenError(
            "invalid session id: use 1-128 characters from [A-Za-z0-9_-]"
        )
    m = _SIGNED_ID_RE.match(session_id)
    if not m or not hmac.compare_digest(m.group(2), _sign(secret_key, m.group(1))):
        raise TokenError(
            "session id is not signed with this server's DOCSYNC_SECRET_KEY"
        )
    return session_id


def generate_token(
    session_id: str,
    secret_key: bytes | None = None,
    arguments: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
    cookies: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """A token for ``session_id`` carrying the request info (see the module docstring)."""
    payload: dict[str, Any] = {
        "session_id": session_id,
        "arguments": arguments or {},
        "headers": headers or {},
        "cookies": cookies or {},
    }
    if extra:
        payload["extra"] = extra
    body = _b64(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
    if secret_key is None:
        return body
    return f"{body}.{_sign(secret_key, body)}"


def decode_token(token: str, secret_key: bytes | None = None) -> dict[str, Any]:
    """Check and decode a token; returns its payload (``session_id``, ``arguments``,
    ``headers``, ``cookies``). Raises :class:`TokenError`."""
    if not isinstance(token, str) or len(token) > 64 * 1024:
        raise TokenError("malformed token")
    body, _, sig = token.partition(".")
    if secret_key is not None:
        if not sig or not hmac.compare_digest(sig, _sign(secret_key, body)):
            raise TokenError("token is not signed with this server's DOCSYNC_SECRET_KEY")
    try:
        payload = json.loads(_unb64(body))
    except (ValueError, UnicodeDecodeError) as e:
        raise TokenError("malformed token") from e
    if not isinstance(payload, dict) or not isinstance(payload.get("session_id"), str):
        raise TokenError("malformed token: no session id")
    check_session_id(payload["session_id"], secret_key)
    for name in ("arguments", "headers", "cookies"):
        if not isinstance(payload.get(name, {}), dict):
            raise TokenError(f"malformed token: {name}")
        payload.setdefault(name, {})
    return payload
