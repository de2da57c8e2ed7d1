"""What graph/ may know of the agents: the roles' interfaces, their messages, the spend meter,
and the one way to build a team. graph/ imports this module and nothing else under agents/
(an import contract in pyproject.toml checks it), so a brain's insides can change freely.
"""

from adrs.agents.evolve_block import count_constants, fingerprint
from adrs.agents.model.config import OFFLINE, ModelSettings
from adrs.agents.model.errors import ModelCallFailed, ModelSetupError
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
    "OFFLINE", "AssessRequest", "Brain", "CodeRequest", "Findings", "Inspiration",
    "ModelCallFailed", "ModelSettings", "ModelSetupError", "Plan", "PlanRequest", "RECORDINGS_DIR",
    "ROLES", "ResearchNote", "ReviewRequest", "SearchConfigError", "SearchStrategy", "Selection",
    "SpendLedger", "Team", "UsageMeter", "Verdict", "add_counts", "add_usage", "build_team",
    "count_constants", "derive_rng", "describe_faults", "describe_usage", "draft_problem",
    "fingerprint", "island_search", "probe_models", "total_dollars", "total_tokens",
]


def draft_problem(settings: ModelSettings, **values: object) -> tuple[str, str]:
    """`adrs new` with a model: (README.md, evaluator.py) drafts; see agents/model/drafting.py.
    Imported on use, so the OpenAI client loads only when a model is asked for."""
    from adrs.agents.model.drafting import draft_problem as draft
    drafted = draft(settings, **values)  # type: ignore[arg-type]
    return drafted.readme, drafted.evaluator
