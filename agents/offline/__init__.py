"""The offline brain: a deterministic, seedable search that needs no network and no model."""

from adrs.agents.offline.coder import OfflineCoder
from adrs.agents.offline.critic import OfflineCritic
from adrs.agents.offline.evaluator import OfflineEvaluator
from adrs.agents.offline.planner import OfflinePlanner, OfflinePlannerConfig
from adrs.agents.roles import Team


def offline_team(config: OfflinePlannerConfig | None = None) -> Team:
    return Team(planner=OfflinePlanner(config or OfflinePlannerConfig()), coder=OfflineCoder(),
                critic=OfflineCritic(), evaluator=OfflineEvaluator())


__all__ = ["offline_team", "OfflinePlanner", "OfflineCoder", "OfflineCritic", "OfflineEvaluator"]
