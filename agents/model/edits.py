"""The coder's edits: SEARCH/REPLACE blocks against the evolvable region, or a rewrite of it.

    <<<<<<< SEARCH
    lines copied from the region
    =======
    their replacement
    >>>>>>> REPLACE

A block is matched exactly first; failing that, ignoring trailing whitespace; failing that,
ignoring indentation (the replacement is then shifted by the indentation the region really has).
A SEARCH that matches nowhere or in several places is an EditError that tells the model what to
fix. Reasoning in <think> tags is left out first: the drafts there are not the answer.

A ```python block replaces the whole region only when it is one: it holds the markers, or it
defines every entry point of the region (its top-level functions and classes, or its names when
it has none), or the answer says it is the whole region. "Here is the changed line" is not a
rewrite. A whole program pasted without its markers gives up the text outside the region.
Pure text functions: nothing here runs a program.
"""

from __future__ import annotations

import ast
import difflib
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

from adrs.agents import syntax
from adrs.agents.evolve_block import RegionError, split_program
from adrs.agents.model.answers import strip_thinking
from adrs.tools.markers import has_markers, marker_kind

_SEARCH = re.compile(r"^\s*<{5,9}\s*SEARCH\s*$")
_DIVIDER = re.compile(r"^\s*={5,9}\s*$")
_REPLACE = re.compile(r"^\s*>{5,9}\s*REPLACE\s*$")
_FENCE = re.compile(r"```[ \t]*[\w+#.-]*[ \t]*\n(.*?)```", re.DOTALL)  # any language tag
_WHOLE = re.compile(r"\b(complete|whole|entire|full|rewritten|new)\s+(evolvable\s+)?"
                    r"(region|block|program)\b", re.IGNORECASE)


class EditError(ValueError):
    """An answer whose edit cannot be applied; the message is shown to the model."""


@dataclass(frozen=True)
class Block:
    search: tuple[str, ...]  # lines without their newline
    replace: tuple[str, ...]


@dataclass(frozen=True)
class Edit:
    """What an answer asks for: blocks to apply, or a code block that may be a new region."""

    blocks: tuple[Block, ...] = ()
    rewrite: str | None = None
    declared: bool = False  # the answer says the code block is the whole region


def parse_edit(text: str) -> Edit:
    """The edit in a coder's answer: its SEARCH/REPLACE blocks, else its ```python block."""
    text = strip_thinking(text)
    blocks = _blocks(text)
    if blocks:
        return Edit(blocks=blocks)
    fences = [match.group(1) for match in _FENCE.finditer(text)]
    if fences:
        prose = _FENCE.sub("", text)
        return Edit(rewrite=max(fences, key=len), declared=bool(_WHOLE.search(prose)))
    raise EditError("the answer holds no SEARCH/REPLACE block and no complete ```python block")


def _blocks(text: str) -> tuple[Block, ...]:
    blocks: list[Block] = []
    lines = text.replace("\r\n", "\n").split("\n")
    index = 0
    while index < len(lines):
        if not _SEARCH.match(lines[index]):
            index += 1
            continue
        number = len(blocks) + 1
        search, index = _until(lines, index + 1, _DIVIDER, f"block {number} has no ======= line")
        replace, index = _until(lines, index + 1, _REPLACE,
                                f"block {number} has no >>>>>>> REPLACE line")
        blocks.append(Block(tuple(search), tuple(replace)))
        index += 1
    return tuple(blocks)


def _until(lines: list[str], start: int, end: re.Pattern[str], error: str) -> tuple[list[str], int]:
    for index in range(start, len(lines)):
        if end.match(lines[index]):
            return lines[start:index], index
        if _SEARCH.match(lines[index]):
            break
    raise EditError(error)


def apply_edit(edit: Edit, region: str, *, fixed: tuple[str, str] = ("", "")) -> tuple[str, str]:
    """The new region and a one-line account of what was done. `fixed` is the program's text
    before and after the region, for telling a pasted whole program from a region."""
    if edit.rewrite is not None:
        new_region = rewrite_region(edit.rewrite, region, fixed=fixed, declared=edit.declared)
        return new_region, f"rewrote the evolvable region ({len(new_region.splitlines())} lines)"
    tolerant = 0
    for number, block in enumerate(edit.blocks, start=1):
        region, exact = apply_block(region, block, number)
        tolerant += not exact
    note = f"applied {len(edit.blocks)} SEARCH/REPLACE block{'s' if len(edit.blocks) > 1 else ''}"
    if tolerant:
        note += f" ({tolerant} matched ignoring whitespace)"
    return region, note


def apply_block(region: str, block: Block, number: int = 1) -> tuple[str, bool]:
    """The region with one block applied, and whether it matched exactly."""
    search = _trim_blank(block.search)
    if not search:
        raise EditError(f"block {number}: the SEARCH part is empty; copy the lines to replace")
    lines = region.split("\n")
    ending = lines.pop() if lines and lines[-1] == "" else None  # region ends with a newline
    rules: tuple[tuple[Callable[[str], str], bool], ...] = (
        (lambda line: line, True), (str.rstrip, False), (str.strip, False))
    for normalise, exact in rules:
        starts = _matches(lines, search, normalise)
        if len(starts) > 1:
            raise EditError(f"block {number}: the SEARCH part matches {len(starts)} places "
                            f"(lines {', '.join(str(s + 1) for s in starts[:5])}); "
                            "add neighbouring lines to make it unique")
        if starts:
            start = starts[0]
            replacement = list(block.replace)
            if normalise is str.strip:
                replacement = _reindent(replacement, search, lines[start: start + len(search)])
            new = lines[:start] + replacement + lines[start + len(search):]
            return "\n".join(new) + ("\n" if ending is not None else ""), exact
    raise EditError(f"block {number}: the SEARCH part is not in the evolvable region"
                    f"{_closest(lines, search)}; copy the region's lines exactly, "
                    "and edit nothing outside the markers")


def rewrite_region(text: str, region: str, *, fixed: tuple[str, str] = ("", ""),
                   declared: bool = False) -> str:
    """A whole new region from a ```python block: the region alone, or a full program (with or
    without its markers). EditError when the block is only part of the region."""
    text = text.replace("\r\n", "\n")
    if has_markers(text):
        try:
            text = split_program(text).region
        except RegionError as exc:
            raise EditError(f"the rewritten program's markers are broken: {exc}") from exc
    else:
        text = _without_fixed_text(text, *fixed)
        outside = (_top_names(fixed[0]) | _top_names(fixed[1])) & _top_names(text)
        if outside - _top_names(region):
            raise EditError(f"the ```python block repeats code from outside the evolvable region "
                            f"({', '.join(sorted(outside))}); give only the lines between the "
                            "markers, or SEARCH/REPLACE blocks")
        missing = _entry_points(region) - _top_names(text)
        if missing and not declared:
            raise EditError(f"the ```python block is not the whole evolvable region (it lacks "
                            f"{', '.join(sorted(missing))}), so it was not applied; to change some "
                            "lines, answer with SEARCH/REPLACE blocks")
    if not text.strip():
        raise EditError("the rewritten region is empty")
    want, have = _indent(region), _indent(text)
    if want and not have:  # the region sits inside a block; a model often writes it flush left
        text = "\n".join(want + line if line.strip() else line for line in text.split("\n"))
    return text.rstrip("\n") + "\n"


def _entry_points(code: str) -> set[str]:
    """What a region offers the program: its top-level functions and classes, or, when it
    has none, the names it assigns at top level."""
    tree = _parse(code)
    if tree is None:
        return set()
    defined = {node.name for node in tree.body
               if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    return defined or _top_names(code)


def _top_names(code: str) -> set[str]:
    """Names defined or assigned at the top level of `code`."""
    tree = _parse(code)
    names: set[str] = set()
    for node in tree.body if tree else ():
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign) else [])
        names.update(target.id for target in targets if isinstance(target, ast.Name))
    return names


def _parse(code: str) -> ast.Module | None:
    try:
        return syntax.parse(textwrap.dedent(code))
    except SyntaxError:
        return None


def _without_fixed_text(text: str, head: str, tail: str) -> str:
    """`text` without the program's fixed head at its start and fixed tail at its end, when it
    holds them line for line (a whole program pasted without its markers)."""
    lines = text.split("\n")
    for fixed, reverse in ((head, False), (tail, True)):
        wanted = [line.rstrip() for line in fixed.split("\n")
                  if line.strip() and not marker_kind(line)]
        if not wanted:
            continue
        order = list(reversed(lines)) if reverse else lines
        kept = _drop_prefix(order, list(reversed(wanted)) if reverse else wanted)
        if kept is not None:
            lines = list(reversed(kept)) if reverse else kept
    return "\n".join(lines)


def _drop_prefix(lines: list[str], wanted: list[str]) -> list[str] | None:
    """`lines` after `wanted` (blank lines skipped), or None if they do not start with it."""
    index = 0
    for line in wanted:
        while index < len(lines) and not lines[index].strip():
            index += 1
        if index >= len(lines) or lines[index].rstrip() != line:
            return None
        index += 1
    while index < len(lines) and not lines[index].strip():
        index += 1  # the blank lines between the fixed text and the region
    return lines[index:]


def _matches(lines: list[str], search: list[str], normalise: Callable[[str], str]) -> list[int]:
    wanted = [normalise(line) for line in search]
    have = [normalise(line) for line in lines]
    return [start for start in range(len(lines) - len(search) + 1)
            if have[start: start + len(search)] == wanted]


def _reindent(replacement: list[str], search: list[str], found: list[str]) -> list[str]:
    """Shift the replacement by how much deeper the region's lines sit than the SEARCH lines."""
    shift = _width(_first_text(found)) - _width(_first_text(search))
    if shift > 0:
        return [" " * shift + line if line.strip() else line for line in replacement]
    if shift < 0:
        return [line[min(-shift, _width(line)):] for line in replacement]
    return replacement


def _trim_blank(lines: tuple[str, ...]) -> list[str]:
    kept = list(lines)
    while kept and not kept[0].strip():
        kept.pop(0)
    while kept and not kept[-1].strip():
        kept.pop()
    return kept


def _first_text(lines: list[str]) -> str:
    return next((line for line in lines if line.strip()), "")


def _width(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _indent(text: str) -> str:
    widths = [line[: _width(line)] for line in text.split("\n") if line.strip()]
    return min(widths, key=len, default="")


def _closest(lines: list[str], search: list[str]) -> str:
    first = search[0].strip()
    close = difflib.get_close_matches(first, [line.strip() for line in lines], n=1, cutoff=0.6)
    return f" (its first line {first!r} is closest to the region's {close[0]!r})" if close else ""
