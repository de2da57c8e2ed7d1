"""problems/spot_multiregion: the trusted simulator, the child protocol and the scoring."""

from __future__ import annotations

import json
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

BASELINE = initial_source("spot_multiregion")
ev = load_evaluator("spot_multiregion")
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "spot_traces"


GREEDY_HERE = spot_policy("""
slack = obs.time_left_hours - obs.work_left_hours
self.committed = self.committed or slack <= self.job.overhead_hours + 0.5
if self.committed:
    return obs.region, ON_DEMAND
return obs.region, SPOT if obs.spot_available[obs.region] else NONE
""")

# Looks at every region (not one per tick) and, when spot is lost, moves to the available region
# whose spot runs have lasted longest on average so far; otherwise Uniform Progress as usual.
LONGEST_RUNS = spot_policy(init="""
self.up = [0] * job.regions
self.runs = [0] * job.regions
self.before = (False,) * job.regions
""", body="""
job = self.job
here = obs.region
for r, now in enumerate(obs.spot_available):
    if now:
        self.up[r] += 1
        self.runs[r] += not self.before[r]
self.before = obs.spot_available
slack = obs.time_left_hours - obs.work_left_hours
self.committed = self.committed or slack <= job.overhead_hours + 0.5
if self.committed:
    return here, ON_DEMAND
if obs.spot_available[here]:
    return here, SPOT
open_regions = [r for r, now in enumerate(obs.spot_available) if now]
if open_regions:
    return max(open_regions, key=lambda r: (self.up[r] + 6.0) / (self.runs[r] + 1.0)), SPOT
target = job.work_hours * obs.elapsed_hours / job.deadline_hours
done = obs.work_done_hours
if done < target or (obs.current == ON_DEMAND and done < target + 1.0):
    return here, ON_DEMAND
return here, NONE
""")


def _replay(avail_by_region, regions, kinds):
    """Replay one job; availability per region and decisions are given for the first ticks."""
    ticks = ev.HORIZON_TICKS
    avail = np.zeros((1, ev.MAX_REGIONS, ticks), dtype=np.uint8)
    for r, row in enumerate(avail_by_region):
        avail[0, r, :len(row)] = row
    plan_r = np.zeros((1, ticks), dtype=np.int64)
    plan_k = np.zeros((1, ticks), dtype=np.int64)
    plan_r[0, :len(regions)], plan_k[0, :len(kinds)] = regions, kinds
    sims = ev.Sims([("hand", 0)], avail, np.array([len(avail_by_region)]))
    return ev.simulate(sims, ev.replay_decider(plan_r, plan_k))


# --- the simulator, pinned on hand-computed cases ---------------------------------------------

def test_a_move_to_another_region_pays_the_overhead_again():
    S = ev.SPOT
    st = _replay([[1, 1, 0, 0], [1, 1, 1, 1]], [0, 0, 1, 1], [S, S, S, S])
    # ticks 0-1: 720 s overhead then 480 s work in region 0; ticks 2-3: the same in region 1
    assert st.done.tolist() == [960] and st.spot_s.tolist() == [2400]
    assert st.starts.tolist() == [2] and st.moves.tolist() == [1] and st.region.tolist() == [1]


def test_on_demand_moves_restart_too_and_staying_put_does_not():
    O = ev.ON_DEMAND
    st = _replay([[0], [0]], [0, 0, 1], [O, O, O])
    # 600 + 120 s overhead and 480 s work in region 0, then a fresh 720 s overhead in region 1
    assert st.done.tolist() == [480] and st.on_demand_s.tolist() == [1800]
    assert st.starts.tolist() == [2] and st.moves.tolist() == [1]


def test_spot_where_unavailable_or_idle_runs_nothing_and_keeps_the_region():
    S, N = ev.SPOT, ev.NONE
    st = _replay([[1, 1, 1], [0, 0, 0]], [1, 1, 0], [S, N, N])
    assert st.done.tolist() == [0] and st.spot_s.tolist() == [0]
    assert st.region.tolist() == [0] and st.starts.tolist() == [0]


def test_the_tick_that_finishes_is_billed_to_completion():
    st = ev.State(*(np.array([v]) for v in (ev.WORK_S - 100, ev.SPOT, 1, 0, 0, 0, 0, 0)))
    avail = np.zeros((1, ev.MAX_REGIONS), dtype=np.uint8)
    avail[0, 1] = 1
    after = ev.step(st, np.array([1]), np.array([ev.SPOT]), avail, np.array([True]))
    assert after.done.tolist() == [ev.WORK_S] and after.spot_s.tolist() == [100]
    assert after.starts.tolist() == [0]
    assert ev.costs(after)[0] == pytest.approx(100 / 3600 * 0.9731)


def test_misses_count_as_the_miss_cost():
    st = _replay([[1], [1]], [0], [ev.NONE])
    assert st.done.tolist() == [0]
    assert ev.penalised(np.array([10.0, 0.0]), np.array([True, False])) == pytest.approx(
        739.4 + 0.25 * 729.4)


def test_zones_of_one_cloud_region_are_correlated():
    def lift(name):  # P(both up) / (P(up0) P(up1)) over the training seeds
        a = np.array([ev.availability_traces(name, s)[:2] for s in range(1, 31)], dtype=float)
        return (a[:, 0] * a[:, 1]).mean() / (a[:, 0].mean() * a[:, 1].mean())
    assert lift("z2-same-region") > 1.07 > lift("z2-two-regions")
    counts = {name: len(ev.availability_traces(name, 1)) for name in ev.workload_names()}
    assert counts == {"z2-same-region": 2, "z2-two-regions": 2, "z3-three-regions": 3,
                      "z3-same-region": 3, "z5-three-regions": 5, "z9-three-regions": 9}
    assert set(ev.scenario_zones("z9-three-regions")) <= set(ev.spot_traces.ZONES)


# --- the baseline, the reference and discrimination -------------------------------------------

@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    path = write_candidate(tmp_path_factory.mktemp("base"), BASELINE)
    return path, ev.evaluate(path), ev.evaluate_heldout(path)


def test_baseline_matches_the_frozen_reference_and_never_misses(baseline):
    path, train, heldout = baseline
    for result in (train, heldout):
        assert "error" not in result
        assert result["combined_score"] == 1.0
        assert result["deadline_misses"] == 0 and result["simulations"] == 180
        assert set(result["per_workload"]) == set(ev.workload_names())
    assert 80 < train["mean_cost"] < 100 and train["mean_moves"] > 1
    again = dict(ev.evaluate(path))
    again.pop("timings")
    assert again == {k: v for k, v in train.items() if k != "timings"}


def test_worse_policies_score_lower(tmp_path):
    greedy = ev.evaluate(write_candidate(tmp_path, GREEDY_HERE))
    assert greedy["combined_score"] < 0.95 and greedy["mean_moves"] == 0
    on_demand = ev.evaluate(write_candidate(tmp_path, spot_policy("return 0, ON_DEMAND"), "od.py"),
                            workloads=["z9-three-regions"])
    assert list(on_demand["per_workload"]) == ["z9-three-regions"]
    assert on_demand["combined_score"] < 0.8
    assert on_demand["mean_cost"] == pytest.approx((ev.WORK_S + 720) / 3600 * 3.06)


def test_looking_at_every_region_beats_round_robin_on_train_and_heldout(tmp_path):
    path = write_candidate(tmp_path, LONGEST_RUNS)
    train, heldout = ev.evaluate(path), ev.evaluate_heldout(path)
    print(f"longest-runs region choice: train {train['combined_score']:.4f}, "
          f"held-out {heldout['combined_score']:.4f}")
    assert train["combined_score"] > 1.1 and heldout["combined_score"] > 1.1
    # the more zones, the more a round robin of one zone per tick misses
    assert train["per_workload"]["z9-three-regions"] > 1.3
    assert train["per_workload"]["z5-three-regions"] > 1.3
    # with two zones, round robin already looks at every zone: the same decisions exactly
    assert train["per_workload"]["z2-two-regions"] == 1.0


def test_tuning_the_safety_margin_moves_the_score(tmp_path):
    tighter = write_candidate(tmp_path, with_constant(BASELINE, "SAFETY_MARGIN_HOURS", 0.25),
                              "tight.py")
    train, heldout = ev.evaluate(tighter), ev.evaluate_heldout(tighter)
    print(f"SAFETY_MARGIN_HOURS 0.25: train {train['combined_score']:.4f}, "
          f"held-out {heldout['combined_score']:.4f}")
    assert train["combined_score"] > 1.02 and heldout["combined_score"] > 1.02
    looser = ev.evaluate(write_candidate(
        tmp_path, with_constant(BASELINE, "SAFETY_MARGIN_HOURS", 1.0), "l.py"))
    assert looser["combined_score"] < 1.0


# --- invalid candidates and the protocol ------------------------------------------------------

@pytest.mark.parametrize("answer, reason", [
    ("1", "returned 1"), ("(0, 3)", "returned (0, 3)"), ("(2, 1)", "returned (2, 1)"),
    ("(True, 1)", "returned (True, 1)"), ("[0, 1.0]", "returned [0, 1.0]"),
    ("(0, 1, 2)", "returned (0, 1, 2)"), ("(-1, 1)", "returned (-1, 1)"),
])
def test_invalid_decisions_are_rejected_with_the_workload_named(tmp_path, answer, reason):
    result = ev.evaluate(write_candidate(tmp_path, spot_policy(f"return {answer}")),
                         workloads=["z2-two-regions"])
    assert result["combined_score"] == 0.0
    assert reason in result["error"] and "z2-two-regions (trace 1), tick 0" in result["error"]


def test_crashes_timeouts_and_raw_answers(tmp_path):
    crash = ev.evaluate(write_candidate(tmp_path, spot_policy(
        "if obs.tick == 7:\n    raise KeyError('x')\nreturn 0, SPOT")),
        workloads=["z5-three-regions"])
    assert crash["combined_score"] == 0.0 and "tick 7: KeyError" in crash["error"]
    sims = ev.build_sims(["z3-same-region"], ev.trace_set("train"))
    with pytest.raises(ev.CandidateError, match="timed out after 1 s"):
        ev.run_candidate(write_candidate(tmp_path, spot_policy("while True:\n    pass"), "slow.py"),
                         sims, 1.0)
    # a hostile child writing to the answer channel (fd 3, duplicated before the import)
    for junk, reason in [("b'{\"combined_score\": 99}\\n'", "bytes for 30 jobs"),
                         ("b'91' * 30 + b'\\n'", "invalid decision bytes b'91'"),
                         ("b'!{\"sim\": 99}\\n'", "malformed report")]:
        result = ev.evaluate(write_candidate(tmp_path, f"import os\nos.write(3, {junk})\n",
                                             "raw.py"), workloads=["z2-same-region"])
        assert result["combined_score"] == 0.0 and reason in result["error"]


def test_unknown_workloads_list_the_valid_names(tmp_path):
    result = ev.evaluate(write_candidate(tmp_path, BASELINE), workloads=["z9-three-regions", "z7"])
    assert result["combined_score"] == 0.0 and "z7" in result["error"]
    assert "z2-same-region" in result["error"]


# Scans every object the child holds, and the driver's frames, for a 0/1 sequence as long as a
# region's trace (312 ticks; stdlib lookup tables reach 256): the future is simply not there.
PEEKER = spot_peeker("any(len(h) != obs.tick + 1 for h in obs.history)",
                     "obs.region, SPOT if obs.spot_available[obs.region] else ON_DEMAND")


def test_the_child_never_holds_future_availability(tmp_path):
    result = ev.evaluate(write_candidate(tmp_path, PEEKER), workloads=["z9-three-regions"])
    assert "error" not in result, result.get("error")


# --- your own traces ($ADRS_DATA_DIR) -----------------------------------------------------------

def test_real_traces_make_one_scenario_of_every_zone(tmp_path, monkeypatch):
    monkeypatch.setenv("ADRS_DATA_DIR", str(FIXTURE))
    path = write_candidate(tmp_path, BASELINE)
    train, heldout = ev.evaluate(path), ev.evaluate_heldout(path)
    for result, split in ((train, "train"), (heldout, "heldout")):
        assert list(result["per_workload"]) == ["all-zones"] and result["combined_score"] == 1.0
        assert result["artifacts"]["data_source"] == \
            f"ADRS_DATA_DIR={FIXTURE}: 2 zones, 1 scenarios, 2 {split} trace windows"
    windows = {split: [name for _, name, _ in ev.trace_set(split).by_scenario["all-zones"]]
               for split in ("train", "heldout")}
    assert sorted(windows["train"] + windows["heldout"]) == ["0.json", "1.json", "2.json",
                                                            "3.json"]
    # one file name is one time window: every zone's file of that name, in folder order
    _, name, rows = ev.trace_set("train").by_scenario["all-zones"][0]
    raw = json.loads((FIXTURE / "zone-b_v100" / name).read_text())["data"]
    assert rows.shape == (2, ev.HORIZON_TICKS) and rows[1].tolist() == [1 - b for b in raw[:312]]


def test_scenarios_json_names_the_scenarios(tmp_path, monkeypatch):
    data = tmp_path / "data"
    shutil.copytree(FIXTURE, data)
    (data / "scenarios.json").write_text(json.dumps({"b-then-a": ["zone-b_v100", "zone-a_k80"],
                                                     "a-alone": ["zone-a_k80"]}))
    monkeypatch.setenv("ADRS_DATA_DIR", str(data))
    result = ev.evaluate(write_candidate(tmp_path, BASELINE))
    assert list(result["per_workload"]) == ["b-then-a", "a-alone"]
    assert result["simulations"] == 4


@pytest.mark.parametrize("scenarios, reason", [
    ('{"s": ["zone-a_k80", "zone-x"]}', "scenario s must list 1 to 10 distinct zone folders; "
                                        "unknown: ['zone-x']"),
    ('{"s": []}', 'expected {"scenario": ["zone folder", ...], ...}'),
    ("[1, 2", "not JSON"),
])
def test_a_bad_scenarios_json_is_an_error_naming_it(tmp_path, monkeypatch, scenarios, reason):
    data = tmp_path / "data"
    shutil.copytree(FIXTURE, data)
    (data / "scenarios.json").write_text(scenarios)
    monkeypatch.setenv("ADRS_DATA_DIR", str(data))
    with pytest.raises(ev.spot_traces.TraceError) as caught:
        ev.evaluate(write_candidate(tmp_path, BASELINE))
    assert str(data / "scenarios.json") in str(caught.value) and reason in str(caught.value)


def _without(tmp_path: Path, name: str, files: list[str]) -> Path:
    """A copy of the fixture without some of zone-a_k80's files."""
    data = tmp_path / name
    shutil.copytree(FIXTURE, data)
    for file in files:
        (data / "zone-a_k80" / file).unlink()
    return data


def test_windows_missing_from_a_zone_are_left_out(tmp_path, monkeypatch):
    path = write_candidate(tmp_path, BASELINE)
    monkeypatch.setenv("ADRS_DATA_DIR", str(_without(tmp_path, "two", ["1.json", "2.json"])))
    assert ev.evaluate(path)["simulations"] == ev.evaluate_heldout(path)["simulations"] == 1
    monkeypatch.setenv("ADRS_DATA_DIR", str(_without(tmp_path, "one", ["1.json", "2.json",
                                                                        "3.json"])))
    with pytest.raises(ev.spot_traces.TraceError, match="scenario all-zones has 1 trace files "
                                                        "present in all of its zones; a heldout"):
        ev.evaluate_heldout(path)
