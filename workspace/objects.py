"""Git's object database, read through one long-lived `git cat-file --batch` and written directly.

Writing a blob, tree or commit is a zlib-compressed loose object under .git/objects, created in a
temporary file and renamed into place (git's own scheme), so a process killed midway leaves at
most a stray temporary file and never a torn object. No git process is started per write.
"""

from __future__ import annotations

import hashlib
import os
import select
import subprocess
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from adrs.workspace.errors import WorkspaceError

TREE_MODE = "40000"


class ObjectError(WorkspaceError):
    """An object that is missing or not what was expected; the message is one line."""


@dataclass(frozen=True)
class TreeEntry:
    mode: str
    name: str
    sha: str

    @property
    def is_tree(self) -> bool:
        return self.mode == TREE_MODE


@dataclass(frozen=True)
class Commit:
    tree: str
    parents: tuple[str, ...]
    message: str


class ObjectStore:
    """Read and write the objects of one repository; safe to share between threads."""

    def __init__(self, git_dir: Path) -> None:
        self._git_dir = Path(git_dir)
        self._objects = str(self._git_dir / "objects")
        self._folders: set[str] = set()  # fan-out folders known to exist
        self._lock = threading.Lock()
        self._reader: subprocess.Popen[bytes] | None = None

    # -- reading ------------------------------------------------------------------------

    def read(self, sha: str) -> tuple[str, bytes]:
        """(type, content) of an object; ObjectError if it does not exist."""
        with self._lock:
            reader = self._batch()
            assert reader.stdin is not None and reader.stdout is not None
            try:
                reader.stdin.write(sha.encode("ascii") + b"\n")
                reader.stdin.flush()
                header = reader.stdout.readline()
            except (BrokenPipeError, OSError) as exc:
                self._stop_reader()
                raise ObjectError(f"git cat-file stopped: {exc}") from exc
            parts = header.split()
            if len(parts) != 3:
                if not header:
                    self._stop_reader()
                raise ObjectError(f"no git object {sha}")
            kind, size = parts[1].decode(), int(parts[2])
            data = reader.stdout.read(size + 1)[:size]  # the content, then one LF
            return kind, data

    def read_many(self, shas: Sequence[str]) -> list[tuple[str, bytes] | None]:
        """(type, content) of each object, None where one is missing, in one pipelined pass
        through the reader: thousands of objects cost one round trip, not one each."""
        if not shas:
            return []
        with self._lock:
            reader = self._batch()
            assert reader.stdin is not None and reader.stdout is not None
            requests = b"".join(sha.encode("ascii") + b"\n" for sha in shas)
            # Many questions: a thread writes while this one reads, since git answers as it
            # reads and both pipes would fill up if all the questions went in first. A few (one
            # record's commit and tree, at every commit) fit in the empty pipe: written here.
            failure: list[OSError] = []
            writer = None
            if len(requests) <= select.PIPE_BUF:
                _feed(reader.stdin, requests, failure)
            else:
                writer = threading.Thread(target=_feed, args=(reader.stdin, requests, failure))
                writer.start()
            found: list[tuple[str, bytes] | None] = []
            try:
                for _ in shas:
                    parts = reader.stdout.readline().split()
                    if len(parts) != 3:
                        if not parts:  # the reader stopped: nothing more will come
                            break
                        found.append(None)  # "<name> missing" (or ambiguous)
                        continue
                    size = int(parts[2])
                    found.append((parts[1].decode(), reader.stdout.read(size + 1)[:size]))
            finally:
                if writer is not None:
                    writer.join()
            if failure or len(found) != len(shas):
                self._stop_reader()
                raise ObjectError(f"git cat-file stopped: {failure[0] if failure else 'no answer'}")
            return found

    def read_kind(self, sha: str, kind: str) -> bytes:
        found, data = self.read(sha)
        if found != kind:
            raise ObjectError(f"{sha[:12]} is a {found}, not a {kind}")
        return data

    def names_commit(self, name: str) -> bool:
        """Whether a revision (e.g. HEAD) names a readable commit; the reader resolves refs
        afresh on every request, so this sees what changed on disk since."""
        try:
            return self.read(f"{name}^{{commit}}")[0] == "commit"
        except ObjectError:
            return False

    def commit(self, sha: str) -> Commit:
        return parse_commit(self.read_kind(sha, "commit"))

    def tree(self, sha: str) -> list[TreeEntry]:
        return parse_tree(self.read_kind(sha, "tree"))

    def blob_text(self, sha: str) -> str:
        return self.read_kind(sha, "blob").decode("utf-8")

    def close(self) -> None:
        with self._lock:
            self._stop_reader()

    def _batch(self) -> subprocess.Popen[bytes]:
        if self._reader is None or self._reader.poll() is not None:
            self._reader = subprocess.Popen(
                ["git", "--git-dir", str(self._git_dir), "cat-file", "--batch"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        return self._reader

    def _stop_reader(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            for stream in (reader.stdin, reader.stdout):
                if stream is not None:
                    stream.close()
            reader.wait()

    # -- writing ------------------------------------------------------------------------

    def write(self, kind: str, data: bytes) -> str:
        """Store an object (once: an existing one is left as it is); its sha."""
        content = f"{kind} {len(data)}".encode("ascii") + b"\0" + data
        sha = hashlib.sha1(content).hexdigest()
        # Plain strings and a set of the fan-out folders made: this runs several times per
        # candidate, and pathlib and mkdir calls cost more than the write itself.
        folder = os.path.join(self._objects, sha[:2])
        path = os.path.join(folder, sha[2:])
        if os.path.exists(path):
            return sha
        if folder not in self._folders:
            os.makedirs(folder, exist_ok=True)
            self._folders.add(folder)
        temp = os.path.join(folder, f"tmp_obj_{os.getpid()}_{threading.get_ident()}")
        handle = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o444)
        try:
            os.write(handle, zlib.compress(content, 1))
        finally:
            os.close(handle)
        os.replace(temp, path)
        return sha

    def write_blob(self, data: bytes) -> str:
        return self.write("blob", data)

    def write_tree(self, entries: list[TreeEntry]) -> str:
        return self.write("tree", format_tree(entries))

    def write_commit(self, tree: str, parents: list[str], message: str, *, identity: str,
                     timestamp: int) -> str:
        lines = [f"tree {tree}", *(f"parent {p}" for p in parents),
                 f"author {identity} {timestamp} +0000", f"committer {identity} {timestamp} +0000"]
        return self.write("commit", ("\n".join(lines) + "\n\n" + message).encode("utf-8"))


def _feed(stream: IO[bytes], data: bytes, failure: list[OSError]) -> None:
    try:
        stream.write(data)
        stream.flush()
    except OSError as exc:  # the reader died; the reading side sees it too
        failure.append(exc)


def parse_tree(data: bytes) -> list[TreeEntry]:
    entries, at = [], 0
    while at < len(data):
        space = data.index(b" ", at)
        nul = data.index(b"\0", space)
        entries.append(TreeEntry(mode=data[at:space].decode(), name=data[space + 1:nul].decode(),
                                 sha=data[nul + 1:nul + 21].hex()))
        at = nul + 21
    return entries


def format_tree(entries: list[TreeEntry]) -> bytes:
    """A tree object's content, entries in git's order (a tree sorts as if its name ended in /)."""
    ordered = sorted(entries, key=lambda e: e.name + "/" if e.is_tree else e.name)
    return b"".join(f"{e.mode} {e.name}".encode() + b"\0" + bytes.fromhex(e.sha) for e in ordered)


def parse_commit(data: bytes) -> Commit:
    head, _, message = data.decode("utf-8").partition("\n\n")
    tree, parents = "", []
    for line in head.split("\n"):
        key, _, value = line.partition(" ")
        if key == "tree":
            tree = value
        elif key == "parent":
            parents.append(value)
    return Commit(tree=tree, parents=tuple(parents), message=message)


def pack_loose_objects(repository: Path) -> str:
    """`git gc` once the loose objects reach git's own threshold (`gc.auto`: 6700 unless the
    repository says otherwise; 0 turns it off); "" when done or not needed, else git's complaint
    in one line.

    A run writes three or four loose objects and a ref per candidate: after thousands of
    candidates, tens of thousands of small files, each taking a disk block, which every clone
    and copy of the run then walks. git's own `gc --auto` only samples one object folder, which
    says nothing for a small repository. Reads go on working across a repack (git looks for new
    packs on a miss), so the run's own readers may be open."""
    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=repository, capture_output=True, text=True)

    limit = int(git("config", "--type=int", "--get", "gc.auto").stdout.strip() or 6700)
    loose = git("count-objects").stdout.split()  # "<n> objects, <k> kilobytes"
    if limit <= 0 or not loose or int(loose[0]) < limit:
        return ""
    done = git("gc", "--quiet")
    lines = (done.stderr or done.stdout).strip().splitlines()
    return "" if done.returncode == 0 else (lines[-1] if lines else f"exit code {done.returncode}")
