"""A loopback "model" that plays all four roles on the toy problem, with injected faults.

It raises WIDTH by a step each plan (the coder reads the region from the prompt), approves every
edit, and writes findings (in a tool loop it first evaluates once). It answers the way the
request asks: a tool call when tools are offered, else JSON text. With `fault_rate`, a request
fails with that chance, drawn from a generator seeded by the request's content and how often it
was seen (so thread timing does not change which requests fail); the failures take the five
kinds in turn, so five failures show every kind:
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
ROLE_TOOLS = (("planner", "submit_plans"), ("critic", "submit_verdict"),
              ("evaluator", "write_findings"), ("probe", "probe"))


def role_of(body: dict[str, Any]) -> str:
    """The role a request comes from: its tools, else its system prompt."""
    names = {tool["function"]["name"] for tool in body.get("tools", [])}
    for role, tool in ROLE_TOOLS:
        if tool in names:
            return role
    system = str(body["messages"][0].get("content", "")) if body["messages"] else ""
    for role in ("planner", "coder", "critic", "evaluator"):
        if system.startswith(f"You are the {role}"):
            return role
    return "probe" if "check that a server accepts" in system else "coder"


def last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body["messages"]):
        if message["role"] == "user":
            return str(message["content"])
    return ""


def all_user_text(body: dict[str, Any]) -> str:
    return "\n".join(str(m["content"]) for m in body["messages"] if m["role"] == "user")


def answer_body(body: dict[str, Any], name: str, args: dict[str, Any] | str, *,
                usage: tuple[int, int] = (400, 60)) -> dict[str, Any]:
    """The answer as the request asks for it: a tool call when tools were offered, else JSON."""
    raw = args if isinstance(args, str) else json.dumps(args)
    if body.get("tools"):
        return completion(tool_calls=[tool_call(name, raw)], usage=usage)
    return completion(content=raw, usage=usage)


class ToyResponder:
    def __init__(self, *, seed: int = 0, fault_rate: float = 0.0, hang_seconds: float = 1.0,
                 plan_edits: bool = True) -> None:
        self.seed = seed
        self.plan_edits = plan_edits  # answer a lean planner's `edit` (else leave it out)
        self.fault_rate = fault_rate
        self.hang_seconds = hang_seconds
        self.injected: Counter[tuple[str, str]] = Counter()  # (role, fault) -> count
        self._seen: Counter[str] = Counter()
        self._failures = 0
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Reply:
        role = role_of(body)
        fault = self._fault(body) if role != "probe" else None
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
        if role == "coder":
            return self._coder(body, fault)
        if fault == "nonsense":
            return Reply(body=completion(content="An interesting idea; I have no opinion yet."))
        name, args = self.structured(role, body)
        raw = json.dumps(args)
        if fault == "truncated":
            raw = raw[: len(raw) // 2]
        return Reply(body=answer_body(body, name, raw))

    def structured(self, role: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The tool a role's request asks for, and its arguments."""
        if role == "probe":
            return "probe", {"ok": True}
        return {"planner": self._planner, "critic": self._critic,
                "evaluator": self._evaluator}[role](body)

    def _planner(self, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        # The prompt, not a repair request that may follow it, names the parent and the count.
        text = next((str(m["content"]) for m in body["messages"] if m["role"] == "user"),
                    all_user_text(body))
        parent = re.search(r"# Suggested parent: (i\d{4}-s\d+)", text)
        count = re.search(r"Propose (\d+) plan", text)
        plans = [{"parent": parent.group(1) if parent else "i0000-s0",
                  "summary": f"Raise WIDTH by {step}",
                  "hypothesis": "The near target sits above the current WIDTH.",
                  "change": f"WIDTH += {step}", "expected_effect": "combined_score up"}
                 for step in range(1, 1 + int(count.group(1) if count else 1))]
        # A lean planner (`--team lean`) is asked for the edit too: against the suggested parent.
        schema = json.dumps(body.get("tools") or body.get("response_format"))
        shown = re.search(r"# Suggested parent: \S+\n```\w*\n(.*?)\n```", text, flags=re.DOTALL)
        if self.plan_edits and '"edit"' in schema and shown:
            width = int(re.search(r"^WIDTH = (\d+)$", shown.group(1), flags=re.MULTILINE).group(1))
            for plan in plans:
                step = int(plan["change"].split()[-1])
                plan["edit"] = (f"<<<<<<< SEARCH\nWIDTH = {width}\n=======\n"
                                f"WIDTH = {width + step}\n>>>>>>> REPLACE\n")
        return "submit_plans", {"plans": plans}

    @staticmethod
    def _critic(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return "submit_verdict", {"decision": "approve", "reasons": ["Does what the plan says."]}

    @staticmethod
    def _evaluator(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        offered = {tool["function"]["name"] for tool in body.get("tools", [])}
        if "evaluate_all" in offered and not any(m["role"] == "tool" for m in body["messages"]):
            return "evaluate_all", {}
        return "write_findings", {"summary": "Scored.", "details": "See the figures.",
                                  "note": "Raising WIDTH moves the near workload."}

    @staticmethod
    def edit_for(body: dict[str, Any]) -> str | None:
        """The SEARCH/REPLACE block that makes the planned change (the plan from the first turn,
        WIDTH from the last program shown)."""
        text = all_user_text(body)
        literal = re.search(r"^Change: (\w+): (\S+) -> (\S+) ", text, flags=re.MULTILINE)
        if literal:  # an offline plan: one constant, old -> new
            name, old, new = literal.groups()
            return f"<<<<<<< SEARCH\n{name} = {old}\n=======\n{name} = {new}\n>>>>>>> REPLACE\n"
        step = re.search(r"# Plan: Raise WIDTH by (\d+)", text)
        widths = re.findall(r"^WIDTH = (\d+)$", text, flags=re.MULTILINE)
        if not widths:
            return None
        old = int(widths[-1])
        new = old + int(step.group(1) if step else 1)
        return f"<<<<<<< SEARCH\nWIDTH = {old}\n=======\nWIDTH = {new}\n>>>>>>> REPLACE\n"

    def _coder(self, body: dict[str, Any], fault: str | None) -> Reply:
        answer = self.edit_for(body)
        if fault == "nonsense" or answer is None:
            answer = "<<<<<<< SEARCH\nthis line is not in the program\n=======\npass\n>>>>>>> REPLACE\n"
        data = completion(content=answer, usage=(500, 80))
        if fault == "truncated":
            raw = json.dumps(data).encode()
            return Reply(raw=raw[: len(raw) // 2])
        return Reply(body=data)
