"""The protocol logic without sockets: ServerConnection over an in-memory transport."""

from __future__ import annotations

import asyncio
from typing import Any

from docsync import _core
from docsync.server.application import FunctionApplication
from docsync.server.contexts import RequestInfo
from docsync.server.manager import AppSessions
from docsync.server.protocol import ServerConnection

from server_testlib import model_ids, prop, widgets_app
from server_testlib import run


class MemTransport:
    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.closed: tuple[int, str] | None = None

    def send(self, data: bytes) -> None:
        self.messages.append(_core.decode_message(data))

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


async def until(cond: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


def connect(sessions: AppSessions, sid: str = "s1") -> tuple[ServerConnection, MemTransport]:
    t = MemTransport()
    return ServerConnection(sessions, sid, RequestInfo(), t), t


def hello(client_id: str, resume: int | None = None) -> bytes:
    return _core.encode_message("hello", payload={"client_id": client_id, "resume": resume, "push": None})


def set_event(mid: str, name: str, value: Any) -> dict[str, Any]:
    return {"k": "set", "id": mid, "prop": name, "value": value}


async def two_clients() -> tuple[AppSessions, Any, Any, Any, Any, dict[str, str]]:
    sessions = AppSessions(FunctionApplication(widgets_app, "app"))
    a, ta = connect(sessions)
    b, tb = connect(sessions)
    await a.receive(hello("A"))
    await b.receive(hello("B"))
    await until(lambda: ta.messages and tb.messages)
    snap = ta.messages[0]
    assert snap.type == "snapshot" and snap.seq == 0
    return sessions, a, ta, b, tb, model_ids(snap.payload)


def test_snapshot_then_patch_without_echo_and_ok_with_seq() -> None:
    async def main() -> None:
        sessions, a, ta, b, tb, ids = await two_clients()
        await a.receive(_core.Patch.from_events([set_event(ids["slider"], "value", 5.0)]).to_message(1))
        # A: ok for its message 1 = change 1; then the callback's change (div.text) = 2
        await until(lambda: len(ta.messages) >= 3 and len(tb.messages) >= 3)
        assert [m.type for m in ta.messages] == ["snapshot", "ok", "patch"]
        ok = ta.messages[1]
        assert ok.ack == 1 and ok.seq == 1
        assert ta.messages[2].seq == 2
        assert [(m.type, m.seq) for m in tb.messages] == [("snapshot", 0), ("patch", 1), ("patch", 2)]
        assert tb.messages[1].patch.events()[0]["value"] == 5.0
        assert tb.messages[2].patch.events()[0]["value"] == "value=5.0"
        # a retry of the same client message is not applied twice
        await a.receive(_core.Patch.from_events([set_event(ids["slider"], "value", 5.0)]).to_message(1))
        await until(lambda: len(ta.messages) >= 4)
        assert ta.messages[3].type == "ok" and ta.messages[3].seq == 1
        await asyncio.sleep(0.05)
        assert len(tb.messages) == 3
        session = sessions.get("s1")
        assert session is not None and session.seq == 2

    run(main())


def test_read_only_and_unknown_model_are_errors_and_change_nothing() -> None:
    async def main() -> None:
        sessions, a, ta, b, tb, ids = await two_clients()
        doc = sessions.get("s1").document
        before = doc._engine.snapshot()
        await a.receive(_core.Patch.from_events([set_event(ids["slider"], "end", 99.0)]).to_message(1))
        await a.receive(_core.Patch.from_events([set_event("no-such-model", "value", 1.0)]).to_message(2))
        await a.receive(
            _core.Patch.from_events(
                [set_event(ids["slider"], "value", 3.0), set_event(ids["slider"], "end", 99.0)]
            ).to_message(3)
        )
        await until(lambda: len(ta.messages) >= 4)
        errors = ta.messages[1:]
        assert [e.type for e in errors] == ["error"] * 3
        assert errors[0].payload["code"] == "read_only" and errors[0].ack == 1
        assert errors[1].payload["code"] == "unknown_model"
        assert errors[2].payload["code"] == "read_only"  # atomic: the value change was not applied
        for e in errors:
            assert "Traceback" not in e.payload["message"]
        assert doc._engine.snapshot() == before
        assert len(tb.messages) == 1 and ta.closed is None

    run(main())


def test_bad_input() -> None:
    async def main() -> None:
        sessions, a, ta, b, tb, ids = await two_clients()
        await a.receive(_core.encode_message("bogus", seq=7))
        await until(lambda: len(ta.messages) >= 2)
        assert ta.messages[1].type == "error" and ta.messages[1].payload["code"] == "protocol"
        assert ta.closed is None
        await a.receive(b"\xc1\x00garbage")
        assert ta.closed is not None and ta.closed[0] == 4000
        # the other connection of the same session still works
        await b.receive(_core.Patch.from_events([set_event(ids["slider"], "value", 2.0)]).to_message(1))
        await until(lambda: any(m.type == "ok" for m in tb.messages))
        # a connection whose first message is not hello is closed
        c, tc = connect(sessions)
        await c.receive(_core.encode_message("ping", seq=1))
        assert tc.closed is not None and tc.closed[0] == 4000

    run(main())


def test_resume_replays_resyncs_or_expires() -> None:
    async def main() -> None:
        sessions = AppSessions(FunctionApplication(widgets_app, "app"), log_max_messages=3)
        a, ta = connect(sessions)
        await a.receive(hello("A"))
        await until(lambda: ta.messages)
        ids = model_ids(ta.messages[0].payload)
        session = sessions.get("s1")

        def change(text: str) -> None:
            session.queue.submit(
                lambda: session.run_in_document(lambda: setattr(session.document.select_one({"name": "div"}), "text", text))
            )

        for i in range(2):
            change(f"t{i}")
        await until(lambda: len(ta.messages) == 3)
        a.connection_lost()
        change("t2")
        change("t3")
        await until(lambda: session.delivered_seq == 4)
        b, tb = connect(sessions)
        await b.receive(hello("A", resume=2))
        await until(lambda: len(tb.messages) == 2)
        assert [(m.type, m.seq) for m in tb.messages] == [("patch", 3), ("patch", 4)]
        assert tb.messages[1].patch.events()[0]["value"] == "t3"
        # the log holds 3 messages: resuming from 0 needs a resync
        c, tc = connect(sessions)
        await c.receive(hello("C", resume=0))
        await until(lambda: tc.messages)
        assert tc.messages[0].type == "snapshot" and tc.messages[0].seq == 4
        assert prop(tc.messages[0].payload, ids["div"], "text") == "t3"
        # an unknown session: expired + 4004, never a fresh session
        d, td = connect(sessions, "gone")
        await d.receive(hello("D", resume=3))
        assert td.messages[0].type == "expired" and td.closed is not None and td.closed[0] == 4004
        assert sessions.get("gone") is None

    run(main())


def test_ping_info_and_ack() -> None:
    async def main() -> None:
        sessions, a, ta, b, tb, ids = await two_clients()
        await a.receive(_core.encode_message("ping", seq=5))
        await a.receive(_core.encode_message("info", seq=6))
        await a.receive(_core.encode_message("ack", ack=0))
        await until(lambda: len(ta.messages) >= 3)
        kinds = {m.type: m for m in ta.messages[1:]}
        assert kinds["pong"].ack == 5
        assert kinds["info"].ack == 6 and kinds["info"].payload["session_id"] == "s1"
        assert kinds["info"].payload["protocol"] == _core.PROTOCOL_VERSION

    run(main())


def test_resume_answers_a_clients_own_change_with_ok_not_an_echo() -> None:
    async def main() -> None:
        sessions, a, ta, b, tb, ids = await two_clients()
        await a.receive(_core.Patch.from_events([set_event(ids["slider"], "value", 7.0)]).to_message(1))
        await until(lambda: len(tb.messages) >= 3)  # change 1 (A's) and 2 (its callback)
        # A drops before its ok and the callback's patch arrive (simulated: forget them)
        a.connection_lost()
        ta.messages.clear()
        a2, ta2 = connect(sessions)
        await a2.receive(hello("A", resume=0))
        await until(lambda: len(ta2.messages) >= 2)
        assert [(m.type, m.seq, m.ack) for m in ta2.messages] == [("ok", 1, 1), ("patch", 2, None)]
        # the retry of the same change is acknowledged again, not applied twice
        await a2.receive(_core.Patch.from_events([set_event(ids["slider"], "value", 7.0)]).to_message(1))
        await until(lambda: len(ta2.messages) >= 3)
        assert (ta2.messages[2].type, ta2.messages[2].seq) == ("ok", 1)
        assert sessions.get("s1").seq == 2

    run(main())
