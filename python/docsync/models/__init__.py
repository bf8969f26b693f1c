"""The model catalogue (docs/catalogue.md): every model class, by its Bokeh name."""

from docsync.model import Model
from docsync.models.axes import *  # noqa: F401,F403
from docsync.models.axes import __all__ as _axes
from docsync.models.callbacks import *  # noqa: F401,F403
from docsync.models.callbacks import __all__ as _callbacks
from docsync.models.glyphs import *  # noqa: F401,F403
from docsync.models.glyphs import __all__ as _glyphs
from docsync.models.layouts import *  # noqa: F401,F403
from docsync.models.layouts import __all__ as _layouts
from docsync.models.plots import *  # noqa: F401,F403
from docsync.models.plots import __all__ as _plots
from docsync.models.ranges import *  # noqa: F401,F403
from docsync.models.ranges import __all__ as _ranges
from docsync.models.sources import *  # noqa: F401,F403
from docsync.models.sources import __all__ as _sources
from docsync.models.tools import *  # noqa: F401,F403
from docsync.models.tools import __all__ as _tools
from docsync.models.widgets import *  # noqa: F401,F403
from docsync.models.widgets import __all__ as _widgets

__all__ = ["Model", *_axes, *_callbacks, *_glyphs, *_layouts, *_plots, *_ranges, *_sources, *_tools, *_widgets]
