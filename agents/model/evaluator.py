"""The model evaluator: a tool-calling agent over the simulator, writing findings for the planner.

Its tools run the evaluation tool (all training workloads, a named subset) and compare with the
parent per workload. Whatever the model says, the result that enters the database is the tool's
full training evaluation, run here if the model never asked for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel

from adrs.agents.model import views
from adrs.agents.model.answers import AnswerError, close_json, parse_structured, tool_spec, validate
from adrs.agents.model.calls import ModelCall
from adrs.agents.model.gateway import ModelCallFailed, ModelGateway
from adrs.agents.model.schemas import CompareWithParent, EvaluateAll, EvaluateWorkloads, FindingsReport
from adrs.agents.offline.evaluator import compare_with_parent
from adrs.agents.prompts import render
from adrs.agents.roles import Assessment, AssessRequest
from adrs.agents.schemas import Findings
from adrs.agents.usage import UsageMeter
from adrs.tools.evaluation import EvaluationResult, EvaluationTool
from adrs.workspace.database import ProgramRecord
from adrs.workspace.repository import program_key

log = logging.getLogger("adrs.model")
FINDINGS_TOOL = "write_findings"
SIMULATOR_TOOLS: dict[str, type[BaseModel]] = {
    "evaluate_all": EvaluateAll,
    "evaluate_workloads": EvaluateWorkloads,
    "compare_with_parent": CompareWithParent,
}
ARTIFACT_CHARS = 800


@dataclass(frozen=True)
class EvaluatorOptions:
    max_tool_calls: int = 4  # simulator runs the model may ask for
    max_repairs: int = 2


class ModelEvaluator:
    def __init__(self, gateway: ModelGateway, options: EvaluatorOptions = EvaluatorOptions()) -> None:
        self._gateway = gateway
        self._options = options
        self.model_name = gateway.model
        self._tools = tuple(tool_spec(schema, name) for name, schema in SIMULATOR_TOOLS.items()) \
            + (tool_spec(FindingsReport, FINDINGS_TOOL),)

    def assess(self, request: AssessRequest) -> Assessment:
        meter = request.meter or UsageMeter()
        bench = Bench(request.tool, request.candidate_source, request.parent,
                      self._options.max_tool_calls)
        report = self._converse(request, bench, meter)
        result = bench.full()  # the score of record: the tool's, on every training workload
        if report is None:
            meter.add_fault("failed_attempt")
            return Assessment(result=result, findings=compare_with_parent(result, request.parent))
        return Assessment(result=result, findings=_findings(report, result, request.parent),
                          note=views.clip(report.note, 2000))

    def _converse(self, request: AssessRequest, bench: Bench,
                  meter: UsageMeter) -> FindingsReport | None:
        scope = f"{program_key(request.iteration, request.slot)} assess"
        history = self.messages(request)
        malformed = 0
        rounds = self._options.max_tool_calls + self._options.max_repairs + 2
        for turn in range(rounds):
            last = bench.exhausted or turn == rounds - 1
            if last and turn:
                history.append(HumanMessage(render("evaluator", "final")))
            try:
                answer = self._gateway.ask(ModelCall(
                    role="evaluator", scope=scope, messages=tuple(history), tools=self._tools,
                    tool_choice=FINDINGS_TOOL if last else None), meter)
            except ModelCallFailed as exc:
                log.warning("%s: the evaluator's model failed: %s", scope, exc)
                return None
            replies, report, problem = self._handle(answer, bench, meter)
            if report is not None:
                return report
            if problem:
                meter.add_fault("malformed")
                malformed += 1
                if malformed > self._options.max_repairs:
                    log.warning("%s: no usable findings: %s", scope, problem)
                    return None
            history.append(answer)
            history.extend(replies)
            if problem and not replies:
                history.append(HumanMessage(render("common", "repair", error=problem,
                                                   tool=FINDINGS_TOOL)))
        return None

    def _handle(self, answer: AIMessage, bench: Bench,
                meter: UsageMeter) -> tuple[list[ToolMessage], FindingsReport | None, str]:
        """Run the tools the answer calls: (tool replies, findings if written, a problem)."""
        replies: list[ToolMessage] = []
        problem = ""
        for call in answer.tool_calls:
            if call["name"] == FINDINGS_TOOL:
                try:
                    return replies, validate(FindingsReport, call["args"]), ""
                except AnswerError as exc:
                    problem = f"{FINDINGS_TOOL}: {exc}"
                    replies.append(ToolMessage(content=f"error: {problem}",
                                               tool_call_id=call.get("id") or ""))
                    continue
            replies.append(ToolMessage(content=bench.run(call["name"], call["args"]),
                                       tool_call_id=call.get("id") or ""))
        for broken in answer.invalid_tool_calls:
            report = _closed_findings(broken) if broken.get("name") == FINDINGS_TOOL else None
            if report is not None:  # cut-off findings that closing the JSON made whole
                meter.add_fault("repaired")
                return replies, report, ""
            problem = f"the arguments of {broken.get('name')} are not valid JSON"
            replies.append(ToolMessage(content=f"error: {problem}",
                                       tool_call_id=broken.get("id") or ""))
        if not answer.tool_calls and not answer.invalid_tool_calls:
            try:  # findings written as JSON text instead of a tool call
                report, _ = parse_structured(answer, FindingsReport, FINDINGS_TOOL)
                return replies, report, ""
            except AnswerError as exc:
                problem = str(exc)
        return replies, None, problem

    def messages(self, request: AssessRequest) -> list[BaseMessage]:
        plan, parent = request.plan, request.parent
        readme = request.problem.description.strip() if request.problem else "(not given)"
        parent_source = request.parent_source if request.parent_source is not None else ""
        user = render("evaluator", "user", readme=readme, summary=plan.summary,
                      change=plan.change, hypothesis=plan.hypothesis,
                      expected_effect=plan.expected_effect, parent_key=parent.key,
                      diff=views.region_diff(parent_source, request.candidate_source),
                      parent_score=views.number(parent.score),
                      parent_workloads=views.workloads(parent.message.per_workload))
        system = render("evaluator", "system", max_calls=self._options.max_tool_calls)
        return [SystemMessage(system), HumanMessage(user)]


class Bench:
    """The simulator as the agent's tools: bounded, cached, and never the model's word."""

    def __init__(self, tool: EvaluationTool, source: str, parent: ProgramRecord,
                 max_calls: int) -> None:
        self._tool = tool
        self._source = source
        self._parent = parent
        self._max_calls = max_calls
        self._calls = 0
        self._full: EvaluationResult | None = None
        self._subsets: dict[tuple[str, ...], EvaluationResult] = {}

    @property
    def exhausted(self) -> bool:
        return self._calls >= self._max_calls

    def full(self) -> EvaluationResult:
        """The evaluation on every training workload (run once, whoever asks first)."""
        if self._full is None:
            self._full = self._tool.evaluate(self._source)
        return self._full

    def run(self, name: str, args: object) -> str:
        """A tool's reply as text; errors are replies too, so the model can correct itself."""
        schema = SIMULATOR_TOOLS.get(name)
        if schema is None:
            return f"error: no tool {name!r}; the tools are {', '.join(SIMULATOR_TOOLS)} " \
                   f"and {FINDINGS_TOOL}"
        try:
            arguments = validate(schema, args if args else {})
        except AnswerError as exc:
            return f"error: {name}: {exc}"
        if isinstance(arguments, EvaluateWorkloads):
            return self._subset(tuple(dict.fromkeys(arguments.workloads)))
        if self._full is None and not self._spend():
            return self._budget_note()
        result = self.full()
        if isinstance(arguments, CompareWithParent):
            return self._compare(result)
        return describe(result, self._parent)

    def _subset(self, names: tuple[str, ...]) -> str:
        known = set(self._parent.message.per_workload)
        unknown = [name for name in names if known and name not in known]
        if unknown:
            return (f"error: unknown workloads {', '.join(unknown)}; "
                    f"the workloads are {', '.join(sorted(known))}")
        if names not in self._subsets:
            if not self._spend():
                return self._budget_note()
            self._subsets[names] = self._tool.evaluate(self._source, workloads=list(names))
        return describe(self._subsets[names], None)

    def _compare(self, result: EvaluationResult) -> str:
        if not result.ok:
            return f"the candidate has no score to compare: {result.summary_line()}"
        before = self._parent.message.per_workload
        rows = [f"{name}: parent {before[name]:.4f}, candidate {value:.4f}, "
                f"change {value - before[name]:+.4f}"
                for name, value in sorted(result.per_workload.items()) if name in before]
        base = self._parent.score or 0.0
        head = (f"combined_score: parent {base:.4f}, candidate {result.combined_score:.4f}, "
                f"change {result.combined_score - base:+.4f}")
        return "\n".join([head, *rows]) if rows else head + "\n(no per-workload scores to compare)"

    def _spend(self) -> bool:
        if self._calls >= self._max_calls:
            return False
        self._calls += 1
        return True

    def _budget_note(self) -> str:
        return (f"error: the budget of {self._max_calls} simulator calls is used up; "
                f"call {FINDINGS_TOOL}")


def describe(result: EvaluationResult, parent: ProgramRecord | None) -> str:
    """An evaluation as the model sees it: no wall times (they differ between runs)."""
    if result.ok:
        line = f"status ok, combined_score {result.combined_score:.4f}"
        if parent is not None and parent.score is not None:
            line += f" (parent {parent.key} {parent.score:.4f}, " \
                    f"change {result.combined_score - parent.score:+.4f})"
    else:
        line = f"status {result.status.value}: {result.error or 'no reason given'}"
    lines = [line]
    if result.metrics:
        lines.append("metrics: " + ", ".join(f"{k}={v:.6g}" for k, v in sorted(result.metrics.items())))
    if result.per_workload:
        lines.append("per workload: " + views.workloads(dict(result.per_workload)))
    for name, text in sorted(result.artifacts.items()):
        lines.append(f"{name}: {views.clip(text, ARTIFACT_CHARS)}")
    return "\n".join(lines)


def _closed_findings(broken: dict) -> FindingsReport | None:
    """Findings from a cut-off call, if closing its JSON yields valid ones."""
    fixed = close_json(str(broken.get("args") or ""))
    if not isinstance(fixed, dict):
        return None
    try:
        return FindingsReport.model_validate(fixed)
    except ValueError:  # pydantic's ValidationError: not whole after all
        return None


def _findings(report: FindingsReport, result: EvaluationResult, parent: ProgramRecord) -> Findings:
    """The model's findings, led by the tool's own figure so no claim can replace it."""
    if result.ok:
        base = parent.score or 0.0
        fact = (f"Score {result.combined_score:.4f} ({result.combined_score - base:+.4f} "
                f"vs parent {parent.key}).")
    else:
        fact = f"Failed: {result.summary_line()}."
    summary = views.shorten(report.summary, 300)
    return Findings(summary=f"{fact} {summary}".strip(), details=views.clip(report.details, 4000))
