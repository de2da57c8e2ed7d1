"""Research notes: one git note per program commit, under refs/notes/adrs.

Read once when first needed, then kept in memory and extended as notes are added. A new note
writes its blob, one fan-out subtree (notes/ab/cdef…, the layout git itself uses for many notes),
the root tree and a notes commit: a few objects, whatever the number of notes. git reads any
fan-out, so `git log --notes=adrs` and `git notes` see them as usual.
"""

from __future__ import annotations

import time

from adrs.workspace.objects import TREE_MODE, ObjectStore, TreeEntry
from adrs.workspace.refs import RefStore

NOTES_REF = "refs/notes/adrs"


def normalise_note(text: str) -> str:
    """LF line ends, no trailing spaces or outer blank lines, one final newline."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip("\n") + "\n"


class Notes:
    def __init__(self, objects: ObjectStore, refs: RefStore, identity: str) -> None:
        self._objects, self._refs, self._identity = objects, refs, identity
        self._blobs: dict[str, str] | None = None  # commit sha -> note blob
        self._texts: dict[str, str] = {}
        self._subtrees: dict[str, str] = {}  # fan-out prefix -> written subtree
        self._head: str | None = None

    def all(self) -> dict[str, str]:
        """Every note's text, by the commit it is attached to."""
        return {commit: self.get(commit) or "" for commit in self._load()}

    def get(self, commit: str) -> str | None:
        blob = self._load().get(commit)
        if blob is None:
            return None
        if commit not in self._texts:
            self._texts[commit] = self._objects.blob_text(blob)
        return self._texts[commit]

    def add(self, commit: str, text: str) -> bool:
        """Attach (or replace) a note; False if the same note is there already."""
        body = normalise_note(text)
        if self.get(commit) == body:
            return False
        blobs = self._load()
        if not self._subtrees and blobs:  # first write: lay every existing note out in fan-out
            for prefix in {sha[:2] for sha in blobs}:
                self._subtrees[prefix] = self._write_subtree(prefix)
        blobs[commit] = self._objects.write_blob(body.encode("utf-8"))
        self._texts[commit] = body
        self._subtrees[commit[:2]] = self._write_subtree(commit[:2])
        root = self._objects.write_tree([TreeEntry(TREE_MODE, prefix, sha)
                                         for prefix, sha in self._subtrees.items()])
        head = self._objects.write_commit(root, [self._head] if self._head else [],
                                          "Notes added by adrs\n", identity=self._identity,
                                          timestamp=int(time.time()))
        self._refs.update(NOTES_REF, head)
        self._head = head
        return True

    def _write_subtree(self, prefix: str) -> str:
        assert self._blobs is not None
        return self._objects.write_tree([TreeEntry("100644", sha[2:], blob)
                                         for sha, blob in self._blobs.items() if sha[:2] == prefix])

    def _load(self) -> dict[str, str]:
        if self._blobs is None:
            self._head = self._refs.get(NOTES_REF)
            found: dict[str, str] = {}
            if self._head:
                self._walk(self._objects.commit(self._head).tree, "", found)
            self._blobs = found
        return self._blobs

    def _walk(self, tree: str, prefix: str, found: dict[str, str]) -> None:
        for entry in self._objects.tree(tree):
            if entry.is_tree:
                self._walk(entry.sha, prefix + entry.name, found)
            else:
                found[prefix + entry.name] = entry.sha

