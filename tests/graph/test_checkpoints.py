"""The run's checkpoint file keeps the newest checkpoint of each namespace only."""

from __future__ import annotations

import sqlite3

from tests.conftest import start_run


def test_a_run_keeps_one_checkpoint_per_namespace(toy_dir, tmp_path):
    final = start_run(toy_dir, tmp_path / "run", iterations=6, width=3, seed=1)
    assert final["stop_reason"] == "completed 6 iterations"
    with sqlite3.connect(tmp_path / "run" / ".adrs" / "checkpoints.sqlite") as db:
        per_namespace = db.execute("SELECT checkpoint_ns, COUNT(*) FROM checkpoints "
                                   "GROUP BY checkpoint_ns").fetchall()
        orphans = db.execute("SELECT COUNT(*) FROM writes WHERE checkpoint_id NOT IN "
                             "(SELECT checkpoint_id FROM checkpoints)").fetchone()[0]
    assert len(per_namespace) == 1 + 3  # the run's and one per slot
    assert {count for _, count in per_namespace} == {1}
    assert orphans == 0
