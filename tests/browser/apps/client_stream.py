"""Browser test app: rows 0, 1, 2, ... streamed into a source every 20 ms, and a button
that drops the page's WebSocket from the server side.

``?drop=close`` closes it with a close frame (code 1013, as the server does for a slow
client); ``?drop=abort`` (default) shuts the TCP stream without one (the page sees 1006,
as when a network path dies)."""
import numpy as np

from docsync.layouts import column
from docsync.models import Button, ColumnDataSource, DataTable, Div, TableColumn
from docsync.plotting import curdoc
from docsync.server.session import current_session_context

doc = curdoc()
context = current_session_context()
args = context.request.arguments if context is not None else {}
mode = (args.get("drop") or ["abort"])[0]
state = {"n": 0, "drops": 0}

source = ColumnDataSource(data={"n": np.array([], dtype=np.float64)}, name="rows")
status = Div(text="rows: 0", name="status")
drops = Div(text="drops: 0", name="drops")
drop = Button(label="Drop the connection", button_type="danger", name="drop")


def tick() -> None:
    n = state["n"]
    source.stream({"n": np.array([float(n)])})
    state["n"] = n + 1
    status.text = f"rows: {n + 1}"


def close_all(session) -> None:  # on the server's I/O loop
    for conn in list(session.connections):
        if mode == "close":
            conn.close(1013, "dropped by the test app")
        else:
            conn.transport.ws_connection.stream.close()


def on_drop() -> None:
    state["drops"] += 1
    drops.text = f"drops: {state['drops']}"
    ctx = current_session_context()
    session = ctx.session
    session.loop.add_callback(close_all, session)


drop.on_click(on_drop)
doc.add_periodic_callback(tick, 20)
table = DataTable(source=source, columns=[TableColumn(field="n", title="row")], width=200, height=160)
doc.add_root(column(drop, status, drops, table))
doc.add_root(column(Div(text="second root")))
doc.title = "client stream"
