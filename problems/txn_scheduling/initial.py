"""Transaction scheduling: order a batch so that it commits as early as possible.

Human baseline: sampled greedy Shortest-Makespan-First (SMF). Start from a random transaction,
then repeatedly try a random sample of the remaining ones and append the one that raises the
makespan of the schedule built so far the least. The timelines (outside the evolvable region) are
fast, incremental copies of the two models in README.md; the evaluator recomputes everything itself.
"""

import random


class ConflictTimeline:
    """The admitted prefix of a schedule under the default model ("conflict"): the latest
    operation and the latest write on every key, the makespan."""

    @staticmethod
    def compile(transactions):
        """Per transaction: (length, [(key, first write, first read, last op, last write)]), the
        offsets within the transaction, None where it does not read or write the key."""
        specs = []
        for ops in transactions:
            keys = {}
            for offset, (op, key) in enumerate(ops):
                first_w, first_r, _, last_w = keys.get(key, (None, None, None, None))
                if op == "w":
                    first_w = offset if first_w is None else first_w
                    last_w = offset
                else:
                    first_r = offset if first_r is None else first_r
                keys[key] = (first_w, first_r, offset, last_w)
            specs.append((len(ops), [(key, *spec) for key, spec in keys.items()]))
        return specs

    def __init__(self, specs):
        self.specs = specs
        self.last_op = {}     # key -> time of the latest operation on it
        self.last_write = {}  # key -> time of the latest write to it
        self.makespan = 0
        self.order = []

    def start_time(self, t):
        """Earliest start of transaction t if it were appended now (nothing changes)."""
        start = 0
        for key, first_w, first_r, _, _ in self.specs[t][1]:
            if first_w is not None and key in self.last_op:
                start = max(start, self.last_op[key] + 1 - first_w)
            if first_r is not None and key in self.last_write:
                start = max(start, self.last_write[key] + 1 - first_r)
        return start

    def finish_time(self, t):
        return self.start_time(t) + self.specs[t][0]

    def makespan_with(self, t):
        """The makespan after appending t."""
        return max(self.makespan, self.finish_time(t))

    def append(self, t):
        start = self.start_time(t)
        length, keys = self.specs[t]
        for key, _, _, last, last_w in keys:
            self.last_op[key] = max(self.last_op.get(key, start + last), start + last)
            if last_w is not None:
                self.last_write[key] = max(self.last_write.get(key, start + last_w),
                                           start + last_w)
        self.makespan = max(self.makespan, start + length)
        self.order.append(t)


class LockTimeline:
    """The admitted prefix of a schedule under the "strict-2pl" variant: locks still held, the
    last start, the makespan."""

    @staticmethod
    def compile(transactions):
        """Per transaction: (length, [(key, first access offset, writes the key?), ...])."""
        specs = []
        for ops in transactions:
            first = {}
            writes = {}
            for index, (op, key) in enumerate(ops):
                first.setdefault(key, index)
                writes[key] = writes.get(key, False) or op == "w"
            specs.append((len(ops), [(key, first[key], writes[key]) for key in first]))
        return specs

    def __init__(self, specs):
        self.specs = specs
        self.held = {}  # key -> [(lock begin, lock end, writes?)] of admitted transactions
        self.last_start = 0
        self.makespan = 0
        self.order = []

    def start_time(self, t):
        """Earliest start of transaction t if it were appended now (nothing changes)."""
        length, locks = self.specs[t]
        floor = self.last_start
        forbidden = []
        for key, first, writes in locks:
            for begin, end, other_writes in self.held.get(key, ()):
                # Overlap of [s + first, s + length) with [begin, end) for s in lo..hi.
                if (writes or other_writes) and end - first - 1 >= floor:
                    forbidden.append((begin - length + 1, end - first - 1))
        start = floor
        for lo, hi in sorted(forbidden):
            if lo > start:
                break
            if hi >= start:
                start = hi + 1
        return start

    def finish_time(self, t):
        return self.start_time(t) + self.specs[t][0]

    def makespan_with(self, t):
        """The makespan after appending t."""
        return max(self.makespan, self.finish_time(t))

    def append(self, t):
        start = self.start_time(t)
        length, locks = self.specs[t]
        for key, first, writes in locks:
            # A lock released by `start` can never matter again: later starts are >= start.
            kept = [lock for lock in self.held.get(key, ()) if lock[1] > start]
            kept.append((start + first, start + length, writes))
            self.held[key] = kept
        self.last_start = start
        self.makespan = max(self.makespan, start + length)
        self.order.append(t)


TIMELINES = {"conflict": ConflictTimeline, "strict-2pl": LockTimeline}


def at_least_one(value):
    """A knob as a usable count: an int, never below 1."""
    return max(1, int(value))


# EVOLVE-BLOCK-START
SAMPLE_SIZE = 10  # remaining transactions tried at each greedy step
NUM_STARTS = 1  # independent greedy passes; the one with the smallest makespan wins
SEED = 0  # seed of every random choice, so the schedule is reproducible


def greedy_pass(timeline, rng, sample_size):
    """One SMF pass: a random first transaction, then the best of a random sample at each step."""
    remaining = list(range(len(timeline.specs)))
    if remaining:
        timeline.append(remaining.pop(rng.randrange(len(remaining))))
    while remaining:
        tried = rng.sample(range(len(remaining)), min(sample_size, len(remaining)))
        best = min(tried, key=lambda i: timeline.makespan_with(remaining[i]))
        timeline.append(remaining.pop(best))
    return timeline


def schedule(transactions, model="conflict"):
    kind = TIMELINES[model]
    specs = kind.compile(transactions)
    rng = random.Random(SEED)
    best = None
    for _ in range(at_least_one(NUM_STARTS)):
        timeline = greedy_pass(kind(specs), rng, at_least_one(SAMPLE_SIZE))
        if best is None or timeline.makespan < best.makespan:
            best = timeline
    return best.order
# EVOLVE-BLOCK-END
