"""Evolvable-region markers: the spellings adrs accepts and where the regions of a file lie.

A marker is a comment line in the evolved file's own language:

    # EVOLVE-BLOCK-START          Python, shell, TOML, YAML
    // EVOLVE-BLOCK-START         C, C++, Rust, Go, Java, JavaScript
    /* EVOLVE-BLOCK-START */      C-style block comment
    -- EVOLVE-BLOCK-START         SQL, Lua, Haskell
    ; / % / <!-- ... -->          Lisp and assembly, TeX and MATLAB, HTML and XML

The words may be spelled EVOLVE-BLOCK-START, EVOLVE_BLOCK_START or EVOLVE BLOCK START, in any
case, and text may follow them ("# EVOLVE-BLOCK-END: nothing below changes"). A file may hold
several regions; a file without any marker evolves as a whole (SkyDiscover's convention).
Pure text functions: nothing here runs a program.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CANONICAL_START = "# EVOLVE-BLOCK-START"
CANONICAL_END = "# EVOLVE-BLOCK-END"
_MARKER = re.compile(
    r"^\s*(?P<leader>\#+|//+|/\*+|--|;+|%+|<!--)\s*"
    r"EVOLVE[-_ ]?BLOCK[-_ ]?(?P<kind>START|END)\b", re.IGNORECASE)


class MarkerError(ValueError):
    """Markers that do not pair up; the message is one line naming the line at fault."""


@dataclass(frozen=True)
class Region:
    """Lines [first, stop) of a file (0-based) form one evolvable region, markers excluded."""

    first: int
    stop: int


@dataclass(frozen=True)
class Regions:
    """Where a file's evolvable regions lie, and the comment leader its markers use."""

    spans: tuple[Region, ...]
    marked: bool  # False: no markers, the whole file is the one region
    leader: str | None = None  # "#", "//", ... of the first marker; None when unmarked


def marker_kind(line: str) -> str | None:
    """'start' or 'end' when the line is a marker, else None."""
    match = _MARKER.match(line)
    return match.group("kind").lower() if match else None


def has_markers(text: str) -> bool:
    return any(marker_kind(line) for line in text.splitlines())


def find_regions(source: str) -> Regions:
    """The regions of a file; MarkerError when a START is left open, repeated or an END is stray."""
    lines = source.splitlines()
    spans: list[Region] = []
    leader: str | None = None
    open_at: int | None = None
    for index, line in enumerate(lines):
        match = _MARKER.match(line)
        if match is None:
            continue
        leader = leader or match.group("leader")
        if match.group("kind").lower() == "start":
            if open_at is not None:
                raise MarkerError(f"line {index + 1}: a second EVOLVE-BLOCK-START before the "
                                  f"END of the one at line {open_at + 1}")
            open_at = index
        else:
            if open_at is None:
                raise MarkerError(f"line {index + 1}: EVOLVE-BLOCK-END without an "
                                  "EVOLVE-BLOCK-START before it")
            spans.append(Region(open_at + 1, index))
            open_at = None
    if open_at is not None:
        raise MarkerError(f"line {open_at + 1}: EVOLVE-BLOCK-START is never closed by an "
                          "EVOLVE-BLOCK-END")
    if not spans:
        return Regions((Region(0, len(lines)),), marked=False)
    return Regions(tuple(spans), marked=True, leader=leader)


def describe(regions: Regions) -> str:
    """'the whole file', 'one marked region' or 'N marked regions'."""
    if not regions.marked:
        return "the whole file (no EVOLVE-BLOCK markers)"
    count = len(regions.spans)
    return "one marked region" if count == 1 else f"{count} marked regions"
