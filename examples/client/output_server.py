"""The seed's output_server script: push a plot into a running `docsync serve` as session "hover".

Start a server first (`docsync serve`), then run `python examples/client/output_server.py`;
the plot opens at http://localhost:5006/?docsync-session-id=hover
"""
from docsync.plotting import figure, show, output_server

output_server("hover")

p = figure(title="Server Plot")
p.circle([1, 2, 3], [4, 5, 6])

show(p)
