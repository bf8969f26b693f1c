"""Directory app: data/things.csv, lifecycle hooks, static files, a template, a theme and a custom model with its JS."""
import csv
from os.path import dirname, join

import numpy as np

from docsync.layouts import column, row
from docsync.models import ColumnDataSource, Div, Select
from docsync.plotting import curdoc, figure

# Absolute import: the app directory is on sys.path while main.py runs (as in the seed).
from custom import StockGauge
# Relative import: the hooks module the server loaded, whose globals all sessions share.
from .server_lifecycle import counts

doc = curdoc()

# The data file is found next to this file through __file__, as the seed shows
# (pandas.read_csv(join(dirname(__file__), 'data', 'things.csv')) works the same way).
with open(join(dirname(__file__), 'data', 'things.csv'), newline='') as f:
    rows = list(csv.DictReader(f))

things = dict(
    name=[r["name"] for r in rows],
    kind=[r["kind"] for r in rows],
    weight=np.array([float(r["weight"]) for r in rows]),
    price=np.array([float(r["price"]) for r in rows]),
    stock=np.array([int(r["stock"]) for r in rows], dtype=np.int64),
)
KINDS = sorted(set(things["kind"]))
source = ColumnDataSource(data=things)

plot = figure(title="Things: price against weight (log scales)", width=640, height=440,
              x_axis_type="log", y_axis_type="log")
plot.xaxis.axis_label = "weight (kg)"
plot.yaxis.axis_label = "price"
plot.scatter("weight", "price", source=source, size=12, marker="circle", color="#3b6ea8")
plot.text("weight", "price", text="name", source=source, x_offset=8, text_font_size="11px",
          text_baseline="middle")

kind = Select(title="Kind", value="all", options=["all", *KINDS])
gauge = StockGauge(label="Units in stock", value=int(things["stock"].sum()), maximum=1500)


def on_kind(attr, old, new):
    keep = [i for i, k in enumerate(things["kind"]) if new == "all" or k == new]
    source.data = {name: (np.asarray(col)[keep] if isinstance(col, np.ndarray)
                          else [col[i] for i in keep]) for name, col in things.items()}
    gauge.value = int(things["stock"][keep].sum())
    gauge.label = f"Units in stock ({new})"


kind.on_change("value", on_kind)

# on_session_created ran before this file, so the count includes this session.
visits = Div(text=f"Sessions created since the server started: <b>{counts['sessions_created']}</b> "
                  f"(counted by server_lifecycle.py)", width=260)

doc.add_root(row(column(kind, gauge, visits, width=260), plot))
doc.title = "myapp — a directory app"
