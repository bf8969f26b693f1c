"""Axes, tickers, tick formatters."""

from __future__ import annotations

from docsync.model import Model
from docsync.models.renderers import Renderer
from docsync.properties import (
    Bool, Color, Dict, Either, Enum, Float, Instance, Int, List, Nullable, Override, String,
)

__all__ = [
    "Ticker", "BasicTicker", "LogTicker", "DatetimeTicker", "CategoricalTicker", "FixedTicker",
    "TickFormatter", "BasicTickFormatter", "LogTickFormatter", "DatetimeTickFormatter",
    "CategoricalTickFormatter", "NumeralTickFormatter", "PrintfTickFormatter",
    "Axis", "ContinuousAxis", "LinearAxis", "LogAxis", "DatetimeAxis", "CategoricalAxis",
]


class Ticker(Model):
    __abstract__ = True


class BasicTicker(Ticker):
    desired_num_ticks = Int(6)
    num_minor_ticks = Int(5)
    base = Float(10.0)


class LogTicker(BasicTicker):
    pass


class DatetimeTicker(Ticker):
    desired_num_ticks = Int(6)
    num_minor_ticks = Int(0)


class CategoricalTicker(Ticker):
    pass


class FixedTicker(Ticker):
    ticks = List(Float())
    minor_ticks = List(Float())


class TickFormatter(Model):
    __abstract__ = True


class BasicTickFormatter(TickFormatter):
    precision = Either(Enum("auto"), Int(), default="auto")
    use_scientific = Bool(True)
    power_limit_high = Int(5)
    power_limit_low = Int(-3)


class LogTickFormatter(TickFormatter):
    pass


class DatetimeTickFormatter(TickFormatter):
    """strftime formats per resolution (Bokeh's names)."""

    microseconds = String("%fus")
    milliseconds = String("%3Nms")
    seconds = String("%Ss")
    minsec = String(":%M:%S")
    minutes = String(":%M")
    hourmin = String("%H:%M")
    hours = String("%Hh")
    days = String("%m/%d")
    months = String("%m/%Y")
    years = String("%Y")


class CategoricalTickFormatter(TickFormatter):
    pass


class NumeralTickFormatter(TickFormatter):
    format = String("0,0")


class PrintfTickFormatter(TickFormatter):
    format = String("%s")


class Axis(Renderer):
    __abstract__ = True
    level = Override(default="guide")
    axis_label = Nullable(String())
    ticker = Instance(Ticker, default=lambda: BasicTicker())
    formatter = Instance(TickFormatter, default=lambda: BasicTickFormatter())
    axis_line_color = Nullable(Color(), default="black")
    axis_line_width = Float(1.0)
    axis_line_alpha = Float(1.0)
    major_tick_line_color = Nullable(Color(), default="black")
    minor_tick_line_color = Nullable(Color(), default="black")
    major_tick_in = Int(2)
    major_tick_out = Int(6)
    major_label_text_font_size = String("11px")
    major_label_text_color = Nullable(Color(), default="#444444")
    major_label_orientation = Either(Enum("horizontal", "vertical", "parallel", "normal"), Float(), default="horizontal")
    major_label_standoff = Int(5)
    axis_label_text_font_size = String("13px")
    axis_label_text_color = Nullable(Color(), default="#444444")
    axis_label_text_font_style = Enum("italic", "normal", "bold")
    axis_label_standoff = Int(5)
    axis_label_text_font = String("helvetica")
    axis_label_text_alpha = Float(1.0)
    major_label_text_font = String("helvetica")
    major_label_text_font_style = Enum("normal", "italic", "bold", "bold_italic")
    major_label_text_alpha = Float(1.0)
    major_label_overrides = Dict(String, String, help="tick value (as str) -> label")
    major_tick_line_alpha = Float(1.0)
    minor_tick_line_alpha = Float(1.0)
    minor_tick_in = Int(0)
    minor_tick_out = Int(4)


class ContinuousAxis(Axis):
    __abstract__ = True


class LinearAxis(ContinuousAxis):
    pass


class LogAxis(ContinuousAxis):
    ticker = Override(default=lambda: LogTicker())
    formatter = Override(default=lambda: LogTickFormatter())


class DatetimeAxis(LinearAxis):
    ticker = Override(default=lambda: DatetimeTicker())
    formatter = Override(default=lambda: DatetimeTickFormatter())


class CategoricalAxis(Axis):
    ticker = Override(default=lambda: CategoricalTicker())
    formatter = Override(default=lambda: CategoricalTickFormatter())
