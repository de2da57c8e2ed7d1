"""The offline planner: a seeded numeric search over the constants of the evolvable region.

It is not a language model. The search strategy (agents/search) picks where a candidate starts;
this planner asks an Optuna study (agents/offline/numeric.py) for new values of the parent's
numeric constants and tells it every outcome. Its rationale is built from that evidence only:
the parent's figures and weakest workloads, the study's progress, and the strategy's reason.

The study's answers depend on the order of ask and tell, so the planner is `sequential`: the
pipeline calls it in key order, and a resumed run replays those calls to rebuild the study.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from adrs.agents.evolve_block import Literal, Split, fingerprint, split_program
from adrs.agents.offline.numeric import NumericConfig, NumericSearch, Proposal
from adrs.agents.roles import PlanRequest, derive_rng
from adrs.agents.schemas import LiteralEdit, Plan
from adrs.workspace.database import ProgramDatabase
from adrs.workspace.records import ProgramRecord
from adrs.workspace.repository import program_key

STEP_FRACTIONS = (0.1, 0.25, 0.5, 1.0)
# Proposals of a program tried already are answered from the database (no evaluation spent) and
# drawn again, at most this many times; the last one then goes to the critic as it is.
MAX_REDRAWS = 8
SUMMARY_EDITS = 3  # constants named in the one-line summary


@dataclass(frozen=True)
class OfflinePlannerConfig:
    numeric: NumericConfig = field(default_factory=NumericConfig)


@dataclass
class _Progress:
    told: int = 0  # outcomes given to the studies
    best_key: str = ""
    best_score: float | None = None


class OfflinePlanner:
    model_name = "offline"
    sequential = True

    def __init__(self, config: OfflinePlannerConfig | None = None) -> None:
        self.config = config or OfflinePlannerConfig()
        self._searches: dict[str, NumericSearch] = {}  # by skeleton of the region
        self._asked: dict[str, NumericSearch] = {}  # candidate key -> the study it came from
        self._seen = 0  # database records already looked at
        self._progress = _Progress()

    def plan(self, request: PlanRequest) -> list[Plan]:
        self._learn(request.database)
        parent = request.parent or request.database.best
        source = request.repository.program_source(parent.id)
        parts = split_program(source)  # one region, several, or the whole file
        literals = parts.literals()
        if not literals:
            raise RuntimeError("the evolvable region has no numeric constants to tune; "
                               "the offline brain needs at least one (use a model brain)")
        search = self._search(parts.skeleton(), literals, request.seed,
                              parent.score)
        plans = []
        for offset in range(request.count):
            key = program_key(request.iteration, request.slot + offset)
            proposal = self._ask_new(search, key, parts, request.database)
            self._asked[key] = search
            edits = [LiteralEdit(index=lit.index, old=lit.text, new=proposal.texts[lit.index],
                                 label=lit.label)
                     for lit in literals if proposal.texts[lit.index] != lit.text]
            if not edits:  # the sampler landed on the parent itself: move one constant a little
                rng = derive_rng(request.seed, "nudge", key)
                lit = rng.choice(literals)
                edits = [LiteralEdit(index=lit.index, old=lit.text, label=lit.label,
                                     new=nudged_text(lit, rng.choice((1, -1)), STEP_FRACTIONS[0]))]
            plans.append(self._plan(request, parent, search, proposal.trial, edits))
        return plans

    @staticmethod
    def _ask_new(search: NumericSearch, key: str, parts: Split,
                 database: ProgramDatabase) -> Proposal:
        """A proposal whose program the database does not hold yet, if a few draws find one.

        Once a small space of constants is mostly explored (a few integers), a sampler keeps
        landing on programs already tried; each is told the outcome that program had, so the
        study learns it without an evaluation, and the critic does not turn candidate after
        candidate away as duplicates."""
        for _ in range(MAX_REDRAWS):
            proposal = search.ask(key)
            known = database.first_with_fingerprint(fingerprint(parts.with_literals(proposal.texts)))
            if known is None:
                return proposal
            search.tell(key, known.score)
        return search.ask(key)

    def _learn(self, database: ProgramDatabase) -> None:
        """Tell the studies the outcome of every candidate they proposed that is now known."""
        for record in database.recent(max(0, len(database) - self._seen)):
            search = self._asked.pop(record.key, None)
            if search is not None:
                search.tell(record.key, record.score)
                self._progress.told += 1
            if record.score is not None and (self._progress.best_score is None
                                             or record.score > self._progress.best_score):
                self._progress.best_key, self._progress.best_score = record.key, record.score
        self._seen = max(self._seen, len(database))

    def _search(self, shape: str, literals: list[Literal], seed: int,
                score: float | None) -> NumericSearch:
        """The study of this layout of constants, started at the first parent seen with it."""
        if shape not in self._searches:
            study_seed = derive_rng(seed, "study", len(self._searches)).randrange(2**31)
            self._searches[shape] = NumericSearch(literals, study_seed, self.config.numeric,
                                                  start_score=score)
        return self._searches[shape]

    def _plan(self, request: PlanRequest, parent: ProgramRecord, search: NumericSearch,
              trial: int, edits: list[LiteralEdit]) -> Plan:
        named = ", ".join(f"{e.label} {e.old} -> {e.new}" for e in edits[:SUMMARY_EDITS])
        more = f" and {len(edits) - SUMMARY_EDITS} more" if len(edits) > SUMMARY_EDITS else ""
        progress = self._progress
        study = (f"The {search.sampler_name} study over {len(search.literals)} constants has "
                 f"{progress.told} scored trial(s) so far")
        if progress.best_score is not None:
            study += f"; the best program, {progress.best_key}, scores {progress.best_score:.4f}"
        evidence = [_parent_evidence(request.database, parent), study + ".",
                    f"Trial {trial} samples new values for the constants around the sampler's "
                    f"current estimate of the best region."]
        if request.search_note:
            evidence.append(f"Search: {request.search_note}.")
        return Plan(
            parent_id=parent.id,
            summary=f"{search.sampler_name} trial {trial}: {named}{more}",
            hypothesis=" ".join(evidence),
            change="; ".join(f"{e.label}: {e.old} -> {e.new} (literal #{e.index})" for e in edits),
            expected_effect=f"combined_score above the parent's {parent.score:.4f}",
            operator="perturb",
            literal_edits=tuple(edits),
        )


def nudged_text(literal: Literal, direction: int, fraction: float) -> str:
    """A new literal moved in the direction by a fraction of its size, keeping its type and sign."""
    value = literal.value
    if literal.is_int:
        step = max(1, round(abs(value) * fraction))
        moved = int(value) + direction * step
        if value < 0:  # a negative constant may go anywhere; a count stays a count
            return str(moved)
        return str(max(1 if value >= 1 else 0, moved))
    if value == 0:
        return _float_text(direction * fraction)
    factor = 1 + fraction
    return _float_text(value * factor if direction > 0 else value / factor)


def _float_text(value: float) -> str:
    text = f"{value:.4g}"
    return text if any(ch in text for ch in ".en") else text + ".0"


def _parent_evidence(database: ProgramDatabase, parent: ProgramRecord) -> str:
    text = (f"Parent {parent.key} scores {parent.score:.4f} "
            f"(rank {database.rank_of(parent)} of {database.scored_count} scored programs; "
            f"best {database.best.score:.4f}).")
    workloads = parent.message.per_workload
    if workloads:
        worst = sorted(workloads.items(), key=lambda kv: (kv[1], kv[0]))[:2]
        text += " Its weakest workloads: " + ", ".join(f"{n} ({s:.3f})" for n, s in worst) + "."
    return text


__all__ = ["OfflinePlanner", "OfflinePlannerConfig", "nudged_text"]
