"""The Renderer base class (glyph renderers, axes, grids and annotations are renderers)."""

from __future__ import annotations

from docsync.model import Model
from docsync.properties import Bool, Enum

__all__ = ["Renderer"]


class Renderer(Model):
    __abstract__ = True
    visible = Bool(True)
    level = Enum("image", "underlay", "glyph", "guide", "annotation", "overlay", default="glyph")


def __getattr__(name: str) -> object:
    # bokeh.models.renderers also holds GlyphRenderer (defined with Plot, which needs it)
    if name == "GlyphRenderer":
        from docsync.models.plots import GlyphRenderer

        return GlyphRenderer
    raise AttributeError(name)
