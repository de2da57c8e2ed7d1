import pytest

from adrs.agents.evolve_block import (
    RegionError,
    fingerprint,
    numeric_literals,
    replace_literals,
    skeleton,
    split_program,
)

PROGRAM = '''import random

# EVOLVE-BLOCK-START
SAMPLE_SIZE = 10
RATE = 0.5

def pick(items):
    return items[: SAMPLE_SIZE * 2]  # two rounds
# EVOLVE-BLOCK-END

def helper():
    return 7
'''


def test_split_keeps_markers_outside_the_region():
    parts = split_program(PROGRAM)
    assert parts.head.endswith("# EVOLVE-BLOCK-START\n")
    assert parts.tail.startswith("# EVOLVE-BLOCK-END\n")
    assert "helper" not in parts.region and "SAMPLE_SIZE = 10" in parts.region
    assert parts.join() == PROGRAM


@pytest.mark.parametrize("text", ["# EVOLVE-BLOCK-START\nx = 1\n", "# EVOLVE-BLOCK-END\n# EVOLVE-BLOCK-START\n",
                                  "# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-END\n"])
def test_bad_markers_are_refused(text):
    with pytest.raises(RegionError):
        split_program(text)


def test_literals_are_found_in_order_with_their_names():
    literals = numeric_literals(split_program(PROGRAM).region)
    assert [(lit.text, lit.name) for lit in literals] == [("10", "SAMPLE_SIZE"), ("0.5", "RATE"),
                                                          ("2", None)]
    assert literals[0].is_int and not literals[1].is_int
    assert literals[2].label == "literal #2 (line 5)"


def test_replace_changes_only_the_named_literals():
    region = split_program(PROGRAM).region
    new = replace_literals(region, {0: "14", 2: "3"})
    assert "SAMPLE_SIZE = 14" in new and "SAMPLE_SIZE * 3" in new and "RATE = 0.5" in new
    assert skeleton(new) == skeleton(region)


def test_a_minus_written_against_a_number_where_an_operand_begins_is_the_literal_s_sign():
    region = "X = -4\nY = n - 1\nZ = f(a, -0.5)\nW = a[-1] ** -2\nV = (-3)\n"
    found = [(lit.text, lit.name) for lit in numeric_literals(region)]
    assert found == [("-4", "X"), ("1", None), ("-0.5", None), ("-1", None), ("-2", None),
                     ("-3", "V")]
    assert numeric_literals(region)[0].value == -4 and numeric_literals(region)[0].is_int
    # A search that moves a constant across zero keeps its name and its region's skeleton.
    assert skeleton(replace_literals(region, {0: "4", 5: "3"})) == skeleton(region)
    assert replace_literals("X = 4\n", {0: "-3"}) == "X = -3\n"


def test_fingerprint_ignores_comments_and_layout_but_not_values():
    same = PROGRAM.replace("# two rounds", "").replace("RATE = 0.5", "RATE  =  0.5")
    assert fingerprint(same) == fingerprint(PROGRAM)
    assert fingerprint(PROGRAM.replace("RATE = 0.5", "RATE = 0.6")) != fingerprint(PROGRAM)
