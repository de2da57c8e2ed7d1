"""Structured answers read as a careful person would: every form a model uses, the complete part
of a cut answer, verdicts in any case, and re-asks that alternate turns and say what to fix."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from adrs.agents.model.answers import AnswerError, parse_structured, strip_thinking
from adrs.agents.model.asking import ask_structured
from adrs.agents.model.config import RoleSettings
from adrs.agents.model.gateway import ChatTransport, ModelGateway
from adrs.agents.model.schemas import PlanBatch, Review
from adrs.agents.usage import UsageMeter
from tests.agents.model.fakes import broken_call, plan, scripted, text

PLANS = [plan("i0000-s0", "Raise WIDTH"), plan("i0000-s0", "Lower RATE")]


def cut(message: AIMessage) -> AIMessage:
    message.response_metadata["finish_reason"] = "length"
    return message


@pytest.mark.parametrize("answer", [
    text('<tool_call>\n{"name": "submit_plans", "arguments": ' + json.dumps({"plans": PLANS})
         + "}\n</tool_call>"),  # Hermes, as a server without a tool parser passes it on
    text(json.dumps({"name": "submit_plans", "arguments": json.dumps({"plans": PLANS})})),
    text("Here are my plans:\n" + json.dumps(PLANS)),  # a bare list
    text("<think>The plans could be [1, 2]... {\"plans\": []}</think>\n```json\n"
         + json.dumps({"plans": PLANS}) + "\n```"),
])
def test_every_form_of_a_plan_batch_is_read(answer):
    batch, repaired = parse_structured(answer, PlanBatch, "submit_plans")
    assert [p.summary for p in batch.plans] == ["Raise WIDTH", "Lower RATE"] and not repaired


def test_verdicts_are_read_in_any_case():
    for said, meant in (("Approve", "approve"), (" REJECT.", "reject"), ("approved", "approve"),
                        ("Revise", "revise")):
        review, _ = parse_structured(text(json.dumps({"decision": said})), Review, "submit_verdict")
        assert review.decision == meant


def test_a_batch_cut_at_the_length_limit_keeps_its_complete_plans():
    whole = json.dumps({"plans": PLANS})
    in_second = whole[: whole.index('"change"', whole.index("Lower RATE"))]
    batch, repaired = parse_structured(broken_call("submit_plans", in_second), PlanBatch,
                                       "submit_plans")
    assert [p.summary for p in batch.plans] == ["Raise WIDTH"] and repaired
    # Cut inside the last field of the second plan: it would validate, but it is not whole.
    in_last_field = whole[: whole.rindex("combined_score up") + 8]
    batch, _ = parse_structured(cut(text(in_last_field)), PlanBatch, "submit_plans")
    assert [p.summary for p in batch.plans] == ["Raise WIDTH"]
    with pytest.raises(AnswerError, match="cut off at the length limit before one of its plans "
                                          "was complete"):
        parse_structured(cut(text(whole[: whole.index("Raise WIDTH")])), PlanBatch, "submit_plans")


def test_thinking_is_left_out_even_when_its_opening_tag_was_stripped():
    assert strip_thinking("<think>draft {\"a\": 1}</think>\n{\"b\": 2}") == '{"b": 2}'
    assert strip_thinking("drafting...\n</think>\nanswer") == "answer"
    assert strip_thinking("<think>cut off while thinking") == ""


def test_re_asks_alternate_turns_and_say_what_to_fix():
    fake = scripted(text("I approve."), cut(text('{"deci')), text('{"decision": "approve"}'))
    gateway = ModelGateway(RoleSettings(model="m"), transport=ChatTransport(fake))
    meter = UsageMeter()
    review = ask_structured(gateway, role="critic", scope="s", messages=[HumanMessage("Review.")],
                            schema=Review, tool="submit_verdict", meter=meter, max_repairs=2,
                            check=lambda value: value)
    assert review.decision == "approve" and meter.faults() == {"malformed": 2}
    last = fake.received[-1]
    assert [type(m).__name__ for m in last] == ["HumanMessage", "AIMessage", "HumanMessage",
                                                "AIMessage", "HumanMessage"]
    assert last[1].content == "I approve." and last[2].content.startswith(
        "Your answer could not be used: no call of submit_verdict and no JSON object")
    assert last[3].content == '{"deci' and last[4].content.startswith(
        "Your answer was cut off at the length limit before it was complete, so none of it could "
        "be used")
    assert "Answer again, shorter" in last[4].content


def test_an_escaped_quote_stays_inside_its_string_when_a_cut_answer_is_closed():
    from adrs.agents.model.answers import close_json
    cut = '{"plans": [{"summary": "say \\"hi, there\\" twice", "change": "x'
    assert close_json(cut) == {"plans": [{"summary": 'say "hi, there" twice', "change": "x"}]}
