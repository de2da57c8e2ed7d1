"""The chat model behind a role: langchain-openai's ChatOpenAI, for OpenAI or any compatible server.

The API key is never passed in here: the OpenAI client reads OPENAI_API_KEY itself (and
OPENAI_BASE_URL when no base URL is configured). A local server without a key gets a
placeholder, since such servers ignore the key but the client insists on one.
"""

from __future__ import annotations

import os

import openai
from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI

from adrs.agents.model.config import ModelSettings
from adrs.agents.model.errors import ModelSetupError

LOCAL_PLACEHOLDER_KEY = "no-key-needed"


def chat_model(name: str, settings: ModelSettings) -> BaseChatModel:
    """A ChatOpenAI for `name`; the gateway does the retrying, so the client's own is off.

    Sampling options (temperature, max_tokens, reasoning_effort) go with each request, per role
    and only where the endpoint accepts them, so none is set here."""
    options: dict[str, object] = {"model": name, "timeout": settings.timeout_seconds,
                                  "max_retries": 0}
    if settings.base_url:
        options["base_url"] = settings.base_url
    has_key = bool(os.environ.get("OPENAI_API_KEY"))
    local = bool(settings.base_url or os.environ.get("OPENAI_BASE_URL")
                 or os.environ.get("OPENAI_API_BASE"))
    if not has_key:
        if not local:
            raise ModelSetupError("the model brain needs OPENAI_API_KEY, or a local server "
                                  "through --base-url or OPENAI_BASE_URL")
        options["api_key"] = LOCAL_PLACEHOLDER_KEY
    try:
        return ChatOpenAI(**options)
    except openai.OpenAIError as exc:
        raise ModelSetupError(f"cannot set up model {name}: {' '.join(str(exc).split())}") from exc
