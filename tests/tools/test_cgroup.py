"""tools/cgroup.py: a worker's cgroup holds every process it starts, however they detach, and
ends them all at once. Runs where this user has a writable cgroup v2 (root, or a delegated scope)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from adrs.tools import cgroup
from adrs.tools.jail import launcher

DETACH = ("import os, subprocess, sys, time\n"
          "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],"
          " start_new_session=True)\n"
          "time.sleep(60)\n")


@pytest.fixture
def tree():
    found = cgroup.delegated("test")
    if isinstance(found, str):
        pytest.skip(f"no cgroup subtree here: {found}")
    yield found
    found.close()
    assert not found.root.path.exists()


def test_a_launched_command_and_its_detached_child_are_held_and_killed(tree):
    group = tree.child("w1", memory_bytes=256 << 20, pids=32)
    process = subprocess.Popen(launcher({"cgroup": str(group.path)},
                                        [sys.executable, "-c", DETACH]), start_new_session=True)
    deadline = time.monotonic() + 10
    while len(group.procs()) < 2 and time.monotonic() < deadline:  # the launcher, now python; its child
        time.sleep(0.02)
    assert len(group.procs()) >= 2 and process.pid in group.procs()
    group.remove()
    assert process.wait(timeout=5) == -9
    assert not group.path.exists()
    if tree.controllers:
        assert "limits" in tree.note
    else:
        assert tree.note.startswith("process tracking only: ")


def test_the_subtrees_of_dead_adrs_processes_are_cleared(tree):
    stale = tree.root.path.parent / "adrs-999999999-old"
    stale.mkdir()
    (stale / "w1").mkdir()
    again = cgroup.delegated("again")
    assert not isinstance(again, str) and not stale.exists()
    again.close()
