from adrs.agents.checks import static_review
from adrs.agents.evolve_block import fingerprint
from adrs.agents.offline.critic import OfflineCritic
from adrs.agents.roles import ReviewRequest
from adrs.agents.schemas import Plan
from adrs.tools.problem import DEFAULT_FORBIDDEN_IMPORTS

PARENT = '''import random

# EVOLVE-BLOCK-START
SAMPLE_SIZE = 10

def pick(items):
    return sorted(items)[:SAMPLE_SIZE]
# EVOLVE-BLOCK-END

def fixed():
    return 1
'''


def review(candidate, known=frozenset()):
    return static_review(PARENT, candidate, known_fingerprints=known,
                         forbidden_imports=DEFAULT_FORBIDDEN_IMPORTS)


def test_a_clean_edit_passes():
    assert review(PARENT.replace("SAMPLE_SIZE = 10", "SAMPLE_SIZE = 12")) == []


def test_an_edit_outside_the_block_is_rejected():
    findings = review(PARENT.replace("return 1", "return 2"))
    assert findings[0].severity == "reject"
    assert "outside the EVOLVE-BLOCK" in findings[0].reason


def test_a_duplicate_is_sent_back_for_revision():
    candidate = PARENT.replace("SAMPLE_SIZE = 10", "SAMPLE_SIZE = 12")
    findings = review(candidate, known=frozenset({fingerprint(candidate)}))
    assert [(f.severity, f.reason) for f in findings] == [
        ("revise", "duplicates a program already tried")]


def test_no_change_is_sent_back():
    assert review(PARENT)[0].reason.startswith("changes nothing")


def test_syntax_errors_and_broken_markers_are_rejected():
    assert "does not parse" in review(PARENT.replace("SAMPLE_SIZE = 10", "SAMPLE_SIZE = = 10"))[0].reason
    assert "region broken" in review(PARENT.replace("# EVOLVE-BLOCK-END\n", ""))[0].reason


def test_forbidden_imports_and_escape_hatches_inside_the_region_are_rejected():
    candidate = PARENT.replace("SAMPLE_SIZE = 10", "import os\nSAMPLE_SIZE = 10\n"
                               "open('/etc/passwd')\nx = ().__class__")
    reasons = {f.reason for f in review(candidate)}
    assert {"imports forbidden module os", "calls open()", "reaches into __class__"} <= reasons


def test_the_offline_critic_turns_findings_into_a_verdict(tmp_path):
    from adrs.tools.problem import Problem
    folder = tmp_path / "p"
    folder.mkdir()
    for name, text in {"README.md": "x", "initial.py": PARENT, "problem.toml": 'name = "p"\n',
                       "evaluator.py": "def evaluate(path):\n    return {'combined_score': 1.0}\n"}.items():
        (folder / name).write_text(text)
    problem = Problem.load(folder)
    plan = Plan(parent_id="x", summary="s", hypothesis="h", change="c", expected_effect="e")
    critic = OfflineCritic()
    ok = critic.review(ReviewRequest(plan, PARENT, PARENT.replace("10", "11"), frozenset(), problem))
    assert ok.decision == "approve"
    bad = critic.review(ReviewRequest(plan, PARENT, PARENT.replace("return 1", "return 3"),
                                      frozenset(), problem))
    assert bad.decision == "reject" and "outside the EVOLVE-BLOCK" in bad.describe()
