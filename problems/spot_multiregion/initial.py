"""Deadline-aware spot scheduling across regions: Uniform Progress with round-robin regions.

The evaluator builds one `Policy(job)` per simulated job and calls `policy.decide(obs)` once per
10-minute tick until the job is done or its deadline has passed. `decide` returns a pair
(region, instance) where instance is NONE, SPOT or ON_DEMAND. README.md describes `job`, `obs`
and the cost model.
"""

NONE = 0
SPOT = 1
ON_DEMAND = 2

# EVOLVE-BLOCK-START
SAFETY_MARGIN_HOURS = 0.5  # slack kept beyond one restart before switching to on-demand for good
PACE = 1.0  # 1.0 = the straight line from nothing at the start to the whole job at the deadline
HYSTERESIS_HOURS = 1.0  # once on on-demand in an outage, keep it until this far ahead of the line


class Policy:
    """Uniform Progress: spot whenever the job's region has it, otherwise try the next region in
    round-robin order (one per tick), on-demand while progress is behind the uniform line, and
    on-demand for good once the slack only just covers a restart."""

    def __init__(self, job):
        self.job = job
        self.committed = False
        self.next_region = 0  # the region round-robin tries next

    def decide(self, obs):
        job = self.job
        here = obs.region
        if not self.committed:
            # Slack shrinks by at most one tick per tick, so a margin of at least one tick
            # guarantees one restart on on-demand still fits when the switch is made.
            slack = obs.time_left_hours - obs.work_left_hours
            self.committed = slack <= job.overhead_hours + SAFETY_MARGIN_HOURS
        if self.committed:
            return here, ON_DEMAND
        if obs.spot_available[here]:
            return here, SPOT
        self.next_region = (self.next_region + 1) % job.regions
        if self.next_region == here:
            self.next_region = (self.next_region + 1) % job.regions
        if obs.spot_available[self.next_region]:
            return self.next_region, SPOT
        target = PACE * job.work_hours * obs.elapsed_hours / job.deadline_hours
        if obs.work_done_hours < target:
            return here, ON_DEMAND
        if obs.current == ON_DEMAND and obs.work_done_hours < target + HYSTERESIS_HOURS:
            return here, ON_DEMAND
        return here, NONE
# EVOLVE-BLOCK-END
