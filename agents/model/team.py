"""Build a team from the run's model settings: each role a model, or the offline brain."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from adrs.agents.model.capabilities import Capabilities, CapabilityBook
from adrs.agents.model.client import chat_model
from adrs.agents.model.coder import CoderOptions, ModelCoder
from adrs.agents.model.config import ModelSettings
from adrs.agents.model.critic import CriticOptions, ModelCritic
from adrs.agents.model.endpoints import EndpointSlots, effective_base_url
from adrs.agents.model.errors import ModelSetupError
from adrs.agents.model.evaluator import EvaluatorOptions, ModelEvaluator
from adrs.agents.model.gateway import ChatTransport, ModelGateway, RetryPolicy
from adrs.agents.model.planner import ModelPlanner, PlannerOptions
from adrs.agents.model.probe import probe
from adrs.agents.model.recording import RecordingStore
from adrs.agents.offline import OfflineCoder, OfflineCritic, OfflineEvaluator, OfflinePlanner
from adrs.agents.roles import Team
from adrs.agents.usage import ROLES, SpendLedger

ChatModels = Mapping[str, BaseChatModel]


class _Chats:
    """Chat models by name (one per model, shared by its roles) and their transports."""

    def __init__(self, settings: ModelSettings, given: ChatModels | None) -> None:
        self._settings = settings
        self._given = dict(given or {})
        self._built: dict[str, BaseChatModel] = {}
        self._url = effective_base_url(settings.base_url)
        self._slots = EndpointSlots(settings.max_concurrent_requests)

    def chat(self, name: str, role: str = "") -> BaseChatModel:
        given = self._given.get(role) or self._given.get(name)
        if given is not None:
            return given
        if name not in self._built:
            self._built[name] = chat_model(name, self._settings)
        return self._built[name]

    def transport(self, model: BaseChatModel) -> ChatTransport:
        return ChatTransport(model, url=self._url, slots=self._slots)


def model_team(settings: ModelSettings, *, run_root: Path | None = None,
               chat_models: ChatModels | None = None,
               sleep: Callable[[float], None] = time.sleep) -> Team:
    """The team the settings describe; roles named `offline` get the offline brain.

    `chat_models` maps a role (or a model name) to a ready chat model, e.g. a scripted fake in
    tests; the others get a ChatOpenAI. Replaying builds no chat model at all. Recordings go to
    `<run_root>/.adrs/recordings` when the settings ask for it."""
    replay = _replay_store(settings.replay_from) if settings.replay_from else None
    recorder = RecordingStore.of_run(run_root) if settings.record and run_root else None
    retry = _retry(settings)
    book = CapabilityBook(settings.capabilities, Capabilities(structured=settings.structured))
    spend = SpendLedger()
    chats = _Chats(settings, chat_models)

    def gateway(role: str) -> ModelGateway:
        name = settings.model_for(role)
        transport = None if replay else chats.transport(chats.chat(name, role))
        return ModelGateway(settings.role(role), transport=transport, book=book,
                            price=settings.prices.get(name), retry=retry, recorder=recorder,
                            replay=replay, spend=spend, sleep=sleep)

    def brain(role: str, model: Callable[[ModelGateway], object], offline: object) -> object:
        return offline if settings.role(role).offline else model(gateway(role))

    repairs = settings.max_repairs
    return Team(
        planner=brain("planner", lambda g: ModelPlanner(g, PlannerOptions(
            max_repairs=repairs, write_edits=settings.team == "lean")), OfflinePlanner()),
        coder=brain("coder", lambda g: ModelCoder(g, CoderOptions(
            max_edit_retries=settings.max_edit_retries)), OfflineCoder()),
        critic=brain("critic", lambda g: ModelCritic(g, CriticOptions(max_repairs=repairs)),
                     OfflineCritic()),
        evaluator=brain("evaluator", lambda g: ModelEvaluator(g, EvaluatorOptions(
            tools=settings.evaluator_tools, max_tool_calls=settings.max_tool_calls,
            max_repairs=repairs)), OfflineEvaluator()),
        spend=spend,
    )


def role_gateway(settings: ModelSettings, role: str, *,
                 chat: BaseChatModel | None = None) -> ModelGateway:
    """One role's gateway outside a run (`adrs new` drafts with it): no recording, no budget."""
    chats = _Chats(settings, {role: chat} if chat is not None else None)
    name = settings.model_for(role)
    return ModelGateway(settings.role(role), transport=chats.transport(chats.chat(name, role)),
                        book=CapabilityBook(settings.capabilities,
                                            Capabilities(structured=settings.structured)),
                        price=settings.prices.get(name), retry=_retry(settings))


def _retry(settings: ModelSettings) -> RetryPolicy:
    return RetryPolicy(max_attempts=settings.max_attempts, backoff_seconds=settings.backoff_seconds,
                       max_backoff_seconds=settings.max_backoff_seconds)


def probed(settings: ModelSettings, *, chat_models: ChatModels | None = None,
           sleep: Callable[[float], None] = time.sleep) -> ModelSettings:
    """The settings with what each model's endpoint accepts (probe.py); a replay needs none."""
    if settings.replay_from:
        return settings
    chats = _Chats(settings, chat_models)
    return probe(settings, chats.chat, chats.transport, sleep=sleep)


def _replay_store(recorded_run: str) -> RecordingStore:
    store = RecordingStore.of_run(Path(recorded_run))
    if not store.directory.is_dir():
        raise ModelSetupError(f"nothing to replay: {store.directory} does not exist "
                              "(was the run recorded?)")
    return store


__all__ = ["ROLES", "model_team", "probed", "role_gateway"]
