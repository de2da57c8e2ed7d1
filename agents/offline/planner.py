"""The offline planner: a seeded search over the numeric constants of the evolvable region.

It is not a language model. It picks a parent (tournament or uniform, to balance exploitation and
exploration), then either nudges one constant, steered by what earlier nudges of that constant did,
or recombines the constants of two elites. Its rationale is built from that evidence only.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from adrs.agents.evolve_block import Literal, split_program
from adrs.agents.roles import PlanRequest, derive_rng
from adrs.agents.schemas import LiteralEdit, Plan
from adrs.workspace.database import ProgramDatabase, ProgramRecord
from adrs.workspace.repository import RunRepository

STEP_FRACTIONS = (0.1, 0.25, 0.5, 1.0)


@dataclass(frozen=True)
class OfflinePlannerConfig:
    exploit_ratio: float = 0.7  # share of parents chosen by tournament rather than uniformly
    tournament_size: int = 3
    crossover_rate: float = 0.25
    explore_rate: float = 0.35  # share of nudges on a random constant rather than the best-known one
    max_tries: int = 8  # attempts to find a plan not already taken in this batch


@dataclass(frozen=True)
class NudgeStats:
    """What earlier single-constant nudges did: arm = (literal index, direction)."""

    tries: int
    mean_delta: float
    best_delta: float
    best_key: str


class OfflinePlanner:
    model_name = "offline"

    def __init__(self, config: OfflinePlannerConfig = OfflinePlannerConfig()) -> None:
        self.config = config
        self._cache: dict[str, str] = {}  # program text by commit id: commits never change

    def plan(self, request: PlanRequest) -> list[Plan]:
        rng = derive_rng(request.seed, "plan", request.iteration)
        sources = _SourceReader(request.repository, self._cache)
        stats = nudge_history(request.database, sources)
        plans: list[Plan] = []
        for slot in range(request.count):
            plans.append(self._plan_one(request, slot, rng, sources, stats, plans))
        return plans

    def _plan_one(self, request: PlanRequest, slot: int, rng: random.Random,
                  sources: _SourceReader, stats: dict[tuple[int, int], NudgeStats],
                  taken: list[Plan]) -> Plan:
        database = request.database
        plan: Plan | None = None
        for _ in range(self.config.max_tries):
            parent = database.sample_parent(rng, exploit_ratio=self.config.exploit_ratio,
                                            tournament_size=self.config.tournament_size)
            if rng.random() < self.config.crossover_rate:
                plan = self._crossover(database, parent, rng, sources)
            if plan is None:
                plan = self._nudge(database, parent, rng, sources, stats)
            if plan is not None and not any(_same_change(plan, other) for other in taken):
                return plan
        if plan is None:
            raise RuntimeError("the evolvable region has no numeric constants to tune; "
                               "the offline brain needs at least one (use a model brain)")
        return plan  # a repeat within the batch; the critic will send it back for revision

    def _nudge(self, database: ProgramDatabase, parent: ProgramRecord, rng: random.Random,
               sources: _SourceReader, stats: dict[tuple[int, int], NudgeStats]) -> Plan | None:
        literals = split_program(sources(parent.id)).literals()
        if not literals:
            return None
        arms = [(lit.index, d) for lit in literals for d in (1, -1) if _can_move(lit, d)]
        known = [arm for arm in arms if arm in stats and stats[arm].mean_delta > 0]
        if known and rng.random() >= self.config.explore_rate:
            index, direction = max(known, key=lambda arm: (stats[arm].mean_delta, -arm[0], arm[1]))
            why = "the best-performing direction so far"
        else:
            index, direction = rng.choice(arms)
            why = "exploring"
        literal = literals[index]
        new_text = nudged_text(literal, direction, rng.choice(STEP_FRACTIONS))
        verb = "Raise" if direction > 0 else "Lower"
        history = stats.get((index, direction))
        evidence = [_parent_evidence(database, parent)]
        if history:
            evidence.append(f"Earlier {verb.lower()}s of {literal.label} ({history.tries} tried) "
                            f"changed the score by {history.mean_delta:+.4f} on average "
                            f"(best {history.best_delta:+.4f} in {history.best_key}).")
        else:
            evidence.append(f"{verb}ing {literal.label} has not been tried from this lineage.")
        evidence.append(f"Chosen as {why}.")
        return Plan(
            parent_id=parent.id,
            summary=f"{verb} {literal.label} {literal.text} -> {new_text}",
            hypothesis=" ".join(evidence),
            change=f"{literal.label}: {literal.text} -> {new_text} "
                   f"(literal #{index}, line {literal.line} of the region)",
            expected_effect=f"combined_score above the parent's {parent.score:.4f}",
            operator="perturb",
            literal_edits=(LiteralEdit(index=index, old=literal.text, new=new_text,
                                       label=literal.label),),
        )

    def _crossover(self, database: ProgramDatabase, parent: ProgramRecord, rng: random.Random,
                   sources: _SourceReader) -> Plan | None:
        mine = split_program(sources(parent.id))
        mates = [r for r in database.top(6) if r.id != parent.id
                 and split_program(sources(r.id)).skeleton() == mine.skeleton()
                 and split_program(sources(r.id)).regions != mine.regions]
        if not mates:
            return None
        mate = rng.choice(mates)
        ours = mine.literals()
        theirs = split_program(sources(mate.id)).literals()
        differing = [i for i, (a, b) in enumerate(zip(ours, theirs)) if a.text != b.text]
        if len(differing) < 2:
            return None  # taking the one difference would only copy the mate
        chosen = [i for i in differing if rng.random() < 0.5] or [rng.choice(differing)]
        if len(chosen) == len(differing):
            chosen.remove(rng.choice(chosen))  # keep something of each parent
        edits = tuple(LiteralEdit(index=i, old=ours[i].text, new=theirs[i].text,
                                  label=ours[i].label) for i in chosen)
        labels = ", ".join(edit.label for edit in edits)
        return Plan(
            parent_id=parent.id,
            second_parent_id=mate.id,
            summary=f"Cross {parent.key} with {mate.key}: take {labels}"[:120],
            hypothesis=(f"{_parent_evidence(database, parent)} {mate.key} scores "
                        f"{mate.score:.4f} with different constants; combining the two elites "
                        f"may keep what each got right."),
            change="; ".join(f"{e.label}: {e.old} -> {e.new}" for e in edits),
            expected_effect=f"combined_score above both parents "
                            f"({parent.score:.4f}, {mate.score:.4f})",
            operator="crossover",
            literal_edits=edits,
        )


def nudged_text(literal: Literal, direction: int, fraction: float) -> str:
    """A new literal moved in the direction by a fraction of its size, keeping its type and sign."""
    value = literal.value
    if literal.is_int:
        step = max(1, round(abs(value) * fraction))
        floor = 1 if value >= 1 else 0
        return str(max(floor, int(value) + direction * step))
    if value == 0:
        return _float_text(direction * fraction)
    factor = 1 + fraction
    return _float_text(value * factor if direction > 0 else value / factor)


def _float_text(value: float) -> str:
    text = f"{value:.4g}"
    return text if any(ch in text for ch in ".en") else text + ".0"


def _can_move(literal: Literal, direction: int) -> bool:
    return not (literal.is_int and direction < 0 and literal.value <= 1)


def nudge_history(database: ProgramDatabase, sources: _SourceReader) -> dict[tuple[int, int], NudgeStats]:
    """Score change of every earlier single-constant change, grouped by (literal, direction)."""
    deltas: dict[tuple[int, int], list[tuple[float, str]]] = {}
    for record in database.records:
        if record.parent_id is None or record.status not in ("evaluated", "failed"):
            continue
        try:
            parent = database.get(record.parent_id)
        except KeyError:
            continue
        if parent.score is None:
            continue
        child_lits = split_program(sources(record.id)).literals()
        parent_lits = split_program(sources(parent.id)).literals()
        if len(child_lits) != len(parent_lits):
            continue
        changed = [(c, p) for c, p in zip(child_lits, parent_lits) if c.text != p.text]
        if len(changed) != 1:
            continue
        child, before = changed[0]
        direction = 1 if child.value > before.value else -1
        delta = (record.score if record.score is not None else 0.0) - parent.score
        deltas.setdefault((child.index, direction), []).append((delta, record.key))
    return {arm: NudgeStats(len(items), sum(d for d, _ in items) / len(items),
                            max(items)[0], max(items)[1]) for arm, items in deltas.items()}


def _parent_evidence(database: ProgramDatabase, parent: ProgramRecord) -> str:
    scored = database.evaluated
    rank = 1 + sum(1 for r in scored if (r.score or 0) > (parent.score or 0))
    text = (f"Parent {parent.key} scores {parent.score:.4f} "
            f"(rank {rank} of {len(scored)} scored programs; best {database.best.score:.4f}).")
    workloads = parent.message.per_workload
    if workloads:
        worst = sorted(workloads.items(), key=lambda kv: (kv[1], kv[0]))[:2]
        text += " Its weakest workloads: " + ", ".join(f"{n} ({s:.3f})" for n, s in worst) + "."
    return text


def _same_change(a: Plan, b: Plan) -> bool:
    return a.parent_id == b.parent_id and a.literal_edits == b.literal_edits


class _SourceReader:
    """Program text by commit id, read once."""

    def __init__(self, repository: RunRepository, cache: dict[str, str]) -> None:
        self._repository = repository
        self._cache = cache

    def __call__(self, commit_id: str) -> str:
        if commit_id not in self._cache:
            self._cache[commit_id] = self._repository.program_source(commit_id)
        return self._cache[commit_id]


__all__ = ["OfflinePlanner", "OfflinePlannerConfig", "nudged_text", "nudge_history"]
