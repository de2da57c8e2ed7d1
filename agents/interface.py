"""What graph/ may know of the agents: the roles' interfaces, their messages, the spend meter,
and the one way to build a team. graph/ imports this module and nothing else under agents/
(an import contract in pyproject.toml checks it), so a brain's insides can change freely.
"""

from adrs.agents.evolve_block import fingerprint
from adrs.agents.model.config import OFFLINE, ModelSettings
from adrs.agents.model.errors import ModelSetupError
from adrs.agents.model.recording import RECORDINGS_DIR
from adrs.agents.roles import AssessRequest, CodeRequest, PlanRequest, ResearchNote, ReviewRequest, Team
from adrs.agents.schemas import Findings, Plan, Verdict
from adrs.agents.team import Brain, build_team, probe_models
from adrs.agents.usage import (
                               ROLES,
                               SpendLedger,
                               UsageMeter,
                               add_counts,
                               add_usage,
                               describe_faults,
                               describe_usage,
                               total_dollars,
                               total_tokens,
)

__all__ = [
    "OFFLINE", "AssessRequest", "Brain", "CodeRequest", "Findings", "ModelSettings",
    "ModelSetupError", "Plan", "PlanRequest", "RECORDINGS_DIR", "ROLES", "ResearchNote", "ReviewRequest", "Team", "UsageMeter",
    "SpendLedger", "Verdict", "add_counts", "add_usage", "build_team", "describe_faults",
    "describe_usage", "fingerprint", "probe_models", "total_dollars", "total_tokens",
]
