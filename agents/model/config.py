"""The model brain's settings: which brain plays which role, where it runs, what it costs.

Saved with the run (settings.json), so they never hold an API key: the OpenAI client reads
OPENAI_API_KEY (and OPENAI_BASE_URL unless a base URL is given here) from the environment.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from adrs.agents.model.capabilities import Capabilities, Structured
from adrs.agents.usage import ROLES

OFFLINE = "offline"  # the name that gives a role the offline brain instead of a model
Effort = Literal["minimal", "low", "medium", "high"]
# full: each role asks its own model (plan, code, review, findings: four calls per candidate);
# lean: the planner writes the edit with its plan, so a candidate costs one call, as with the
# peers (OpenEvolve's one prompt); the coder is asked only to repair or revise.
TeamMode = Literal["full", "lean"]


class Price(BaseModel):
    """What one model costs, in dollars per million tokens."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    input: float = Field(ge=0, description="Dollars per million input (prompt) tokens.")
    output: float = Field(ge=0, description="Dollars per million output (completion) tokens.")


class RoleSettings(BaseModel):
    """One role's brain and how its requests are made."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    model: str = Field(min_length=1, description=f"A model name, or {OFFLINE!r} for the offline brain.")
    temperature: float | None = Field(None, ge=0, le=2, description="None: the server's default.")
    max_tokens: int | None = Field(None, gt=0, description="Cap on one answer's tokens (reasoning "
                                                           "included); None: the server's.")
    reasoning_effort: Effort | None = Field(None, description="For reasoning models; None: the "
                                                              "server's default.")

    @property
    def offline(self) -> bool:
        return self.model == OFFLINE


class ModelSettings(BaseModel):
    """How the model brain reaches its models and how hard it tries."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    planner: RoleSettings = Field(description="Plans (a strong reasoning model).")
    coder: RoleSettings = Field(description="Writes the edits.")
    critic: RoleSettings = Field(description="Reviews edits after the static checks.")
    evaluator: RoleSettings = Field(description="Writes findings from the simulator's result.")
    team: TeamMode = Field("full", description="full: a model call per role; lean: the planner "
                                               "writes the edit too (one call per candidate).")
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. "
                                                   "http://localhost:11434/v1; None: the client's.")
    timeout_seconds: float = Field(120.0, gt=0, description="Wait this long for one answer, "
                                                            "counted from when it is sent.")
    max_concurrent_requests: int | None = Field(
        None, ge=1, le=64, description="Requests in flight per endpoint; None: 1 for a local "
                                       "server, 8 for a remote one.")
    max_attempts: int = Field(5, ge=1, le=20, description="Tries of one request on 429/5xx/timeouts.")
    backoff_seconds: float = Field(2.0, ge=0, description="First wait between tries; doubles.")
    max_backoff_seconds: float = Field(60.0, ge=0, description="Longest wait between tries.")
    max_repairs: int = Field(2, ge=0, le=10, description="Re-asks after an answer that misses "
                                                         "its schema.")
    max_edit_retries: int = Field(2, ge=0, le=10, description="Re-asks after an edit that does "
                                                              "not apply.")
    structured: Structured = Field("tool", description="How structured answers are asked for "
                                                       "first; refusals step down from here.")
    evaluator_tools: bool = Field(False, description="Let the evaluator call the simulator as "
                                                     "tools; off: one written finding per result.")
    max_tool_calls: int = Field(4, ge=1, le=20, description="Simulator calls of the evaluator's "
                                                            "tool loop per candidate.")
    capabilities: dict[str, Capabilities] = Field(
        default_factory=dict, description="What each model's endpoint accepts, probed at the "
                                          "start of the run; a model not here is probed lazily.")
    prices: dict[str, Price] = Field(default_factory=dict, description="Price by model name.")
    record: bool = Field(True, description="Record every request and answer in the run.")
    replay_from: str | None = Field(None, description="Answer from this run's recordings, "
                                                      "offline, instead of a server.")

    @field_validator(*ROLES, mode="before")
    @classmethod
    def _name_only(cls, value: object) -> object:
        return {"model": value} if isinstance(value, str) else value

    @field_validator("base_url")
    @classmethod
    def _plain_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base_url must be an http(s) URL, got {value!r}")
        if parts.username or parts.password:
            # Settings are saved with the run; credentials belong in OPENAI_API_KEY.
            raise ValueError("base_url must not contain credentials; set OPENAI_API_KEY instead")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _brains_fit(self) -> ModelSettings:
        if all(self.role(role).offline for role in ROLES):
            raise ValueError("every role is offline: leave out the model settings")
        if self.coder.offline and not self.planner.offline:
            raise ValueError("the offline coder applies the offline planner's literal edits only; "
                             "give the coder a model too (--coder NAME)")
        if self.team == "lean" and self.planner.offline:
            raise ValueError("team lean has the planner's model write the edits; give the "
                             "planner a model (--planner NAME) or use team full")
        return self

    def role(self, role: str) -> RoleSettings:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        return getattr(self, role)

    def model_for(self, role: str) -> str:
        return self.role(role).model

    def model_roles(self) -> list[str]:
        """The roles played by a model (not the offline brain), in role order."""
        return [role for role in ROLES if not self.role(role).offline]

    def names(self) -> list[str]:
        """The distinct model names in use, in role order."""
        return list(dict.fromkeys(self.model_for(role) for role in self.model_roles()))

    def unpriced(self) -> list[str]:
        return [name for name in self.names() if name not in self.prices]
