"""The offline brain beats the human baseline within a small budget, on train and held-out.

Runs are deterministic for a seed, so these are fixed outcomes, not chances.
"""

from __future__ import annotations

import pytest

from tests.conftest import REPO_ROOT, start_run


@pytest.mark.parametrize("problem, iterations", [("txn_scheduling", 6),
                                                 ("spot_scheduling", 16),  # CMA-ES spends its first steps sizing itself here
                                                 ("spot_multiregion", 6)])
def test_the_offline_brain_beats_the_baseline(problem, iterations, tmp_path):
    final = start_run(REPO_ROOT / "problems" / problem, tmp_path / "run",
                      iterations=iterations, width=2, seed=0)
    report = final["report"]
    assert report["train"]["best"]["combined_score"] > report["train"]["baseline"]["combined_score"]
    assert report["heldout"]["best"]["combined_score"] > report["heldout"]["baseline"]["combined_score"]
