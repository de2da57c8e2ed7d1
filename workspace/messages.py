"""The commit message of one program: a summary line, a body of sections, git trailers.

Layout (trailers are the last paragraph, so `git interpret-trailers --parse` and
`git log --format=%(trailers)` read them, and nothing in the body is mistaken for one):

    <summary, one line of at most 72 characters>

    ## Hypothesis
    <text>

    ## Critic
    <text>

    Status: evaluated
    Iteration: 3
    ...

A program whose plan a person reviewed (`adrs run --review`) also carries that person's words:
`Reviewed-by: <name>`, and, when they changed the plan, `Review-Hypothesis: <their hypothesis>`
or `Review-Parent: <the program they chose>` with `Review-Planned-Parent: <the planner's>`.

Section texts are normalised on construction (CRLF -> LF, trailing spaces and outer blank lines
removed) so that `from_text(m.to_text()) == m` and `to_text(from_text(t)) == t` hold exactly.
A body line that would read as a section header or as git's patch divider ("---") is escaped
with one leading backslash; the escape is reversible (see `_escape_line`).
"""

from __future__ import annotations

import math
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SUMMARY_MAX = 72
FEEDBACK_MAX = 2000
ELLIPSIS = "…"

Status = Literal["baseline", "evaluated", "rejected", "failed"]
SCORED_STATUSES: frozenset[str] = frozenset({"baseline", "evaluated"})

# Body sections in the order they are written: (field name, header line).
_SECTIONS: tuple[tuple[str, str], ...] = (
    ("hypothesis", "## Hypothesis"),
    ("verdict", "## Critic"),
    ("findings", "## Findings"),
    ("feedback", "## Feedback"),
)
_HEADERS = frozenset(header for _, header in _SECTIONS)
_WHITESPACE = re.compile(r"\s+")
_WORD = re.compile(r"^[A-Za-z0-9_.-]+$")


def _collapse(text: str) -> str:
    """One line: every run of whitespace (newlines included) becomes one space."""
    return _WHITESPACE.sub(" ", text).strip()


def _normalise_block(text: str) -> str:
    """The canonical form of a section text (what survives a trip through the message)."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip("\n")


def _needs_escape(line: str) -> bool:
    # Decided on the line without its leading backslashes, which makes escaping a bijection.
    bare = line.lstrip("\\")
    return bare in _HEADERS or bare.startswith("---")


def _escape_line(line: str) -> str:
    return "\\" + line if _needs_escape(line) else line


def _unescape_line(line: str) -> str:
    return line[1:] if line.startswith("\\") and _needs_escape(line) else line


def _format_float(value: float) -> str:
    return repr(float(value))


class Review(BaseModel):
    """A person's review of the plan behind a program: who, and what they changed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reviewer: str = Field(description="Who reviewed the plan (Reviewed-by trailer).")
    hypothesis: str = Field("", description="The hypothesis as the person rewrote it, on one line "
                                            "(Review-Hypothesis); empty if they kept the planner's.")
    parent: str = Field("", description="The program the person chose as parent instead of the "
                                        "planner's (Review-Parent); empty if they kept it.")
    planned_parent: str = Field("", description="The planner's parent when the person chose "
                                                "another (Review-Planned-Parent).")

    @field_validator("reviewer", "hypothesis", "parent", "planned_parent")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return _collapse(value)

    @model_validator(mode="after")
    def _complete(self) -> Review:
        if not self.reviewer:
            raise ValueError("a review needs the reviewer's name")
        if bool(self.parent) != bool(self.planned_parent):
            raise ValueError("a redirected review names both the chosen and the planned parent")
        return self

    def trailers(self) -> list[tuple[str, str]]:
        pairs = [("Reviewed-by", self.reviewer)]
        if self.hypothesis:
            pairs.append(("Review-Hypothesis", self.hypothesis))
        if self.parent:
            pairs += [("Review-Parent", self.parent), ("Review-Planned-Parent", self.planned_parent)]
        return pairs

    def describe(self) -> str:
        """One line for people: who reviewed and what they changed."""
        changes = [f"hypothesis rewritten: {self.hypothesis}"] if self.hypothesis else []
        if self.parent:
            changes.append(f"parent {self.parent[:10]} instead of {self.planned_parent[:10]}")
        return f"{self.reviewer}: " + ("; ".join(changes) if changes else "approved as planned")


_REVIEW_TRAILERS = {"Reviewed-by": "reviewer", "Review-Hypothesis": "hypothesis",
                    "Review-Parent": "parent", "Review-Planned-Parent": "planned_parent"}


class CandidateMessage(BaseModel):
    """What git records about one program: the plan, the review, the figures."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    summary: str = Field(description="One line, at most 72 characters (longer ones end in '…').")
    hypothesis: str = Field("", description="What the change is and why; body section 'Hypothesis'.")
    verdict: str = Field("", description="The critic's verdict and reasons; body section 'Critic'.")
    findings: str = Field("", description="The evaluator's findings; body section 'Findings'.")
    feedback: str = Field("", description="Evaluation artifacts text, truncated; section 'Feedback'.")
    status: Status = Field(description="baseline, evaluated, rejected or failed.")
    iteration: int = Field(ge=0, description="The search iteration that produced this program.")
    slot: int = Field(0, ge=0, description="Index of the candidate within its iteration.")
    island: int = Field(0, ge=0, description="The island (sub-population) of the program.")
    score: float | None = Field(None, description="combined_score; None for rejected/failed.")
    metrics: dict[str, float] = Field(default_factory=dict, description="Numeric metrics.")
    per_workload: dict[str, float] = Field(default_factory=dict, description="Score per workload.")
    operator: str = Field("", description="How it was made: perturb, crossover, llm-edit, ...")
    model: str = Field("offline", description="The model that wrote it (Agent-Model trailer).")
    fingerprint: str = Field("", description="The critic's duplicate key.")
    extra_parents: list[str] = Field(default_factory=list, description="Other parents (shas).")
    isolation: str = Field("", description="The isolation the candidate ran under (bwrap, "
                           "namespaces, landlock, none); Isolation trailer.")
    usage: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="Model spend of this candidate, per role (Usage trailers).")
    faults: dict[str, int] = Field(default_factory=dict,
                                   description="Model faults met by this candidate (Faults trailer).")
    review: Review | None = Field(None, description="A person's review of the plan, if any.")

    @field_validator("summary")
    @classmethod
    def _one_line_summary(cls, value: str) -> str:
        line = _collapse(value)
        if not line:
            raise ValueError("summary is empty")
        if len(line) > SUMMARY_MAX:
            line = line[: SUMMARY_MAX - 1].rstrip() + ELLIPSIS
        return line

    @field_validator("hypothesis", "verdict", "findings")
    @classmethod
    def _block(cls, value: str) -> str:
        return _normalise_block(value)

    @field_validator("feedback")
    @classmethod
    def _truncated_block(cls, value: str) -> str:
        text = _normalise_block(value)
        if len(text) > FEEDBACK_MAX:
            text = text[: FEEDBACK_MAX - 1].rstrip() + ELLIPSIS
        return text

    @field_validator("operator", "model", "fingerprint", "isolation")
    @classmethod
    def _trailer_value(cls, value: str) -> str:
        return _collapse(value)

    @field_validator("extra_parents")
    @classmethod
    def _parents(cls, value: list[str]) -> list[str]:
        parents = [_collapse(sha) for sha in value]
        if any(not sha or " " in sha for sha in parents):
            raise ValueError(f"extra_parents must be revision ids without spaces: {value!r}")
        return parents

    @field_validator("metrics", "per_workload")
    @classmethod
    def _figures(cls, value: dict[str, float]) -> dict[str, float]:
        for name, number in value.items():
            if not name or name != name.strip() or "\n" in name or "\r" in name:
                raise ValueError(f"figure name must be one line without outer spaces: {name!r}")
            if not math.isfinite(number):
                raise ValueError(f"figure {name} is not finite: {number!r}")
        return dict(sorted(value.items()))

    @field_validator("usage")
    @classmethod
    def _spend(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for role, row in value.items():
            if not _WORD.match(role) or any(not _WORD.match(k) or not math.isfinite(v)
                                            for k, v in row.items()):
                raise ValueError(f"usage of {role!r} must map words to finite numbers")
        return {role: dict(sorted(row.items())) for role, row in sorted(value.items()) if row}

    @field_validator("faults")
    @classmethod
    def _fault_counts(cls, value: dict[str, int]) -> dict[str, int]:
        if any(not _WORD.match(kind) for kind in value):
            raise ValueError(f"fault kinds must be words: {sorted(value)!r}")
        return {kind: count for kind, count in sorted(value.items()) if count}

    @model_validator(mode="after")
    def _score_matches_status(self) -> CandidateMessage:
        scored = self.status in SCORED_STATUSES
        if scored and self.score is None:
            raise ValueError(f"a {self.status} program needs a score")
        if not scored and self.score is not None:
            raise ValueError(f"a {self.status} program has no score")
        if self.score is not None and not math.isfinite(self.score):
            raise ValueError(f"score is not finite: {self.score!r}")
        return self

    def trailers(self) -> list[tuple[str, str]]:
        """The (key, value) trailers in the order they are written."""
        pairs = [("Status", self.status), ("Iteration", str(self.iteration)),
                 ("Slot", str(self.slot)), ("Island", str(self.island))]
        if self.score is not None:
            pairs.append(("Score", _format_float(self.score)))
        if self.operator:
            pairs.append(("Operator", self.operator))
        pairs.append(("Agent-Model", self.model))
        if self.isolation:
            pairs.append(("Isolation", self.isolation))
        if self.fingerprint:
            pairs.append(("Fingerprint", self.fingerprint))
        pairs += [("Also-From", sha) for sha in self.extra_parents]
        pairs += self.review.trailers() if self.review else []
        pairs += [("Metric", f"{k}={_format_float(v)}") for k, v in sorted(self.metrics.items())]
        pairs += [("Workload", f"{k}={_format_float(v)}")
                  for k, v in sorted(self.per_workload.items())]
        pairs += [("Usage", " ".join([role, *(f"{k}={_format_float(v)}" for k, v in row.items())]))
                  for role, row in self.usage.items()]
        if self.faults:
            pairs.append(("Faults", " ".join(f"{k}={v}" for k, v in self.faults.items())))
        return pairs

    def to_text(self) -> str:
        """The full commit message, ending with one newline."""
        paragraphs = [_escape_line(self.summary)]
        for field, header in _SECTIONS:
            text = getattr(self, field)
            if text:
                body = "\n".join(_escape_line(line) for line in text.split("\n"))
                paragraphs.append(f"{header}\n{body}")
        paragraphs.append("\n".join(f"{key}: {value}" for key, value in self.trailers()))
        return "\n\n".join(paragraphs) + "\n"

    @classmethod
    def from_text(cls, text: str) -> CandidateMessage:
        """Parse a message written by `to_text`; ValueError names what is malformed."""
        text = text.rstrip("\n")
        head, sep, trailer_block = text.rpartition("\n\n")
        if not sep:
            raise ValueError("commit message has no trailer paragraph")
        summary_line, _, middle = head.partition("\n\n")
        fields: dict[str, object] = {"summary": _unescape_line(summary_line)}
        fields.update(_parse_sections(middle) if middle else {})
        fields.update(_parse_trailers(trailer_block))
        return cls.model_validate(fields)


def _parse_sections(middle: str) -> dict[str, str]:
    order = [header for _, header in _SECTIONS]
    field_of = {header: field for field, header in _SECTIONS}
    found: list[tuple[str, list[str]]] = []
    for line in middle.split("\n"):
        if line in _HEADERS:
            if found and order.index(line) <= order.index(found[-1][0]):
                raise ValueError(f"section {line!r} is repeated or out of order")
            found.append((line, []))
        elif not found:
            raise ValueError(f"text before the first section: {line[:40]!r}")
        else:
            found[-1][1].append(_unescape_line(line))
    sections: dict[str, str] = {}
    for index, (header, lines) in enumerate(found):
        if index < len(found) - 1:
            if not lines or lines[-1] != "":
                raise ValueError(f"section {header!r} is not followed by a blank line")
            lines = lines[:-1]
        sections[field_of[header]] = "\n".join(lines)
    return sections


def _parse_figure(value: str) -> tuple[str, float]:
    name, sep, number = value.rpartition("=")
    if not sep:
        raise ValueError(f"figure trailer is not name=value: {value!r}")
    return name, float(number)


def _parse_trailers(block: str) -> dict[str, object]:
    singles = {"Status": "status", "Iteration": "iteration", "Slot": "slot", "Island": "island",
               "Score": "score", "Operator": "operator", "Agent-Model": "model",
               "Fingerprint": "fingerprint", "Isolation": "isolation"}
    fields: dict[str, object] = {}
    review: dict[str, str] = {}
    parents: list[str] = []
    metrics: dict[str, float] = {}
    workloads: dict[str, float] = {}
    usage: dict[str, dict[str, float]] = {}
    for line in block.split("\n"):
        key, sep, value = line.partition(": ")
        if not sep:
            raise ValueError(f"not a trailer line: {line[:60]!r}")
        if key in singles:
            if singles[key] in fields:
                raise ValueError(f"trailer {key} is repeated")
            # Score goes through float() itself: repr(float) -> float() is exact.
            fields[singles[key]] = float(value) if key == "Score" else value
        elif key == "Also-From":
            parents.append(value)
        elif key in _REVIEW_TRAILERS:
            if _REVIEW_TRAILERS[key] in review:
                raise ValueError(f"trailer {key} is repeated")
            review[_REVIEW_TRAILERS[key]] = value
        elif key in ("Metric", "Workload"):
            name, number = _parse_figure(value)
            target = metrics if key == "Metric" else workloads
            if name in target:
                raise ValueError(f"trailer {key} {name} is repeated")
            target[name] = number
        elif key == "Usage":
            role, *figures = value.split(" ")
            if role in usage:
                raise ValueError(f"trailer Usage {role} is repeated")
            usage[role] = dict(_parse_figure(figure) for figure in figures)
        elif key == "Faults":
            if "faults" in fields:
                raise ValueError("trailer Faults is repeated")
            fields["faults"] = {k: int(v) for k, v in (_parse_figure(f) for f in value.split(" "))}
        else:
            raise ValueError(f"unknown trailer {key!r}")
    if "model" not in fields:
        raise ValueError("trailer Agent-Model is missing")
    fields.update(extra_parents=parents, metrics=metrics, per_workload=workloads, usage=usage)
    if review:
        fields["review"] = review
    return fields
