"""StockGauge: a custom model whose browser view is implemented in custom.js."""
from docsync.model import Model
from docsync.properties import Int, String


class StockGauge(Model):
    """A labelled horizontal gauge: ``value`` out of ``maximum``.

    ``__implementation__`` names the ES module (relative to this file) that registers the
    model's view in the browser with ``registerView`` from ``/static/views.js``.
    """

    __implementation__ = "custom.js"

    label = String("", help="Text above the bar.")
    value = Int(0, help="Current amount.")
    maximum = Int(100, help="Amount at which the bar is full.")
