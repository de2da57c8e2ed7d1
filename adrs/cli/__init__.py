"""The `adrs` command line: a thin layer over adrs.graph (runs) and adrs.workspace (history).

Each module registers its commands on the one Typer app of adrs.cli.common.
"""

from adrs.cli import authoring, doctor, history, running, viewing  # noqa: F401  (they register their commands)
from adrs.cli.common import app

__all__ = ["app"]

if __name__ == "__main__":
    app()
