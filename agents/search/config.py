"""The search settings a problem may give in its problem.toml, under [search]:

    [search]
    islands = 4                              # sub-populations (default 3)
    features = ["code_length", "p99_ms"]     # MAP-Elites axes: code_length or metric names
    bins = 6                                 # cells per feature
    migration_interval = 12                  # programs an island receives between migrations
    inspirations = 2                         # diverse programs shown to the planner
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adrs.agents.search.islands import IslandConfig, IslandSearch


class SearchConfigError(ValueError):
    """A bad [search] table; the message is one line."""


class SearchTable(BaseModel):
    """problem.toml's [search] table."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    islands: int = Field(3, ge=1, le=64, description="Sub-populations that evolve apart.")
    features: tuple[str, ...] = Field((), description="MAP-Elites axes: code_length or metrics.")
    bins: int = Field(6, ge=1, le=64, description="Cells per feature.")
    migration_interval: int = Field(12, ge=1, description="Programs between two migrations.")
    inspirations: int = Field(2, ge=0, le=5, description="Diverse programs shown to the planner.")


def island_search(table: Any) -> IslandSearch:
    """The default strategy, configured by a problem's [search] table (None: defaults)."""
    if table is not None and not isinstance(table, Mapping):
        raise SearchConfigError("problem.toml: search must be a table ([search])")
    try:
        settings = SearchTable.model_validate(dict(table or {}))
        return IslandSearch(IslandConfig(**settings.model_dump()))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise SearchConfigError(f"problem.toml [search] {where}: {first['msg']}") from exc
    except ValueError as exc:
        raise SearchConfigError(f"problem.toml [search]: {exc}") from exc
