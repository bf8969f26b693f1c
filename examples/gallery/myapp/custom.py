"""StockGauge: a custom model; its browser view is static/custom.js."""
from docsync.model import Model
from docsync.properties import Int, String


class StockGauge(Model):
    """A labelled horizontal gauge: ``value`` out of ``maximum``.

    The properties are declared here like those of any model (the schema is registered
    with the engine, which validates every change). The browser side is the ES module
    ``static/custom.js``: it calls ``registerView("StockGauge", ...)`` and
    ``templates/index.html`` loads it before the app renders.
    """

    label = String("", help="Text above the bar.")
    value = Int(0, help="Current amount.")
    maximum = Int(100, help="Amount at which the bar is full.")
