"""The evolvable region of a program and the numeric literals inside it.

Pure text functions: nothing here imports or runs a candidate.
"""

from __future__ import annotations

import ast
import hashlib
import io
import tokenize
from dataclasses import dataclass

from adrs.tools.problem import EVOLVE_END, EVOLVE_START


class RegionError(ValueError):
    """A program whose evolvable region markers are missing, repeated or out of order."""


@dataclass(frozen=True)
class Split:
    """A program cut into the fixed text before the region, the region, and the text after."""

    head: str
    region: str
    tail: str

    def join(self, region: str | None = None) -> str:
        return self.head + (self.region if region is None else region) + self.tail


def split_program(source: str) -> Split:
    """Cut at the marker lines; the markers themselves stay in head and tail."""
    lines = source.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.strip() == EVOLVE_START]
    ends = [i for i, line in enumerate(lines) if line.strip() == EVOLVE_END]
    if len(starts) != 1 or len(ends) != 1:
        raise RegionError(f"expected one '{EVOLVE_START}' and one '{EVOLVE_END}' line, "
                          f"found {len(starts)} and {len(ends)}")
    start, end = starts[0], ends[0]
    if start > end:
        raise RegionError(f"'{EVOLVE_END}' comes before '{EVOLVE_START}'")
    return Split("".join(lines[: start + 1]), "".join(lines[start + 1: end]), "".join(lines[end:]))


@dataclass(frozen=True)
class Literal:
    """A numeric literal of the region: its text, where it is, and the name it is bound to."""

    index: int
    text: str
    line: int  # 1-based, within the region
    column: int
    name: str | None  # `SAMPLE_SIZE` for `SAMPLE_SIZE = 10`, else None

    @property
    def value(self) -> float:
        return float(ast.literal_eval(self.text))

    @property
    def is_int(self) -> bool:
        return isinstance(ast.literal_eval(self.text), int)

    @property
    def label(self) -> str:
        return self.name or f"literal #{self.index} (line {self.line})"


def numeric_literals(region: str) -> list[Literal]:
    """Int and float literals of the region in reading order (complex and bool excluded)."""
    names = _bound_names(region)
    found: list[Literal] = []
    for token in _tokens(region):
        if token.type != tokenize.NUMBER:
            continue
        value = ast.literal_eval(token.string)
        if isinstance(value, complex):
            continue
        line, column = token.start
        found.append(Literal(len(found), token.string, line, column, names.get((line, column))))
    return found


def replace_literals(region: str, new_texts: dict[int, str]) -> str:
    """The region with the literals at the given indices replaced by new text."""
    literals = numeric_literals(region)
    lines = region.splitlines(keepends=True)
    # Right to left on each line so earlier columns stay valid.
    for literal in sorted((lit for lit in literals if lit.index in new_texts),
                          key=lambda lit: (lit.line, lit.column), reverse=True):
        row = lines[literal.line - 1]
        end = literal.column + len(literal.text)
        lines[literal.line - 1] = row[: literal.column] + new_texts[literal.index] + row[end:]
    return "".join(lines)


def skeleton(region: str) -> tuple[str, ...]:
    """The region's tokens with numbers blanked: two regions with one skeleton differ only in constants."""
    return tuple("#" if tok.type == tokenize.NUMBER else tok.string for tok in _tokens(region)
                 if tok.type not in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING))


def fingerprint(source: str) -> str:
    """Duplicate key: the syntax tree, so comments and layout do not make a program new."""
    try:
        text = ast.dump(ast.parse(source), annotate_fields=False)
    except SyntaxError:
        text = source
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _tokens(region: str) -> list[tokenize.TokenInfo]:
    # The region is an indented fragment at times; tokenize works line by line, so dedent is not
    # needed, but an unbalanced fragment may raise at the end: keep what was read.
    tokens: list[tokenize.TokenInfo] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(region).readline):
            tokens.append(token)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return tokens


def _bound_names(region: str) -> dict[tuple[int, int], str]:
    """Position of each literal that is the whole right side of `NAME = literal`."""
    try:
        tree = ast.parse(_dedent_fragment(region))
    except SyntaxError:
        return {}
    shift = _indent_of(region)
    names: dict[tuple[int, int], str] = {}
    for node in ast.walk(tree):
        value = getattr(node, "value", None)
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign) else [])
        if len(targets) == 1 and isinstance(targets[0], ast.Name) and isinstance(value, ast.Constant):
            names[(value.lineno, value.col_offset + shift)] = targets[0].id
    return names


def _indent_of(region: str) -> int:
    widths = [len(line) - len(line.lstrip()) for line in region.splitlines() if line.strip()]
    return min(widths, default=0)


def _dedent_fragment(region: str) -> str:
    shift = _indent_of(region)
    return "".join(line[shift:] if line.strip() else line for line in region.splitlines(keepends=True))
