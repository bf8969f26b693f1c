"""docsync: live sync between Python objects and the browser."""

from docsync._core import __version__
from docsync.document import Document, curdoc

__all__ = ["__version__", "Document", "curdoc"]
