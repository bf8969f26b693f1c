"""The docsync error hierarchy.

Every error the engine or the server raises is one of these. Each mixes in the builtin
exception a caller would naturally catch (``except ValueError`` still works), as
msgpack-python's ``FormatError(ValueError, UnpackException)`` does. The Rust engine maps
its error enum to these classes in one place (``rust/docsync-py/src/errors.rs``).
"""

from __future__ import annotations

__all__ = [
    "DocsyncError",
    "DecodeError",
    "LimitError",
    "EncodeError",
    "SchemaError",
    "ValidationError",
    "UnknownModelError",
    "UnknownPropertyError",
    "ReadOnlyPropertyError",
    "ColumnError",
    "PatchError",
    "ProtocolError",
    "SessionExpiredError",
    "ConnectionRefusedByServer",
]


class DocsyncError(Exception):
    """Base class of every docsync error."""


class DecodeError(DocsyncError, ValueError):
    """Bytes that are not a valid docsync message or value (malformed, truncated)."""


class LimitError(DecodeError):
    """A message exceeds a size or nesting-depth limit."""


class EncodeError(DocsyncError, TypeError):
    """A Python value that docsync cannot represent (e.g. an object-dtype array)."""


class SchemaError(DocsyncError, ValueError):
    """A bad model type registration (unknown type spec, default of the wrong type)."""


class ValidationError(DocsyncError, ValueError):
    """A property value of the wrong type."""


class UnknownModelError(DocsyncError, KeyError):
    """A model id or model type that the document does not know."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class UnknownPropertyError(DocsyncError, AttributeError):
    """A property name that the model's type does not have."""


class ReadOnlyPropertyError(DocsyncError, PermissionError):
    """A client tried to change a property that its schema does not mark client-writable."""


class ColumnError(DocsyncError, ValueError):
    """Column data that does not fit: unknown or missing columns, unequal lengths, wrong
    dtype, out-of-range index, bad slice or rollover."""


class PatchError(DocsyncError, ValueError):
    """A patch that cannot be applied for another reason (e.g. an unresolved reference)."""


class ProtocolError(DocsyncError, ValueError):
    """A message that breaks the wire protocol (unknown type, missing field)."""


class SessionExpiredError(DocsyncError, ConnectionError):
    """The server no longer has the session (it was destroyed or the server restarted)."""


class ConnectionRefusedByServer(DocsyncError, ConnectionError):
    """The server refused the connection (no server, wrong URL, origin, version)."""
