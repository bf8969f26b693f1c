"""Ranges and scales."""

from __future__ import annotations

from docsync.model import Model
from docsync.properties import Bool, Datetime, Either, Enum, Float, Instance, List, Nullable, String, Tuple

__all__ = ["Range", "Range1d", "DataRange1d", "FactorRange", "Scale", "LinearScale", "LogScale", "CategoricalScale"]


class Range(Model):
    __abstract__ = True


class Range1d(Range):
    """A fixed range; the browser may change ``start``/``end`` (pan, zoom)."""

    start = Datetime(0.0, client=True)
    end = Datetime(1.0, client=True)
    bounds = Nullable(Either(Enum("auto"), Tuple(Nullable(Float()), Nullable(Float()))))
    reset_start = Nullable(Float())
    reset_end = Nullable(Float())

    def __init__(self, *args: float, **kw: object) -> None:
        if args:
            if len(args) != 2:
                raise TypeError("Range1d(start, end) takes two positional arguments")
            kw["start"], kw["end"] = args
        super().__init__(**kw)


class DataRange1d(Range):
    """A range the browser computes from the data (and sends back as start/end)."""

    start = Nullable(Datetime(), client=True)
    end = Nullable(Datetime(), client=True)
    range_padding = Float(0.1)
    range_padding_units = Enum("percent", "absolute")
    renderers = List(Instance("GlyphRenderer"), help="Renderers to fit (empty = all).")
    follow = Nullable(Enum("start", "end"))
    follow_interval = Nullable(Float())
    default_span = Float(2.0)
    flipped = Bool(False)
    bounds = Nullable(Either(Enum("auto"), Tuple(Nullable(Float()), Nullable(Float()))))


class FactorRange(Range):
    """A categorical range: a list of factors."""

    factors = List(String())
    range_padding = Float(0.0)
    start = Nullable(Float(), client=True)
    end = Nullable(Float(), client=True)

    def __init__(self, *factors: str, **kw: object) -> None:
        if factors:
            kw["factors"] = list(factors)
        super().__init__(**kw)


class Scale(Model):
    __abstract__ = True


class LinearScale(Scale):
    pass


class LogScale(Scale):
    pass


class CategoricalScale(Scale):
    pass
