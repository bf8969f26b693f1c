"""CustomJS: code that runs only in the browser."""

from __future__ import annotations

from docsync.model import Model
from docsync.properties import Any_, Dict, String

__all__ = ["Callback", "CustomJS"]


class Callback(Model):
    __abstract__ = True


class CustomJS(Callback):
    """``CustomJS(args=dict(source=source), code="source.change.emit()")``: runs in the
    page with the args as named variables plus ``cb_obj`` and ``cb_data``."""

    args = Dict(String, Any_())
    code = String("")
