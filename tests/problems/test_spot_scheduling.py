"""problems/spot_scheduling: the trusted simulator, the child protocol and the scoring."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.problems.helpers import (
    initial_source,
    load_evaluator,
    spot_peeker,
    spot_policy,
    with_constant,
    write_candidate,
)

BASELINE = initial_source("spot_scheduling")
ev = load_evaluator("spot_scheduling")
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "spot_traces"


GREEDY = spot_policy("""
slack = obs.time_left_hours - obs.work_left_hours
self.committed = self.committed or slack <= self.job.overhead_hours + 0.5
if self.committed:
    return ON_DEMAND
return SPOT if obs.spot_available else NONE
""")

# Availability-aware waiting: while spot is down, wait as long as the slack covers the time the
# remaining work is expected to spend waiting for spot, estimated from the history seen so far.
AVAILABILITY_AWARE = spot_policy("""
job = self.job
slack = obs.time_left_hours - obs.work_left_hours
self.committed = self.committed or slack <= job.overhead_hours + 0.5
if self.committed:
    return ON_DEMAND
if obs.spot_available:
    return SPOT
h = obs.history
unavailable = 1.0 - (sum(h) + 2.0) / (len(h) + 4.0)
need = 0.5 * obs.work_left_hours * unavailable + 2 * job.overhead_hours + 0.5
if slack < need or (obs.current == ON_DEMAND and slack < need + 1.0):
    return ON_DEMAND
return NONE
""")


def _sims(avail_rows, trace, deadline_h, overhead_s):
    n = len(trace)
    return ev.Sims([("hand", i) for i in range(n)], np.array(avail_rows, dtype=np.uint8),
                   np.array(trace), np.full(n, deadline_h * 3600), np.array(overhead_s))


def _replay(avail, decisions, overhead_s, deadline_h=52):
    """Replay one job whose availability and decisions are given for the first ticks."""
    ticks = deadline_h * 6
    row = np.zeros(ticks, dtype=np.uint8)
    row[:len(avail)] = avail
    plan = np.zeros((1, ticks), dtype=np.int64)
    plan[0, :len(decisions)] = decisions
    return ev.simulate(_sims([row], [0], deadline_h, [overhead_s]), ev.replay_decider(plan))


# --- the simulator, pinned on hand-computed cases ---------------------------------------------

def test_preemption_and_restart_pay_the_overhead_again():
    S = ev.SPOT
    st = _replay([1, 1, 0, 1], [S, S, S, S], overhead_s=72)
    # tick 0: start, 72 s overhead + 528 s work; tick 1: 600 s; tick 2: preempted; tick 3: restart
    assert st.done.tolist() == [528 + 600 + 528]
    assert st.spot_s.tolist() == [1800] and st.on_demand_s.tolist() == [0]
    assert st.starts.tolist() == [2]


def test_spot_while_unavailable_makes_no_progress_and_costs_nothing():
    st = _replay([0, 0, 0], [ev.SPOT] * 3, overhead_s=72)
    assert st.done.tolist() == [0] and st.spot_s.tolist() == [0] and st.starts.tolist() == [0]


def test_switching_type_restarts_the_overhead_and_long_overheads_carry_over():
    S, O = ev.SPOT, ev.ON_DEMAND
    st = _replay([1, 1], [S, O], overhead_s=720)  # 600 s of spot overhead, then a fresh 720 s
    assert st.done.tolist() == [0] and st.spot_s.tolist() == [600]
    assert st.on_demand_s.tolist() == [600] and st.starts.tolist() == [2]
    st = _replay([0, 0, 0], [O, O, O], overhead_s=1440)  # 600 + 600 + 240 s overhead, 360 s work
    assert st.done.tolist() == [360] and st.on_demand_s.tolist() == [1800]


def test_all_on_demand_job_cost_and_partial_last_tick():
    st = _replay([], [ev.ON_DEMAND] * 312, overhead_s=720)
    assert st.done.tolist() == [ev.WORK_S]
    assert st.on_demand_s.tolist() == [ev.WORK_S + 720]  # the last tick is billed to completion
    assert ev.costs(st)[0] == pytest.approx(48.2 * 3.06)
    one = ev.State(*(np.array([v]) for v in (ev.WORK_S - 100, ev.ON_DEMAND, 0, 0, 0, 0)))
    after = ev.step(one, np.array([ev.ON_DEMAND]), np.array([False]), np.array([True]),
                    np.array([720]))
    assert after.done.tolist() == [ev.WORK_S] and after.on_demand_s.tolist() == [100]


def test_idle_job_misses_its_deadline_and_counts_as_the_miss_cost():
    st = _replay([1] * 312, [ev.NONE] * 312, overhead_s=72)
    assert st.done.tolist() == [0] and ev.costs(st).tolist() == [0.0]
    assert pytest.approx(1468.8) == ev.MISS_COST
    assert ev.penalised(np.array([10.0, 20.0]), np.array([True, True])) == pytest.approx(16.25)
    # [10, 1468.8]: mean 739.4, std 729.4
    assert ev.penalised(np.array([10.0, 0.0]), np.array([True, False])) == pytest.approx(
        739.4 + 0.25 * 729.4)


def test_environments_are_the_calibrated_zones_and_traces_are_seeded():
    assert list(ev.spot_traces.ZONES) == ["2a-k80", "2b-k80", "2a-v100", "2b-v100"]
    trace = ev.availability_trace("2b-v100", 1)
    assert len(trace) == ev.HORIZON_TICKS == 552
    assert np.array_equal(trace, ev.availability_trace("2b-v100", 1))
    assert not np.array_equal(trace, ev.availability_trace("2b-v100", 2))
    assert len(ev.workload_names()) == 36


# --- the baseline, the reference and discrimination -------------------------------------------

@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    path = write_candidate(tmp_path_factory.mktemp("base"), BASELINE)
    return path, ev.evaluate(path), ev.evaluate_heldout(path)


def test_baseline_matches_the_frozen_reference_and_never_misses(baseline):
    _, train, heldout = baseline
    for result in (train, heldout):
        assert "error" not in result
        assert result["combined_score"] == 1.0
        assert result["deadline_misses"] == 0 and result["simulations"] == 1080
        assert set(result["per_workload"]) == set(ev.workload_names())
    assert 85 < train["mean_cost"] < 100
    assert "worst_workloads" in train["artifacts"]


def test_evaluation_is_deterministic(baseline):
    path, train, _ = baseline
    again = ev.evaluate(path)
    train, again = dict(train), dict(again)
    train.pop("timings"), again.pop("timings")
    assert again == train


def test_greedy_differs_and_always_on_demand_is_worse(tmp_path, baseline):
    greedy = ev.evaluate(write_candidate(tmp_path, GREEDY))
    # greedy waits out outages: cheaper with a loose deadline, dearer with a tight one
    assert greedy["combined_score"] < 1.0 and greedy["deadline_misses"] == 0
    assert greedy["mean_cost_d92"] < baseline[1]["mean_cost_d92"]
    assert greedy["mean_cost_d52"] > baseline[1]["mean_cost_d52"]
    names = ["2a-k80-d70-r0.2", "2b-k80-d52-r0.4"]
    on_demand = ev.evaluate(write_candidate(tmp_path, spot_policy("return ON_DEMAND"), "od.py"),
                            workloads=names)
    assert set(on_demand["per_workload"]) == set(names)
    assert on_demand["combined_score"] < 0.9 and on_demand["deadline_misses"] == 0


def test_availability_aware_waiting_beats_the_baseline_on_train_and_heldout(tmp_path):
    path = write_candidate(tmp_path, AVAILABILITY_AWARE)
    train, heldout = ev.evaluate(path), ev.evaluate_heldout(path)
    print(f"availability-aware: train {train['combined_score']:.4f}, "
          f"held-out {heldout['combined_score']:.4f}")
    assert train["combined_score"] > 1.01 and heldout["combined_score"] > 1.01


def test_tuning_the_safety_margin_moves_the_score(tmp_path):
    tighter = write_candidate(tmp_path, with_constant(BASELINE, "SAFETY_MARGIN_HOURS", 0.25),
                              "tight.py")
    train, heldout = ev.evaluate(tighter), ev.evaluate_heldout(tighter)
    print(f"SAFETY_MARGIN_HOURS 0.25: train {train['combined_score']:.4f}, "
          f"held-out {heldout['combined_score']:.4f}")
    assert train["combined_score"] > 1.0 and heldout["combined_score"] > 1.0
    # below one tick (1/6 h) the safety switch comes too late: misses, heavily penalised
    reckless = ev.evaluate(write_candidate(
        tmp_path, with_constant(BASELINE, "SAFETY_MARGIN_HOURS", 0.1), "r.py"))
    assert reckless["deadline_misses"] > 0 and reckless["combined_score"] < 0.8
    assert "deadline_misses" in reckless["artifacts"]


# --- invalid candidates and the protocol ------------------------------------------------------

@pytest.mark.parametrize("answer, reason", [
    ("3", "returned 3"), ("'SPOT'", "returned 'SPOT'"), ("True", "returned True"),
    ("1.0", "returned 1.0"), ("None", "returned None"),
])
def test_invalid_decisions_are_rejected_with_the_workload_named(tmp_path, answer, reason):
    result = ev.evaluate(write_candidate(tmp_path, spot_policy(f"return {answer}")),
                         workloads=["2b-v100-d70-r0.2"])
    assert result["combined_score"] == 0.0
    assert reason in result["error"]
    assert "2b-v100-d70-r0.2 (trace 1), tick 0" in result["error"]


def test_crashes_and_missing_entry_points_are_reported(tmp_path):
    crash = ev.evaluate(write_candidate(tmp_path, spot_policy(
        "if obs.tick == 5:\n    raise RuntimeError('boom')\nreturn SPOT")),
        workloads=["2a-k80-d52-r0.02"])
    assert crash["combined_score"] == 0.0
    assert "tick 5: RuntimeError: boom" in crash["error"]
    missing = ev.evaluate(write_candidate(tmp_path, "x = 1\n", "empty.py"),
                          workloads=["2a-k80-d52-r0.02"])
    assert missing["combined_score"] == 0.0 and "Policy" in missing["error"]
    broken = ev.evaluate(write_candidate(tmp_path, "def (:\n", "broken.py"),
                         workloads=["2a-k80-d52-r0.02"])
    assert broken["combined_score"] == 0.0 and "SyntaxError" in broken["error"]
    exits = ev.evaluate(write_candidate(tmp_path, "raise SystemExit(3)\n", "exit.py"),
                        workloads=["2a-k80-d52-r0.02"])
    assert exits["combined_score"] == 0.0 and "SystemExit" in exits["error"]


def test_a_slow_candidate_times_out(tmp_path):
    sims = ev.build_sims(["2a-k80-d52-r0.02"], ev.trace_set("train"))
    with pytest.raises(ev.CandidateError, match="timed out after 1 s"):
        ev.run_candidate(write_candidate(tmp_path, spot_policy("while True:\n    pass")), sims, 1.0)


def test_raw_answers_are_validated_and_claimed_scores_ignored(tmp_path):
    names = ["2a-k80-d52-r0.02"]  # 30 jobs
    # a hostile child writing straight to the answer channel (fd 3, duplicated before import)
    junk = "import os\nos.write(3, b'{\"combined_score\": 99}\\n')\n"
    result = ev.evaluate(write_candidate(tmp_path, junk, "junk.py"), workloads=names)
    assert result["combined_score"] == 0.0 and "decisions for 30 jobs" in result["error"]
    bad_byte = "import os\nos.write(3, b'9' * 30 + b'\\n')\n"
    result = ev.evaluate(write_candidate(tmp_path, bad_byte, "byte.py"), workloads=names)
    assert result["combined_score"] == 0.0 and "invalid decision byte b'9'" in result["error"]
    forged = "import os\nos.write(3, b'!{not json\\n')\n"
    result = ev.evaluate(write_candidate(tmp_path, forged, "forged.py"), workloads=names)
    assert result["combined_score"] == 0.0 and "malformed report" in result["error"]
    # printing a score goes to stderr and changes nothing
    boast = "print('combined_score: 99')\n" + BASELINE
    result = ev.evaluate(write_candidate(tmp_path, boast, "boast.py"), workloads=names)
    assert result["combined_score"] == 1.0


def test_unknown_workloads_list_the_valid_names(tmp_path):
    result = ev.evaluate(write_candidate(tmp_path, BASELINE),
                         workloads=["2a-k80-d52-r0.02", "nope"])
    assert result["combined_score"] == 0.0
    assert "nope" in result["error"] and "2b-k80-d92-r0.4" in result["error"]


# Scans every object the child process holds for a 0/1 sequence as long as a trace (552 ticks;
# stdlib lookup tables reach 256) and checks the history is no longer than the ticks seen.
PEEKER = spot_peeker("len(obs.history) != obs.tick + 1",
                     "SPOT if obs.spot_available else ON_DEMAND")


def test_the_child_never_holds_future_availability(tmp_path):
    result = ev.evaluate(write_candidate(tmp_path, PEEKER), workloads=["2a-v100-d52-r0.2"])
    assert "error" not in result, result.get("error")


# --- your own traces ($ADRS_DATA_DIR) -----------------------------------------------------------

def test_real_traces_replace_the_synthetic_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("ADRS_DATA_DIR", str(FIXTURE))
    path = write_candidate(tmp_path, BASELINE)
    train, heldout = ev.evaluate(path), ev.evaluate_heldout(path)
    zones = ["zone-a_k80", "zone-b_v100"]  # the fixture's zone folders name the environments
    assert list(train["per_workload"]) == [f"{z}-d{d}-r{r}" for z in zones for d in (52, 70, 92)
                                           for r in ("0.02", "0.2", "0.4")]
    for result, split in ((train, "train"), (heldout, "heldout")):
        assert result["combined_score"] == 1.0 and result["simulations"] == 36  # 2 traces a zone
        assert result["artifacts"]["data_source"] == \
            f"ADRS_DATA_DIR={FIXTURE}: 2 zones, 4 {split} traces"
    assert "worst trace zone-" in train["artifacts"]["worst_workloads"]
    files = {split: {name for traces in ev.trace_set(split).by_env.values()
                     for _, name, _ in traces} for split in ("train", "heldout")}
    assert len(files["train"]) == len(files["heldout"]) == 4
    assert not files["train"] & files["heldout"]
    one = ev.evaluate(path, workloads=["zone-b_v100-d70-r0.2"])
    assert list(one["per_workload"]) == ["zone-b_v100-d70-r0.2"]


def test_synthetic_data_is_the_default_and_says_so(baseline):
    _, train, heldout = baseline
    assert train["artifacts"]["data_source"].startswith("synthetic: 4 zone laws calibrated")
    assert "heldout seeds 1001-1030" in heldout["artifacts"]["data_source"]


def test_a_malformed_trace_file_stops_the_evaluation_and_names_the_file(tmp_path, monkeypatch):
    data = tmp_path / "data"
    shutil.copytree(FIXTURE, data)
    bad = data / "zone-b_v100" / "3.json"
    bad.write_text('{"metadata": {"gap_seconds": 600}, "data": [0, 1, "x"]}')
    monkeypatch.setenv("ADRS_DATA_DIR", str(data))
    with pytest.raises(ev.spot_traces.TraceError) as caught:
        ev.evaluate(write_candidate(tmp_path, BASELINE))
    assert str(caught.value) == \
        f"{bad}: data[2] is 'x'; expected 0 (spot available) or 1 (preempted)"
