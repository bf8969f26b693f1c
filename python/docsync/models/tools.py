"""Tools and the toolbar."""

from __future__ import annotations

from docsync.model import Model
from docsync.properties import Any_, Bool, Either, Enum, Float, Instance, List, Nullable, String, Tuple

__all__ = [
    "Tool", "PanTool", "WheelZoomTool", "BoxZoomTool", "ResetTool", "SaveTool", "HoverTool",
    "TapTool", "BoxSelectTool", "ZoomInTool", "ZoomOutTool", "Toolbar", "TOOL_NAMES",
]


class Tool(Model):
    __abstract__ = True
    description = Nullable(String())


class PanTool(Tool):
    dimensions = Enum("both", "width", "height")


class WheelZoomTool(Tool):
    dimensions = Enum("both", "width", "height")
    speed = Float(1 / 600)


class BoxZoomTool(Tool):
    dimensions = Enum("both", "width", "height", "auto", default="both")


class ZoomInTool(Tool):
    dimensions = Enum("both", "width", "height")


class ZoomOutTool(Tool):
    dimensions = Enum("both", "width", "height")


class ResetTool(Tool):
    pass


class SaveTool(Tool):
    filename = Nullable(String())


class TapTool(Tool):
    renderers = Either(Enum("auto"), List(Instance("GlyphRenderer")), default="auto")


class BoxSelectTool(Tool):
    renderers = Either(Enum("auto"), List(Instance("GlyphRenderer")), default="auto")
    dimensions = Enum("both", "width", "height")


class HoverTool(Tool):
    """Tooltips: a list of (label, "@column" | "$index" | "$x" | "$y") or an HTML str."""

    tooltips = Nullable(Either(String(), List(Tuple(String(), String()))), default=lambda: [
        ("index", "$index"), ("data (x, y)", "($x, $y)")])
    renderers = Either(Enum("auto"), List(Instance("GlyphRenderer")), default="auto")
    mode = Enum("mouse", "vline", "hline")
    formatters = Any_(default=dict)


class Toolbar(Model):
    tools = List(Instance(Tool))
    active_drag = Nullable(Either(Enum("auto"), Instance(Tool)), default="auto")
    active_scroll = Nullable(Either(Enum("auto"), Instance(Tool)), default="auto")
    active_tap = Nullable(Either(Enum("auto"), Instance(Tool)), default="auto")
    active_inspect = Nullable(Either(Enum("auto"), Instance(Tool), List(Instance(Tool))), default="auto")
    logo = Nullable(Enum("normal", "grey"), default=None)
    autohide = Bool(False)


#: names accepted by figure(tools="pan,wheel_zoom,...")
TOOL_NAMES = {
    "pan": lambda: PanTool(),
    "xpan": lambda: PanTool(dimensions="width"),
    "ypan": lambda: PanTool(dimensions="height"),
    "wheel_zoom": lambda: WheelZoomTool(),
    "xwheel_zoom": lambda: WheelZoomTool(dimensions="width"),
    "ywheel_zoom": lambda: WheelZoomTool(dimensions="height"),
    "box_zoom": lambda: BoxZoomTool(),
    "zoom_in": lambda: ZoomInTool(),
    "zoom_out": lambda: ZoomOutTool(),
    "reset": lambda: ResetTool(),
    "save": lambda: SaveTool(),
    "hover": lambda: HoverTool(),
    "tap": lambda: TapTool(),
    "box_select": lambda: BoxSelectTool(),
}
