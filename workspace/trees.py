"""Files in commits: write a folder as a tree, find and read one file of a commit."""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path

from adrs.workspace.objects import TREE_MODE, ObjectStore, TreeEntry
from adrs.workspace.records import WorkspaceError

SKIPPED_DIRS = frozenset({"__pycache__", ".git"})


def write_folder(objects: ObjectStore, folder: Path, leave_out: frozenset[str] = frozenset()) -> str | None:
    """The tree of a folder minus __pycache__, .git, *.pyc and the top-level names in `leave_out`
    (None if it holds no file)."""
    entries = []
    for path in sorted(folder.iterdir()):
        if path.name in SKIPPED_DIRS or path.name in leave_out or path.suffix == ".pyc":
            continue
        if path.is_dir():
            tree = write_folder(objects, path)
            if tree is not None:
                entries.append(TreeEntry(TREE_MODE, path.name, tree))
        elif path.is_file():
            mode = "100755" if path.stat().st_mode & 0o111 else "100644"
            entries.append(TreeEntry(mode, path.name, objects.write_blob(path.read_bytes())))
    return objects.write_tree(entries) if entries else None


def file_entry(objects: ObjectStore, commit: str, name: str) -> TreeEntry | None:
    """The top-level file `name` of a commit's tree, if it has one."""
    tree = objects.tree(objects.commit(commit).tree)
    return next((e for e in tree if e.name == name and not e.is_tree), None)


def file_text(objects: ObjectStore, commit: str, name: str) -> str:
    entry = file_entry(objects, commit, name)
    if entry is None:
        raise WorkspaceError(f"commit {commit[:12]} has no {name}")
    return objects.blob_text(entry.sha)


def evolve_file(objects: ObjectStore, root: str) -> str:
    """The problem's evolve file (problem.toml's evolve_file, default initial.py)."""
    if file_entry(objects, root, "problem.toml") is None:
        return "initial.py"
    try:
        spec = tomllib.loads(file_text(objects, root, "problem.toml"))
    except tomllib.TOMLDecodeError as exc:
        raise WorkspaceError(f"problem.toml of the run is not valid TOML: {exc}") from exc
    name = spec.get("evolve_file", "initial.py")
    if not isinstance(name, str):
        raise WorkspaceError("problem.toml: evolve_file must be a string")
    return name


def unified_diff(old: str, new: str, old_name: str, new_name: str) -> str:
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 fromfile=f"a/{old_name}", tofile=f"b/{new_name}")
    # A last line without newline gets git's marker instead of running into the next line.
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in lines)
