"""`adrs report`: the figures over a run's history, the plots, the Markdown, and the terminal
commands that read runs (report, compare, steer, log, show)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from matplotlib.image import imread
from typer.testing import CliRunner

from adrs.cli import app
from adrs.report.markdown import CAPTIONS, write_report
from adrs.report.plots import COLOURS
from adrs.report.series import best_so_far, evaluations, lineage, outcomes_per_iteration
from adrs.workspace.database import ProgramDatabase
from adrs.workspace.messages import CandidateMessage
from adrs.workspace.repository import RunRepository
from adrs.workspace.steering import SteeringLog
from tests.viewer.runs import offline_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return offline_run(tmp_path_factory.mktemp("report"), iterations=4, width=2)


def adrs(*args):
    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "80"})
    return result.exit_code, result.output


def test_best_so_far_is_a_running_maximum():
    assert best_so_far([(0, 0.5), (1, None), (2, 0.4), (3, 0.7), (3, 0.6), (5, 0.65)]) == [
        (0, 0.5), (1, 0.5), (2, 0.5), (3, 0.7), (5, 0.7)]
    assert best_so_far([(0, None)]) == []


def test_series_of_a_real_run(run_dir):
    records = ProgramDatabase.from_repository(RunRepository.open(run_dir)).records
    history = evaluations(records)
    assert [e.index for e in history] == list(range(9)) and history[0].key == "i0000-s0"
    assert outcomes_per_iteration(records) == {i: {"evaluated": 2, "rejected": 0, "failed": 0}
                                               for i in range(1, 5)}
    best = ProgramDatabase(records).best
    chain = lineage(records, best.id)
    assert chain[0].status == "baseline" and chain[-1] == best
    assert all(child.parent_id == parent.id for parent, child in zip(chain, chain[1:]))


def _has_colour(image: np.ndarray, hex_colour: str, tolerance: float = 0.06) -> bool:
    rgb = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    return bool((np.abs(image[..., :3] - rgb).max(axis=-1) < tolerance).any())


def test_the_report_has_its_plots_lineage_and_best_program(run_dir, tmp_path):
    written = write_report(run_dir, tmp_path / "out")
    text = written.markdown.read_text()
    for plot in written.plots:
        image = imread(plot)
        assert image.shape[0] > 200 and image.shape[1] > 600
        assert "![" in text and f"]({plot.name})" in text and CAPTIONS[plot.name] in text
    score, workloads, outcomes = (imread(p) for p in written.plots)
    # What the captions promise is drawn, in the colours they name.
    assert all(_has_colour(score, COLOURS[k]) for k in ("evaluated", "best", "heldout"))
    assert _has_colour(workloads, COLOURS["baseline"]) and _has_colour(workloads, COLOURS["best"])
    assert _has_colour(outcomes, COLOURS["evaluated"]) and not _has_colour(outcomes, COLOURS["failed"])
    repo = RunRepository.open(run_dir)
    best = ProgramDatabase.from_repository(repo).best
    rows = re.findall(r"^\| (\d+) \| (i\d{4}-s\d) `", text, flags=re.M)
    assert rows[0] == ("0", "i0000-s0") and rows[-1][1] == best.key
    assert f"| held-out best | {0:.4f}" not in text and "| held-out best | 0." in text
    assert repo.program_source(best.id).rstrip("\n") in text


def test_the_report_command(run_dir, tmp_path):
    code, out = adrs("report", run_dir, "--out", tmp_path / "r")
    assert code == 0 and "report.md" in out
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == [
        "outcomes.png", "report.md", "score.png", "workloads.png"]
    code, out = adrs("report", tmp_path / "nothing")
    assert code == 2 and out.strip().splitlines()[-1].startswith("error: no run at")


def test_compare_two_runs(run_dir, tmp_path):
    other = offline_run(tmp_path, iterations=1, width=1, seed=3)
    code, out = adrs("compare", run_dir, other)
    assert code == 0, out
    lines = out.splitlines()
    assert any(re.search(r"evaluations used\s+8\s+1", line) for line in lines)
    assert any(re.search(r"seed · width\s+0 · 2\s+3 · 1", line) for line in lines)
    assert any("held-out best" in line for line in lines)
    code, out = adrs("compare", run_dir)
    assert code == 2 and "error: compare needs at least two runs" in out


def test_steer_adds_and_lists_notes(run_dir):
    code, out = adrs("steer", run_dir, "Prefer RATE changes.", "--author", "Ada")
    assert code == 0 and "after iteration 4" in out and "offline brain does not read" in out
    code, out = adrs("steer", run_dir)
    assert code == 0 and "after iteration 4, Ada: Prefer RATE changes." in out
    code, out = adrs("steer", run_dir, "   ")
    assert code == 2 and out.strip().endswith("error: the steering note is empty")
    assert [n.text for n in SteeringLog(run_dir).notes()] == ["Prefer RATE changes."]


def test_log_fits_80_columns_and_filters(run_dir, tmp_path):
    long_run = offline_run(tmp_path, iterations=1, width=1)
    repo = RunRepository.open(long_run)
    repo.commit_candidate(key="i0002-s0", parent=repo.resolve("baseline"),
                          source=repo.program_source("baseline").replace("RATE = 1.0", "RATE = 0.9"),
                          message=CandidateMessage(summary="A plan whose summary is long " * 3,
                                                   status="rejected", iteration=2,
                                                   verdict="reject: too long"))
    code, out = adrs("log", long_run)
    assert code == 0 and all(len(line) <= 80 for line in out.splitlines())
    assert "A plan whose summary is long" in out and "…" in out
    code, out = adrs("log", long_run, "--wide")
    assert code == 0 and "reject: too long" in out
    code, out = adrs("log", run_dir, "--top", 2)
    keys = re.findall(r"i\d{4}-s\d", out)
    best = ProgramDatabase.from_repository(RunRepository.open(run_dir)).top(2)
    assert keys[::2] == [r.key for r in best]  # each row names the program, then its parent
    code, out = adrs("log", long_run, "--status", "rejected")
    assert re.findall(r"^\s*(i\d{4}-s\d) ", out, flags=re.M) == ["i0002-s0"]
    code, out = adrs("log", run_dir, "--island", 99)
    assert code == 0 and "no program matches" in out
    for bad, error in ((["--status", "good"], "unknown status good"), (["--top", "0"], "--top")):
        code, out = adrs("log", run_dir, *bad)
        assert code == 2 and error in out


def test_show_diffs_any_two_programs(run_dir):
    code, out = adrs("show", run_dir, "baseline", "best")
    best = ProgramDatabase.from_repository(RunRepository.open(run_dir)).best
    assert code == 0 and "--- i0000-s0/program.py" in out and f"+++ {best.key}/program.py" in out
    assert "combined_score" in out
    code, out = adrs("show", run_dir, "baseline", "i0099-s0")
    assert code == 2 and "error: no program with key i0099-s0" in out
