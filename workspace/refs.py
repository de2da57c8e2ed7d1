"""Refs of a run: listed with one `git for-each-ref`, moved through one long-lived
`git update-ref --stdin`, one transaction per change (git's own locking and packed refs).

Without reflogs (`-c` here; new runs also set core.logAllRefUpdates=false): nothing reads them,
the history of the best program is in the commits, and on a busy disk appending to them made
moving refs/heads/best cost about 2 ms instead of 0.3 ms.
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

from adrs.workspace.errors import WorkspaceError

ZERO = "0" * 40


class RefError(WorkspaceError):
    """A ref change git refused; the message is git's last line."""


class RefStore:
    def __init__(self, git_dir: Path) -> None:
        self._git_dir = Path(git_dir)
        self._lock = threading.Lock()
        self._writer: subprocess.Popen[bytes] | None = None
        self._last_error = ""

    def list(self, *prefixes: str, points_at: str | None = None) -> list[tuple[str, str]]:
        """(ref, sha) of every ref under the prefixes (exact names match too), sorted by name."""
        args = ["for-each-ref", "--format=%(objectname) %(refname)"]
        if points_at:
            args += ["--points-at", points_at]
        out = self._git(*args, *prefixes)
        pairs = [tuple(reversed(line.split(" ", 1))) for line in out.splitlines() if line]
        return [(ref, sha) for ref, sha in pairs]  # type: ignore[misc]

    def get(self, ref: str) -> str | None:
        return next((sha for name, sha in self.list(ref) if name == ref), None)

    def create(self, ref: str, sha: str) -> None:
        """Point a new ref at `sha`; RefError if the ref exists already."""
        self._transaction(f"create {ref} {sha}")

    def update(self, ref: str, sha: str) -> None:
        self._transaction(f"update {ref} {sha}")

    def symbolic(self, name: str, target: str) -> None:
        self._git("symbolic-ref", name, target)

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _transaction(self, command: str) -> None:
        with self._lock:
            writer = self._start()
            assert writer.stdin is not None and writer.stdout is not None
            try:
                writer.stdin.write(f"start\n{command}\ncommit\n".encode())
                writer.stdin.flush()
                answers = [writer.stdout.readline() for _ in range(2)]
            except (BrokenPipeError, OSError):
                answers = [b""]
            if answers != [b"start: ok\n", b"commit: ok\n"]:
                self._stop()
                raise RefError(self._last_error or f"git update-ref refused: {command}")

    def _start(self) -> subprocess.Popen[bytes]:
        if self._writer is None or self._writer.poll() is not None:
            self._last_error = ""
            self._writer = subprocess.Popen(
                ["git", "--git-dir", str(self._git_dir), "-c", "core.logAllRefUpdates=false",
                 "update-ref", "-m", "adrs", "--stdin"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        return self._writer

    def _stop(self) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        assert writer.stdin is not None and writer.stderr is not None
        try:
            writer.stdin.close()
        except OSError:
            pass
        error = writer.stderr.read().decode(errors="replace")
        writer.wait()
        for stream in (writer.stdout, writer.stderr):
            if stream is not None:
                stream.close()
        lines = [line.strip() for line in error.splitlines() if line.strip()]
        self._last_error = lines[-1].removeprefix("fatal: ") if lines else ""

    def _git(self, *args: str) -> str:
        done = subprocess.run(["git", "--git-dir", str(self._git_dir), *args],
                              capture_output=True, text=True)
        if done.returncode != 0:
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            raise RefError(f"git {args[0]} failed: {lines[-1] if lines else 'no output'}")
        return done.stdout
