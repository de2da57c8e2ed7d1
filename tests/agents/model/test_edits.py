"""SEARCH/REPLACE parsing and tolerant application, and region rewrites."""

from __future__ import annotations

import pytest

from adrs.agents.model.edits import Block, Edit, EditError, apply_block, apply_edit, parse_edit

REGION = """def choose(x):
    if x > 2:
        return 1
    return 0
"""


def block(search: str, replace: str) -> str:
    return f"<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE"


def test_blocks_are_parsed_in_order_with_text_around_them():
    answer = "I will do two things.\n" + block("a = 1", "a = 2") + "\nthen\n" + block("b", "c\nd")
    edit = parse_edit(answer)
    assert edit.blocks == (Block(("a = 1",), ("a = 2",)), Block(("b",), ("c", "d")))
    assert edit.rewrite is None


def test_an_exact_match_replaces_lines_and_keeps_the_final_newline():
    new, exact = apply_block(REGION, Block(("        return 1",), ("        return 7",)))
    assert exact and new == REGION.replace("return 1", "return 7")


def test_trailing_spaces_and_indentation_are_tolerated_and_reindented():
    # The model dropped the 4-space indentation of the function body.
    search = ("if x > 2:", "    return 1")
    replace = ("if x > 3:", "    return 2")
    new, exact = apply_block(REGION, Block(search, replace))
    assert not exact
    assert new == "def choose(x):\n    if x > 3:\n        return 2\n    return 0\n"
    new, exact = apply_block(REGION, Block(("    return 0   ",), ("    return -1",)))
    assert not exact and new.endswith("    return -1\n")


def test_ambiguous_missing_and_empty_searches_are_errors_the_model_can_act_on():
    with pytest.raises(EditError, match=r"matches 2 places \(lines 3, 4\)"):
        apply_block("a\nb\nreturn 1\nreturn 1\n", Block(("return 1",), ("x",)))
    with pytest.raises(EditError, match=r"block 2: the SEARCH part is not in the evolvable region"
                                        r" \(its first line 'if x > 5:' is closest to the "
                                        r"region's 'if x > 2:'\)"):
        apply_block(REGION, Block(("if x > 5:",), ("pass",)), 2)
    with pytest.raises(EditError, match="SEARCH part is empty"):
        apply_block(REGION, Block(("", "  "), ("pass",)))


def test_an_unclosed_block_and_an_answer_without_edit_are_errors():
    with pytest.raises(EditError, match="block 1 has no >>>>>>> REPLACE line"):
        parse_edit("<<<<<<< SEARCH\na\n=======\nb\n")
    with pytest.raises(EditError, match="no SEARCH/REPLACE block and no complete ```python block"):
        parse_edit("I would raise the constant.")
    with pytest.raises(EditError, match="no SEARCH/REPLACE block and no complete ```python block"):
        parse_edit("The new region:\n```python\nWIDTH = 9\n\ndef cho")  # never closed


def test_a_rewrite_takes_the_region_of_a_full_program_and_indents_a_flush_region():
    program = "import x\n# EVOLVE-BLOCK-START\nA = 3\n# EVOLVE-BLOCK-END\nprint(A)\n"
    edit = parse_edit(f"Rewritten:\n```python\n{program}```\n")
    assert apply_edit(edit, "A = 1\n") == ("A = 3\n", "rewrote the evolvable region (1 lines)")
    indented = "    a = 1\n    b = 2\n"
    new, _ = apply_edit(Edit(rewrite="a = 5\n\nb = 6"), indented)
    assert new == "    a = 5\n\n    b = 6\n"


def test_several_blocks_apply_in_sequence_and_the_note_says_how():
    edit = parse_edit(block("WIDTH = 2", "WIDTH = 3") + "\n" + block("  RATE = 1.0", "RATE = 0.5"))
    new, note = apply_edit(edit, "WIDTH = 2\nRATE = 1.0\n")
    assert new == "WIDTH = 3\nRATE = 0.5\n"
    assert note == "applied 2 SEARCH/REPLACE blocks (1 matched ignoring whitespace)"


HEAD = '"""Schedules jobs."""\nimport math\n\n\ndef helper(x):\n    return math.sqrt(x)\n\n\n# EVOLVE-BLOCK-START\n'
TAIL = "# EVOLVE-BLOCK-END\n\n\ndef run():\n    return choose(helper(4))\n"
TOY = "WIDTH = 2\nRATE = 1.0\n\n\ndef choose(x):\n    return WIDTH * x, RATE\n"


def test_a_snippet_is_not_taken_for_the_whole_region():
    edit = parse_edit("Here's the changed line:\n```python\nWIDTH = 5\n```")
    with pytest.raises(EditError, match=r"not the whole evolvable region \(it lacks choose\), so "
                                        "it was not applied; to change some lines, answer with "
                                        "SEARCH/REPLACE blocks"):
        apply_edit(edit, TOY, fixed=(HEAD, TAIL))
    said = parse_edit("The complete new region, trimmed as the plan asks:\n```python\nWIDTH = 5\n```")
    assert said.declared and apply_edit(said, TOY, fixed=(HEAD, TAIL))[0] == "WIDTH = 5\n"


def test_a_whole_program_pasted_without_markers_gives_up_its_fixed_text():
    region = TOY.replace("WIDTH = 2", "WIDTH = 7")
    pasted = parse_edit(f"```python\n{HEAD.replace('# EVOLVE-BLOCK-START', '')}{region}\n{TAIL[19:]}```")
    assert apply_edit(pasted, TOY, fixed=(HEAD, TAIL))[0] == region
    reworded = parse_edit(f"```python\nimport math\n\ndef helper(x):\n    return x ** 0.5\n\n{region}```")
    with pytest.raises(EditError, match=r"repeats code from outside the evolvable region \(helper\)"):
        apply_edit(reworded, TOY, fixed=(HEAD, TAIL))


def test_drafts_inside_think_tags_are_not_the_answer():
    answer = ("<think>\nMaybe:\n" + block("WIDTH = 2", "WIDTH = 100") + "\nNo.\n</think>\n"
              + block("WIDTH = 2", "WIDTH = 5"))
    assert apply_edit(parse_edit(answer), TOY)[0].startswith("WIDTH = 5\n")
