"""Annotations under their Bokeh module name (``bokeh.models.annotations``)."""

from docsync.models.plots import Annotation, Legend, LegendItem, Title

__all__ = ["Annotation", "Legend", "LegendItem", "Title"]
