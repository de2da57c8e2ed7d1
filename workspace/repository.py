"""One run as a git repository: every program tried is a commit, the graph is the lineage.

Tree of every commit: the problem folder as given (minus __pycache__ and *.pyc); from the
baseline on, plus `program.py`, the candidate. Refs:

    refs/adrs/root                     the problem as given (marks the repository as a run)
    refs/adrs/evaluated/i0000-s0       the baseline; refs/adrs/{evaluated,rejected,failed}/<key>
    refs/heads/best                    the best evaluated program; HEAD points to it
    refs/notes/adrs                    research notes, one git note per program commit

Commits are written without touching the working tree or the index (blobs with hash-object,
trees through a scratch index file, commits with commit-tree); the ref is moved last with
`update-ref`, so a crash leaves at most an unreferenced object, which is harmless.

Concurrency: the run's graph calls this from one thread at a time (the select node). A lock
serialises the public methods anyway, because gitpython's reader processes are not thread-safe.
Two processes writing one run are not supported.
"""

from __future__ import annotations

import difflib
import functools
import re
import tempfile
import threading
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, TypeVar

import git
from pydantic import ValidationError

from adrs.workspace.messages import CandidateMessage

ROOT_REF = "refs/adrs/root"
BEST_REF = "refs/heads/best"
NOTES_REF = "refs/notes/adrs"
NAMESPACES: tuple[str, ...] = ("evaluated", "rejected", "failed")
BASELINE_KEY = "i0000-s0"
AUTHOR_NAME = "adrs"
AUTHOR_EMAIL = "adrs@localhost"
_KEY = re.compile(r"^i(\d{4,})-s(\d+)$")
_SKIPPED_DIRS = frozenset({"__pycache__", ".git"})

P = ParamSpec("P")
R = TypeVar("R")


class WorkspaceError(RuntimeError):
    """A run repository that cannot do what was asked; the message is one line."""


def iteration_key(iteration: int) -> str:
    """The name of an iteration: i0007. The one place that spells the key format."""
    if iteration < 0:
        raise WorkspaceError(f"iteration must be >= 0, got {iteration}")
    return f"i{iteration:04d}"


def program_key(iteration: int, slot: int = 0) -> str:
    """The ref name of a program: i0007-s1 for iteration 7, slot 1."""
    if slot < 0:
        raise WorkspaceError(f"slot must be >= 0, got {slot}")
    return f"{iteration_key(iteration)}-s{slot}"


@dataclass(frozen=True)
class ProgramRecord:
    """One committed program, as read back from git."""

    id: str
    parent_id: str | None  # None for the baseline (its git parent is the problem, not a program)
    key: str
    message: CandidateMessage
    program_blob: str

    def __hash__(self) -> int:  # the message holds dicts; the commit id identifies the record
        return hash(self.id)

    @property
    def status(self) -> str:
        return self.message.status

    @property
    def score(self) -> float | None:
        return self.message.score

    @property
    def iteration(self) -> int:
        return self.message.iteration

    @property
    def slot(self) -> int:
        return self.message.slot

    @property
    def island(self) -> int:
        return self.message.island

    @property
    def summary(self) -> str:
        return self.message.summary


def _locked(method: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with args[0]._lock:  # type: ignore[attr-defined]
            return method(*args, **kwargs)
    return wrapper


def _last_line(text: str) -> str:
    """The last non-empty line of git's output, without gitpython's "stderr: '...'" wrapper."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else "no output"
    if last.startswith("stderr: '") and last.endswith("'"):
        last = last[len("stderr: '"):-1]
    return last


def _problem_files(problem_dir: Path) -> list[tuple[str, Path, str]]:
    """(path in the tree, file, git mode) for every file of the problem folder, sorted."""
    files: list[tuple[str, Path, str]] = []
    for path in sorted(problem_dir.rglob("*")):
        relative = path.relative_to(problem_dir)
        if any(part in _SKIPPED_DIRS for part in relative.parts) or path.suffix == ".pyc":
            continue
        if path.is_file():
            mode = "100755" if path.stat().st_mode & 0o111 else "100644"
            files.append((relative.as_posix(), path, mode))
    return files


def _normalise_note(text: str) -> str:
    """LF line ends, no trailing spaces or outer blank lines, one final newline."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip("\n") + "\n"


def _unified_diff(old: str, new: str, old_name: str, new_name: str) -> str:
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 fromfile=f"a/{old_name}", tofile=f"b/{new_name}")
    # A last line without newline gets git's marker instead of running into the next line.
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in lines)


class RunRepository:
    """The git repository of one run. Build with `create` or `open`, not the constructor."""

    PROGRAM_FILE = "program.py"

    def __init__(self, repo: git.Repo, root_sha: str) -> None:
        self._repo = repo
        self.root_sha = root_sha
        self._lock = threading.RLock()

    # -- construction -------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path, problem_dir: Path, problem_name: str) -> RunRepository:
        """A new run whose root commit is the problem folder as given; HEAD -> best -> root."""
        path, problem_dir = Path(path), Path(problem_dir)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise WorkspaceError(f"run directory exists and is not empty: {path}")
        if not problem_dir.is_dir():
            raise WorkspaceError(f"problem folder not found: {problem_dir}")
        files = _problem_files(problem_dir)
        if not files:
            raise WorkspaceError(f"problem folder is empty: {problem_dir}")
        if any(name == cls.PROGRAM_FILE for name, _, _ in files):
            raise WorkspaceError(f"problem folder must not contain {cls.PROGRAM_FILE}: {problem_dir}")
        name = " ".join(problem_name.split())
        if not name:
            raise WorkspaceError("problem name is empty")
        run = cls(git.Repo.init(path, mkdir=True), root_sha="")
        for key, value in (("user.name", AUTHOR_NAME), ("user.email", AUTHOR_EMAIL),
                           ("core.autocrlf", "false")):
            run._git("config", key, value)
        entries = [(mode, run._write_blob(file.read_bytes()), name_in_tree)
                   for name_in_tree, file, mode in files]
        tree = run._write_tree(entries, base=None)
        root = run._commit_tree(tree, [], f"Problem {name} as given\n")
        run._git("update-ref", "-m", "adrs: root", ROOT_REF, root, "")
        run.root_sha = root
        run._point_best(root)
        return run

    @classmethod
    def open(cls, path: Path) -> RunRepository:
        """An existing run; WorkspaceError if `path` is not the top of an adrs run repository."""
        path = Path(path)
        try:
            repo = git.Repo(path)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
            raise WorkspaceError(f"not an adrs run: {path}") from exc
        top = repo.working_tree_dir
        if top is None or Path(top).resolve() != path.resolve():
            repo.close()
            raise WorkspaceError(f"not an adrs run: {path}")
        run = cls(repo, root_sha="")
        root = run._ref_sha(ROOT_REF)
        if root is None:
            repo.close()
            raise WorkspaceError(f"not an adrs run: {path}")
        run.root_sha = root
        return run

    def close(self) -> None:
        """End gitpython's helper processes."""
        self._repo.close()

    def __enter__(self) -> RunRepository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def path(self) -> Path:
        return Path(self._repo.working_tree_dir or self._repo.git_dir)

    @property
    def problem_name(self) -> str:
        message = self._repo.commit(self.root_sha).message
        first = message.splitlines()[0] if message else ""
        return first.removeprefix("Problem ").removesuffix(" as given")

    # -- writing ------------------------------------------------------------------------

    @_locked
    def commit_baseline(self, source: str, message: CandidateMessage) -> str:
        """The baseline program on top of the root; it becomes best if nothing is best yet."""
        if message.status != "baseline" or message.iteration != 0 or message.slot != 0:
            raise WorkspaceError("the baseline message needs status baseline, iteration 0, slot 0")
        sha = self._commit_program(BASELINE_KEY, "evaluated", self.root_sha, source, message)
        if self._ref_sha(BEST_REF) in (None, self.root_sha):
            self._point_best(sha)
        return sha

    @_locked
    def commit_candidate(self, *, key: str, parent: str, source: str,
                         message: CandidateMessage) -> str:
        """Commit a candidate derived from `parent`; its ref namespace is the message's status."""
        if message.status == "baseline":
            raise WorkspaceError("use commit_baseline for the baseline")
        expected = program_key(message.iteration, message.slot)
        if key != expected:
            raise WorkspaceError(f"key {key} does not match the message's iteration/slot ({expected})")
        parent_sha = self._resolve(parent)
        self._require_program(parent_sha, parent)
        return self._commit_program(key, message.status, parent_sha, source, message)

    @_locked
    def set_best(self, sha: str) -> None:
        """Point refs/heads/best (and HEAD) at a scored program (the baseline or an evaluated
        one) and check it out: index and working tree are reset to it."""
        full = self._resolve(sha)
        if not any(space == "evaluated" for space, _, _ in self._refs_of_commit(full)):
            raise WorkspaceError(f"{sha} is not an evaluated program")
        self._point_best(full)

    # -- reading ------------------------------------------------------------------------

    @_locked
    def records(self) -> list[ProgramRecord]:
        """Every committed program (baseline, evaluated, rejected, failed) by (iteration, slot)."""
        listing = self._git("for-each-ref", "--format=%(objectname) %(refname)",
                            *(f"refs/adrs/{space}" for space in NAMESPACES))
        records = []
        for line in listing.splitlines():
            sha, ref = line.split(" ", 1)
            space, key = ref.removeprefix("refs/adrs/").split("/", 1)
            records.append(self._record(sha, space, key))
        return sorted(records, key=lambda r: (r.iteration, r.slot, r.key))

    @_locked
    def record(self, rev: str) -> ProgramRecord:
        """The record of one program."""
        sha = self._resolve(rev)
        for space, key, ref_sha in self._refs_of_commit(sha):
            return self._record(ref_sha, space, key)
        raise WorkspaceError(f"{rev} is not a committed program")

    @_locked
    def program_source(self, rev: str) -> str:
        """The text of program.py at `rev`."""
        sha = self._resolve(rev)
        self._require_program(sha, rev)
        return self._blob_text(sha, self.PROGRAM_FILE)

    @_locked
    def resolve(self, rev: str) -> str:
        """Full sha of "best", "baseline", "root", a key (i0007-s0), an iteration ("7" = slot 0),
        a full or short sha, or any git revision."""
        return self._resolve(rev)

    @_locked
    def diff_to_parent(self, rev: str) -> str:
        """Unified diff of program.py against its first parent's (the baseline: the evolve file)."""
        sha = self._resolve(rev)
        self._require_program(sha, rev)
        commit = self._repo.commit(sha)
        parent = commit.parents[0].hexsha
        if self._has_program(parent):
            old_name = self.PROGRAM_FILE
        else:
            old_name = self._evolve_file()
        return _unified_diff(self._blob_text(parent, old_name),
                             self._blob_text(sha, self.PROGRAM_FILE), old_name, self.PROGRAM_FILE)

    @_locked
    def clear_stale_locks(self) -> list[str]:
        """Remove git lock files left by a process killed mid-command.

        Only safe while the caller holds the run's own lock (no other writer can be at work)."""
        git_dir = Path(self._repo.git_dir)
        stale = [git_dir / "index.lock", git_dir / "HEAD.lock", git_dir / "packed-refs.lock",
                 *(git_dir / "refs").rglob("*.lock")]
        removed = []
        for path in stale:
            if path.is_file():
                path.unlink()
                removed.append(str(path.relative_to(git_dir)))
        return removed

    @_locked
    def store_blob(self, source: str) -> str:
        """Write a program text to the object database (no ref): a candidate before its commit."""
        return self._write_blob(source.encode("utf-8"))

    @_locked
    def read_blob(self, blob_sha: str) -> str:
        """The text of a blob written by store_blob."""
        try:
            return self._repo.odb.stream(bytes.fromhex(blob_sha)).read().decode("utf-8")
        except (ValueError, OSError) as exc:
            raise WorkspaceError(f"no program blob {blob_sha}") from exc

    @property
    def best_sha(self) -> str | None:
        """The commit refs/heads/best points at (the root before any baseline)."""
        with self._lock:
            return self._ref_sha(BEST_REF)

    @_locked
    def fsck(self) -> str:
        """Output of `git fsck --full` (stdout and stderr); WorkspaceError if it fails."""
        status, out, err = self._repo.git.execute(
            ["git", "fsck", "--full", "--no-progress"], with_extended_output=True,
            with_exceptions=False)
        if status != 0:
            raise WorkspaceError(f"git fsck failed: {_last_line(err or out)}")
        return "\n".join(part for part in (out, err) if part)

    # -- research notes -----------------------------------------------------------------

    @_locked
    def add_note(self, rev: str, text: str) -> None:
        """Attach a research note to a program's commit (`git notes --ref adrs`), replacing
        any earlier one; the same note again changes nothing (a resumed step may repeat)."""
        sha = self._resolve(rev)
        self._require_program(sha, rev)
        body = _normalise_note(text)
        if not body.strip():
            raise WorkspaceError("a research note must not be empty")
        if self._note_of(sha) == body:
            return
        # -C takes the blob as it is: no comment stripping of lines that start with '#'.
        blob = self._write_blob(body.encode("utf-8"))
        env = {"GIT_AUTHOR_NAME": AUTHOR_NAME, "GIT_AUTHOR_EMAIL": AUTHOR_EMAIL,
               "GIT_COMMITTER_NAME": AUTHOR_NAME, "GIT_COMMITTER_EMAIL": AUTHOR_EMAIL}
        self._git("notes", "--ref", NOTES_REF, "add", "-f", "-C", blob, sha, env=env)

    @_locked
    def note(self, rev: str) -> str | None:
        """The research note of a program, or None."""
        return self._note_of(self._resolve(rev))

    @_locked
    def notes(self) -> dict[str, str]:
        """Every research note, by the full sha of the commit it is attached to."""
        listing = self._git("notes", "--ref", NOTES_REF, "list")
        found: dict[str, str] = {}
        for line in listing.splitlines():
            blob, commit = line.split()
            found[commit] = self._read_text_blob(blob)
        return found

    # -- internals ----------------------------------------------------------------------

    def _note_of(self, sha: str) -> str | None:
        status, out, _ = self._repo.git.execute(
            ["git", "notes", "--ref", NOTES_REF, "list", sha], with_extended_output=True,
            with_exceptions=False)
        return self._read_text_blob(out.strip()) if status == 0 and out.strip() else None

    def _read_text_blob(self, blob_sha: str) -> str:
        return self._repo.odb.stream(bytes.fromhex(blob_sha)).read().decode("utf-8")


    def _git(self, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> str:
        command = ["git", *args]
        try:
            if stdin is None:
                return self._repo.git.execute(command, env=env)
            with tempfile.TemporaryFile() as handle:
                handle.write(stdin)
                handle.seek(0)
                return self._repo.git.execute(command, istream=handle, env=env)
        except git.GitCommandError as exc:
            detail = exc.stderr if isinstance(exc.stderr, str) else str(exc.stderr)
            raise WorkspaceError(f"git {args[0]} failed: {_last_line(detail)}") from exc

    def _ref_sha(self, ref: str) -> str | None:
        out = self._git("for-each-ref", "--format=%(objectname) %(refname)", ref)
        for line in out.splitlines():
            sha, name = line.split(" ", 1)
            if name == ref:
                return sha
        return None

    def _write_blob(self, data: bytes) -> str:
        return self._git("hash-object", "-w", "--no-filters", "--stdin", stdin=data)

    def _write_tree(self, entries: list[tuple[str, str, str]], base: str | None) -> str:
        """A tree: `base` (a tree-ish) with the (mode, blob, path) entries added or replaced.

        Built in a scratch index file so the run's own index and working tree stay untouched."""
        with tempfile.TemporaryDirectory(prefix="adrs-index-") as scratch:
            env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            if base is not None:
                self._git("read-tree", base, env=env)
            info = b"".join(f"{mode} {blob}\t{name}".encode() + b"\0" for mode, blob, name in entries)
            self._git("update-index", "-z", "--index-info", stdin=info, env=env)
            return self._git("write-tree", env=env)

    def _commit_tree(self, tree: str, parents: list[str], message: str) -> str:
        env = {"GIT_AUTHOR_NAME": AUTHOR_NAME, "GIT_AUTHOR_EMAIL": AUTHOR_EMAIL,
               "GIT_COMMITTER_NAME": AUTHOR_NAME, "GIT_COMMITTER_EMAIL": AUTHOR_EMAIL}
        parent_args = [arg for sha in parents for arg in ("-p", sha)]
        return self._git("commit-tree", "--no-gpg-sign", tree, *parent_args, "-F", "-",
                         stdin=message.encode("utf-8"), env=env)

    def _commit_program(self, key: str, space: str, parent_sha: str, source: str,
                        message: CandidateMessage) -> str:
        blob = self._write_blob(source.encode("utf-8"))
        existing = self._existing(key)
        if existing is not None:
            return self._check_same(key, existing, parent_sha, blob)
        tree = self._write_tree([("100644", blob, self.PROGRAM_FILE)], base=parent_sha)
        sha = self._commit_tree(tree, [parent_sha], message.to_text())
        # Old value "" = the ref must not exist yet: never overwrite a program silently.
        self._git("update-ref", "-m", f"adrs: {space} {key}", f"refs/adrs/{space}/{key}", sha, "")
        return sha

    def _existing(self, key: str) -> str | None:
        wanted = [f"refs/adrs/{space}/{key}" for space in NAMESPACES]
        out = self._git("for-each-ref", "--format=%(objectname) %(refname)", *wanted)
        found = [(ref, sha) for sha, ref in (line.split(" ", 1) for line in out.splitlines())
                 if ref in wanted]
        if len(found) > 1:
            raise WorkspaceError(f"key {key} has refs in several namespaces: "
                                 f"{', '.join(ref for ref, _ in found)}")
        return found[0][1] if found else None

    def _check_same(self, key: str, sha: str, parent_sha: str, blob: str) -> str:
        commit = self._repo.commit(sha)
        old_parent = commit.parents[0].hexsha if commit.parents else None
        old_blob = self._program_blob(sha)
        if old_parent != parent_sha or old_blob != blob:
            raise WorkspaceError(f"key {key} is already committed as {sha[:12]} "
                                 f"with a different {'parent' if old_parent != parent_sha else 'program'}")
        return sha

    def _point_best(self, sha: str) -> None:
        self._git("update-ref", "-m", "adrs: best", BEST_REF, sha)
        self._git("symbolic-ref", "HEAD", BEST_REF)
        # Safe to discard: the working tree of a run only mirrors the best program.
        self._git("reset", "--hard", "--quiet")

    def _resolve(self, rev: str) -> str:
        rev = rev.strip()
        if not rev or rev.startswith("-"):
            raise WorkspaceError(f"unknown revision: {rev!r}")
        if rev == "best":
            sha = self._ref_sha(BEST_REF)
            if sha is None:
                raise WorkspaceError("no best program yet")
            return sha
        if rev == "root":
            return self.root_sha
        if rev == "baseline":
            rev = BASELINE_KEY
        if _KEY.match(rev):
            sha = self._existing(rev)
            if sha is None:
                raise WorkspaceError(f"no program with key {rev}")
            return sha
        if rev.isdigit():
            return self._resolve_number(rev)
        return self._rev_parse(rev)

    def _resolve_number(self, rev: str) -> str:
        by_key = self._existing(program_key(int(rev), 0))
        by_sha = self._try_rev_parse(rev) if len(rev) >= 4 else None
        if by_key and by_sha and by_key != by_sha:
            raise WorkspaceError(f"ambiguous revision {rev}: iteration {int(rev)} or commit {by_sha[:12]}")
        found = by_key or by_sha
        if found is None:
            raise WorkspaceError(f"no program at iteration {int(rev)} (slot 0)")
        return found

    def _try_rev_parse(self, rev: str) -> str | None:
        status, out, _ = self._repo.git.execute(
            ["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
            with_extended_output=True, with_exceptions=False)
        return out.strip() if status == 0 else None

    def _rev_parse(self, rev: str) -> str:
        status, out, err = self._repo.git.execute(
            ["git", "rev-parse", "--verify", f"{rev}^{{commit}}"],
            with_extended_output=True, with_exceptions=False)
        if status != 0:
            reason = "ambiguous" if "ambiguous" in err else "unknown"
            raise WorkspaceError(f"{reason} revision: {rev}")
        return out.strip()

    def _refs_of_commit(self, sha: str) -> list[tuple[str, str, str]]:
        out = self._git("for-each-ref", "--points-at", sha, "--format=%(objectname) %(refname)",
                        *(f"refs/adrs/{space}" for space in NAMESPACES))
        refs = []
        for line in out.splitlines():
            ref_sha, ref = line.split(" ", 1)
            space, key = ref.removeprefix("refs/adrs/").split("/", 1)
            refs.append((space, key, ref_sha))
        return refs

    def _record(self, sha: str, space: str, key: str) -> ProgramRecord:
        commit = self._repo.commit(sha)
        try:
            message = CandidateMessage.from_text(str(commit.message))
        except ValueError as exc:  # pydantic's ValidationError is a ValueError too
            reason = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            raise WorkspaceError(f"commit {sha[:12]} ({key}) has an unreadable message: {reason}") from exc
        if program_key(message.iteration, message.slot) != key:
            raise WorkspaceError(f"commit {sha[:12]}: ref key {key} does not match its trailers")
        expected_space = "evaluated" if message.status == "baseline" else message.status
        if space != expected_space or (message.status == "baseline") != (key == BASELINE_KEY):
            raise WorkspaceError(f"commit {sha[:12]}: status {message.status} under refs/adrs/{space}")
        parent = commit.parents[0].hexsha if commit.parents else None
        return ProgramRecord(id=sha, parent_id=None if parent == self.root_sha else parent,
                             key=key, message=message, program_blob=self._program_blob(sha))

    def _program_blob(self, sha: str) -> str:
        try:
            return (self._repo.commit(sha).tree / self.PROGRAM_FILE).hexsha
        except KeyError as exc:
            raise WorkspaceError(f"commit {sha[:12]} has no {self.PROGRAM_FILE}") from exc

    def _has_program(self, sha: str) -> bool:
        return any(item.name == self.PROGRAM_FILE for item in self._repo.commit(sha).tree.blobs)

    def _require_program(self, sha: str, rev: str) -> None:
        if not self._has_program(sha):
            raise WorkspaceError(f"{rev} is not a program commit (no {self.PROGRAM_FILE})")

    def _blob_text(self, sha: str, name: str) -> str:
        try:
            blob = self._repo.commit(sha).tree / name
        except KeyError as exc:
            raise WorkspaceError(f"commit {sha[:12]} has no {name}") from exc
        return blob.data_stream.read().decode("utf-8")

    def _evolve_file(self) -> str:
        """The problem's evolve file (problem.toml's evolve_file, default initial.py)."""
        if not any(item.name == "problem.toml" for item in self._repo.commit(self.root_sha).tree.blobs):
            return "initial.py"
        try:
            spec = tomllib.loads(self._blob_text(self.root_sha, "problem.toml"))
        except tomllib.TOMLDecodeError as exc:
            raise WorkspaceError(f"problem.toml of the run is not valid TOML: {exc}") from exc
        name = spec.get("evolve_file", "initial.py")
        if not isinstance(name, str):
            raise WorkspaceError("problem.toml: evolve_file must be a string")
        return name

