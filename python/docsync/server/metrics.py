"""Server figures, rendered in the Prometheus text format at ``/metrics``.

Counters are updated from the I/O loop and from callback worker threads, under one lock.
A session's per-update figures are :class:`Tally` counters instead: written without a
lock by the session's own jobs (one at a time), summed in when rendered.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

__all__ = ["Metrics", "Tally"]

_COUNTERS: dict[str, str] = {
    "docsync_sessions_created_total": "Sessions created",
    "docsync_sessions_destroyed_total": "Sessions destroyed",
    "docsync_connections_opened_total": "WebSocket connections opened",
    "docsync_messages_in_total": "Messages received from clients",
    "docsync_messages_out_total": "Messages written to clients (one per connection)",
    "docsync_bytes_in_total": "Bytes received from clients",
    "docsync_bytes_out_total": "Bytes written to clients",
    "docsync_patches_encoded_total": "Patch messages encoded (once per change, whatever the number of connections)",
    "docsync_encode_seconds_total": "Time spent flushing and encoding patches and snapshots",
    "docsync_callback_seconds_total": "Time spent running app callbacks and app code",
    "docsync_callbacks_total": "App callbacks run",
    "docsync_callback_errors_total": "App callbacks that raised",
    "docsync_client_errors_total": "Client messages rejected with an error",
    "docsync_connections_closed_total": "Connections closed, by close code",
    "docsync_resumes_total": "Resumes, by outcome (replay, resync, expired)",
    "docsync_relayed_connections_total": "Connections relayed to the sibling worker holding their session (--num-procs)",
}


Key = tuple[str, tuple[tuple[str, str], ...]]


class Tally:
    """Counters of one writer at a time, kept without a lock for the hot path (a
    session's jobs run one at a time): ``tally.values[i] += x`` adds to series
    ``keys[i]``. Made by :meth:`Metrics.tally`, which adds the live values to its own when
    rendering and keeps the final ones once the tally is retired."""

    __slots__ = ("keys", "values")

    def __init__(self, keys: tuple[Key, ...]) -> None:
        self.keys = keys
        self.values = [0.0] * len(keys)


class Metrics:
    """Thread-safe counters plus gauges computed at render time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[Key, float] = {}
        self._gauges: dict[str, tuple[str, Callable[[], dict[tuple[tuple[str, str], ...], float]], str]] = {}
        self._tallies: set[Tally] = set()

    def tally(self, *keys: Key) -> Tally:
        """A live :class:`Tally` over ``keys`` (see :meth:`key`)."""
        t = Tally(keys)
        with self._lock:
            self._tallies.add(t)
        return t

    def retire(self, tally: Tally) -> None:
        """Keep ``tally``'s final values and stop reading it (idempotent)."""
        with self._lock:
            if tally in self._tallies:
                self._tallies.discard(tally)
                self._add_locked(tally.keys, tally.values)

    def _add_locked(self, keys: Any, values: Any) -> None:
        stored = self._values
        for key, value in zip(keys, values):
            stored[key] = stored.get(key, 0.0) + value

    def _snapshot(self) -> dict[Key, float]:
        """Stored counters plus the live tallies (a tally moves from one to the other
        under the lock, so a value is never counted twice or missed)."""
        with self._lock:
            values = dict(self._values)
            live = [(t.keys, list(t.values)) for t in self._tallies]
        for keys, vals in live:
            for key, value in zip(keys, vals):
                values[key] = values.get(key, 0.0) + value
        return values

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        self.add(self.key(name, **labels), value)

    @staticmethod
    def key(name: str, **labels: str) -> Key:
        """The key of a series, for :meth:`add` and :meth:`tally` (computed once)."""
        return (name, tuple(sorted(labels.items())))

    def add(self, *pairs: Any) -> None:
        """``add(key1, value1, key2, value2, ...)``: several counters under one lock."""
        with self._lock:
            self._add_locked(pairs[0::2], pairs[1::2])

    def get(self, name: str, **labels: str) -> float:
        return self._snapshot().get((name, tuple(sorted(labels.items()))), 0.0)

    def gauge(
        self, name: str, help: str, fn: Callable[[], dict[tuple[tuple[str, str], ...], float]], kind: str = "gauge"
    ) -> None:
        """Register a series whose samples (labels → value) are computed when rendered
        (``kind`` "counter" for values that only grow, such as per-session totals)."""
        self._gauges[name] = (help, fn, kind)

    def render(self) -> str:
        lines: list[str] = []
        for name, (help, fn, kind) in sorted(self._gauges.items()):
            lines.append(f"# HELP {name} {help}")
            lines.append(f"# TYPE {name} {kind}")
            for labels, value in sorted(fn().items()):
                lines.append(f"{name}{_labels(labels)} {_num(value)}")
        values = self._snapshot()
        for name, help in _COUNTERS.items():
            lines.append(f"# HELP {name} {help}")
            lines.append(f"# TYPE {name} counter")
            samples = sorted((k[1], v) for k, v in values.items() if k[0] == name)
            if not samples:
                samples = [((), 0.0)]
            for labels, value in samples:
                lines.append(f"{name}{_labels(labels)} {_num(value)}")
        return "\n".join(lines) + "\n"


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    body = ",".join(
        f'{k}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34)).replace(chr(10), " ")}"'
        for k, v in labels
    )
    return "{" + body + "}"


def _num(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))
