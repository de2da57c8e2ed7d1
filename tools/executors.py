"""Where evaluations run: the local pool of warm jailed workers (the default), or a Ray cluster.

`RayExecutor` keeps a few Ray actors, each owning a local `WorkerPool` on its node: the problem
folder travels to the node as bytes, the node decides its own isolation (the same rules as here:
tools/isolation.py), and refuses to evaluate without one unless the run allows it. Ray is an
optional extra (`pip install adrs[ray]`), imported only when this executor is built.
"""

from __future__ import annotations

import itertools
import tempfile
import threading
from pathlib import Path
from typing import Protocol

from adrs.tools.isolation import current
from adrs.tools.pool import WorkerPool
from adrs.tools.sandbox import SandboxLimits, SandboxOutcome
from adrs.tools.workers import EvaluatorSetup, Request

RAY_HINT = "pip install 'adrs[ray]'"


class ExecutorError(RuntimeError):
    """An executor that cannot start; the message is one line."""


class Executor(Protocol):
    """Runs evaluation requests somewhere jailed; safe to call from several threads at once."""

    def run(self, request: Request) -> SandboxOutcome: ...

    def close(self) -> None: ...


def problem_files(root: Path) -> dict[str, bytes]:
    """Every file of a problem folder by relative path: what a remote node needs to evaluate."""
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts}


class NodeEvaluator:
    """One Ray actor's state: a private copy of the problem and a local pool of warm workers."""

    def __init__(self, files: dict[str, bytes], limits: SandboxLimits, require_isolation: bool,
                 setup: EvaluatorSetup | None = None) -> None:
        isolation = current()
        if require_isolation and not isolation.jailed:
            raise ExecutorError(f"no isolation on this Ray node: {isolation.reason}; "
                                f"fix: {isolation.remedy}")
        self._folder = tempfile.TemporaryDirectory(prefix="adrs-node-")
        root = Path(self._folder.name) / "problem"
        for name, data in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        self._pool = WorkerPool(root, limits, size=1, isolation=isolation, setup=setup)

    def run(self, request: Request) -> SandboxOutcome:
        return self._pool.run(request)

    def isolation(self) -> str:
        return self._pool.isolation.kind

    def close(self) -> None:
        self._pool.close()
        self._folder.cleanup()


class RayExecutor:
    """`size` actors on a Ray cluster (or a local Ray when `address` is None), used in turn."""

    def __init__(self, problem_root: Path, limits: SandboxLimits, *, size: int = 1,
                 address: str | None = None, require_isolation: bool = True,
                 setup: EvaluatorSetup | None = None) -> None:
        try:
            import ray  # noqa: PLC0415  (optional extra)
        except ImportError as exc:
            raise ExecutorError(f"--executor ray needs Ray: {RAY_HINT}") from exc
        self._ray = ray
        if not ray.is_initialized():
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ExecutorError(f"cannot reach the Ray cluster at {address or 'local'}: "
                                    f"{str(exc).splitlines()[0]}") from exc
        actor = ray.remote(num_cpus=1, max_concurrency=1)(NodeEvaluator)
        files = ray.put(problem_files(problem_root))
        self._actors = [actor.remote(files, limits, require_isolation, setup) for _ in range(size)]
        try:  # an actor that cannot isolate fails here, once, not at every evaluation
            self.kinds = ray.get([a.isolation.remote() for a in self._actors])
        except ray.exceptions.RayActorError as exc:
            self.close()
            raise ExecutorError(_first_line(exc)) from exc
        self._turn = itertools.cycle(range(size))
        self._locks = [threading.Lock() for _ in range(size)]
        self._pick = threading.Lock()

    def run(self, request: Request) -> SandboxOutcome:
        with self._pick:
            index = next(self._turn)
        with self._locks[index]:
            return self._ray.get(self._actors[index].run.remote(request))

    def close(self) -> None:
        for actor in getattr(self, "_actors", []):
            try:
                self._ray.get(actor.close.remote())
            except Exception:  # noqa: BLE001  (an actor already gone has nothing to close)
                pass
            self._ray.kill(actor)
        self._actors = []


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    for line in text.splitlines():
        if "ExecutorError" in line:
            return line.split("ExecutorError:", 1)[-1].strip()
    return text.splitlines()[0] if text else type(exc).__name__
