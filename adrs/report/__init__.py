"""Reports of a run: the headline figures (summary.py), figures over its history (series.py),
PNG plots (plots.py, matplotlib on Agg) and the Markdown report (markdown.py).

Like the command line, this package reads runs through adrs.graph and adrs.workspace only."""
