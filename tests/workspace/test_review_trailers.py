"""A person's review rides in the commit message as trailers that git itself parses."""

from __future__ import annotations

import subprocess

import pytest
from pydantic import ValidationError

from adrs.workspace.messages import CandidateMessage, Review

PARENT, PLANNED = "a" * 40, "b" * 40


def message(review: Review | None) -> CandidateMessage:
    return CandidateMessage(summary="Lower RATE", hypothesis="A person's idea.", status="evaluated",
                            iteration=2, slot=1, score=0.5, model="offline", review=review)


@pytest.mark.parametrize("review", [
    Review(reviewer="Ada Lovelace <ada@example.org>"),
    Review(reviewer="Ada", hypothesis="WIDTH matters more\n  than RATE."),
    Review(reviewer="Ada", parent=PARENT, planned_parent=PLANNED),
])
def test_a_review_round_trips_and_git_reads_its_trailers(review):
    text = message(review).to_text()
    assert CandidateMessage.from_text(text) == message(review)
    parsed = subprocess.run(["git", "interpret-trailers", "--parse"], input=text,
                            capture_output=True, text=True, check=True).stdout
    assert f"Reviewed-by: {review.reviewer}\n" in parsed
    if review.hypothesis:
        assert "Review-Hypothesis: WIDTH matters more than RATE.\n" in parsed
    if review.parent:
        assert f"Review-Parent: {PARENT}\nReview-Planned-Parent: {PLANNED}\n" in parsed


def test_no_review_writes_no_trailer():
    assert "Review" not in message(None).to_text()
    assert CandidateMessage.from_text(message(None).to_text()).review is None


def test_describe_says_who_changed_what():
    assert Review(reviewer="Ada").describe() == "Ada: approved as planned"
    assert Review(reviewer="Ada", hypothesis="H.", parent=PARENT,
                  planned_parent=PLANNED).describe() == \
        f"Ada: hypothesis rewritten: H.; parent {PARENT[:10]} instead of {PLANNED[:10]}"


@pytest.mark.parametrize(("fields", "error"), [
    ({"reviewer": "  "}, "needs the reviewer's name"),
    ({"reviewer": "Ada", "parent": PARENT}, "both the chosen and the planned parent"),
])
def test_incomplete_reviews_are_refused(fields, error):
    with pytest.raises(ValidationError, match=error):
        Review(**fields)


def test_a_repeated_review_trailer_is_refused():
    text = message(Review(reviewer="Ada")).to_text().replace(
        "Reviewed-by: Ada\n", "Reviewed-by: Ada\nReviewed-by: Eve\n")
    with pytest.raises(ValueError, match="trailer Reviewed-by is repeated"):
        CandidateMessage.from_text(text)
