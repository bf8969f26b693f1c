"""Type stubs for docsync._core, the Rust engine (checked by mypy.stubtest in CI).

Users import `docsync.core`, which re-exports these names.

Conversions between Python and engine values:
  None, bool, int (i64), float, str, bytes, list/tuple (-> list), dict[str, ...] (-> map),
  Ref (model reference), numpy arrays of bool/int8..64/uint8..64/float32/float64/
  datetime64[ms] (-> typed arrays; any other dtype raises EncodeError with a hint).
  Typed arrays come back as read-only numpy arrays that share the engine's memory.

Type specs (the `type_spec` of a property) are strings:
  any | bool | int | float | str | bytes | color | ref | ref(TypeName) | columns | array
  | list(T) | map(T) | nullable(T) | enum(a|b|c) | either(T|U) | tuple(T,U,...)
  `float` accepts ints; `color` accepts a str or a list of 3-4 numbers; `columns` is a
  ColumnDataSource's data (map of column name -> typed array or list); `array` is a typed
  array or a list; `any` accepts every value.
"""

from typing import Any, Literal, Sequence, final


__all__ = [
    "__version__",
    "PROTOCOL_VERSION",
    "Ref",
    "Message",
    "encode",
    "decode",
    "encode_message",
    "decode_message",
    "Document",
    "Patch",
    "Change",
    "register_type",
    "registered_types",
    "diff",
    "apply",
    "PoolCore",
    "FrameSink",
]

__version__: str
PROTOCOL_VERSION: int

@final
class Ref:
    """A reference to a model, by id."""
    id: str
    def __new__(cls, id: str) -> "Ref": ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

def register_type(name: str, props: Sequence[tuple[str, str, Any, bool]]) -> None:
    """Register (or replace) a model type: (prop name, type spec, default, client_writable).

    Raises SchemaError for a bad type spec or a default that does not fit it."""

def registered_types() -> list[str]: ...

@final
class Patch:
    """Coalesced events, ready to encode once and apply atomically."""
    def __len__(self) -> int: ...
    def is_empty(self) -> bool: ...
    def events(self) -> list[dict[str, Any]]: ...  # protocol event maps, as Python values
    def encode(self) -> bytes: ...  # payload {"events": [...]} (msgpack)
    def to_message(self, seq: int) -> bytes: ...  # full envelope {"v":1,"t":"patch","seq":seq,"p":...}
    @staticmethod
    def decode(data: bytes, max_size: int = ..., max_depth: int = ...) -> "Patch": ...
    @staticmethod
    def from_events(events: list[dict[str, Any]]) -> "Patch": ...
    def to_json_patch(self) -> list[dict[str, Any]]: ...  # RFC 6902 (tree patches only)
    @staticmethod
    def from_json_patch(ops: list[dict[str, Any]]) -> "Patch": ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class Message:
    """A decoded envelope (any message type)."""
    type: str
    seq: int | None
    ack: int | None
    payload: Any  # Python value of `p` (for `patch` messages: see .patch)
    patch: Patch | None  # set for `patch` messages
    snapshot: bytes | None  # raw snapshot payload for `snapshot` messages / hello push

def decode_message(data: bytes, max_size: int = 20 * 1024 * 1024, max_depth: int = 64) -> Message: ...
def encode_message(type: str, seq: int | None = None, ack: int | None = None, payload: Any = None) -> bytes: ...
def encode(value: Any) -> bytes: ...  # any docsync value -> msgpack
def decode(data: bytes, max_size: int = ..., max_depth: int = ...) -> Any: ...

@final
class Change:
    """What apply() changed, so Python can fire on_change callbacks."""
    kind: Literal["new", "set", "data", "stream", "patch", "root+", "root-", "title", "del", "msg"]
    id: str | None
    prop: str | None
    old: Any  # previous value for `set` / `title` (None otherwise)
    new: Any  # new value for `set` / `title`; rows for `stream`; data for `msg`
    name: str | None  # `msg` event name; type name for `new`

@final
class Document:
    """Document state: models, properties, roots, title, version, pending events."""
    def __init__(self) -> None: ...
    @property
    def title(self) -> str: ...
    def set_title(self, title: str) -> None: ...
    @property
    def version(self) -> int: ...  # increments on every applied change
    def roots(self) -> list[str]: ...
    def model_ids(self) -> list[str]: ...
    def has_model(self, id: str) -> bool: ...
    def model_type(self, id: str) -> str: ...
    def add_model(self, id: str, type: str, props: dict[str, Any]) -> None:
        """Insert a model (props validated; defaults not stored). Records `new`."""
    def add_root(self, id: str) -> None: ...
    def remove_root(self, id: str) -> list[str]:  # ids released (no longer reachable)
        ...
    def collect(self) -> list[str]:
        """Remove models not reachable from any root; returns their ids (records `del`)."""
    def take_model(self, id: str) -> tuple[str, dict[str, Any]]:
        """(type, non-default props) of a released or existing model, for detaching it."""
    def get(self, id: str, prop: str) -> Any: ...  # default when unset
    def props(self, id: str) -> dict[str, Any]: ...  # non-default props
    def set(self, id: str, prop: str, value: Any) -> Any:  # returns the old value
        ...
    def set_theme(self, defaults: dict[str, dict[str, Any]]) -> None: ...
    # columns (prop is the `columns`-typed property, e.g. "data")
    def get_column(self, id: str, prop: str, name: str) -> Any: ...
    def column_names(self, id: str, prop: str) -> list[str]: ...
    def column_len(self, id: str, prop: str) -> int: ...
    def set_column(self, id: str, prop: str, name: str, value: Any) -> None: ...
    def stream(self, id: str, prop: str, columns: dict[str, Any], rollover: int | None = None) -> None: ...
    def try_stream(self, id: str, prop: str, columns: Any, rollover: int | None = None) -> bool:  # False: not ready columns, nothing changed
        ...
    def patch_columns(self, id: str, prop: str, patches: dict[str, list[tuple[Any, Any]]]) -> None: ...
    def send_message(self, id: str | None, name: str, data: Any) -> None:  # records `msg`
        ...
    # events, patches, snapshots
    def has_pending(self) -> bool: ...
    def flush(self) -> Patch | None:  # coalesced pending events (None if nothing)
        ...
    def discard_pending(self) -> None: ...
    def apply(self, patch: Patch, client: bool = False) -> list[Change]:
        """Atomic. client=True also enforces client-writable properties.
        Applied events are not recorded as pending (no echo)."""
    def snapshot(self) -> bytes: ...  # snapshot payload (msgpack)
    def snapshot_message(self, seq: int) -> bytes: ...  # {"v":1,"t":"snapshot","seq":seq,"p":...}
    @staticmethod
    def from_snapshot(data: bytes, max_size: int = ..., max_depth: int = ...) -> "Document": ...
    def load_snapshot(self, data: bytes) -> list[Change]:
        """Replace the whole state atomically (the result of a resync or a push)."""
    def copy(self) -> "Document": ...  # cheap: columns shared copy-on-write
    def __eq__(self, other: object, /) -> bool: ...

def diff(a: Any, b: Any) -> Patch:
    """Documents: smallest patch with apply(a, patch) == b, O(changed models).
    Plain trees (dict/list/str/numbers/numpy arrays): a tree patch (see to_json_patch)."""

def apply(target: Any, patch: Patch) -> Any:
    """Documents: apply in place and return it. Plain trees: return the patched tree."""

@final
class PoolCore:
    """The scheduling state of the server's session pool (``docsync.server.executor``):
    serial queues, their timers, which worker runs what. Worker threads are Python
    threads looping on ``next_job``, the only method that blocks (GIL released)."""
    def __new__(cls, max_workers: int, help_after: float, spawn: Any) -> "PoolCore": ...
    def stop(self) -> None: ...
    def new_queue(self) -> int: ...
    def release_queue(self, queue: int) -> None: ...
    def submit(self, queue: int, func: Any, fut: Any = None) -> bool: ...
    def add_timer(self, queue: int, func: Any, deadline: float, period: float | None = None) -> int: ...
    def cancel(self, timer: int) -> None: ...
    def timer_deadline(self, timer: int) -> float | None: ...
    def close(self, queue: int) -> None: ...
    def pending(self, queue: int) -> int: ...
    @property
    def running(self) -> int: ...
    @property
    def held(self) -> tuple[int, int]: ...
    def next_job(self, me: int) -> tuple[Any, Any] | None:
        """The next job (func, future or None) of worker ``me``, sleeping (GIL released)
        until there is one; None once the pool is stopped."""

@final
class FrameSink:
    """The sending side of one server WebSocket (``docsync.server.writer``): whole
    frames from any thread, on a duplicate of ``fd``, never blocking; the rest queued for
    the I/O loop (``watch()`` asks it to watch). ``too_slow(pending)`` is called once when
    the queue passes ``max_pending`` bytes; data frames are dropped from then on."""
    def __new__(cls, fd: int, max_pending: int, watch: Any, too_slow: Any) -> "FrameSink": ...
    def send(self, payload: bytes) -> None:
        """One binary data frame."""
    def write_frame(self, first: int, payload: bytes) -> None:
        """One frame; ``first`` is the header's first byte (FIN, opcode)."""
    @property
    def pending_bytes(self) -> int: ...
    def fileno(self) -> int: ...
    def start_watch(self) -> bool: ...
    def on_writable(self) -> bool: ...
    def stop(self) -> bool: ...
    def close(self) -> None: ...
