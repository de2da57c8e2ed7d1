"""CandidateMessage: exact text layout, exact round-trip, and git reading the trailers."""

from __future__ import annotations

import subprocess

import pytest
from pydantic import ValidationError

from adrs.workspace.messages import FEEDBACK_MAX, CandidateMessage

TRICKY_HYPOTHESIS = (
    "Raise the batch size.\n"
    "\n"
    "Reviewer: this line looks like a trailer\n"
    "Score: 99\n"
    "## Critic\n"
    "---\n"
    "\\## Findings\n"
    "\n"
    "Status: evaluated"
)


def full_message() -> CandidateMessage:
    return CandidateMessage(
        summary="Batch small transactions first",
        hypothesis=TRICKY_HYPOTHESIS,
        verdict="approve: stays in the region",
        findings="makespan down on w1\n\nw3 regressed",
        feedback="worst: w3 (makespan 812)",
        status="evaluated",
        iteration=7,
        slot=2,
        island=1,
        score=0.1 + 0.2,
        metrics={"mean_makespan": 812.25, "a_first": 1},
        per_workload={"w2": 0.5, "w1": 1 / 3},
        operator="perturb",
        model="gpt-x",
        fingerprint="ab12cd",
        extra_parents=["0123456789abcdef0123456789abcdef01234567"],
    )


def test_minimal_message_has_the_exact_layout() -> None:
    message = CandidateMessage(summary="Baseline as given", status="baseline", iteration=0,
                               score=2.0, operator="baseline")
    assert message.to_text() == (
        "Baseline as given\n"
        "\n"
        "Status: baseline\nIteration: 0\nSlot: 0\nIsland: 0\nScore: 2.0\n"
        "Operator: baseline\nAgent-Model: offline\n"
    )


def test_sections_and_trailers_are_written_in_order() -> None:
    message = CandidateMessage(summary="s", hypothesis="h1\n\nh2", findings="f", status="rejected",
                               iteration=3, metrics={"b": 2.5, "a": -1.0}, per_workload={"w": 0.0},
                               extra_parents=["abc1", "def2"])
    assert message.to_text() == (
        "s\n\n## Hypothesis\nh1\n\nh2\n\n## Findings\nf\n\n"
        "Status: rejected\nIteration: 3\nSlot: 0\nIsland: 0\nAgent-Model: offline\n"
        "Also-From: abc1\nAlso-From: def2\nMetric: a=-1.0\nMetric: b=2.5\nWorkload: w=0.0\n"
    )


def test_round_trip_is_exact_both_ways() -> None:
    message = full_message()
    text = message.to_text()
    again = CandidateMessage.from_text(text)
    assert again == message
    assert again.to_text() == text
    assert again.score == 0.30000000000000004
    assert again.per_workload["w1"] == 1 / 3
    assert again.hypothesis == TRICKY_HYPOTHESIS


def test_body_lines_that_look_like_headers_are_escaped() -> None:
    text = full_message().to_text()
    assert "\n\\## Critic\n\\---\n\\\\## Findings\n" in text
    # The only unescaped section headers are the four real ones.
    assert [line for line in text.split("\n") if line.startswith("## ")] == [
        "## Hypothesis", "## Critic", "## Findings", "## Feedback"]


def test_git_interpret_trailers_reads_only_the_trailers() -> None:
    message = full_message()
    parsed = subprocess.run(["git", "interpret-trailers", "--parse"], input=message.to_text(),
                            capture_output=True, text=True, check=True).stdout
    assert parsed.splitlines() == [
        "Status: evaluated", "Iteration: 7", "Slot: 2", "Island: 1",
        "Score: 0.30000000000000004", "Operator: perturb", "Agent-Model: gpt-x",
        "Fingerprint: ab12cd", "Also-From: 0123456789abcdef0123456789abcdef01234567",
        "Metric: a_first=1.0", "Metric: mean_makespan=812.25",
        "Workload: w1=0.3333333333333333", "Workload: w2=0.5",
    ]


def test_summary_is_one_line_of_at_most_72_characters() -> None:
    short = CandidateMessage(summary="  two\nlines\t here ", status="failed", iteration=1)
    assert short.summary == "two lines here"
    long = CandidateMessage(summary="word " * 30, status="failed", iteration=1)
    assert len(long.summary) == 72
    assert long.summary == ("word " * 14 + "w").rstrip() + "…"
    assert CandidateMessage.from_text(long.to_text()) == long


def test_text_sections_are_normalised_once() -> None:
    message = CandidateMessage(summary="s", hypothesis="\n\n  a  \r\nb\t\n\n\n", status="failed",
                               iteration=1)
    assert message.hypothesis == "  a\nb"
    assert CandidateMessage.from_text(message.to_text()) == message


def test_feedback_is_truncated() -> None:
    message = CandidateMessage(summary="s", feedback="x" * 5000, status="failed", iteration=1)
    assert len(message.feedback) == FEEDBACK_MAX
    assert message.feedback == "x" * (FEEDBACK_MAX - 1) + "…"
    assert CandidateMessage.from_text(message.to_text()) == message


def test_score_must_match_status() -> None:
    with pytest.raises(ValidationError, match="needs a score"):
        CandidateMessage(summary="s", status="evaluated", iteration=1)
    with pytest.raises(ValidationError, match="has no score"):
        CandidateMessage(summary="s", status="rejected", iteration=1, score=1.0)
    with pytest.raises(ValidationError, match="not finite"):
        CandidateMessage(summary="s", status="evaluated", iteration=1, score=1.0,
                         metrics={"m": float("nan")})


def test_message_is_frozen() -> None:
    message = full_message()
    with pytest.raises(ValidationError):
        message.score = 1.0  # type: ignore[misc]


@pytest.mark.parametrize("text, error", [
    ("just a line\n", "no trailer paragraph"),
    ("s\n\nStatus: failed\nIteration: 1\nAgent-Model: x\nSigned-off-by: me\n", "unknown trailer"),
    ("s\n\nStatus: failed\nIteration: 1\n", "Agent-Model is missing"),
    ("s\n\nstray text\n\nStatus: failed\nIteration: 1\nAgent-Model: x\n", "before the first section"),
    ("s\n\n## Critic\na\n\n## Hypothesis\nb\n\nStatus: failed\nIteration: 1\nAgent-Model: x\n",
     "out of order"),
])
def test_malformed_text_is_refused(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        CandidateMessage.from_text(text)


def test_model_spend_and_faults_travel_as_trailers() -> None:
    message = CandidateMessage(summary="s", status="rejected", iteration=2,
                               usage={"planner": {"calls": 1.0, "input_tokens": 900.0,
                                                  "dollars": 0.0021}},
                               faults={"malformed": 2, "repaired": 0})
    text = message.to_text()
    assert "Usage: planner calls=1.0 dollars=0.0021 input_tokens=900.0\nFaults: malformed=2\n" in text
    assert CandidateMessage.from_text(text) == message and message.faults == {"malformed": 2}
    with pytest.raises(ValueError):
        CandidateMessage(summary="s", status="rejected", iteration=1, usage={"a b": {"x": 1.0}})
