"""The model brain's settings: which model plays which role, where it runs, what it costs.

Saved with the run (settings.json), so they never hold an API key: the OpenAI client reads
OPENAI_API_KEY (and OPENAI_BASE_URL unless a base URL is given here) from the environment.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from adrs.agents.usage import ROLES


class Price(BaseModel):
    """What one model costs, in dollars per million tokens."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    input: float = Field(ge=0, description="Dollars per million input (prompt) tokens.")
    output: float = Field(ge=0, description="Dollars per million output (completion) tokens.")


class ModelSettings(BaseModel):
    """How the model brain reaches its models and how hard it tries."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    planner: str = Field(min_length=1, description="Model that plans (a strong reasoning model).")
    coder: str = Field(min_length=1, description="Model that writes the edits.")
    critic: str = Field(min_length=1, description="Model that reviews edits.")
    evaluator: str = Field(min_length=1, description="Model that runs the simulator tools.")
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. "
                                                   "http://localhost:11434/v1; None: the client's.")
    temperature: float | None = Field(None, ge=0, le=2, description="None: the server's default.")
    timeout_seconds: float = Field(120.0, gt=0, description="Wait for one answer this long.")
    max_attempts: int = Field(5, ge=1, le=20, description="Tries of one request on 429/5xx/timeouts.")
    backoff_seconds: float = Field(2.0, ge=0, description="First wait between tries; doubles.")
    max_backoff_seconds: float = Field(60.0, ge=0, description="Longest wait between tries.")
    max_repairs: int = Field(2, ge=0, le=10, description="Re-asks after an answer that misses "
                                                         "its schema.")
    max_edit_retries: int = Field(2, ge=0, le=10, description="Re-asks after an edit that does "
                                                              "not apply.")
    max_tool_calls: int = Field(4, ge=1, le=20, description="Simulator calls of the evaluator "
                                                            "agent per candidate.")
    max_answer_tokens: int | None = Field(None, gt=0, description="Cap on one answer's tokens.")
    force_tool: bool = Field(True, description="Name the tool a structured answer must call "
                                               "(tool_choice); off for servers that reject it.")
    prices: dict[str, Price] = Field(default_factory=dict, description="Price by model name.")
    record: bool = Field(True, description="Record every request and answer in the run.")
    replay_from: str | None = Field(None, description="Answer from this run's recordings, "
                                                      "offline, instead of a server.")

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

    def model_for(self, role: str) -> str:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        return str(getattr(self, role))

    def names(self) -> list[str]:
        """The distinct model names, in role order."""
        return list(dict.fromkeys(self.model_for(role) for role in ROLES))

    def unpriced(self) -> list[str]:
        return [name for name in self.names() if name not in self.prices]
