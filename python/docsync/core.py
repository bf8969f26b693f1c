"""docsync.core: the Rust engine, usable on its own.

Re-exports :mod:`docsync._core` (users never import ``docsync._core`` directly) and
defines :class:`ColumnArray`, the read-only ndarray type in which typed arrays come back
from the engine: it shares the engine's memory, and writing into it raises a
:class:`~docsync.errors.ColumnError` that says what to do instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from docsync._core import (
    PROTOCOL_VERSION,
    Change,
    Document,
    Message,
    Patch,
    Ref,
    __version__,
    apply,
    decode,
    decode_message,
    diff,
    encode,
    encode_message,
    register_type,
    registered_types,
)
from docsync.errors import ColumnError

__all__ = [
    "PROTOCOL_VERSION",
    "Change",
    "ColumnArray",
    "Document",
    "Message",
    "Patch",
    "Ref",
    "__version__",
    "apply",
    "decode",
    "decode_message",
    "diff",
    "encode",
    "encode_message",
    "register_type",
    "registered_types",
]

_READ_ONLY_HINT = (
    "this array is a read-only view of docsync's engine memory, so changing it in place "
    "would not reach the browser; use source.stream(...), source.patch(...) or assign a "
    "new array (source.data['x'] = new) instead, or take a writable copy with .copy()"
)


class ColumnArray(np.ndarray):
    """A read-only numpy array sharing the engine's memory.

    Reading never copies. Writing in place raises :class:`~docsync.errors.ColumnError`
    (a ``ValueError``) with a hint: use ``stream``, ``patch`` or assignment. Results of
    arithmetic are plain, writable ndarrays; ``.copy()`` gives a writable copy.
    """

    def __setitem__(self, key: Any, value: Any) -> None:
        if not self.flags.writeable:
            raise ColumnError(_READ_ONLY_HINT)
        super().__setitem__(key, value)

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        out = kwargs.get("out")
        if out is not None:
            for o in out:
                if isinstance(o, ColumnArray) and not o.flags.writeable:
                    raise ColumnError(_READ_ONLY_HINT)
            kwargs["out"] = tuple(o.view(np.ndarray) if isinstance(o, ColumnArray) else o for o in out)
        plain = tuple(x.view(np.ndarray) if isinstance(x, ColumnArray) else x for x in inputs)
        return getattr(ufunc, method)(*plain, **kwargs)

    def copy(self, order: Any = "C") -> np.ndarray:  # type: ignore[override]
        """A writable copy, as a plain ndarray."""
        return np.array(self.view(np.ndarray), order=order, copy=True)

    def __reduce__(self) -> Any:
        # Pickle as a plain ndarray (the engine's memory does not travel).
        return self.view(np.ndarray).copy().__reduce__()


def _engine_array(buffer: Any, dtype: str, shape: tuple[int, ...]) -> ColumnArray:
    """Wraps engine memory (a read-only buffer) as a ColumnArray. Called by the engine."""
    if len(buffer) == 0:
        empty = np.empty(shape, dtype=dtype).view(ColumnArray)
        empty.flags.writeable = False
        return empty
    flat = np.frombuffer(buffer, dtype=dtype)
    return flat.reshape(shape).view(ColumnArray)
