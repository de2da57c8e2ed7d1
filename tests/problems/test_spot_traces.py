"""spot_traces.py, shared by the two spot problems: calibration to the published real statistics,
the public Can't-Be-Late trace format, and the train/held-out split of real traces."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from tests.problems.helpers import load_module, problem_folder

st = load_module(problem_folder("spot_scheduling") / "spot_traces.py", "spot_traces_under_test")
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "spot_traces"
WINDOW = 92 * 6  # the published statistics are of 92-hour windows of 10-minute ticks


def test_both_spot_problems_ship_the_same_module():
    same = [(problem_folder(p) / "spot_traces.py").read_bytes()
            for p in ("spot_scheduling", "spot_multiregion")]
    assert same[0] == same[1]


@pytest.mark.parametrize("zone", sorted(st.ZONES))
def test_synthetic_statistics_match_the_published_real_ones(zone):
    rng = random.Random(f"calibration:{zone}")
    got = st.Stats.of(st.ZONES[zone].draw(rng, WINDOW) for _ in range(300))
    real = st.PUBLISHED[zone]
    assert got.availability == pytest.approx(real.availability, abs=0.03)
    assert got.mean_up_h == pytest.approx(real.mean_up_h, rel=0.1)
    assert got.mean_down_h == pytest.approx(real.mean_down_h, rel=0.1)
    assert got.outage_share == pytest.approx(real.outage_share, abs=0.05)


def test_down_time_is_short_gaps_plus_long_outages():
    """Not one geometric law: in a v100 zone most unavailable runs last 20 minutes or less, yet most
    unavailable time is in outages of three hours or more."""
    trace = np.concatenate([st.ZONES["2b-v100"].draw(random.Random(i), WINDOW) for i in range(200)])
    runs = [len(r) for r in np.split(trace, np.flatnonzero(np.diff(trace)) + 1) if r[0] == 0]
    assert np.mean(np.array(runs) <= 2) > 0.5
    assert st.Stats.of([trace]).outage_share > 0.6


def test_stats_count_runs_inside_each_trace():
    stats = st.Stats.of([np.array([1, 1, 0, 0, 0, 1]), np.array([0] * 18 + [1])])
    assert stats.availability == pytest.approx(4 / 25)
    assert stats.mean_up_h == pytest.approx(4 / 3 / 6)  # runs 2, 1 and 1 tick
    assert stats.mean_down_h == pytest.approx(21 / 2 / 6)  # runs 3 and 18 ticks
    assert stats.outage_share == pytest.approx(18 / 21)


def test_draws_are_seeded():
    law = st.ZONES["2a-v100"]
    assert np.array_equal(law.draw(random.Random(7), 300), law.draw(random.Random(7), 300))
    assert not np.array_equal(law.draw(random.Random(7), 300), law.draw(random.Random(8), 300))


# --- the public format -----------------------------------------------------------------------

def test_reads_the_fixture_zones_in_the_public_format():
    zones = st.read_zones(FIXTURE, WINDOW)
    assert list(zones) == ["zone-a_k80", "zone-b_v100"]
    assert list(zones["zone-a_k80"]) == ["0.json", "1.json", "2.json", "3.json"]
    raw = json.loads((FIXTURE / "zone-b_v100" / "2.json").read_text())["data"]
    trace = zones["zone-b_v100"]["2.json"]
    assert len(trace) == WINDOW  # cut to the ticks needed
    assert trace.tolist() == [1 - bit for bit in raw[:WINDOW]]  # 1 in the file means preempted


def _trace(tmp_path: Path, body, name: str = "0.json") -> Path:
    zone = tmp_path / "zone"
    zone.mkdir(exist_ok=True)
    (zone / name).write_text(body if isinstance(body, str) else json.dumps(body))
    return zone / name


@pytest.mark.parametrize("body, reason", [
    ("{not json", "not a JSON trace"),
    ([0, 1], 'expected {"metadata"'),
    ({"metadata": {"gap_seconds": 300}, "data": [0] * 600}, "gap_seconds is 300"),
    ({"metadata": {"gap_seconds": 600}, "data": [0, 2] + [0] * 600}, "data[1] is 2"),
    ({"metadata": {"gap_seconds": 600}, "data": [0.0] * 600}, "data[0] is 0.0"),
    ({"metadata": {"gap_seconds": 600}, "data": [0] * 100}, "100 ticks; at least 552"),
])
def test_a_malformed_trace_names_the_file_and_the_fault(tmp_path, body, reason):
    path = _trace(tmp_path, body)
    with pytest.raises(st.TraceError) as caught:
        st.read_zones(tmp_path, WINDOW)
    message = str(caught.value)
    assert str(path) in message and reason in message and "\n" not in message


def test_empty_and_missing_folders_are_errors(tmp_path):
    with pytest.raises(st.TraceError, match="not a folder"):
        st.read_zones(tmp_path / "nope", WINDOW)
    with pytest.raises(st.TraceError, match="no zone folders"):
        st.read_zones(tmp_path, WINDOW)
    (tmp_path / "empty-zone").mkdir()
    with pytest.raises(st.TraceError, match="empty-zone: no .json trace files"):
        st.read_zones(tmp_path, WINDOW)


def test_the_split_is_seeded_disjoint_and_capped():
    names = [f"{i}.json" for i in range(50)]
    train, heldout = st.split(names, "zone", cap=30)
    assert (train, heldout) == st.split(list(reversed(names)), "zone", cap=30)
    assert len(train) == len(heldout) == 25 and not set(train) & set(heldout)
    assert st.split(names, "other zone", cap=30) != (train, heldout)
    assert [len(side) for side in st.split(names, "zone", cap=10)] == [10, 10]
