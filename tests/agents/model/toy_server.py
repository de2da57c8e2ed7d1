"""A loopback "model" that plays all four roles on the toy problem, with injected faults.

It raises WIDTH by a step each plan (the coder reads the region from the prompt), approves every
edit, evaluates once, then writes findings. With `fault_rate`, a request fails with that chance,
drawn from a generator seeded by the request's content and how often it was seen (so thread
timing does not change which requests fail); the failures take the five kinds in turn, so five
failures show every kind:
  429       rate limited                 -> retried (rate_limit)
  500       server error                 -> retried (server_error)
  timeout   answers after the client gave up -> retried (timeout)
  truncated tool-call JSON cut in half (the coder: the HTTP body cut) -> repaired/re-asked
            (the coder: bad_response, retried)
  nonsense  prose instead of a tool call (the coder: an edit that matches nothing)
            -> re-asked (malformed / bad_edit)
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
from collections import Counter
from typing import Any

from tests.agents.model.loopback import Reply, completion, rate_limited, server_error, tool_call

FAULTS = ("429", "500", "timeout", "truncated", "nonsense")


def role_of(body: dict[str, Any]) -> str:
    names = {tool["function"]["name"] for tool in body.get("tools", [])}
    for role, tool in (("planner", "submit_plans"), ("critic", "submit_verdict"),
                       ("evaluator", "write_findings")):
        if tool in names:
            return role
    return "coder"


def last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body["messages"]):
        if message["role"] == "user":
            return str(message["content"])
    return ""


class ToyResponder:
    def __init__(self, *, seed: int = 0, fault_rate: float = 0.0, hang_seconds: float = 1.0) -> None:
        self.seed = seed
        self.fault_rate = fault_rate
        self.hang_seconds = hang_seconds
        self.injected: Counter[tuple[str, str]] = Counter()  # (role, fault) -> count
        self._seen: Counter[str] = Counter()
        self._failures = 0
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Reply:
        role = role_of(body)
        fault = self._fault(body)
        if fault:
            with self._lock:
                self.injected[(role, fault)] += 1
        if fault == "429":
            return rate_limited()
        if fault == "500":
            return server_error()
        reply = self._answer(role, body, fault)
        return Reply(body=reply.body, raw=reply.raw,
                     delay=self.hang_seconds if fault == "timeout" else 0.0)

    def count(self, fault: str, roles: tuple[str, ...] = ("planner", "coder", "critic",
                                                         "evaluator")) -> int:
        return sum(n for (role, kind), n in self.injected.items() if kind == fault and role in roles)

    def _fault(self, body: dict[str, Any]) -> str | None:
        key = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        with self._lock:
            seen = self._seen[key]
            self._seen[key] += 1
        if random.Random(f"{self.seed}:{key}:{seen}").random() >= self.fault_rate:
            return None
        with self._lock:
            self._failures += 1
            return FAULTS[(self._failures - 1) % len(FAULTS)]

    def _answer(self, role: str, body: dict[str, Any], fault: str | None) -> Reply:
        text = last_user_text(body)
        if role == "coder":
            return self._coder(text, fault)
        if fault == "nonsense":
            return Reply(body=completion(content="An interesting idea; I have no opinion yet."))
        name, args = {"planner": self._planner, "critic": self._critic,
                      "evaluator": self._evaluator}[role](body, text)
        raw = json.dumps(args)
        if fault == "truncated":
            raw = raw[: len(raw) // 2]
        return Reply(body=completion(tool_calls=[tool_call(name, raw)], usage=(400, 60)))

    def _planner(self, body: dict[str, Any], text: str) -> tuple[str, dict[str, Any]]:
        # The prompt, not a repair request that may follow it, names the parent and the count.
        text = next((str(m["content"]) for m in body["messages"] if m["role"] == "user"), text)
        parent = re.search(r"# Suggested parent: (i\d{4}-s\d+)", text)
        count = re.search(r"Propose (\d+) plan", text)
        plans = [{"parent": parent.group(1) if parent else "i0000-s0",
                  "summary": f"Raise WIDTH by {step}",
                  "hypothesis": "The near target sits above the current WIDTH.",
                  "change": f"WIDTH += {step}", "expected_effect": "combined_score up"}
                 for step in range(1, 1 + int(count.group(1) if count else 1))]
        return "submit_plans", {"plans": plans}

    @staticmethod
    def _critic(body: dict[str, Any], text: str) -> tuple[str, dict[str, Any]]:
        return "submit_verdict", {"decision": "approve", "reasons": ["Does what the plan says."]}

    @staticmethod
    def _evaluator(body: dict[str, Any], text: str) -> tuple[str, dict[str, Any]]:
        if any(message["role"] == "tool" for message in body["messages"]):
            return "write_findings", {"summary": "Scored.", "details": "See the figures.",
                                      "note": "Raising WIDTH moves the near workload."}
        return "evaluate_all", {}

    @staticmethod
    def _coder(text: str, fault: str | None) -> Reply:
        step = re.search(r"# Plan: Raise WIDTH by (\d+)", text)
        widths = re.findall(r"^WIDTH = (\d+)$", text, flags=re.MULTILINE)
        if fault == "nonsense" or not widths:
            answer = "<<<<<<< SEARCH\nthis line is not in the program\n=======\npass\n>>>>>>> REPLACE\n"
        else:
            old = int(widths[-1])
            new = old + int(step.group(1) if step else 1)
            answer = f"<<<<<<< SEARCH\nWIDTH = {old}\n=======\nWIDTH = {new}\n>>>>>>> REPLACE\n"
        data = completion(content=answer, usage=(500, 80))
        if fault == "truncated":
            raw = json.dumps(data).encode()
            return Reply(raw=raw[: len(raw) // 2])
        return Reply(body=data)
