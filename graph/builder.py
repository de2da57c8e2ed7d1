"""The ADRS state machine.

    plan ──Send×width──▶ candidate [(review) ─▶ code ⇄ critique ─▶ evaluate] ──▶ select ──▶ plan | report
"""

from __future__ import annotations

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph

from adrs.graph.candidate import build_candidate_graph
from adrs.graph.context import RunContext
from adrs.graph.nodes import plan, report, select
from adrs.graph.review import with_review
from adrs.graph.state import RunInput, RunOutput, RunState


def build_graph(checkpointer: BaseCheckpointSaver | None = None):
    builder = StateGraph(RunState, context_schema=RunContext,
                         input_schema=RunInput, output_schema=RunOutput)
    builder.add_node("plan", plan)
    builder.add_node("candidate", with_review(build_candidate_graph()))
    builder.add_node("select", select)
    builder.add_node("report", report)
    builder.add_edge(START, "plan")
    builder.add_edge("candidate", "select")
    builder.add_edge("report", END)
    return builder.compile(checkpointer=checkpointer)
