"""Steering notes live in git on their own ref, reach the planner from the next iteration on, and
bad notes are refused with one line."""

from __future__ import annotations

import subprocess
import threading

import pytest

from adrs.workspace.repository import RunRepository, WorkspaceError
from adrs.workspace.steering import STEERING_REF, SteeringLog
from tests.conftest import FIXTURES
from tests.viewer.runs import model_run


def new_run(tmp_path):
    """A run repository (root commit only): all the steering notes need."""
    RunRepository.create(tmp_path / "run", FIXTURES / "toy", "toy").close()
    return tmp_path / "run"


def git(run_dir, *args) -> str:
    return subprocess.run(["git", "-C", str(run_dir), *args], capture_output=True, text=True,
                          check=True).stdout


def test_the_version_changes_with_every_note_even_when_git_packs_the_ref(tmp_path):
    run_dir = new_run(tmp_path)
    log = SteeringLog(run_dir)
    seen = [log.version()]
    for text in ("One.", "Two.", "Three."):  # quicker than the file system's clock ticks
        log.add(text, author="Ada", after_iteration=0)
        seen.append(log.version())
    assert len(set(seen)) == 4 and log.version() == seen[-1]
    git(run_dir, "pack-refs", "--all")  # the ref's file is gone, packed-refs holds it
    packed = log.version()
    assert packed != seen[-1]
    log.add("Four.", author="Ada", after_iteration=0)
    assert log.version() != packed and [n.text for n in log.notes()][-1] == "Four."


def test_notes_are_commits_on_their_own_ref(tmp_path):
    run_dir = new_run(tmp_path)
    log = SteeringLog(run_dir)
    assert log.notes() == ()
    first = log.add("Try a larger WIDTH.\n\n# not a comment  \n", author="Ada  Lovelace",
                    after_iteration=0)
    second = log.add("Leave RATE alone.", author="Grace", after_iteration=3)
    assert [(n.text, n.author, n.after_iteration) for n in log.notes()] == [
        ("Try a larger WIDTH.\n\n# not a comment", "Ada Lovelace", 0),
        ("Leave RATE alone.", "Grace", 3)]
    assert (first.id, second.id) == tuple(n.id for n in SteeringLog(run_dir).notes())
    assert [n.text for n in log.for_iteration(3)] == ["Try a larger WIDTH.\n\n# not a comment"]
    assert len(log.for_iteration(4)) == 2
    # Readable with git alone, and out of the programs' refs.
    assert "Steered-by: Grace\nAfter-Iteration: 3" in git(run_dir, "log", "--format=%B", STEERING_REF)
    assert "Leave RATE" not in git(run_dir, "log", "--glob=refs/adrs", "--format=%B")
    assert "error" not in git(run_dir, "fsck", "--full").lower()


@pytest.mark.parametrize(("text", "author", "message"), [
    ("   \n", "Ada", "the steering note is empty"),
    ("x" * 4001, "Ada", "is 4001 characters long"),
    ("a\x00b", "Ada", "control characters"),
    ("fine", " ", "the author's name is empty"),
])
def test_bad_notes_are_refused_and_nothing_is_written(tmp_path, text, author, message):
    run_dir = new_run(tmp_path)
    log = SteeringLog(run_dir)
    with pytest.raises(WorkspaceError, match=message):
        log.add(text, author=author, after_iteration=0)
    assert log.notes() == ()


def test_writers_at_the_same_time_lose_no_note(tmp_path):
    run_dir = new_run(tmp_path)
    threads = [threading.Thread(target=SteeringLog(run_dir).add, args=(f"note {i}",),
                                kwargs={"author": "Ada", "after_iteration": 0}) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(n.text for n in SteeringLog(run_dir).notes()) == [f"note {i}" for i in range(4)]


def test_not_a_run_is_one_line(tmp_path):
    with pytest.raises(WorkspaceError, match="not an adrs run"):
        SteeringLog(tmp_path)


def test_the_model_planner_reads_notes_from_the_next_iteration_on(tmp_path):
    def steer(run_dir):
        log = SteeringLog(run_dir)
        log.add("Aim WIDTH at the near target.", author="Ada", after_iteration=0)
        log.add("Then keep WIDTH.", author="Ada", after_iteration=1)

    _, fakes = model_run(tmp_path, before=steer)
    first, second = (conversation[-1].content for conversation in fakes["planner"].received)
    guidance = "# Guidance from the person running this search"
    assert "- Aim WIDTH at the near target.\n\n# Your task" in first and guidance in first
    assert "Then keep WIDTH." not in first
    assert "- Aim WIDTH at the near target.\n- Then keep WIDTH.\n\n# Your task" in second
