"""`adrs new`'s templates: a problem folder from a description and a simulator, without a model.

The simulator (a Python file, copied into the folder as simulator.py) is expected to define

    make_workload(seed) -> workload          JSON data: one scenario to decide on
    score(workload, decision) -> float       higher is better; raises ValueError when invalid
    baseline(workload) -> decision           optional: the human policy, copied into initial.py

The evaluator follows docs/problem-contract.md's trusted-scorer pattern: the candidate's
`decide(workload)` runs in a child process (jailed further when adrs offers it) and only returns
decisions; simulator.py, trusted, makes the workloads and scores every decision.
Pure text functions.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

SIMULATOR_FILE = "simulator.py"
EXPECTED = ("make_workload", "score")
TRAIN_SEEDS = (1, 2, 3, 4, 5)
HELDOUT_SEEDS = (101, 102, 103, 104, 105)
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class ScaffoldError(ValueError):
    """A name or a simulator `adrs new` cannot work from; one line."""


@dataclass(frozen=True)
class Scaffold:
    """The text of each file of a new problem folder."""

    readme: str
    initial: str
    evaluator: str
    toml: str
    simulator: str
    warnings: tuple[str, ...] = ()

    def files(self) -> dict[str, str]:
        return {"README.md": self.readme, "initial.py": self.initial, "evaluator.py": self.evaluator,
                "problem.toml": self.toml, SIMULATOR_FILE: self.simulator}


def check_name(name: str) -> None:
    if not _NAME.match(name):
        raise ScaffoldError(f"problem name {name!r} must be lower case letters, digits and _ "
                            "(a Python-friendly folder name), starting with a letter")


def simulator_functions(source: str) -> set[str]:
    """Names of the top-level functions of the simulator; ScaffoldError when it does not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ScaffoldError(f"the simulator does not parse: line {exc.lineno}: {exc.msg}") from exc
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def scaffold(name: str, description: str, simulator_source: str) -> Scaffold:
    check_name(name)
    if not description.strip():
        raise ScaffoldError("the description is empty")
    functions = simulator_functions(simulator_source)
    missing = [f for f in EXPECTED if f not in functions]
    warnings = [f"{SIMULATOR_FILE} defines no {', '.join(missing)}: evaluator.py calls "
                f"{' and '.join(EXPECTED)}; adapt one or the other before `adrs check`"] if missing else []
    return Scaffold(readme=readme(name, description), initial=initial(simulator_source),
                    evaluator=EVALUATOR, toml=toml(name, description),
                    simulator=simulator_source, warnings=tuple(warnings))


def summary_of(description: str) -> str:
    """The description's first sentence, on one line, at most 100 characters."""
    text = " ".join(line.strip().lstrip("#").strip() for line in description.splitlines()
                    if line.strip())
    first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return first if len(first) <= 100 else first[:99].rstrip() + "…"


def readme(name: str, description: str) -> str:
    return f"""# {name}

## Goal

{description.strip()}

## Interface

`initial.py` defines `decide(workload)`. It receives one workload made by
`simulator.make_workload(seed)` and returns a decision, which `simulator.score(workload, decision)`
scores. Only the lines between `# EVOLVE-BLOCK-START` and `# EVOLVE-BLOCK-END` change.

## Constraints

`decide` runs in a child process that cannot see this folder (not the simulator, not the seeds)
and must answer every workload of an evaluation within the `[candidate] timeout_seconds` of
problem.toml. A decision the simulator refuses (it raises ValueError) makes the program invalid.

## Metric

`combined_score` is the mean of `simulator.score` over the training seeds of problem.toml
(higher is better); the held-out seeds give the same figure for the final report.
"""


def initial(simulator_source: str) -> str:
    """initial.py: the simulator's `baseline` as `decide`, or a plain one to start from."""
    body = _baseline_source(simulator_source)
    if body is None:
        body = ('def decide(workload):\n'
                '    """The decision for one workload (see README.md: Interface)."""\n'
                '    return workload\n')
    return ('"""The policy adrs evolves: decide(workload) returns a decision the simulator '
            'scores."""\n\n'
            f"# EVOLVE-BLOCK-START\n{body.rstrip()}\n# EVOLVE-BLOCK-END\n")


def _baseline_source(source: str) -> str | None:
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "baseline":
            text = ast.get_source_segment(source, node, padded=False)
            if text:
                return re.sub(r"^def baseline\(", "def decide(", text, count=1)
    return None


def toml(name: str, description: str) -> str:
    summary = summary_of(description).replace("\\", "\\\\").replace('"', '\\"')
    return f'''name = "{name}"
summary = "{summary}"
evolve_file = "initial.py"

[limits]
timeout_seconds = 60                  # one whole evaluation, evaluator included
memory_mb = 2048

[budget]
iterations = 30

[workloads]                           # read by evaluator.py: one workload per seed
train_seeds = {list(TRAIN_SEEDS)}
heldout_seeds = {list(HELDOUT_SEEDS)}

[candidate]
timeout_seconds = 20                  # the child that runs decide() on every workload
'''


EVALUATOR = '''"""Scores decide() (initial.py) with simulator.py, in the trusted-scorer pattern of adrs's
docs/problem-contract.md: trusted code makes the workloads and scores every decision; the
candidate only decides, in a child process that cannot see this folder."""

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import simulator

HERE = Path(__file__).resolve().parent
SETTINGS = tomllib.loads((HERE / "problem.toml").read_text(encoding="utf-8"))
TRAIN_SEEDS = SETTINGS["workloads"]["train_seeds"]
HELDOUT_SEEDS = SETTINGS["workloads"]["heldout_seeds"]
CANDIDATE_TIMEOUT = SETTINGS.get("candidate", {}).get("timeout_seconds", 20)

# Runs in the child: imports the candidate, reads the workloads on stdin, writes its decisions.
DRIVER = r"""
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("candidate", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
workloads = json.load(sys.stdin)
json.dump([module.decide(workload) for workload in workloads], sys.stdout)
"""


class CandidateError(Exception):
    """The candidate gave no usable decisions."""


def candidate_command(argv):
    """adrs's nested jail for the candidate when it offers one; nothing otherwise."""
    prefix = json.loads(os.environ.get("ADRS_CANDIDATE_PREFIX") or "[]")
    return [str(part) for part in prefix] + argv


def decisions(program_path, workloads):
    try:
        done = subprocess.run(candidate_command([sys.executable, "-I", "-c", DRIVER,
                                                 str(program_path)]),
                              input=json.dumps(workloads), capture_output=True, text=True,
                              timeout=CANDIDATE_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise CandidateError(f"decide() took longer than {CANDIDATE_TIMEOUT} s") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise CandidateError(f"the candidate failed: {last}")
    try:
        answers = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise CandidateError("the candidate's decisions are not JSON") from None
    if not isinstance(answers, list) or len(answers) != len(workloads):
        raise CandidateError(f"expected {len(workloads)} decisions")
    return answers


def _evaluate(program_path, seeds):
    workloads = {f"seed{seed}": simulator.make_workload(seed) for seed in seeds}
    try:
        answers = decisions(program_path, list(workloads.values()))
    except CandidateError as exc:
        return {"combined_score": 0.0, "error": str(exc)}
    per_workload = {}
    for (name, workload), decision in zip(workloads.items(), answers):
        try:
            per_workload[name] = float(simulator.score(workload, decision))
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            return {"combined_score": 0.0, "error": f"{name}: invalid decision: {exc}"}
    worst = min(per_workload, key=per_workload.get)
    return {"combined_score": sum(per_workload.values()) / len(per_workload),
            "per_workload": per_workload,
            "artifacts": {"worst_workload": f"{worst} scores {per_workload[worst]:.6g}"}}


def evaluate(program_path, workloads=None):
    seeds = [s for s in TRAIN_SEEDS if workloads is None or f"seed{s}" in workloads]
    return _evaluate(program_path, seeds)


def evaluate_heldout(program_path):
    return _evaluate(program_path, HELDOUT_SEEDS)
'''
