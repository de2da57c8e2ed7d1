"""What slots in step cost LangGraph alone: a graph of adrs's shape with no work in it.

    .venv/bin/python bench/lockstep.py [--slots 16] [--rounds 8] [--stagger 0 0.01 0.05]

K slots, each looping plan (sleeps 1 s, the model) -> code -> critique -> evaluate (sleeps
0.5 s) -> commit -> plan, as one subgraph per slot under a run graph with adrs's SQLite saver,
streamed as adrs streams (updates, subgraphs, durability "sync"). Slot s starts s x stagger late.
Prints the median time a slot takes per candidate beyond the ideal 1.5 s: with the slots in
step their steps queue behind each other on the event loop; staggered, they interleave (why
graph/slot.py staggers a run's slots).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, Send

from adrs.graph.checkpoints import InlineSqliteSaver

IDEAL = 1.5


class SlotState(TypedDict, total=False):
    slot: int
    number: int
    plan: dict
    program: str
    outcome: dict


class RunState(TypedDict, total=False):
    started: bool


def build(slots: int, rounds: int, stagger: float, saver: InlineSqliteSaver,
          commits: dict[int, list[float]]):
    async def plan(state: SlotState) -> Command[Literal["code", "__end__"]]:
        number = state["number"] + slots if "number" in state else state["slot"] + 1
        if number > slots * rounds:
            return Command(goto=END)
        if "number" not in state:
            await asyncio.sleep(stagger * state["slot"])
        await asyncio.sleep(1.0)
        return Command(update={"number": number}, goto=Send("code", {
            "slot": state["slot"], "number": number, "plan": {"hypothesis": "h" * 500}}))

    async def code(state: SlotState) -> Command[Literal["critique"]]:
        return Command(goto="critique", update={**state, "program": "x" * 2000})

    async def critique(state: SlotState) -> Command[Literal["evaluate"]]:
        return Command(goto="evaluate")

    async def evaluate(state: SlotState) -> Command[Literal["commit"]]:
        await asyncio.sleep(0.5)
        return Command(goto="commit", update={"outcome": {"score": 1.0, "summary": "s" * 300}})

    async def commit(state: SlotState) -> Command[Literal["plan"]]:
        commits.setdefault(state["slot"], []).append(time.perf_counter())
        return Command(goto="plan")

    slot = StateGraph(SlotState)
    for node in (plan, code, critique, evaluate, commit):
        slot.add_node(node.__name__, node)
    slot.add_edge(START, "plan")

    def launch(state: RunState) -> Command[Literal["slot"]]:
        return Command(goto=[Send("slot", {"slot": s}) for s in range(slots)])

    run = StateGraph(RunState)
    run.add_node("launch", launch)
    run.add_node("slot", slot.compile())
    run.add_edge(START, "launch")
    run.add_edge("slot", END)
    return run.compile(checkpointer=saver)


def overhead(slots: int, rounds: int, stagger: float) -> float:
    """Median ms per candidate beyond the ideal, between a slot's consecutive commits."""
    commits: dict[int, list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        connection = sqlite3.connect(Path(folder) / "checkpoints.sqlite", check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        graph = build(slots, rounds, stagger, InlineSqliteSaver(connection), commits)

        async def drive() -> None:
            config = {"configurable": {"thread_id": "bench"}, "recursion_limit": 10 * rounds + 50}
            async for _ in graph.astream({"started": True}, config, stream_mode="updates",
                                         subgraphs=True, durability="sync"):
                pass

        asyncio.run(drive())
        connection.close()
    cycles = [b - a for times in commits.values() for a, b in zip(times, times[1:])]
    return (statistics.median(cycles) - IDEAL) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slots", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--stagger", type=float, nargs="*", default=[0.0, 0.01, 0.05])
    args = parser.parse_args()
    print(f"{args.slots} slots, {args.rounds} candidates each; median ms per candidate beyond "
          f"the ideal {IDEAL} s\n\n{'stagger s':>9} {'ms':>6}")
    for stagger in args.stagger:
        print(f"{stagger:>9g} {overhead(args.slots, args.rounds, stagger):>6.1f}")


if __name__ == "__main__":
    main()
