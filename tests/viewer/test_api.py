"""The viewer's page and JSON endpoints against small real runs."""

from __future__ import annotations

import re

from adrs.viewer.access import Access
from adrs.workspace.database import ProgramDatabase
from adrs.workspace.repository import RunRepository
from adrs.workspace.steering import SteeringLog
from tests.viewer.conftest import viewer


def test_the_page_and_its_assets(finished_run):
    with viewer(finished_run) as client:
        page = client.get("/")
        assert page.status_code == 200 and 'src="/static/viewer.js"' in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        script = client.get("/static/viewer.js")
        assert script.headers["content-type"].startswith("text/javascript")
        assert "new EventSource(\"/api/events\")" in script.text
        style = client.get("/static/viewer.css").text
        assert ".d-add" in style and ".code .k" in style  # the page's and pygments' rules


def test_run_json_has_settings_status_progress_and_steering(finished_run):
    SteeringLog(finished_run).add("Try WIDTH 5.", author="Ada", after_iteration=3)
    with viewer(finished_run) as client:
        run = client.get("/api/run").json()
    summary = run["summary"]
    database = ProgramDatabase.from_repository(RunRepository.open(finished_run))
    assert (summary["problem"], summary["iterations"], summary["evaluations"]) == ("toy", 3, 6)
    assert summary["best_key"] == database.best.key and summary["brain"] == "offline"
    assert summary["heldout_best"] is not None and summary["stop_reason"] == "completed 3 iterations"
    assert run["settings"]["width"] == 2 and run["settings"]["review"] is False
    assert run["pending"] == [] and run["access"] == {"writable": False, "write_key": None,
                                                      "compare": False}
    assert {"text": "Try WIDTH 5.", "author": "Ada", "after_iteration": 3} in [
        {k: note[k] for k in ("text", "author", "after_iteration")} for note in run["steering"]]
    lines = run["progress"]  # per island: the best by iteration, never going down
    assert lines["0"][0] == [0, database.baseline.score]
    assert max(line[-1][1] for line in lines.values()) == database.best.score
    assert all(a[1] <= b[1] for line in lines.values() for a, b in zip(line, line[1:]))


def test_candidates_form_a_tree_with_one_place_each(finished_run):
    with viewer(finished_run) as client:
        listing = client.get("/api/candidates").json()["candidates"]
    keys = [c["key"] for c in listing]
    assert keys == ["i0000-s0", "i0001-s0", "i0001-s1", "i0002-s0", "i0002-s1", "i0003-s0", "i0003-s1"]
    assert len({(c["x"], c["row"]) for c in listing}) == len(listing)
    by_key = {c["key"]: c for c in listing}
    for c in listing[1:]:
        parent = by_key[c["parent"]]
        assert c["x"] == c["iteration"] > parent["x"]
    assert sum(c["best"] for c in listing) == 1


def test_a_candidate_shows_its_rationale_figures_and_diff(finished_run):
    repo = RunRepository.open(finished_run)
    record = repo.record("i0002-s1")
    parent = repo.record(record.parent_id)
    with viewer(finished_run) as client:
        shown = client.get("/api/candidates/i0002-s1").json()
        by_id = client.get(f"/api/candidates/{record.id}").json()
    assert shown == by_id
    assert shown["hypothesis"] == record.message.hypothesis and shown["verdict"].startswith("approve")
    assert shown["findings"] == record.message.findings and shown["parent"] == parent.key
    score_row = next(row for row in shown["metrics"] if row["name"] == "combined_score")
    assert score_row == {"name": "combined_score", "value": record.score, "parent": parent.score,
                         "change": record.score - parent.score}
    assert {row["name"] for row in shown["workloads"]} == {"near", "far"}
    # Highlighted as Python, marked as a diff, nothing left unescaped.
    assert '<span class="d-add"><span class="d-mark">+</span>' in shown["diff_html"]
    assert re.search(r'<span class="n">(WIDTH|RATE)</span>', shown["diff_html"])


def test_spend_per_role_and_research_notes_of_a_model_run(spending_run):
    with viewer(spending_run) as client:
        run = client.get("/api/run").json()
        first = client.get("/api/candidates/i0001-s0").json()
    usage = run["summary"]["usage"]
    assert set(usage) == {"planner", "coder", "critic", "evaluator"}
    assert usage["planner"]["calls"] == 2 and run["summary"]["tokens"] > 0
    assert run["summary"]["brain"] == ("planner fake-planner, coder fake-coder, "
                                       "critic fake-critic, evaluator fake-evaluator")
    assert first["note"] == "WIDTH 3 moves toward 5.\n" and first["model"] == "fake-planner+fake-coder"


def test_compare_puts_runs_side_by_side(finished_run, spending_run):
    with viewer(finished_run, compare=(spending_run,)) as client:
        assert client.get("/api/run").json()["access"]["compare"] is True
        table = client.get("/api/compare").json()
    assert table["runs"] == [finished_run.name, spending_run.name]
    rows = dict((name, cells) for name, cells in table["rows"])
    assert rows["evaluations used"] == ["6", "2"]
    assert rows["model tokens"][0] == "0" and rows["model tokens"][1] != "0"


def test_unknown_candidates_are_404(finished_run):
    with viewer(finished_run) as client:
        for key in ("i9999-s0", "HEAD", "best", "0" * 40):
            response = client.get(f"/api/candidates/{key}")
            assert response.status_code == 404 and response.json() == {"error": "no such candidate"}


def test_a_writable_viewer_adds_steering_notes(finished_run, tmp_path):
    access = Access(writable=True)
    with viewer(finished_run, access) as client:
        key = client.get("/api/run").json()["access"]["write_key"]
        assert key == access.write_key
        added = client.post("/api/steer", json={"text": "Keep RATE low.", "author": "Grace"},
                            headers={"x-adrs-write": key})
        assert added.status_code == 201 and added.json()["after_iteration"] == 3
        empty = client.post("/api/steer", json={"text": " ", "author": "Grace"},
                            headers={"x-adrs-write": key})
        assert empty.status_code == 400 and empty.json() == {"error": "the steering note is empty"}
        assert client.get("/api/run").json()["steering"][-1]["text"] == "Keep RATE low."
    assert SteeringLog(finished_run).notes()[-1].author == "Grace"
