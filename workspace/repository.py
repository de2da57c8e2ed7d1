"""One run as a git repository: every program tried is a commit, the graph is the lineage.

Tree of every commit: the problem folder as given (minus __pycache__ and *.pyc); from the
baseline on, plus `program.py`, the candidate. Refs:

    refs/adrs/root                     the problem as given (marks the repository as a run)
    refs/adrs/evaluated/i0000-s0       the baseline; refs/adrs/{evaluated,rejected,failed}/<key>
    refs/heads/best                    the best evaluated program; HEAD points to it
    refs/notes/adrs                    research notes, one git note per program commit

Cost per commit stays flat however long the run: objects are written straight into the object
database (workspace/objects.py), the ref moves last through a long-lived `git update-ref --stdin`,
reads go through one long-lived `git cat-file --batch`, and which key has which commit is kept in
memory from the one ref listing made at open. A crash leaves at most an unreferenced object.
One process writes a run at a time (the run's lock); within it, a lock guards that in-memory
index, while objects and refs are written outside it (both stores are safe across threads).
"""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

from adrs.workspace.cache import TextCache
from adrs.workspace.messages import CandidateMessage
from adrs.workspace.notes import NOTES_REF, Notes, normalise_note
from adrs.workspace.objects import ObjectError, ObjectStore, TreeEntry
from adrs.workspace.records import (
    ProgramRecord,
    WorkspaceError,
    iteration_key,
    program_key,
    read_records,
)
from adrs.workspace.refs import RefError, RefStore
from adrs.workspace.revisions import resolve_revision
from adrs.workspace.trees import evolve_file, file_entry, file_text, unified_diff, write_folder

__all__ = ["BASELINE_KEY", "BEST_REF", "NAMESPACES", "NOTES_REF", "ROOT_REF", "ProgramRecord",
           "RunRepository", "WorkspaceError", "iteration_key", "program_key"]
ROOT_REF = "refs/adrs/root"
BEST_REF = "refs/heads/best"
NAMESPACES: tuple[str, ...] = ("evaluated", "rejected", "failed")
BASELINE_KEY = "i0000-s0"
AUTHOR_NAME, AUTHOR_EMAIL = "adrs", "adrs@localhost"
IDENTITY = f"{AUTHOR_NAME} <{AUTHOR_EMAIL}>"
PROGRAM_FILE = "program.py"


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise WorkspaceError(f"git {args[0]} failed: {_last_line(done.stderr or done.stdout)}")
    return done.stdout


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


class RunRepository:
    """The git repository of one run. Build with `create` or `open`, not the constructor."""

    PROGRAM_FILE = PROGRAM_FILE

    def __init__(self, top: Path, root_sha: str) -> None:
        self._top = Path(top)
        git_dir = self._top / ".git"
        self._objects = ObjectStore(git_dir)
        self._refs = RefStore(git_dir)
        self._notes = Notes(self._objects, self._refs, IDENTITY)
        self._lock = threading.RLock()
        self.root_sha = root_sha
        self._keys: dict[str, tuple[str, str]] = {}  # key -> (namespace, commit)
        self._spaces: dict[str, tuple[str, str]] = {}  # commit -> (namespace, key)
        self._records: dict[str, ProgramRecord] = {}
        self._sources = TextCache()  # program text by commit
        self._blobs = TextCache()  # candidate text by blob
        self._best: str | None = None

    # -- construction -------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path, problem_dir: Path, problem_name: str, *,
               leave_out: frozenset[str] = frozenset()) -> RunRepository:
        """A new run whose root commit is the problem folder as given, without the top-level
        names in `leave_out`; HEAD -> best -> root."""
        path, problem_dir = Path(path), Path(problem_dir)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise WorkspaceError(f"run directory exists and is not empty: {path}")
        if not problem_dir.is_dir():
            raise WorkspaceError(f"problem folder not found: {problem_dir}")
        name = " ".join(problem_name.split())
        if not name:
            raise WorkspaceError("problem name is empty")
        path.mkdir(parents=True, exist_ok=True)
        _git(path, "init", "--quiet")
        for fan_out in range(256):  # made now, not one by one during the first candidates
            (path / ".git" / "objects" / f"{fan_out:02x}").mkdir(exist_ok=True)
        for key, value in (("user.name", AUTHOR_NAME), ("user.email", AUTHOR_EMAIL),  # refs.py: why
                           ("core.autocrlf", "false"), ("core.logAllRefUpdates", "false")):
            _git(path, "config", key, value)
        run = cls(path, root_sha="")
        tree = write_folder(run._objects, problem_dir, leave_out)
        if tree is None:
            raise WorkspaceError(f"problem folder is empty: {problem_dir}")
        if any(e.name == PROGRAM_FILE for e in run._objects.tree(tree)):
            raise WorkspaceError(f"problem folder must not contain {PROGRAM_FILE}: {problem_dir}")
        root = run._objects.write_commit(tree, [], f"Problem {name} as given\n", identity=IDENTITY,
                                         timestamp=int(time.time()))
        run._refs.create(ROOT_REF, root)
        run.root_sha = root
        run._refs.update(BEST_REF, root)
        run._refs.symbolic("HEAD", BEST_REF)
        run._best = root
        run._checkout()
        return run

    @classmethod
    def open(cls, path: Path) -> RunRepository:
        """An existing run; WorkspaceError if `path` is not the top of an adrs run repository."""
        path = Path(path)
        if not (path / ".git").is_dir():
            raise WorkspaceError(f"not an adrs run: {path}")
        run = cls(path, root_sha="")
        refs = dict(run._refs.list(ROOT_REF, BEST_REF, *run._spaces_prefixes()))
        if ROOT_REF not in refs:
            run.close()
            raise WorkspaceError(f"not an adrs run: {path}")
        run.root_sha, run._best = refs[ROOT_REF], refs.get(BEST_REF)
        for ref, sha in refs.items():
            if ref.startswith("refs/adrs/") and ref != ROOT_REF:
                space, key = ref.removeprefix("refs/adrs/").split("/", 1)
                run._index(space, key, sha)
        return run

    def close(self) -> None:
        """End the git helper processes."""
        self._objects.close()
        self._refs.close()

    def head_is_commit(self) -> bool:  # asked after every step: no process per call
        return self._objects.names_commit("HEAD")

    def __enter__(self) -> RunRepository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def path(self) -> Path:
        return self._top

    @property
    def problem_name(self) -> str:
        first = self._objects.commit(self.root_sha).message.split("\n", 1)[0]
        return first.removeprefix("Problem ").removesuffix(" as given")

    # -- writing ------------------------------------------------------------------------

    def commit_baseline(self, source: str, message: CandidateMessage) -> str:
        """The baseline program on top of the root; it becomes best if nothing is best yet."""
        if message.status != "baseline" or message.iteration != 0 or message.slot != 0:
            raise WorkspaceError("the baseline message needs status baseline, iteration 0, slot 0")
        with self._lock:
            sha = self._commit_program(BASELINE_KEY, "evaluated", self.root_sha, source, message)
            if self._best in (None, self.root_sha):
                self.set_best(sha)
            return sha

    def commit_candidate(self, *, key: str, parent: str, source: str,
                         message: CandidateMessage) -> str:
        """Commit a candidate derived from `parent`; its ref namespace is the message's status.
        The same key with the same parent and program again returns the first commit."""
        if message.status == "baseline":
            raise WorkspaceError("use commit_baseline for the baseline")
        expected = program_key(message.iteration, message.slot)
        if key != expected:
            raise WorkspaceError(f"key {key} does not match the message's iteration/slot ({expected})")
        with self._lock:
            parent_sha = self._resolve(parent)
            self._require_program(parent_sha, parent)
        return self._commit_program(key, message.status, parent_sha, source, message)

    def set_best(self, sha: str, *, checkout: bool = True) -> None:
        """Point refs/heads/best (and HEAD) at a scored program (the baseline or an evaluated
        one); with `checkout`, reset the index and working tree to it too (a run does that once
        at its end: the working tree of a run only mirrors the best program)."""
        with self._lock:
            full = self._resolve(sha)
            if self._spaces.get(full, ("",))[0] != "evaluated":
                raise WorkspaceError(f"{sha} is not an evaluated program")
            if full != self._best:
                self._refs.update(BEST_REF, full)
                self._best = full
            if checkout:
                self._checkout()

    def store_blob(self, source: str) -> str:
        """Write a program text to the object database (no ref): a candidate before its commit."""
        sha = self._objects.write_blob(source.encode("utf-8"))
        with self._lock:
            self._blobs.put(sha, source)
        return sha

    def add_note(self, rev: str, text: str) -> None:
        """Attach a research note to a program's commit (`git notes --ref adrs`), replacing
        any earlier one; the same note again changes nothing (a resumed step may repeat)."""
        with self._lock:
            sha = self._resolve(rev)
            self._require_program(sha, rev)
            if not normalise_note(text).strip():
                raise WorkspaceError("a research note must not be empty")
            self._notes.add(sha, text)

    def clear_stale_locks(self) -> list[str]:
        """Remove git lock files left by a process killed mid-command.

        Only safe while the caller holds the run's own lock (no other writer can be at work)."""
        git_dir = self._top / ".git"
        stale = [git_dir / "index.lock", git_dir / "HEAD.lock", git_dir / "packed-refs.lock",
                 *(git_dir / "refs").rglob("*.lock")]
        removed = []
        for path in stale:
            if path.is_file():
                path.unlink()
                removed.append(str(path.relative_to(git_dir)))
        return removed

    # -- reading ------------------------------------------------------------------------

    def records(self) -> list[ProgramRecord]:
        """Every committed program (baseline, evaluated, rejected, failed) by (iteration, slot),
        rebuilt from the refs as they are now (one listing; known commits are not re-read)."""
        with self._lock:
            shas = []
            for ref, sha in self._refs.list(*self._spaces_prefixes()):
                space, key = ref.removeprefix("refs/adrs/").split("/", 1)
                self._index(space, key, sha)
                shas.append(sha)
            self._read_records([sha for sha in shas if sha not in self._records])
            return sorted((self._records[sha] for sha in shas),
                          key=lambda r: (r.iteration, r.slot, r.key))

    def record(self, rev: str) -> ProgramRecord:
        """The record of one program."""
        with self._lock:
            sha = self._resolve(rev)
            if sha not in self._spaces:
                raise WorkspaceError(f"{rev} is not a program of this run")
            return self._record(sha)

    def program_source(self, rev: str) -> str:
        """The text of program.py at `rev`."""
        with self._lock:
            sha = self._resolve(rev)
            known = self._sources.get(sha)
            if known is None:
                self._require_program(sha, rev)
                known = self._sources.put(sha, self._blob_text(sha, PROGRAM_FILE))
            return known

    def read_blob(self, blob_sha: str) -> str:
        """The text of a blob written by store_blob."""
        with self._lock:
            known = self._blobs.get(blob_sha)
            if known is not None:
                return known
            try:
                return self._blobs.put(blob_sha, self._objects.read_kind(blob_sha, "blob").decode())
            except (ObjectError, UnicodeDecodeError) as exc:
                raise WorkspaceError(f"no program blob {blob_sha}") from exc

    def resolve(self, rev: str) -> str:
        """Full sha of "best", "baseline", "root", a key (i0007-s0), an iteration ("7" = slot 0),
        a full or short sha, or any git revision."""
        with self._lock:
            return self._resolve(rev)

    def diff_to_parent(self, rev: str) -> str:
        """Unified diff of program.py against its first parent's (the baseline: the evolve file)."""
        with self._lock:
            sha = self._resolve(rev)
            self._require_program(sha, rev)
            parent = self._objects.commit(sha).parents[0]
            old_name = PROGRAM_FILE if self._has_program(parent) else evolve_file(self._objects, self.root_sha)
            return unified_diff(self._blob_text(parent, old_name), self._blob_text(sha, PROGRAM_FILE),
                                 old_name, PROGRAM_FILE)

    @property
    def best_sha(self) -> str | None:  # the commit refs/heads/best points at (root at first)
        return self._best

    def note(self, rev: str) -> str | None:
        """The research note of a program, or None."""
        with self._lock:
            return self._notes.get(self._resolve(rev))

    def notes(self) -> dict[str, str]:
        """Every research note, by the full sha of the commit it is attached to."""
        with self._lock:
            return self._notes.all()

    def fsck(self) -> str:
        """Output of `git fsck --full` (stdout and stderr); WorkspaceError if it fails."""
        done = subprocess.run(["git", "fsck", "--full", "--no-progress"], cwd=self._top,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise WorkspaceError(f"git fsck failed: {_last_line(done.stderr or done.stdout)}")
        return "\n".join(part for part in (done.stdout, done.stderr) if part)

    # -- internals ----------------------------------------------------------------------

    @staticmethod
    def _spaces_prefixes() -> list[str]:
        return [f"refs/adrs/{space}/" for space in NAMESPACES]

    def _index(self, space: str, key: str, sha: str) -> None:
        known = self._keys.get(key)
        if known is not None and known != (space, sha):
            raise WorkspaceError(f"key {key} has refs in several namespaces: "
                                 f"refs/adrs/{known[0]}/{key}, refs/adrs/{space}/{key}")
        self._keys[key] = (space, sha)
        self._spaces[sha] = (space, key)

    def _commit_program(self, key: str, space: str, parent_sha: str, source: str,
                        message: CandidateMessage) -> str:
        """Objects and ref are written without the lock (both stores are thread-safe; the ref's
        create is atomic), so a slow disk never holds up the readers; the index takes it."""
        blob = self._objects.write_blob(source.encode("utf-8"))
        with self._lock:
            known = self._keys.get(key)
        if known is not None:
            return self._check_same(key, known[1], parent_sha, blob)
        parent_tree = self._objects.tree(self._objects.commit(parent_sha).tree)
        entries = [e for e in parent_tree if e.name != PROGRAM_FILE]
        tree = self._objects.write_tree([*entries, TreeEntry("100644", PROGRAM_FILE, blob)])
        sha = self._objects.write_commit(tree, [parent_sha], message.to_text(), identity=IDENTITY,
                                         timestamp=int(time.time()))
        try:  # create, never overwrite: a key names one program for good
            self._refs.create(f"refs/adrs/{space}/{key}", sha)
        except RefError as exc:
            raise WorkspaceError(f"cannot commit {key}: {exc}") from exc
        with self._lock:
            self._index(space, key, sha)
            self._records[sha] = ProgramRecord(
                id=sha, parent_id=None if parent_sha == self.root_sha else parent_sha, key=key,
                message=message, program_blob=blob)
            self._sources.put(sha, source)
        return sha

    def _check_same(self, key: str, sha: str, parent_sha: str, blob: str) -> str:
        commit = self._objects.commit(sha)
        old_parent = commit.parents[0] if commit.parents else None
        if old_parent != parent_sha or self._program_blob(sha) != blob:
            raise WorkspaceError(f"key {key} is already committed as {sha[:12]} "
                                 f"with a different {'parent' if old_parent != parent_sha else 'program'}")
        return sha

    def _checkout(self) -> None:
        # Safe to discard: the working tree of a run only mirrors the best program.
        _git(self._top, "reset", "--hard", "--quiet")

    def _resolve(self, rev: str) -> str:
        return resolve_revision(rev, top=self._top, root=self.root_sha, best=self._best,
                                keys=self._keys, programs=self._spaces, key_of=program_key)

    def _record(self, sha: str) -> ProgramRecord:
        if sha not in self._records:
            self._read_records([sha])
        return self._records[sha]

    def _read_records(self, shas: list[str]) -> None:
        places = [(sha, *self._spaces[sha]) for sha in shas]
        for record in read_records(self._objects, places, root=self.root_sha,
                                   program_file=PROGRAM_FILE, baseline_key=BASELINE_KEY):
            self._records[record.id] = record

    def _program_blob(self, sha: str) -> str:
        entry = self._entry(sha, PROGRAM_FILE)
        if entry is None:
            raise WorkspaceError(f"commit {sha[:12]} has no {PROGRAM_FILE}")
        return entry.sha

    def _has_program(self, sha: str) -> bool:
        return sha in self._spaces or self._entry(sha, PROGRAM_FILE) is not None

    def _require_program(self, sha: str, rev: str) -> None:
        if not self._has_program(sha):
            raise WorkspaceError(f"{rev} is not a program commit (no {PROGRAM_FILE})")

    def _entry(self, sha: str, name: str) -> TreeEntry | None:
        return file_entry(self._objects, sha, name)

    def _blob_text(self, sha: str, name: str) -> str:
        return file_text(self._objects, sha, name)
