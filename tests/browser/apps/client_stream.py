"""Browser test app: rows 0, 1, 2, ... streamed into a source every 20 ms, a button that
drops the page's WebSocket from the server side, and a TextInput and a Button whose
changes made while disconnected must reach Python after the resume.

``?drop=close`` closes it with a close frame (code 1013, as the server does for a slow
client); ``?drop=abort`` (default) shuts the TCP stream without one (the page sees 1006,
as when a network path dies)."""
import numpy as np

from docsync.layouts import column
from docsync.models import Button, ColumnDataSource, DataTable, Div, TableColumn, TextInput
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
note = TextInput(title="Note", value="", name="note")
noted = Div(text="note: ", name="noted")
bump = Button(label="Bump", name="bump")
bumps = Div(text="bumps: 0", name="bumps")


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


def on_bump() -> None:
    state["bumps"] = state.get("bumps", 0) + 1
    bumps.text = f"bumps: {state['bumps']}"


drop.on_click(on_drop)
bump.on_click(on_bump)
note.on_change("value", lambda attr, old, new: setattr(noted, "text", f"note: {new}"))
doc.add_periodic_callback(tick, 20)
table = DataTable(source=source, columns=[TableColumn(field="n", title="row")], width=200, height=160)
doc.add_root(column(drop, status, drops, note, noted, bump, bumps, table))
doc.add_root(column(Div(text="second root")))
doc.title = "client stream"
