"""`python -m adrs` is the `adrs` command."""

from adrs.cli import app

app()
