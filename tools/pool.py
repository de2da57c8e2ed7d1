"""A pool of warm jailed workers (tools/workers.py) for one problem: up to `size` of them,
started in the background as soon as the pool exists (`warm_up`) or when an evaluation needs
one; each serves one evaluation at a time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from adrs.tools.cgroup import CgroupTree, delegated
from adrs.tools.isolation import current
from adrs.tools.jail import Isolation
from adrs.tools.sandbox import SandboxLimits, SandboxOutcome
from adrs.tools.workers import (
    STAGE_PREFIX,
    EvaluatorSetup,
    Request,
    WarmWorker,
    WorkerGone,
    clear_stale,
)


class WorkerPool:
    """Up to `size` warm workers of one problem, started by `warm_up` or as evaluations need
    them."""

    def __init__(self, problem_root: Path, limits: SandboxLimits, *, size: int = 1,
                 scratch_root: Path | None = None, isolation: Isolation | None = None,
                 setup: EvaluatorSetup | None = None) -> None:
        if size < 1:
            raise ValueError(f"size must be >= 1, got {size}")
        self.limits, self.size, self.setup = limits, size, setup or EvaluatorSetup()
        self.isolation = isolation or current()
        self._scratch_root = scratch_root
        if scratch_root is not None:
            Path(scratch_root).mkdir(parents=True, exist_ok=True)
        # A private copy in a neutral place: nothing the workers see names the run it came from.
        for folder in (Path(tempfile.gettempdir()), scratch_root):
            clear_stale(folder)  # left by adrs processes killed before they could clean up
        self._stage = Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{os.getpid()}-"))
        os.chmod(self._stage, 0o755)  # readable by `nobody`, whom the jail becomes under root
        self.problem_root = self._stage / "problem"
        shutil.copytree(problem_root, self.problem_root,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        self._idle: list[WarmWorker] = []
        self._count = 0
        self._started = 0
        tree = delegated(f"{id(self):x}")
        self.cgroups: CgroupTree | None = tree if isinstance(tree, CgroupTree) else None
        self.cgroup_note = tree.note if isinstance(tree, CgroupTree) else tree
        self._ready = threading.Condition()
        # Workers die with the thread that started them (PR_SET_PDEATHSIG), so one long-lived
        # thread starts them all, not the short-lived threads that evaluate.
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="adrs-spawner")
        self._closed = False
        self._warming: list[threading.Thread] = []

    def run(self, request: Request) -> SandboxOutcome:
        worker = self._acquire()
        if isinstance(worker, SandboxOutcome):
            return worker
        try:
            return worker.run(request)
        except WorkerGone as gone:
            return gone.outcome
        finally:
            self._release(worker)

    def warm_up(self) -> None:
        """Start the missing workers now, in the background, so that the first wave of a
        parallel run does not start its jails one evaluation at a time. A worker that cannot
        start is left out; the evaluation that needs it then starts one and reports why."""
        with self._ready:
            for _ in range(0 if self._closed else self.size - self._count):
                thread = threading.Thread(target=self._release_new, args=(self._reserve(),),
                                          name="adrs-warm-up", daemon=True)
                self._warming.append(thread)
                thread.start()

    def _release_new(self, number: int) -> None:
        worker = self._new_worker(number)
        if isinstance(worker, WarmWorker):
            self._release(worker)  # closed at once if the pool was closed meanwhile

    def _acquire(self) -> WarmWorker | SandboxOutcome:
        with self._ready:
            while True:
                while not self._idle and self._count >= self.size:
                    self._ready.wait()
                if not self._idle:
                    break
                worker = self._idle.pop()
                if worker.alive:
                    return worker
                worker.close()  # killed from outside while idle
                self._count -= 1
            number = self._reserve()
        return self._new_worker(number)

    def _reserve(self) -> int:
        """Count a worker about to start (the caller holds `_ready`); its number."""
        self._count += 1
        self._started += 1
        return self._started

    def _new_worker(self, number: int) -> WarmWorker | SandboxOutcome:
        """A worker for a place already counted; the place is given back if it cannot start."""
        group = None
        if self.cgroups is not None:
            group = self.cgroups.child(f"w{number}", memory_bytes=(self.limits.memory_mb + 512) << 20,
                                       pids=self.limits.max_processes + 16)
        try:
            return WarmWorker(self.problem_root, self.limits, self.isolation,
                              scratch_root=self._scratch_root, spawn=self._spawn, cgroup=group,
                              setup=self.setup)
        except WorkerGone as gone:
            self._release(None)
            return gone.outcome

    def _release(self, worker: WarmWorker | None) -> None:
        with self._ready:
            if worker is not None and worker.alive and not self._closed:
                self._idle.append(worker)
            else:
                self._count -= 1
                if worker is not None:
                    worker.close()
            self._ready.notify()

    def _spawn(self, argv: list[str], **kwargs) -> subprocess.Popen:
        return self._spawner.submit(subprocess.Popen, argv, **kwargs).result()

    def close(self) -> None:
        with self._ready:
            self._closed = True
            warming, self._warming = self._warming, []
        for thread in warming:  # they need the spawner, which is about to stop
            thread.join()
        with self._ready:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.close()
        self._spawner.shutdown(wait=True)
        if self.cgroups is not None:
            self.cgroups.close()
        shutil.rmtree(self._stage, ignore_errors=True)
