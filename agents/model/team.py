"""Build the model-backed team from the run's model settings."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from adrs.agents.model.client import chat_model
from adrs.agents.model.coder import CoderOptions, ModelCoder
from adrs.agents.model.config import ModelSettings
from adrs.agents.model.critic import CriticOptions, ModelCritic
from adrs.agents.model.evaluator import EvaluatorOptions, ModelEvaluator
from adrs.agents.model.gateway import ChatTransport, ModelGateway, ModelSetupError, RetryPolicy
from adrs.agents.model.planner import ModelPlanner, PlannerOptions
from adrs.agents.model.recording import RecordingStore
from adrs.agents.roles import Team
from adrs.agents.usage import ROLES


def model_team(settings: ModelSettings, *, run_root: Path | None = None,
               chat_models: Mapping[str, BaseChatModel] | None = None,
               sleep: Callable[[float], None] = time.sleep) -> Team:
    """The four model roles.

    `chat_models` maps a role (or a model name) to a ready chat model, e.g. a scripted fake in
    tests; the others get a ChatOpenAI. Replaying builds no chat model at all. Recordings go to
    `<run_root>/.adrs/recordings` when the settings ask for it."""
    replay = _replay_store(settings.replay_from) if settings.replay_from else None
    recorder = RecordingStore.of_run(run_root) if settings.record and run_root else None
    retry = RetryPolicy(max_attempts=settings.max_attempts,
                        backoff_seconds=settings.backoff_seconds,
                        max_backoff_seconds=settings.max_backoff_seconds)
    built: dict[str, BaseChatModel] = {}

    def gateway(role: str) -> ModelGateway:
        name = settings.model_for(role)
        transport = None
        if replay is None:
            given = (chat_models or {}).get(role) or (chat_models or {}).get(name)
            if given is None:
                given = built.get(name) or built.setdefault(name, chat_model(name, settings))
            transport = ChatTransport(given, force_tool=settings.force_tool)
        return ModelGateway(name, transport=transport, price=settings.prices.get(name),
                            retry=retry, recorder=recorder, replay=replay, sleep=sleep)

    gateways = {role: gateway(role) for role in ROLES}
    return Team(
        planner=ModelPlanner(gateways["planner"], PlannerOptions(max_repairs=settings.max_repairs)),
        coder=ModelCoder(gateways["coder"], CoderOptions(max_edit_retries=settings.max_edit_retries)),
        critic=ModelCritic(gateways["critic"], CriticOptions(max_repairs=settings.max_repairs)),
        evaluator=ModelEvaluator(gateways["evaluator"], EvaluatorOptions(
            max_tool_calls=settings.max_tool_calls, max_repairs=settings.max_repairs)),
    )


def _replay_store(recorded_run: str) -> RecordingStore:
    store = RecordingStore.of_run(Path(recorded_run))
    if not store.directory.is_dir():
        raise ModelSetupError(f"nothing to replay: {store.directory} does not exist "
                              "(was the run recorded?)")
    return store
