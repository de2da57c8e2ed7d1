"""Marker spellings, other languages' comments, several regions, whole files; the offline
brain's literals in each; the critic judging the change, not the baseline."""

from __future__ import annotations

import pytest

from adrs.agents.checks import static_review
from adrs.agents.evolve_block import SEPARATOR, RegionError, split_program
from adrs.tools.markers import find_regions, marker_kind
from adrs.tools.problem import DEFAULT_FORBIDDEN_IMPORTS


@pytest.mark.parametrize("line, kind", [
    ("# EVOLVE-BLOCK-START", "start"), ("    # EVOLVE-BLOCK-END", "end"),
    ("#EVOLVE_BLOCK_START: the policy", "start"), ("## evolve block end", "end"),
    ("// EVOLVE-BLOCK-START", "start"), ("/* EVOLVE-BLOCK-END */", "end"),
    ("-- EVOLVE-BLOCK-START", "start"), ("; EVOLVE-BLOCK-END", "end"),
    ("% EVOLVE-BLOCK-START", "start"), ("<!-- EVOLVE-BLOCK-END -->", "end"),
    ("# Only change code within EVOLVE-BLOCK-START and END", None),
    ("x = 1  # EVOLVE-BLOCK-START", None), ("# EVOLVE-BLOCK-STARTED", None),
])
def test_marker_spellings(line, kind):
    assert marker_kind(line) == kind


TWO = """import math

# EVOLVE-BLOCK-START
RATE = 0.5
# EVOLVE-BLOCK-END

def f(x):
    return RATE * x + OFFSET

# EVOLVE-BLOCK-START
OFFSET = 2
# EVOLVE-BLOCK-END
"""


def test_several_regions_are_one_text_with_separators():
    parts = split_program(TWO)
    assert parts.regions == ("RATE = 0.5\n", "OFFSET = 2\n")
    assert parts.region == f"RATE = 0.5\n{SEPARATOR}\nOFFSET = 2\n"
    assert parts.join() == TWO
    assert [(lit.text, lit.name, lit.line) for lit in parts.literals()] == [
        ("0.5", "RATE", 1), ("2", "OFFSET", 3)]
    assert parts.with_literals({1: "3"}).endswith("OFFSET = 3\n# EVOLVE-BLOCK-END\n")
    edited = parts.region.replace("RATE = 0.5", "RATE = 0.25\nSCALE = 2")
    assert parts.join(edited) == TWO.replace("RATE = 0.5", "RATE = 0.25\nSCALE = 2")
    with pytest.raises(RegionError, match="must keep the 1 separator"):
        parts.join("RATE = 0.25\n")
    assert [list(span) for span in parts.region_lines()] == [[4], [11]]


def test_a_file_without_markers_is_one_region():
    source = "import os\nLIMIT = 8\n"
    parts = split_program(source)
    assert parts.fixed == ("", "") and parts.regions == (source,)
    assert find_regions(source).marked is False
    assert [lit.name for lit in parts.literals()] == ["LIMIT"]


C_SOURCE = """#include <stdio.h>
// EVOLVE-BLOCK-START
#define TRIES 3
static const double BASE_MS = 10.0; /* 2 retries at most */
float scale = 1.5f;
// it's 4 o'clock
// EVOLVE-BLOCK-END
int main(void) { printf("%d", 7); return 0; }
"""


def test_c_regions_are_scanned_without_comments_and_strings():
    parts = split_program(C_SOURCE)
    assert not parts.python
    assert [(lit.text, lit.name) for lit in parts.literals()] == [
        ("3", "TRIES"), ("10.0", "BASE_MS"), ("1.5f", "scale")]
    assert parts.literals()[2].value == 1.5 and not parts.literals()[2].is_int
    assert "#define TRIES 4\n" in parts.with_literals({0: "4"})


PARENT = """import os

# EVOLVE-BLOCK-START
def pick(items, key):
    return getattr(items, key).__getitem__(0) if os.sep else None
LIMIT = 3
# EVOLVE-BLOCK-END
"""


def review(parent, candidate):
    return static_review(parent, candidate, known_fingerprints=frozenset(),
                         forbidden_imports=DEFAULT_FORBIDDEN_IMPORTS)


def test_the_critic_judges_the_change_not_the_baseline():
    assert review(PARENT, PARENT.replace("LIMIT = 3", "LIMIT = 4")) == []
    whole = "import os\nLIMIT = getattr(os, 'sep')\n"
    assert review(whole, whole + "X = 1\n") == []
    added = review(PARENT, PARENT.replace("LIMIT = 3", "LIMIT = getattr(os, 'sep')"))
    assert [(f.severity, f.reason) for f in added] == [("reject", "calls getattr()")]
    imported = review(whole, whole + "import subprocess\n")
    assert imported[0].reason == "imports forbidden module subprocess"


def test_the_critic_checks_other_languages_without_a_python_parser():
    assert review(C_SOURCE, C_SOURCE.replace("TRIES 3", "TRIES 4")) == []
    outside = review(C_SOURCE, C_SOURCE.replace('"%d", 7', '"%d", 8'))
    assert outside[0].reason == "edits text outside the EVOLVE-BLOCK region(s)"
    assert review(C_SOURCE, C_SOURCE)[0].reason.startswith("changes nothing")
