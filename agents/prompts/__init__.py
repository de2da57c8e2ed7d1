"""The prompts, one text file per role (plus common.txt for what the roles share).

A file is a set of sections, each opened by a line `=== name ===`; a section is a
string.Template, so `$name` is filled in and `$$` is a dollar sign. A missing value is an error,
never an empty hole in a prompt.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from string import Template

FOLDER = Path(__file__).parent
_HEADER = re.compile(r"^=== ([a-z_]+) ===$", re.MULTILINE)


@functools.cache
def sections(name: str) -> dict[str, str]:
    """The sections of `<name>.txt`, outer blank lines removed."""
    path = FOLDER / f"{name}.txt"
    text = path.read_text(encoding="utf-8")
    parts = _HEADER.split(text)
    if parts[0].strip():
        raise ValueError(f"{path.name}: text before the first '=== section ===' line")
    found = {parts[i]: parts[i + 1].strip("\n") for i in range(1, len(parts), 2)}
    if len(found) != len(parts) // 2:
        raise ValueError(f"{path.name}: a section name is repeated")
    return found


def render(name: str, section: str, **values: object) -> str:
    """One section of a prompt file with its placeholders filled in."""
    try:
        template = sections(name)[section]
    except KeyError:
        raise KeyError(f"prompt {name}.txt has no section {section!r}") from None
    return Template(template).substitute({key: str(value) for key, value in values.items()})
