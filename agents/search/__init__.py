"""Search strategies: where each candidate starts and what the planner is shown.

One small interface (`SearchStrategy` in base.py), one module per strategy; `islands.py` is the
default (islands + MAP-Elites archives + UCB island and intensity choice).
"""

from adrs.agents.search.base import Intensity, SearchStrategy, Selection
from adrs.agents.search.config import SearchConfigError, island_search
from adrs.agents.search.islands import IslandConfig, IslandSearch

__all__ = ["Intensity", "IslandConfig", "IslandSearch", "SearchConfigError", "SearchStrategy",
           "Selection", "island_search"]
