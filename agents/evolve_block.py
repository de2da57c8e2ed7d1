"""The evolvable regions of a program and the numeric literals inside them.

A program is fixed text and one or more regions (tools/markers.py says where). The brains edit one
text, `Split.region`: the single region itself, or the regions joined by a separator line that
`Split.join` splits on again. Python regions are read with Python's tokenizer; regions of other
languages (C, Rust, ...) with a scanner that skips their comments and strings.
Pure text functions: nothing here imports or runs a candidate.
"""

from __future__ import annotations

import ast
import hashlib
import io
import keyword
import re
import tokenize
from dataclasses import dataclass

from adrs.agents import syntax
from adrs.tools.markers import MarkerError, find_regions

SEPARATOR = "<<< fixed text between evolvable regions: keep this line >>>"


class RegionError(ValueError):
    """A program whose evolvable region markers are missing, repeated or out of order."""


@dataclass(frozen=True)
class Split:
    """A program cut into fixed pieces and regions: fixed[0] regions[0] fixed[1] ... fixed[n]."""

    fixed: tuple[str, ...]
    regions: tuple[str, ...]
    python: bool = True  # the program is Python source (else literals are scanned as C-like)

    @property
    def head(self) -> str:
        return self.fixed[0]

    @property
    def tail(self) -> str:
        return self.fixed[-1]

    @property
    def region(self) -> str:
        """The text the brains edit: the region, or the regions joined by SEPARATOR lines."""
        return (SEPARATOR + "\n").join(self.regions)

    def join(self, region: str | None = None) -> str:
        """The whole program with `region` (a text shaped like `self.region`) put back."""
        regions = self.regions if region is None else self.cut(region)
        pieces = [self.fixed[0]]
        for text, after in zip(regions, self.fixed[1:]):
            pieces += [text, after]
        return "".join(pieces)

    def cut(self, region: str) -> tuple[str, ...]:
        """The regions of an edited `region` text; RegionError if its separators were lost."""
        if len(self.regions) == 1:
            return (region,)
        chunks: list[list[str]] = [[]]
        for line in region.splitlines(keepends=True):
            if line.strip() == SEPARATOR:
                chunks.append([])
            else:
                chunks[-1].append(line)
        if len(chunks) != len(self.regions):
            raise RegionError(f"the edit must keep the {len(self.regions) - 1} separator "
                              f"line(s) '{SEPARATOR}' between the regions")
        return tuple("".join(chunk) for chunk in chunks)

    def region_lines(self) -> list[range]:
        """1-based line numbers, in the program, of each region's lines."""
        spans, line = [], 1
        for before, text in zip(self.fixed, self.regions):
            line += before.count("\n")
            spans.append(range(line, line + text.count("\n")))
            line += text.count("\n")
        return spans

    def literals(self) -> list[Literal]:
        return numeric_literals(self.region, python=self.python)

    def with_literals(self, new_texts: dict[int, str]) -> str:
        """The program with the region literals at the given indices replaced."""
        return self.join(replace_literals(self.region, new_texts, python=self.python))

    def skeleton(self) -> tuple[str, ...]:
        return skeleton(self.region, python=self.python)


def split_program(source: str) -> Split:
    """Cut at the marker lines (kept in the fixed text); no markers: the whole file is the region."""
    try:
        found = find_regions(source)
    except MarkerError as exc:
        raise RegionError(str(exc)) from exc
    lines = source.splitlines(keepends=True)
    fixed, regions, at = [], [], 0
    for span in found.spans:
        fixed.append("".join(lines[at:span.first]))
        regions.append("".join(lines[span.first:span.stop]))
        at = span.stop
    fixed.append("".join(lines[at:]))
    return Split(tuple(fixed), tuple(regions), python=_is_python(source, found.leader))


def count_constants(source: str) -> int:
    """How many numeric literals the evolvable region(s) hold: what the offline brain can tune."""
    try:
        return len(split_program(source).literals())
    except RegionError:
        return 0


def _is_python(source: str, leader: str | None) -> bool:
    if leader not in (None, "#"):
        return False
    try:
        syntax.parse(source)
    except (SyntaxError, ValueError):
        return False
    return True


@dataclass(frozen=True)
class Literal:
    """A numeric literal of the region: its text, where it is, and the name it is bound to."""

    index: int
    text: str
    line: int  # 1-based, within the region text
    column: int
    name: str | None  # `SAMPLE_SIZE` for `SAMPLE_SIZE = 10`, else None

    @property
    def value(self) -> float:
        return float(_number(self.text))

    @property
    def is_int(self) -> bool:
        return isinstance(_number(self.text), int)

    @property
    def label(self) -> str:
        return self.name or f"literal #{self.index} (line {self.line})"


def numeric_literals(region: str, *, python: bool = True) -> list[Literal]:
    """Int and float literals of the region (each chunk between separators) in reading order."""
    found: list[Literal] = []
    offset = 0
    for chunk in region.split(SEPARATOR + "\n"):
        scanned = _python_numbers(chunk) if python else _other_numbers(chunk)
        for line, column, text, name in scanned:
            found.append(Literal(len(found), text, line + offset, column, name))
        offset += chunk.count("\n") + 1
    return found


def replace_literals(region: str, new_texts: dict[int, str], *, python: bool = True) -> str:
    """The region with the literals at the given indices replaced by new text."""
    literals = numeric_literals(region, python=python)
    lines = region.splitlines(keepends=True)
    # Right to left on each line so earlier columns stay valid.
    for literal in sorted((lit for lit in literals if lit.index in new_texts),
                          key=lambda lit: (lit.line, lit.column), reverse=True):
        row = lines[literal.line - 1]
        end = literal.column + len(literal.text)
        lines[literal.line - 1] = row[: literal.column] + new_texts[literal.index] + row[end:]
    return "".join(lines)


def skeleton(region: str, *, python: bool = True) -> tuple[str, ...]:
    """The region with numbers blanked: two regions with one skeleton differ only in constants."""
    if not python:
        return tuple(_OTHER_NUMBER.sub("#", _mask_other(region)).split())
    tokens = _tokens(region)
    signs = {at for at, _ in _signed_numbers(tokens) if tokens[at].type == tokenize.OP}
    return tuple("#" if tok.type == tokenize.NUMBER else tok.string
                 for at, tok in enumerate(tokens) if at not in signs
                 and tok.type not in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING))


def fingerprint(source: str) -> str:
    """Duplicate key: the syntax tree, so comments and layout do not make a program new."""
    try:
        text = ast.dump(syntax.parse(source), annotate_fields=False)
    except (SyntaxError, ValueError):
        text = source
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _number(text: str) -> int | float:
    """The value of a literal's text, Python or C-like (suffixes such as 1.5f or 10u dropped)."""
    try:
        value = ast.literal_eval(text)
    except (SyntaxError, ValueError):
        value = ast.literal_eval(_OTHER_SUFFIX.sub("", text).lstrip("0") or "0")
    return value


# -- Python ---------------------------------------------------------------------------------

def _python_numbers(chunk: str) -> list[tuple[int, int, str, str | None]]:
    names = _bound_names(chunk)
    found = []
    tokens = _tokens(chunk)
    for at, text in _signed_numbers(tokens):
        line, column = tokens[at].start
        found.append((line, column, text, names.get((line, column))))
    return found


def _signed_numbers(tokens: list[tokenize.TokenInfo]) -> list[tuple[int, str]]:
    """(index of the first token, text) of each real number literal. A minus sign written against
    a number where an operand begins (`X = -1`, `f(a, -0.5)`, `return -3`) belongs to the
    literal, so a constant keeps its sign, its name and its region's skeleton when a search moves
    it across zero; `n - 1` stays a subtraction of the literal 1."""
    found: list[tuple[int, str]] = []
    last = earlier = None  # the last two significant tokens before the current one
    for at, token in enumerate(tokens):
        if token.type == tokenize.NUMBER and not isinstance(ast.literal_eval(token.string), complex):
            if last is not None and last.string == "-" and last.end == token.start \
                    and _operand_begins_after(earlier):  # adjacent: the sign is tokens[at - 1]
                found.append((at - 1, "-" + token.string))
            else:
                found.append((at, token.string))
        if token.type not in (tokenize.COMMENT, tokenize.NL):
            last, earlier = token, last
    return found


def _operand_begins_after(token: tokenize.TokenInfo | None) -> bool:
    """Whether an operand begins after `token`: after an operator, an opening bracket, a comma, a
    keyword or a line's start; not after a name, a number, a string or a closing bracket."""
    if token is None or token.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
        return True
    if token.type == tokenize.OP:
        return token.string not in (")", "]", "}")
    return token.type == tokenize.NAME and keyword.iskeyword(token.string) \
        and token.string not in ("True", "False", "None")


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
        tree = syntax.parse(_dedent_fragment(region))
    except SyntaxError:
        return {}
    shift = _indent_of(region)
    names: dict[tuple[int, int], str] = {}
    for node in ast.walk(tree):
        value = getattr(node, "value", None)
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign) else [])
        signed = isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub) \
            and isinstance(value.operand, ast.Constant)
        if len(targets) == 1 and isinstance(targets[0], ast.Name) \
                and (isinstance(value, ast.Constant) or signed):
            names[(value.lineno, value.col_offset + shift)] = targets[0].id
    return names


def _indent_of(region: str) -> int:
    widths = [len(line) - len(line.lstrip()) for line in region.splitlines() if line.strip()]
    return min(widths, default=0)


def _dedent_fragment(region: str) -> str:
    shift = _indent_of(region)
    return "".join(line[shift:] if line.strip() else line for line in region.splitlines(keepends=True))


# -- C-like languages -------------------------------------------------------------------------

_OTHER_SUFFIX = re.compile(r"(?:[fFuUlL]{1,3}|_?(?:[iu](?:8|16|32|64|128|size)|f32|f64))$")
_OTHER_NUMBER = re.compile(
    r"(?<![\w.])(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?"
    r"(?:[fFuUlL]{1,3}|_?(?:[iu](?:8|16|32|64|128|size)|f32|f64))?(?![\w.])")
_COMMENT_OR_STRING = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])\'',
                                re.DOTALL)
_BINDING = re.compile(r"(?:#define\s+(\w+)\s+|\b(\w+)\s*(?::\s*[\w<>\[\]]+\s*)?=\s*)-?$")


def _mask_other(text: str) -> str:
    """Comments and strings blanked with spaces (newlines kept), so positions stay valid."""
    return _COMMENT_OR_STRING.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), text)


def _other_numbers(chunk: str) -> list[tuple[int, int, str, str | None]]:
    found = []
    for number, line in enumerate(_mask_other(chunk).splitlines(), start=1):
        for match in _OTHER_NUMBER.finditer(line):
            binding = _BINDING.search(line[: match.start()])
            whole = re.match(r"\s*[;,)]?\s*$", line[match.end():]) is not None
            name = (binding.group(1) or binding.group(2)) if binding and whole else None
            found.append((number, match.start(), match.group(), name))
    return found
