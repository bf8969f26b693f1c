"""Browser test app: every widget docsync.js renders, in rows and columns, over two roots
(the screenshot of the widget gallery)."""
import numpy as np

from docsync.layouts import column, row
from docsync.models import (Button, CheckboxGroup, ColumnDataSource, DataTable, Div,
                            NumberFormatter, Paragraph, PreText, RadioGroup, RangeSlider,
                            Select, Slider, Spacer, TableColumn, TextInput, Toggle)
from docsync.plotting import curdoc

doc = curdoc()
source = ColumnDataSource(data={
    "name": [f"item {i}" for i in range(40)],
    "value": np.round(np.linspace(0.5, 100, 40) ** 1.5, 2),
})

buttons = row(
    Button(label="Default"), Button(label="Primary", button_type="primary"),
    Button(label="Success", button_type="success"), Button(label="Warning", button_type="warning"),
    Button(label="Danger", button_type="danger"), Toggle(label="Toggle", active=True),
)
inputs = column(
    Slider(title="Slider", start=0, end=100, value=42, step=1, width=320),
    RangeSlider(title="RangeSlider", start=0, end=10, value=(2, 7), step=0.5, width=320),
    TextInput(title="TextInput", value="hello", placeholder="type here", width=320),
    TextInput(title="TextInput (empty, placeholder)", placeholder="placeholder", width=320),
    Select(title="Select", value="two", options=["one", "two", "three"], width=320),
    Select(title="Select (disabled)", value="x", options=["x", "y"], width=320, disabled=True),
)
choices = column(
    Paragraph(text="CheckboxGroup and RadioGroup:"),
    CheckboxGroup(labels=["apples", "pears", "plums"], active=[0, 2]),
    RadioGroup(labels=["small", "medium", "large"], active=1, inline=True),
    PreText(text="PreText:\n  x = 1\n  y = [1, 2, 3]"),
    Div(text="<b>Div</b> with <i>HTML</i> and a <a href='#'>link</a>"),
)
table = DataTable(
    source=source, width=300, height=260,
    columns=[TableColumn(field="name", title="Name"),
             TableColumn(field="value", title="Value", formatter=NumberFormatter(format="0,0.00"))],
)

doc.add_root(column(Div(text="<h2>docsync widget gallery</h2>"), buttons,
                    row(inputs, Spacer(width=30), choices, Spacer(width=30), table)))
doc.add_root(row(Paragraph(text="A second root: a row with a Paragraph and a Button"),
                 Button(label="Second root")))
doc.title = "docsync widget gallery"
