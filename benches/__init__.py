"""docsync's benchmark suite: every workload on docsync and on the Bokeh server, side by side."""
