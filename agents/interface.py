"""What graph/ may know of the agents: the roles' interfaces, their messages, the spend meter,
and the one way to build a team. graph/ imports this module and nothing else under agents/
(an import contract in pyproject.toml checks it), so a brain's insides can change freely.
"""

from adrs.agents.evolve_block import fingerprint
from adrs.agents.model.config import ModelSettings
from adrs.agents.model.errors import ModelSetupError
from adrs.agents.model.recording import RECORDINGS_DIR
from adrs.agents.roles import (
    AssessRequest,
    CodeRequest,
    Inspiration,
    PlanRequest,
    ResearchNote,
    ReviewRequest,
    Team,
    derive_rng,
)
from adrs.agents.schemas import Findings, Plan, Verdict
from adrs.agents.search import SearchConfigError, SearchStrategy, Selection, island_search
from adrs.agents.team import Brain, build_team
from adrs.agents.usage import (
                               ROLES,
                               UsageMeter,
                               add_counts,
                               add_usage,
                               describe_faults,
                               describe_usage,
                               total_dollars,
                               total_tokens,
)

__all__ = [
    "AssessRequest", "Brain", "CodeRequest", "Findings", "Inspiration", "ModelSettings",
    "ModelSetupError", "Plan", "PlanRequest", "RECORDINGS_DIR", "ROLES", "ResearchNote",
    "ReviewRequest", "SearchConfigError", "SearchStrategy", "Selection", "Team", "UsageMeter",
    "Verdict", "add_counts", "add_usage", "build_team", "derive_rng", "describe_faults",
    "describe_usage", "fingerprint", "island_search", "total_dollars", "total_tokens",
]
