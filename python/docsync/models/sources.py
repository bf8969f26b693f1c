"""Data sources: ColumnDataSource (columns live in the engine's column store), Selection."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, Iterator, Mapping

import numpy as np

from docsync.errors import ColumnError
from docsync.model import Model
from docsync.properties import (
    TrackedList,
    MISSING,
    ColumnData,
    Instance,
    Int,
    Invalid,
    List,
    _is_dataframe,
    column_value,
    dataframe_columns,
)

__all__ = ["DataSource", "ColumnarDataSource", "ColumnDataSource", "Selection", "CDSView", "ColumnDataView"]


class Selection(Model):
    """Selected rows of a data source (``indices`` may be changed by the browser)."""

    indices = List(Int(), client=True)


class DataSource(Model):
    __abstract__ = True
    selected = Instance(Selection, default=lambda: Selection(), help="The selected rows.")


class ColumnarDataSource(DataSource):
    __abstract__ = True


class TrackedColumn(TrackedList):
    """A list column handed out by ``source.data[name]``: in-place changes are written to
    the source (so ``source.data["x"].append(v)`` syncs, as in the seed's button app).
    The mutators are TrackedList's; only where a change goes differs."""

    __slots__ = ("_source", "_name")

    def __init__(self, items: Any, source: "ColumnDataSource", name: str) -> None:
        list.__init__(self, items)
        self._source = source
        self._name = name

    def _changed(self) -> None:
        self._source._set_column(self._name, list(self), _copy=False)


class ColumnDataView(MutableMapping):  # type: ignore[type-arg]
    """``source.data``: a live mapping of column name -> numpy array (read-only view of
    engine memory) or list (tracked: in-place changes sync)."""

    __slots__ = ("_source", "_prop")

    def __init__(self, source: "ColumnDataSource", prop: str = "data") -> None:
        self._source = source
        self._prop = prop

    def _raw(self, name: str) -> Any:
        src = self._source
        doc = src._doc
        if doc is None:
            return src._values.setdefault(self._prop, {})[name]
        stash = doc._column_stash.get(src._id)
        if stash is not None and name in stash:
            return stash[name]
        try:
            return doc._engine.get_column(src._id, self._prop, name)
        except ColumnError:
            if name not in doc._engine.column_names(src._id, self._prop):
                raise KeyError(name) from None
            raise

    def __getitem__(self, name: str) -> Any:
        col = self._raw(name)
        if isinstance(col, list):
            return TrackedColumn(col, self._source, name)
        return col

    def __setitem__(self, name: str, value: Any) -> None:
        self._source._set_column(name, value)

    def __delitem__(self, name: str) -> None:
        data = dict(self._items())
        del data[name]
        self._source.data = data

    def _names(self) -> list[str]:
        src = self._source
        doc = src._doc
        if doc is None:
            return list(src._values.get(self._prop, {}))
        names = list(doc._engine.column_names(src._id, self._prop))
        stash = doc._column_stash.get(src._id)
        if stash:
            names.extend(k for k in stash if k not in names)
        return names

    def _items(self) -> Iterator[tuple[str, Any]]:
        for k in self._names():
            yield k, self._raw(k)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def copy(self) -> dict[str, Any]:
        """A plain dict of the columns (lists copied)."""
        return {k: (list(v) if isinstance(v, list) else v) for k, v in self._items()}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        if set(self) != set(other):
            return False
        for k, v in self._items():
            w = other[k]
            if isinstance(v, np.ndarray) or isinstance(w, np.ndarray):
                if not np.array_equal(np.asarray(v), np.asarray(w)):
                    return False
            elif list(v) != list(w):
                return False
        return True

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ColumnDataView({dict(self._items())!r})"


def _slice_to_wire(s: Any) -> Any:
    if isinstance(s, slice):
        return {"start": s.start, "stop": s.stop, "step": s.step}
    if isinstance(s, tuple):
        return [_slice_to_wire(x) for x in s]
    if isinstance(s, (int, np.integer)) and not isinstance(s, bool):
        return int(s)
    raise TypeError(f"a patch index is an int, a slice or a tuple (n-d columns), got {s!r}")


def _patch_value(v: Any) -> Any:
    if isinstance(v, np.ndarray) or isinstance(v, (list, tuple)):
        return column_value(v)
    if isinstance(v, np.generic):
        return v.item()
    return v


class ColumnDataSource(ColumnarDataSource):
    """Columns of equal length, shared by the glyphs that draw them.

    ``ColumnDataSource(data=dict(x=[1, 2], y=np.array([3., 4.])))`` or
    ``ColumnDataSource(df)`` (a pandas DataFrame: its columns and its index).
    """

    data = ColumnData(help="The columns: name -> numpy array or list.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if len(args) > 1:
            raise TypeError("ColumnDataSource takes at most one positional argument (the data)")
        if args:
            if "data" in kwargs:
                raise TypeError("data given twice (positional and data=)")
            kwargs["data"] = args[0]
        super().__init__(**kwargs)

    # -- columns ---------------------------------------------------------------------
    @property
    def column_names(self) -> list[str]:
        return list(self.data)

    def _set_column(self, name: str, value: Any, _copy: bool = True) -> None:
        if not isinstance(name, str):
            raise self._props["data"].error({name: value}, self, "column names are str")
        try:
            value = column_value(value)
        except TypeError as e:
            raise self._props["data"].error(value, self, f"column {name!r}: {e}") from None
        cbs = self._callbacks.get("data")
        old = self.data.copy() if cbs else None
        doc = self._doc
        if doc is None:
            self._values.setdefault("data", {})[name] = value
        else:
            doc._set_column(self, "data", name, value)
        if cbs:
            self._fire_change("data", old, self.data)

    def add(self, data: Any, name: str | None = None) -> str:
        """Add a column (named ``name`` or ``Series <n>``); returns the name."""
        if name is None:
            n = len(self.data)
            while f"Series {n}" in self.data:
                n += 1
            name = f"Series {n}"
        self._set_column(name, data)
        return name

    def remove(self, name: str) -> None:
        """Remove a column (no error when absent)."""
        if name in self.data:
            del self.data[name]

    def to_df(self) -> Any:
        """The columns as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame({k: v for k, v in self.data.copy().items()})

    @classmethod
    def from_df(cls, df: Any) -> dict[str, Any]:
        return dataframe_columns(df)

    def __len__(self) -> int:
        doc = self._doc
        if doc is None:
            cols = self._values.get("data", {})
            return len(next(iter(cols.values()))) if cols else 0
        return doc._engine.column_len(self._id, "data")  # type: ignore[no-any-return]

    # -- streaming and patching --------------------------------------------------------
    def stream(self, new_data: Any, rollover: int | None = None) -> None:
        """Append rows (a dict of equal-length columns, or a DataFrame), then keep only
        the last ``rollover`` rows. Costs O(new rows) and is sent as a stream."""
        doc = self._doc
        # The hot path (a periodic callback streaming numpy columns): the engine checks the
        # columns are what the checks below would pass on unchanged (a dict of str to
        # numeric or bool ndarrays of native byte order) and streams them in one call.
        # Anything else (lists, DataFrames, datetimes, change callbacks, columns still
        # stashed, a detached source) takes the general path.
        if (
            doc is not None
            and (rollover is None or (type(rollover) is int and rollover >= 0))
            and not self._callbacks.get("data")
        ):
            with doc._lock:
                if self._id not in doc._column_stash and doc._engine.try_stream(self._id, "data", new_data, rollover):
                    return
        prop = self._props["data"]
        if _is_dataframe(new_data):
            cols = dataframe_columns(new_data)
            if "index" in cols and "index" not in self.data:
                del cols["index"]
        else:
            try:
                cols = prop.check(new_data)
            except Invalid as e:
                raise prop.error(new_data, self, e.detail) from None
        if rollover is not None and (not isinstance(rollover, int) or rollover < 0):
            raise ValueError(f"rollover must be a non-negative int or None, got {rollover!r}")
        cbs = self._callbacks.get("data")
        old = self.data.copy() if cbs else None
        if doc is None:
            self._stream_detached(cols, rollover)
        else:
            with doc._lock:
                doc._sync_property(self, "data")
                doc._engine.stream(self._id, "data", cols, rollover)
        if cbs:
            self._fire_change("data", old, self.data)

    def _stream_detached(self, cols: dict[str, Any], rollover: int | None) -> None:
        data = self._values.setdefault("data", {})
        if data and set(cols) != set(data):
            raise ColumnError(f"stream must hold exactly the source's columns {sorted(data)}, got {sorted(cols)}")
        lengths = {len(v) for v in cols.values()}
        if len(lengths) > 1:
            raise ColumnError(f"streamed columns have unequal lengths: { {k: len(v) for k, v in cols.items()} }")
        for k, v in cols.items():
            cur = data.get(k)
            if cur is None:
                new = v
            elif isinstance(cur, np.ndarray) and isinstance(v, np.ndarray):
                new = np.concatenate([cur, v])
            else:
                new = list(cur) + list(v)
            if rollover is not None and len(new) > rollover:
                new = new[len(new) - rollover:]
            data[k] = new

    def patch(self, patches: Mapping[str, Any], setter: Any = None) -> None:
        """Change rows in place: ``{"x": [(index, value), (slice(0, 2), [a, b])]}``."""
        if not isinstance(patches, Mapping):
            raise TypeError("patch() takes a dict {column: [(index, value), ...]}")
        names = set(self.data)
        wire: dict[str, list[tuple[Any, Any]]] = {}
        for col, items in patches.items():
            if col not in names:
                raise ColumnError(f"cannot patch unknown column {col!r} (columns: {sorted(names)})")
            wire[col] = [(_slice_to_wire(i), _patch_value(v)) for i, v in items]
        cbs = self._callbacks.get("data")
        old = self.data.copy() if cbs else None
        doc = self._doc
        if doc is None:
            self._patch_detached(patches)
        else:
            with doc._lock:
                doc._sync_property(self, "data")
                doc._engine.patch_columns(self._id, "data", wire)
        if cbs:
            self._fire_change("data", old, self.data)

    def _patch_detached(self, patches: Mapping[str, Any]) -> None:
        data = self._values["data"]
        for col, items in patches.items():
            cur = data[col]
            cur = cur.copy() if isinstance(cur, np.ndarray) else list(cur)
            n = len(cur)
            for i, v in items:
                if isinstance(i, (int, np.integer)) and not 0 <= i < n:
                    raise ColumnError(f"patch index {i} out of range for column {col!r} of length {n}")
                if isinstance(i, tuple):
                    cur[i[0]][i[1:]] = v  # n-d column entry
                else:
                    cur[i] = v
            data[col] = cur


class CDSView(Model):
    """A view of a source (filters are not supported yet)."""


# keep MISSING imported for subclass authors
_ = MISSING
