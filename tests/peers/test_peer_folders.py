"""Problem folders in the peers' layouts run unchanged: 3 iterations through the real CLI with
the offline brain, and the folder as given is left exactly as it was. One run per fixture."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from adrs.workspace.repository import RunRepository
from tests.peers.helpers import PEERS, adrs, fixture, records, tree_digest


def run_three(target: list[object], run_dir: Path, *flags: object):
    code, out = adrs("run", *target, "--iterations", 3, "--run-dir", run_dir, *flags)
    assert code == 0, out
    assert "stopped: completed 3 iterations" in out
    found = records(run_dir)
    assert len(found) == 4 and found[0].status == "baseline"
    assert any(r.status == "evaluated" for r in found[1:]), [r.message.verdict for r in found]
    return " ".join(out.split()), found


def sources(run_dir: Path) -> list[str]:
    with RunRepository.open(run_dir) as repo:
        return [repo.program_source(record.id) for record in records(run_dir)]


def cascade(out, found, run_dir):
    # EvaluationResult objects; both stages ran (stage 2's figure); its models were not used.
    baseline = found[0].message
    assert set(baseline.metrics) == {"mean_error_ms"}
    assert "cascade: ran evaluate_stage1, evaluate_stage2" in baseline.feedback
    assert "stage1: worst at" in baseline.feedback and "stage2: worst at" in baseline.feedback
    assert "ignoring keys adrs has no counterpart for: checkpoint_interval, random_seed, " \
           "llm.top_p, prompt.num_top_programs, database, evaluator.parallel_evaluations" in out
    assert "model brain" not in out


def adrs_style(out, found, run_dir):
    # `from initial_program import describe`; workloads/*.json read, paths/ written, relative.
    assert found[0].message.metrics["runs_successfully"] == 1.0
    assert "OpenEvolve/ADRS-style folder (initial_program.py, evaluator.py, config.yaml)" in out


def whole_file(out, found, run_dir):
    # No markers: the whole file evolves, its own `import os` does not stop the critic.
    texts = sources(run_dir)
    assert all(text.startswith('"""Size a worker pool') for text in texts)
    assert all("import os" in text for text in texts)
    assert not any(r.message.verdict.startswith("reject") for r in found[1:])


def two_regions(out, found, run_dir):
    texts = sources(run_dir)
    fixed = "def admit(size, age):\n    return size <= LIMIT_KB and age < EVICT_AGE\n"
    assert all(fixed in text for text in texts)
    firsts = {text.split("#EVOLVE_BLOCK_START")[0] for text in texts}
    seconds = {text.split("#EVOLVE_BLOCK_START")[1] for text in texts}
    assert len(firsts) > 1 and len(seconds) > 1  # both regions were tuned


def mean_of_metrics(out, found, run_dir):
    # A list metric, `error: 0.0`, no combined_score: the peers' mean, said once.
    baseline = found[0].message
    assert baseline.metrics == {"efficiency": 0.9375, "error": 0.0,
                                "hit_rate": pytest.approx(1 / 6)}
    assert baseline.score == pytest.approx((0.9375 + 1 / 6) / 2)  # error is not averaged
    assert "hit_rates: [" in baseline.feedback
    assert out.count("the score is the mean of its numeric metrics (efficiency, hit_rate)") == 1


def c_candidate(out, found, run_dir):
    assert found[0].message.metrics["delays"] == 3.0
    best = sources(run_dir)[0]
    assert best.startswith("/* A retry backoff schedule") and "// EVOLVE-BLOCK-END" in best


CASES = {"openevolve_cascade": (["--offline"], cascade), "adrs_style": ([], adrs_style),
         "whole_file": ([], whole_file), "two_regions": ([], two_regions),
         "mean_of_metrics": ([], mean_of_metrics), "c_candidate": ([], c_candidate)}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_peer_folder_runs_unchanged(name, tmp_path):
    if name == "c_candidate" and shutil.which("cc") is None:
        pytest.skip("no C compiler (cc): the C fixture's evaluator compiles its candidate")
    folder = fixture(name, tmp_path)
    before = tree_digest(folder)
    flags, check = CASES[name]
    out, found = run_three([folder], tmp_path / "run", *flags)
    check(out, found, tmp_path / "run")
    assert tree_digest(folder) == before  # nothing written into the folder as given


def test_skydiscover_files_and_config(tmp_path):
    folder = fixture("skydiscover", tmp_path)
    out, found = run_three([folder / "solution.py", folder / "grading" / "grade.py"],
                           tmp_path / "run", "-c", folder / "search.yaml")
    assert "SkyDiscover-style files (solution.py, grading/grade.py, search.yaml)" in out
    assert "ignoring keys adrs has no counterpart for: language, diff_based_generation, search, " \
           "monitor" in out
    code, again = adrs("resume", tmp_path / "run")  # the run's copy loads the same way again
    assert code == 0, again


def test_the_fixtures_stay_clean():
    assert not any(PEERS.rglob("__pycache__"))
