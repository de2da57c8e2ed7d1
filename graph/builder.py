"""The ADRS state machine.

    launch ──Send×K──▶ slot [plan ──Send──▶ (review) ─▶ code ⇄ critique ─▶ evaluate ─▶ commit ──▶ plan]
           ──▶ report

Each slot loops on its own until nothing is left to plan (graph/slot.py, graph/pipeline.py).
"""

from __future__ import annotations

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph

from adrs.graph.context import RunContext
from adrs.graph.nodes import launch, report
from adrs.graph.slot import build_slot_graph
from adrs.graph.state import RunInput, RunOutput, RunState


def build_graph(checkpointer: BaseCheckpointSaver | None = None):
    builder = StateGraph(RunState, context_schema=RunContext,
                         input_schema=RunInput, output_schema=RunOutput)
    builder.add_node("launch", launch)
    builder.add_node("slot", build_slot_graph())
    builder.add_node("report", report)
    builder.add_edge(START, "launch")
    builder.add_edge("slot", "report")
    builder.add_edge("report", END)
    return builder.compile(checkpointer=checkpointer)
