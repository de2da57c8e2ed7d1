"""The offline brain: a deterministic, seedable search that needs no network and no model."""

from agents.offline.coder import OfflineCoder
from agents.offline.critic import OfflineCritic
from agents.offline.evaluator import OfflineEvaluator
from agents.offline.planner import OfflinePlanner, OfflinePlannerConfig
from agents.roles import Team


def offline_team(config: OfflinePlannerConfig = OfflinePlannerConfig()) -> Team:
    return Team(planner=OfflinePlanner(config), coder=OfflineCoder(),
                critic=OfflineCritic(), evaluator=OfflineEvaluator())


__all__ = ["offline_team", "OfflinePlanner", "OfflineCoder", "OfflineCritic", "OfflineEvaluator"]
