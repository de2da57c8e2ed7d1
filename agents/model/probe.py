"""Learn what each model's endpoint accepts before the run starts: one short request per model.

The probe asks the way the roles will (a named tool for structured answers, a free choice among
tools for the evaluator's tool loop, plain text for a coder-only model) with the roles' sampling
options. Each refusal steps the model down, exactly as it would mid-run (capabilities.py), so the
run starts with requests the server takes, and a server that refuses for good (a bad key, an
unknown model) or does not answer stops `adrs run` before anything is written. The result is
kept in the run's settings, so a resumed or replayed run asks the same way without probing.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from adrs.agents.model.answers import tool_spec
from adrs.agents.model.calls import ModelCall, ToolsUnsupported
from adrs.agents.model.capabilities import Capabilities, CapabilityBook, ModelFallbackWarning
from adrs.agents.model.config import ModelSettings, RoleSettings
from adrs.agents.model.errors import ModelCallFailed, ModelSetupError
from adrs.agents.model.gateway import ModelGateway, RetryPolicy, Transport
from adrs.agents.model.schemas import ProbeAnswer
from adrs.agents.prompts import render
from adrs.agents.usage import UsageMeter

PROBE_TOKENS = 16  # the answer does not matter, only whether the request is taken
STRUCTURED_ROLES = ("planner", "critic", "evaluator")


def probe_calls(settings: ModelSettings, model: str) -> list[ModelCall]:
    """The requests that show whether `model`'s endpoint takes what its roles will send."""
    roles = [role for role in settings.model_roles() if settings.model_for(role) == model]
    messages = (SystemMessage(render("common", "probe_system")),
                HumanMessage(render("common", "probe_user")))
    probe = tool_spec(ProbeAnswer, "probe")
    calls = []
    if any(role in STRUCTURED_ROLES for role in roles):
        calls.append(ModelCall(roles[0], "probe", messages, tools=(probe,), tool_choice="probe"))
    if "evaluator" in roles and settings.evaluator_tools:
        calls.append(ModelCall("evaluator", "probe loop", messages,
                               tools=(probe, tool_spec(ProbeAnswer, "skip"))))
    return calls or [ModelCall(roles[0], "probe", messages)]


def probe_role(settings: ModelSettings, model: str) -> RoleSettings:
    """The sampling options any role of `model` sets, with a small answer cap."""
    roles = [settings.role(role) for role in settings.model_roles()
             if settings.model_for(role) == model]
    return RoleSettings(
        model=model, max_tokens=PROBE_TOKENS,
        temperature=next((r.temperature for r in roles if r.temperature is not None), None),
        reasoning_effort=next((r.reasoning_effort for r in roles if r.reasoning_effort), None))


def probe(settings: ModelSettings, chat: Callable[[str], BaseChatModel],
          transport: Callable[[BaseChatModel], Transport], *,
          sleep: Callable[[float], None] = time.sleep) -> ModelSettings:
    """The settings with the capabilities of every model not already known.

    `chat` builds a model's chat model and `transport` wraps it (team.py passes both)."""
    book = CapabilityBook(settings.capabilities, Capabilities(structured=settings.structured))
    retry = RetryPolicy(max_attempts=settings.max_attempts, backoff_seconds=settings.backoff_seconds,
                        max_backoff_seconds=settings.max_backoff_seconds)
    learned: dict[str, Capabilities] = dict(settings.capabilities)
    with warnings.catch_warnings():  # the caller reports what was learned, once
        warnings.simplefilter("ignore", ModelFallbackWarning)
        for model in settings.names():
            if model not in learned:
                learned[model] = _probe_one(settings, model, book, chat, transport, retry, sleep)
    return settings.model_copy(update={"capabilities": learned})


def _probe_one(settings: ModelSettings, model: str, book: CapabilityBook,
               chat: Callable[[str], BaseChatModel], transport: Callable[[BaseChatModel], Transport],
               retry: RetryPolicy, sleep: Callable[[float], None]) -> Capabilities:
    gateway = ModelGateway(probe_role(settings, model), transport=transport(chat(model)),
                           book=book, retry=retry, sleep=sleep)
    for call in probe_calls(settings, model):
        try:
            gateway.ask(call, UsageMeter())
        except ToolsUnsupported:
            continue  # learned: the evaluator will write findings without a tool loop
        except ModelCallFailed as exc:
            raise ModelSetupError(f"model {model}: no answer to a first short request: "
                                  f"{exc}") from exc
    return book.get(model)
