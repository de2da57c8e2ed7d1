"""Reading many objects at once: one pipelined pass through `git cat-file --batch`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from adrs.workspace.objects import ObjectStore
from adrs.workspace.repository import RunRepository
from tests.workspace.test_repository import INITIAL, make_problem, msg, source


def test_read_many_keeps_order_marks_missing_and_outlasts_the_pipes(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "--quiet", str(tmp_path)], check=True)
    store = ObjectStore(tmp_path / ".git")
    # 40 blobs of 100 kB: far more than a pipe holds in either direction at once.
    texts = [bytes([65 + n % 26]) * 100_000 + str(n).encode() for n in range(40)]
    shas = [store.write_blob(text) for text in texts]
    missing = "0" * 40
    try:
        found = store.read_many([*shas[:20], missing, *shas[20:]])
        assert found[20] is None
        assert [item for item in found if item is not None] == [("blob", t) for t in texts]
        assert store.blob_text(shas[3]) == texts[3].decode()  # the reader is still in step
        assert store.read_many([]) == []
    finally:
        store.close()


def test_records_read_git_in_two_passes_however_many_programs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir = tmp_path / "run"
    with RunRepository.create(run_dir, make_problem(tmp_path / "problem"), "demo") as run:
        run.commit_baseline(INITIAL, msg("Baseline", "baseline", 0, score=1.0))
        for n in range(1, 31):
            run.commit_candidate(key=f"i{n:04d}-s0", parent="baseline", source=source(n),
                                 message=msg(f"Return {n}", "evaluated", n, score=float(n)))
        expected = run.records()
    calls = {"read": 0, "read_many": 0}
    for name in calls:
        def counted(self: ObjectStore, *args: object, _name: str = name,
                    _real: object = getattr(ObjectStore, name)) -> object:
            calls[_name] += 1
            return _real(self, *args)  # type: ignore[operator]
        monkeypatch.setattr(ObjectStore, name, counted)
    with RunRepository.open(run_dir) as reopened:
        assert reopened.records() == expected
        assert calls == {"read": 0, "read_many": 2}  # the commits, then their trees
        reopened.records()  # known programs are not read again
        assert calls == {"read": 0, "read_many": 2}
