"""Session ids, tokens, Host/Origin policy, log bounds, serial queue (no sockets)."""

from __future__ import annotations

import threading
import time

import pytest

from docsync.server.executor import SerialQueue
from docsync.server.hosts import HostPolicy
from docsync.server.session import PatchLog
from docsync.server.tokens import (
    TokenError,
    check_session_id,
    decode_token,
    generate_secret_key,
    generate_session_id,
    generate_token,
)

KEY = b"k" * 44


def test_unsigned_ids_may_be_chosen() -> None:
    assert check_session_id("hover") == "hover"
    with pytest.raises(TokenError):
        check_session_id("has space")
    with pytest.raises(TokenError):
        check_session_id("x" * 200)


def test_signed_ids() -> None:
    sid = generate_session_id(KEY)
    assert check_session_id(sid, KEY) == sid
    with pytest.raises(TokenError):
        check_session_id("hover", KEY)
    with pytest.raises(TokenError):
        check_session_id(sid, b"another key")
    forged = sid.split(".")[0] + "x." + sid.split(".")[1]
    with pytest.raises(TokenError):
        check_session_id(forged, KEY)


def test_token_round_trip_and_signature() -> None:
    tok = generate_token("abc", None, {"a": ["1"]}, {"User-Agent": "t"}, {"c": "v"})
    p = decode_token(tok)
    assert p["session_id"] == "abc" and p["arguments"] == {"a": ["1"]} and p["cookies"] == {"c": "v"}
    sid = generate_session_id(KEY)
    signed = generate_token(sid, KEY)
    assert decode_token(signed, KEY)["session_id"] == sid
    with pytest.raises(TokenError):
        decode_token(tok, KEY)  # unsigned token on a server with a key
    body, sig = signed.split(".", 1)
    with pytest.raises(TokenError):
        decode_token(body[:-2] + "AA." + sig, KEY)
    with pytest.raises(TokenError):
        decode_token("%%%not a token")


def test_secret_key_is_random() -> None:
    a, b = generate_secret_key(), generate_secret_key()
    assert a != b and len(a) == 44


def test_hosts_exact_match() -> None:
    p = HostPolicy(5006)
    assert p.hosts == ["localhost:5006", "127.0.0.1:5006"]
    assert p.host_allowed("localhost:5006") and p.host_allowed("LOCALHOST:5006")
    assert p.host_allowed("127.0.0.1:5006")
    for bad in ("localhost.evil.net:5006", "localhost:50060", "evil.com", "localhost", "", None):
        assert not p.host_allowed(bad), bad


def test_origins_exact_match() -> None:
    p = HostPolicy(5006, origins=["example.com:8080"])
    assert p.origin_allowed("http://localhost:5006")
    assert p.origin_allowed("http://127.0.0.1:5006")
    assert p.origin_allowed("http://example.com:8080")
    assert p.origin_allowed(None)  # non-browser client, no Origin header
    for bad in (
        "http://localhost.evil.net:5006",
        "http://evil.com",
        "http://localhost:5007",
        "null",
        "file://",
        "http://example.com",
    ):
        assert not p.origin_allowed(bad), bad


def test_host_option_replaces_defaults_and_is_an_origin() -> None:
    p = HostPolicy(5100, hosts=["example.com"])
    assert p.hosts == ["example.com:80"]
    assert p.host_allowed("example.com") and p.host_allowed("example.com:80")
    assert not p.host_allowed("localhost:5100")
    assert p.origin_allowed("http://example.com")
    assert not p.origin_allowed("https://example.com")  # port 443 was not allowed
    q = HostPolicy(5100, hosts=["example.com:443"])
    assert q.origin_allowed("https://example.com")


def test_patch_log_bounds_and_since() -> None:
    log = PatchLog(max_messages=3, max_bytes=1000)
    for i in range(1, 6):
        log.append(i, bytes([i]) * 10)
    assert len(log) == 3
    assert log.since(2, 5) == [bytes([3]) * 10, bytes([4]) * 10, bytes([5]) * 10]
    assert log.since(4, 5) == [bytes([5]) * 10]
    assert log.since(5, 5) == []
    assert log.since(1, 5) is None  # message 2 was dropped
    big = PatchLog(max_messages=100, max_bytes=25)
    for i in range(1, 4):
        big.append(i, b"x" * 10)
    assert len(big) == 2 and big.since(0, 3) is None and big.nbytes == 20
    log.trim(4)
    assert log.since(3, 5) is None and log.since(4, 5) == [bytes([5]) * 10]


def test_serial_queue_orders_jobs_and_isolates_sessions() -> None:
    a, b = SerialQueue(), SerialQueue()
    seen: list[int] = []
    slow_started = threading.Event()

    def slow() -> None:
        slow_started.set()
        time.sleep(0.5)
        seen.append(0)

    a.submit(slow)
    futs = [a.submit(lambda i=i: seen.append(i)) for i in range(1, 20)]
    assert slow_started.wait(5)
    t0 = time.monotonic()
    b.submit(lambda: None).result(5)
    assert time.monotonic() - t0 < 0.4  # session b did not wait for session a's sleep
    for f in futs:
        f.result(5)
    assert seen == list(range(20))
