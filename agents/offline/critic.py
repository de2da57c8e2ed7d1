"""The offline critic: the static checks alone, no model review."""

from __future__ import annotations

from adrs.agents.checks import static_review
from adrs.agents.roles import ReviewRequest
from adrs.agents.schemas import Verdict

PASSED = ("parses", "edits only the evolvable region", "uses nothing forbidden", "is a new program")


class OfflineCritic:
    model_name = "offline"

    def review(self, request: ReviewRequest) -> Verdict:
        findings = static_review(request.parent_source, request.candidate_source,
                                 known_fingerprints=request.known_fingerprints,
                                 forbidden_imports=request.problem.spec.critic.forbidden_imports)
        if not findings:
            return Verdict(decision="approve", reasons=PASSED)
        return Verdict(decision=findings[0].severity,
                       reasons=tuple(finding.reason for finding in findings))
