"""The evaluator's working directory: a writable mirror of its problem folder.

Peer evaluators read files relative to their folder ("examples/config/intra_aws.json") and write
beside them ("paths/", "evals/"). The problem folder itself stays read-only (it is the run's copy,
and the jail shows it read-only), so each evaluation gets a mirror in its scratch folder: real
folders, and symbolic links to the files. Reads go through the links; new files land in the
mirror. Past MAX_ENTRIES, folders are linked whole (readable, not writable), so a folder of
thousands of traces costs one link, not thousands.
"""

from __future__ import annotations

import os
from pathlib import Path

MAX_ENTRIES = 2000
SKIPPED = frozenset({"__pycache__", ".git"})


def mirror(source: Path, target: Path) -> None:
    """Fill `target` (an existing folder) with a mirror of `source`; names already there are
    left alone."""
    _mirror(Path(source), Path(target), [MAX_ENTRIES])


def _mirror(source: Path, target: Path, budget: list[int]) -> None:
    for entry in sorted(os.scandir(source), key=lambda item: item.name):
        if entry.name in SKIPPED or entry.name.endswith(".pyc"):
            continue
        destination = target / entry.name
        if os.path.lexists(destination):
            continue
        budget[0] -= 1
        if entry.is_dir(follow_symlinks=False) and budget[0] > 0:
            destination.mkdir()
            # Writable by the jail's user too: the scratch folder above is private to it.
            os.chmod(destination, 0o777)
            _mirror(Path(entry.path), destination, budget)
        else:
            os.symlink(entry.path, destination)
