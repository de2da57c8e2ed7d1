"""The model evaluator: the simulator's result, read by a model and written up for the planner.

By default the full training evaluation runs first and the model writes one finding from its
result: a single short call. With `tools` on, the model instead runs the simulator as tools
(bench.py) before writing; that loop costs several calls per candidate and never changes the
score. Whatever the model says, the result that enters the database is the tool's full training
evaluation, run here if the model never asked for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from adrs.agents.model import views
from adrs.agents.model.answers import AnswerError, close_json, parse_structured, tool_spec, validate
from adrs.agents.model.asking import ask_structured
from adrs.agents.model.bench import FINDINGS_TOOL, SIMULATOR_TOOLS, Bench, describe
from adrs.agents.model.calls import ModelCall, ToolsUnsupported
from adrs.agents.model.errors import BudgetExhausted
from adrs.agents.model.gateway import ModelCallFailed, ModelGateway
from adrs.agents.model.schemas import FindingsReport
from adrs.agents.offline.evaluator import compare_with_parent
from adrs.agents.prompts import render
from adrs.agents.roles import Assessment, AssessRequest
from adrs.agents.schemas import Findings
from adrs.agents.usage import UsageMeter
from adrs.tools.evaluation import EvaluationResult
from adrs.workspace.database import ProgramRecord
from adrs.workspace.repository import program_key

log = logging.getLogger("adrs.model")


@dataclass(frozen=True)
class EvaluatorOptions:
    tools: bool = False  # the tool loop; off: one written finding from the full evaluation
    max_tool_calls: int = 4  # simulator runs the model may ask for in the loop
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
        scope = f"{program_key(request.iteration, request.slot)} assess"
        try:
            report = self._report(request, bench, meter, scope)
            if report is None:
                meter.add_fault("failed_attempt")
        except BudgetExhausted:
            report = None
        except ModelCallFailed as exc:
            meter.add_fault("failed_attempt")
            log.warning("%s: no findings from the model: %s", scope, exc)
            report = None
        result = bench.full()  # the score of record: the tool's, on every training workload
        if report is None:
            return Assessment(result=result, findings=compare_with_parent(result, request.parent))
        return Assessment(result=result, findings=_findings(report, result, request.parent),
                          note=views.clip(report.note, 2000))

    def _report(self, request: AssessRequest, bench: Bench, meter: UsageMeter,
                scope: str) -> FindingsReport | None:
        """The model's findings: from its tool loop if asked for and the endpoint allows one,
        else written from the full evaluation's result. None if the loop gave none."""
        if self._options.tools and self._gateway.capabilities().tool_loop:
            try:
                return self._converse(request, bench, meter, scope)
            except ToolsUnsupported:
                log.info("%s: no tool loop on this endpoint; writing findings", scope)
        return self._write(request, bench.full(), meter, scope)

    def _write(self, request: AssessRequest, result: EvaluationResult, meter: UsageMeter,
               scope: str) -> FindingsReport:
        """One call: the findings, written from the full evaluation's result."""
        messages = [SystemMessage(render("evaluator", "system_findings")),
                    HumanMessage(self.user(request) + "\n\n" + render(
                        "evaluator", "result", result=describe(result, request.parent)))]
        return ask_structured(self._gateway, role="evaluator", scope=scope, messages=messages,
                              schema=FindingsReport, tool=FINDINGS_TOOL, meter=meter,
                              max_repairs=self._options.max_repairs, check=lambda report: report)

    def _converse(self, request: AssessRequest, bench: Bench, meter: UsageMeter,
                  scope: str) -> FindingsReport | None:
        """The tool loop: simulator calls the model asks for, then its findings (None if none
        came). ToolsUnsupported if the endpoint cannot offer the model a choice of tools."""
        history = self.messages(request)
        malformed = 0
        rounds = self._options.max_tool_calls + self._options.max_repairs + 2
        for turn in range(rounds):
            last = bench.exhausted or turn == rounds - 1
            if last and turn:
                history.append(HumanMessage(render("evaluator", "final")))
            answer = self._gateway.ask(ModelCall(
                role="evaluator", scope=scope, messages=tuple(history), tools=self._tools,
                tool_choice=FINDINGS_TOOL if last else None), meter)
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

    def user(self, request: AssessRequest) -> str:
        plan, parent = request.plan, request.parent
        readme = request.problem.description.strip() if request.problem else "(not given)"
        parent_source = request.parent_source if request.parent_source is not None else ""
        return render("evaluator", "user", readme=readme, summary=plan.summary,
                      change=plan.change, hypothesis=plan.hypothesis,
                      expected_effect=plan.expected_effect, parent_key=parent.key,
                      diff=views.region_diff(parent_source, request.candidate_source),
                      parent_score=views.number(parent.score),
                      parent_workloads=views.workloads(parent.message.per_workload))

    def messages(self, request: AssessRequest) -> list[BaseMessage]:
        """The tool loop's opening."""
        system = render("evaluator", "system", max_calls=self._options.max_tool_calls)
        return [SystemMessage(system), HumanMessage(self.user(request))]


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
