"""What the viewer reads and writes: one open run, its checkpoint, steering notes and mailbox.

Reads go through RunRepository's public methods, the ProgramDatabase and the graph's own
checkpoint reader; the only writes are a steering note and a review answer, each through the
module that owns it (workspace/steering.py, graph/review.py). Nothing here opens a file by a
name a request gave.
"""

from __future__ import annotations

import hashlib
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adrs.graph.builder import build_graph
from adrs.graph.review import Mailbox, PendingReview, ReviewAnswer, pending_reviews
from adrs.graph.rundir import THREAD, Run, open_run
from adrs.report.summary import RunSummary, summarise_parts
from adrs.workspace.database import ProgramDatabase
from adrs.workspace.repository import ProgramRecord
from adrs.workspace.steering import SteeringLog, SteeringNote

CACHE_SECONDS = 0.5  # many browser tabs polling share one read of the run


@dataclass(frozen=True)
class Snapshot:
    """The run as one read saw it."""

    database: ProgramDatabase
    state: dict[str, Any]
    pending: tuple[PendingReview, ...]
    steering: tuple[SteeringNote, ...]
    version: str  # changes whenever anything the viewer shows changes


class RunSource:
    """An open run for the viewer's lifetime. Thread-safe: requests run in a thread pool."""

    def __init__(self, run_dir: Path) -> None:
        self._stack = ExitStack()
        self.run: Run = self._stack.enter_context(open_run(run_dir))
        saver = self._stack.enter_context(self.run.checkpointer())
        self._graph = build_graph(saver)
        self._steering = SteeringLog(self.run.paths.root)
        self._mailbox = Mailbox(self.run.paths)
        self._lock = threading.Lock()
        self._cached: tuple[float, Snapshot] | None = None

    def close(self) -> None:
        self._stack.close()

    @property
    def name(self) -> str:
        return self.run.paths.root.name

    def snapshot(self) -> Snapshot:
        with self._lock:
            if self._cached and time.monotonic() - self._cached[0] < CACHE_SECONDS:
                return self._cached[1]
            read = self._read()
            self._cached = (time.monotonic(), read)
            return read

    def _read(self) -> Snapshot:
        records = self.run.repository.records()  # the records it knows are not read again
        database = self._cached[1].database if self._cached else None
        if database is None or list(database.records) != records:  # most polls: no new program
            database = ProgramDatabase(records)
        checkpoint = self._graph.get_state({"configurable": THREAD})
        pending = tuple(pending_reviews(checkpoint))
        steering = self._steering.notes()
        marks = [checkpoint.config.get("configurable", {}).get("checkpoint_id", ""),
                 *(f"{r.id}:{r.status}" for r in database.records),
                 *(p.id for p in pending), *(n.id for n in steering)]
        version = hashlib.sha256("\n".join(marks).encode()).hexdigest()[:16]
        return Snapshot(database, dict(checkpoint.values), pending, steering, version)

    def summary(self) -> RunSummary:
        snap = self.snapshot()
        return summarise_parts(self.name, self.run.settings, snap.database.records, snap.state,
                               paused=bool(snap.pending))

    def record(self, key: str) -> ProgramRecord | None:
        """A program by key (i0007-s1) or full commit id, or None."""
        database = self.snapshot().database
        return database.get(key) if key in database else None  # indexed: no scan

    def note(self, record: ProgramRecord) -> str | None:
        return self.run.repository.note(record.id)

    def diff(self, record: ProgramRecord) -> str:
        return self.run.repository.diff_to_parent(record.id)

    def steer(self, text: str, author: str) -> SteeringNote:
        """Add a steering note; the planner reads it from the next iteration on."""
        # The last iteration with a committed candidate (the pipeline commits as it goes).
        done = max((r.iteration for r in self.run.repository.records()), default=0)
        note = self._steering.add(text, author=author, after_iteration=done)
        self._forget()
        return note

    def answer(self, review_id: str, answer: ReviewAnswer) -> None:
        """Leave a person's answer to a waiting plan for the run (RunError if refused)."""
        self._mailbox.post(review_id, answer, self.snapshot().pending, self.run.repository)
        self._forget()

    def _forget(self) -> None:
        with self._lock:
            self._cached = None

