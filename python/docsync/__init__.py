"""docsync: live sync between Python objects and the browser."""

from docsync._core import __version__

__all__ = ["__version__"]
