"""Token, dollar and fault accounting, per role and per run.

Totals are plain dicts of numbers so the graph state (and its checkpoints) can hold them:

    usage  = {"planner": {"calls": 2, "input_tokens": 900, "output_tokens": 310, "dollars": 0.0021}, ...}
    faults = {"rate_limit": 3, "malformed": 1, ...}
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

ROLES: tuple[str, ...] = ("planner", "coder", "critic", "evaluator")
USAGE_FIELDS: tuple[str, ...] = ("calls", "input_tokens", "output_tokens", "dollars")
# What can go wrong with a model, in the order the run summary lists it.
FAULT_KINDS: tuple[str, ...] = (
    "rate_limit",      # HTTP 429, retried
    "server_error",    # HTTP 5xx (and 408/409), retried
    "timeout",         # no answer in time, retried
    "connection",      # could not reach the server, retried
    "bad_response",    # unreadable HTTP answer (e.g. truncated JSON body), retried
    "fallback",        # a request refused for a feature the server lacks, sent again without it
    "failed_call",     # a request that got no answer (retries used up)
    "malformed",       # an answer that did not fit its schema; the model was asked again
    "repaired",        # an answer fixed locally (e.g. cut-off JSON closed) without asking again
    "bad_edit",        # SEARCH/REPLACE blocks that did not apply; the coder was asked again
    "failed_attempt",  # a role gave up on its step (no plan, no program, fallback review or findings)
)
TRANSIENT_KINDS = frozenset({"rate_limit", "server_error", "timeout", "connection", "bad_response"})

Usage = dict[str, dict[str, float]]
Faults = dict[str, int]


def dollars_for(input_tokens: int, output_tokens: int, *, input_price: float,
                output_price: float) -> float:
    """Cost of one call; prices are dollars per million tokens."""
    return (input_tokens * input_price + output_tokens * output_price) / 1_000_000


def add_usage(left: Mapping[str, Mapping[str, float]] | None,
              right: Mapping[str, Mapping[str, float]] | None) -> Usage:
    """Sum of two usage tables (a LangGraph reducer: pure, never mutates its inputs)."""
    merged: Usage = {role: dict(row) for role, row in (left or {}).items()}
    for role, row in (right or {}).items():
        target = merged.setdefault(role, {})
        for field, value in row.items():
            target[field] = target.get(field, 0) + value
    return dict(sorted(merged.items()))


def add_counts(left: Mapping[str, int] | None, right: Mapping[str, int] | None) -> Faults:
    """Sum of two fault tables (a LangGraph reducer)."""
    merged = dict(left or {})
    for kind, count in (right or {}).items():
        merged[kind] = merged.get(kind, 0) + count
    return dict(sorted(merged.items()))


def total_tokens(usage: Mapping[str, Mapping[str, float]] | None) -> int:
    return int(sum(row.get("input_tokens", 0) + row.get("output_tokens", 0)
                   for row in (usage or {}).values()))


def total_dollars(usage: Mapping[str, Mapping[str, float]] | None) -> float:
    return float(sum(row.get("dollars", 0.0) for row in (usage or {}).values()))


class UsageMeter:
    """What the calls of one step spent and what went wrong.

    One meter per graph step, so parallel candidates never share one; the lock only guards a
    role that fans out its own calls."""

    def __init__(self) -> None:
        self._usage: Usage = {}
        self._faults: Faults = {}
        self._lock = threading.Lock()

    def add_call(self, role: str, *, input_tokens: int, output_tokens: int, dollars: float) -> None:
        row = {"calls": 1, "input_tokens": int(input_tokens), "output_tokens": int(output_tokens),
               "dollars": float(dollars)}
        with self._lock:
            self._usage = add_usage(self._usage, {role: row})

    def add_fault(self, kind: str, count: int = 1) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        with self._lock:
            self._faults = add_counts(self._faults, {kind: count})

    def usage(self) -> Usage:
        with self._lock:
            return {role: dict(row) for role, row in self._usage.items()}

    def faults(self) -> Faults:
        with self._lock:
            return dict(self._faults)


@dataclass(frozen=True)
class Cost:
    """Tokens (input and output) and dollars of one call, spent or expected."""

    tokens: int = 0
    dollars: float = 0.0

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.tokens + other.tokens, self.dollars + other.dollars)

    def __sub__(self, other: Cost) -> Cost:
        return Cost(self.tokens - other.tokens, self.dollars - other.dollars)


class SpendLedger:
    """The run's spend against its budgets, checked before every model call.

    A call is admitted only if what is spent, what admitted calls still in flight are expected to
    spend, and its own expected cost all fit the budget; otherwise it is not sent, the ledger
    closes, and the run stops at its next decision. The spend can overshoot only by what calls
    spend beyond their estimate. One ledger serves every role of a team (a lock guards it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._max_tokens: int | None = None
        self._max_dollars: float | None = None
        self._spent = Cost()
        self._in_flight = Cost()
        self._refused: str | None = None

    def open(self, *, max_tokens: int | None, max_dollars: float | None,
             usage: Mapping[str, Mapping[str, float]] | None) -> None:
        """Set the budgets and what the run has spent so far (its state, on a resume)."""
        with self._lock:
            self._max_tokens, self._max_dollars = max_tokens, max_dollars
            self._spent = Cost(total_tokens(usage), total_dollars(usage))
            self._in_flight, self._refused = Cost(), None

    def admit(self, expected: Cost) -> bool:
        """Reserve `expected` for a call about to be sent, or refuse it (and close)."""
        with self._lock:
            if self._refused is None:
                after = self._spent + self._in_flight + expected
                self._refused = self._over(after)
            if self._refused is not None:
                return False
            self._in_flight = self._in_flight + expected
            return True

    def settle(self, expected: Cost, spent: Cost) -> None:
        """A call admitted with `expected` is over and spent `spent`."""
        with self._lock:
            self._in_flight = self._in_flight - expected
            self._spent = self._spent + spent

    def stop_reason(self) -> str | None:
        """Why the run must stop for its budget, once a call was refused."""
        with self._lock:
            return self._refused

    def _over(self, after: Cost) -> str | None:
        if self._max_dollars is not None and after.dollars > self._max_dollars:
            return (f"the next model call could exceed the ${self._max_dollars:g} budget "
                    f"(spent ${self._spent.dollars:.4f})")
        if self._max_tokens is not None and after.tokens > self._max_tokens:
            return (f"the next model call could exceed the {self._max_tokens:,} tokens budget "
                    f"(used {self._spent.tokens:,})")
        return None


def describe_usage(usage: Mapping[str, Mapping[str, float]] | None) -> str:
    """One line: calls, tokens and dollars per role, then the total."""
    if not usage:
        return "no model calls"
    parts = [f"{role} {int(row.get('calls', 0))} calls "
             f"{int(row.get('input_tokens', 0) + row.get('output_tokens', 0)):,} tokens "
             f"${row.get('dollars', 0.0):.4f}"
             for role, row in sorted(usage.items(), key=lambda item: _role_order(item[0]))]
    return (" · ".join(parts) + f" · total {total_tokens(usage):,} tokens "
            f"${total_dollars(usage):.4f}")


def describe_faults(faults: Mapping[str, int] | None) -> str:
    """One line: each kind of fault with its count, in FAULT_KINDS order."""
    counts = {kind: count for kind, count in (faults or {}).items() if count}
    if not counts:
        return "none"
    ordered = sorted(counts, key=lambda kind: (FAULT_KINDS.index(kind)
                                               if kind in FAULT_KINDS else len(FAULT_KINDS), kind))
    return ", ".join(f"{kind.replace('_', ' ')} {counts[kind]}" for kind in ordered)


def _role_order(role: str) -> tuple[int, str]:
    return (ROLES.index(role) if role in ROLES else len(ROLES), role)
