"""Budgets checked before every model call: the spend overshoots by one call at most."""

from __future__ import annotations

import threading

import pytest
from langchain_core.messages import HumanMessage

from adrs.agents.model.calls import ModelCall
from adrs.agents.model.config import Price, RoleSettings
from adrs.agents.model.errors import BudgetExhausted
from adrs.agents.model.gateway import ModelGateway
from adrs.agents.usage import Cost, SpendLedger, UsageMeter, total_tokens
from tests.agents.model.fakes import text

CALL = ModelCall("coder", "s", (HumanMessage("x" * 400),))  # about 100 tokens at 4 characters each


class Growing:
    """Answers whose output doubles each time: an estimate from earlier calls is always short."""

    def __init__(self) -> None:
        self.output = 10

    def send(self, request):
        self.output *= 2
        return text("ok", tokens=(100, self.output))


def test_a_tokens_budget_stops_calls_and_overshoots_by_one_call_at_most():
    ledger = SpendLedger()
    ledger.open(max_tokens=1000, max_dollars=None, usage=None)
    gateway = ModelGateway(RoleSettings(model="m"), transport=Growing(), spend=ledger)
    meter = UsageMeter()
    sizes = []
    with pytest.raises(BudgetExhausted, match=r"the next model call could exceed the 1,000 tokens "
                                              r"budget \(used 1,\d{3}\)"):
        while True:
            before = total_tokens(meter.usage())
            gateway.ask(CALL, meter)
            sizes.append(total_tokens(meter.usage()) - before)
    spent = total_tokens(meter.usage())
    assert sizes == [120, 140, 180, 260, 420]  # each output larger than the estimate said
    assert 1000 < spent <= 1000 + sizes[-1]  # over by the last call, no more
    assert ledger.stop_reason() and not ledger.admit(Cost(1, 0.0))  # closed for the whole run


def test_a_call_that_would_cross_the_budget_is_not_sent():
    ledger = SpendLedger()
    ledger.open(max_tokens=None, max_dollars=0.001, usage={"planner": {"dollars": 0.0008}})
    sent = []

    class Once:
        def send(self, request):
            sent.append(request)
            return text("ok", tokens=(100, 50))

    gateway = ModelGateway(RoleSettings(model="m", max_tokens=400), transport=Once(),
                           price=Price(input=1.0, output=1.0), spend=ledger)
    # Expected: 100 input tokens and up to 400 output tokens at $1 per million: $0.0005.
    with pytest.raises(BudgetExhausted, match=r"could exceed the \$0.001 budget \(spent \$0.0008\)"):
        gateway.ask(CALL, UsageMeter())
    assert sent == []


def test_calls_in_flight_count_against_the_budget():
    ledger = SpendLedger()
    ledger.open(max_tokens=250, max_dollars=None, usage=None)
    admitted = []
    barrier = threading.Barrier(4)

    def ask() -> None:
        barrier.wait()
        admitted.append(ledger.admit(Cost(100, 0.0)))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(admitted) == [False, False, True, True]  # two fit; the others would not
    # The reason says what was spent when the refused call asked, before any answer came.
    assert ledger.stop_reason() == "the next model call could exceed the 250 tokens budget (used 0)"
