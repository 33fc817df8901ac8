"""Tests of the line diff, its unified form, the size budget and list item diffs."""

from __future__ import annotations

import subprocess
import sys
from typing import Optional

import pytest

from runinfodiffer import engine
from runinfodiffer.engine import diff_items, diff_text, format_unified, parse_list, split_lines
from runinfodiffer.model import DiffLine, ListDiff
from runinfodiffer.words import mark_pair



@pytest.fixture()
def matcher(request, monkeypatch):
    """Force the matcher named by the parameter ("libgit2" or "difflib") for one test."""
    if request.param == "libgit2":
        pytest.importorskip("pygit2")
    monkeypatch.setattr(engine, "choose_matcher", lambda old_lines, new_lines: request.param)
    return request.param


BOTH = pytest.mark.parametrize("matcher", ["libgit2", "difflib"], indirect=True)


def numbered(count: int, change: Optional[dict] = None) -> str:
    """Return lines "line 1" .. "line COUNT", each ending in "\\n", with `change` replacing some by index."""
    lines = [f"line {k}" for k in range(1, count + 1)]
    for index, text in (change or {}).items():
        lines[index] = text
    return "".join(line + "\n" for line in lines)


def test_split_lines_cases():
    assert split_lines("") == []
    assert split_lines("\n") == [""]
    assert split_lines("a") == ["a"]
    assert split_lines("a\n") == ["a"]
    assert split_lines("a\r\nb") == ["a\r", "b"]
    assert split_lines("a\n\nb\n") == ["a", "", "b"]


@BOTH
def test_one_changed_line(matcher):
    diff = diff_text(numbered(10), numbered(10, {4: "line five"}))
    assert (diff.added, diff.removed, diff.total_hunks, diff.truncated) == (1, 1, 1, False)
    (hunk,) = diff.hunks
    assert (hunk.old_start, hunk.old_count, hunk.new_start, hunk.new_count) == (2, 7, 2, 7)
    assert hunk.lines[3] == DiffLine("-", "line 5", 5, None, ((5, 6),))
    assert hunk.lines[4] == DiffLine("+", "line five", None, 5, ((5, 9),))
    assert [line.kind for line in hunk.lines] == [" ", " ", " ", "-", "+", " ", " ", " "]


@BOTH
def test_repeated_lines_mark_only_changed_line(matcher):
    block = ["<Param>", "  <value>0</value>", "</Param>", "}", ""]
    old_lines = (block * 49)[:242]
    new_lines = list(old_lines)
    new_lines[121] = "  <value>1</value>"
    old, new = "\n".join(old_lines) + "\n", "\n".join(new_lines) + "\n"
    assert old_lines[121] == "  <value>0</value>"
    diff = diff_text(old, new)
    assert (diff.added, diff.removed, len(diff.hunks)) == (1, 1, 1)
    changed = [line for line in diff.hunks[0].lines if line.kind != " "]
    assert changed == [
        DiffLine("-", "  <value>0</value>", 122, None, ((9, 10),)),
        DiffLine("+", "  <value>1</value>", None, 122, ((9, 10),)),
    ]


@BOTH
def test_unified_two_hunks(matcher):
    diff = diff_text(numbered(20), numbered(20, {1: "two", 17: "eighteen"}), context=2)
    assert format_unified(diff, "a/v", "b/v") == (
        "--- a/v\n+++ b/v\n"
        "@@ -1,4 +1,4 @@\n line 1\n-line 2\n+two\n line 3\n line 4\n"
        "@@ -16,5 +16,5 @@\n line 16\n line 17\n-line 18\n+eighteen\n line 19\n line 20\n"
    )


@BOTH
def test_final_newline_added(matcher):
    diff = diff_text("a\nb", "a\nb\n")
    assert (diff.added, diff.removed) == (1, 1)
    assert format_unified(diff, "o", "n") == (
        "--- o\n+++ n\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n"
    )


@BOTH
def test_final_newline_removed(matcher):
    diff = diff_text("a\nb\n", "a\nb")
    assert format_unified(diff, "o", "n") == (
        "--- o\n+++ n\n@@ -1,2 +1,2 @@\n a\n-b\n+b\n\\ No newline at end of file\n"
    )


@BOTH
def test_both_lack_final_newline(matcher):
    diff = diff_text("a\nb\nc", "A\nb\nc")
    assert format_unified(diff, "o", "n") == (
        "--- o\n+++ n\n@@ -1,3 +1,3 @@\n-a\n+A\n b\n c\n\\ No newline at end of file\n"
    )


@BOTH
def test_empty_old_value(matcher):
    diff = diff_text("", "x\ny\n")
    assert (diff.old_lines, diff.new_lines, diff.added, diff.removed) == (0, 2, 2, 0)
    assert diff.hunks[0].header == "@@ -0,0 +1,2 @@"


@BOTH
def test_empty_new_value(matcher):
    diff = diff_text("x\ny\n", "")
    assert diff.hunks[0].header == "@@ -1,2 +0,0 @@"
    assert format_unified(diff, "o", "n") == "--- o\n+++ n\n@@ -1,2 +0,0 @@\n-x\n-y\n"


@BOTH
def test_unified_header_carries_block(matcher):
    old = "hcal::uHTRManager {\n  a = 1;\n  b = 2;\n}\n"
    diff = diff_text(old, old.replace("b = 2", "b = 3"), context=1)
    assert format_unified(diff, "o", "n") == (
        "--- o\n+++ n\n@@ -2,3 +2,3 @@ hcal::uHTRManager {\n   a = 1;\n-  b = 2;\n+  b = 3;\n }\n"
    )


def test_equal_values_give_no_hunks():
    diff = diff_text("same\n", "same\n")
    assert (diff.hunks, diff.added, diff.removed, diff.total_hunks) == ([], 0, 0, 0)
    assert format_unified(diff, "o", "n") == ""


@BOTH
def test_insertion_between_lines(matcher):
    diff = diff_text(numbered(3), "line 1\nline 1.5\nline 2\nline 3\n", context=0)
    assert diff.hunks[0].header == "@@ -1,0 +2 @@"
    assert diff.hunks[0].lines == [DiffLine("+", "line 1.5", None, 2)]


@BOTH
def test_nul_byte_still_text(matcher):
    diff = diff_text("a\x00b\nc\n", "a\x00b\nd\n", context=0)
    assert diff.hunks[0].header == "@@ -2 +2 @@"


@BOTH
def test_unequal_block_pairs_in_order(matcher):
    diff = diff_text("k = 1;\nx\n", "k = 2;\nj = 3;\nx\n", context=0)
    marks = [(line.kind, line.marks) for line in diff.hunks[0].lines]
    assert marks == [("-", ((4, 5),)), ("+", ((4, 5),)), ("+", ())]


def test_budget_keeps_first_hunks():
    old = numbered(100)
    new = numbered(100, {k: f"changed {k}" for k in range(0, 100, 10)})
    diff = diff_text(old, new, context=1, budget=7)
    assert (diff.added, diff.removed, diff.total_hunks, diff.truncated) == (10, 10, 10, True)
    assert [hunk.header for hunk in diff.hunks] == ["@@ -1,2 +1,2 @@", "@@ -10,3 +10,3 @@", "@@ -20,3 +20,3 @@", "@@ -30,2 +30 @@"]
    assert [line.kind for line in diff.hunks[-1].lines] == [" ", "-"]


def test_budget_cuts_large_first_hunk():
    old = numbered(50)
    new = "".join(f"new {k}\n" for k in range(50))
    diff = diff_text(old, new, budget=10)
    assert (diff.added, diff.removed, diff.total_hunks, diff.truncated) == (50, 50, 1, True)
    (hunk,) = diff.hunks
    assert (hunk.old_start, hunk.old_count, hunk.new_start, hunk.new_count) == (1, 5, 1, 5)
    assert [line.kind for line in hunk.lines] == ["-"] * 5 + ["+"] * 5


def test_budget_filled_inside_hunk_ends_there():
    old = numbered(10)
    new = numbered(10, {2: "three", 5: "six", 6: "seven"})
    diff = diff_text(old, new, context=2, budget=2)
    (hunk,) = diff.hunks
    assert [line.kind for line in hunk.lines] == [" ", " ", "-", "+"]
    assert (hunk.old_start, hunk.old_count, hunk.new_start, hunk.new_count) == (1, 3, 1, 3)


def test_budget_not_exceeded_keeps_all():
    old = numbered(30)
    new = numbered(30, {3: "x", 20: "y"})
    diff = diff_text(old, new, budget=4)
    assert (diff.truncated, diff.total_hunks, len(diff.hunks)) == (False, 2, 2)


def test_budget_none_keeps_all():
    diff = diff_text(numbered(3000), "".join(f"n{k}\n" for k in range(3000)), budget=None)
    assert (diff.truncated, diff.added, diff.removed) == (False, 3000, 3000)
    assert sum(len(hunk.lines) for hunk in diff.hunks) == 6000


def test_budget_zero_keeps_no_hunk():
    diff = diff_text("a\n", "b\n", budget=0)
    assert (diff.hunks, diff.truncated, diff.total_hunks) == ([], True, 1)


def test_negative_arguments_rejected():
    with pytest.raises(ValueError, match="context"):
        diff_text("a", "b", context=-1)
    with pytest.raises(ValueError, match="budget"):
        diff_text("a", "b", budget=-5)


def test_large_values_use_libgit2():
    pytest.importorskip("pygit2")
    old = numbered(3000)
    new = numbered(3000, {1500: "middle"})
    diff = diff_text(old, new, context=0)
    assert [hunk.header for hunk in diff.hunks] == ["@@ -1501 +1501 @@"]
    assert "pygit2" in sys.modules


def test_matcher_by_size_and_repetition():
    unique = [f"line {k}" for k in range(500)]
    assert engine.choose_matcher(unique, unique) == "difflib"
    assert engine.choose_matcher(unique * 3, unique * 2) == "libgit2"
    alternating = ["a", "b"] * 500
    assert engine.choose_matcher(alternating, alternating[1:]) == "libgit2"
    braces = unique + ["}"] * 100
    assert engine.choose_matcher(braces, braces) == "difflib"


def test_small_values_do_not_import_pygit2():
    code = (
        "import sys\n"
        "from runinfodiffer.engine import diff_text\n"
        "diff_text('a\\nb\\n' * 100, 'a\\nc\\n' * 100)\n"
        "print('pygit2' in sys.modules, 'difflib' in sys.modules)\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.split() == ["False", "True"]


def test_engine_import_defers_heavy_modules():
    code = (
        "import sys\n"
        "import runinfodiffer.engine\n"
        "print('pygit2' in sys.modules, 'difflib' in sys.modules, 'logging' in sys.modules)\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.split() == ["False", "False", "False"]


def test_parse_list_cases():
    assert parse_list("[HCAL_HO, HCAL_Laser]") == ["HCAL_HO", "HCAL_Laser"]
    assert parse_list(" [a] \n") == ["a"]
    assert parse_list("[]") == []
    assert parse_list("[ ]") == []
    assert parse_list("empty string") == []
    assert parse_list("not set") == []
    assert parse_list("") == []
    assert parse_list("[a,b, c]") == ["a,b", "c"]
    assert parse_list("HCAL_HO") is None
    assert parse_list("[unclosed") is None


def test_diff_items_added_and_removed():
    result = diff_items("[HCAL_HO, hcalEventBuilder_0]", "[HCAL_HO, HCAL_Laser]")
    assert result == ListDiff(added=["HCAL_Laser"], removed=["hcalEventBuilder_0"])


def test_diff_items_from_not_set():
    assert diff_items("not set", "[A, B]") == ListDiff(added=["A", "B"], removed=[])
    assert diff_items("[A]", "empty string") == ListDiff(added=[], removed=["A"])


def test_diff_items_reordered():
    assert diff_items("[A, B]", "[B, A]") == ListDiff(added=[], removed=[])


def test_diff_items_duplicates_counted():
    assert diff_items("[A, A, B]", "[A, B, B]") == ListDiff(added=["B"], removed=["A"])


def test_diff_items_none_cases():
    assert diff_items("[A]", "plain text") is None
    assert diff_items("plain", "[A]") is None
    assert diff_items("[A, B]", "[A, B]") is None
    assert diff_items("not set", "[]") is None
    assert diff_items("[A,B]", "[A, B]") == ListDiff(added=["A", "B"], removed=["A,B"])


def test_marks_one_changed_value():
    old, new = "  c20.s04 ped=0xBC tdc=0x12", "  c20.s04 ped=0xBC tdc=0x1A"
    assert mark_pair(old, new) == (((23, 27),), ((23, 27),))


def test_marks_two_changed_words():
    assert mark_pair("a b c d", "x b y d") == (((0, 1), (4, 5)), ((0, 1), (4, 5)))


def test_marks_join_runs_split_by_spaces():
    assert mark_pair("keep a b c", "keep x y z") == (((5, 10),), ((5, 10),))


def test_marks_insertion_only_new_side():
    assert mark_pair("foo", "foo bar") == ((), ((3, 7),))


def test_marks_widen_to_whole_word():
    assert mark_pair("rev 1970", "revision 1970") == (((0, 3),), ((0, 8),))
    assert mark_pair("value=12;", "value=13;") == (((6, 8),), ((6, 8),))


def test_marks_non_ascii():
    assert mark_pair("é x", "é y") == (((2, 3),), ((2, 3),))


def test_marks_long_list_line():
    old = "".join(f"{700 + k}&amp;3%" for k in range(60))
    new = old.replace("707&amp;3%", "707&amp;1%").replace("749&amp;3%", "749&amp;1%")
    assert mark_pair(old, new) == (((78, 79), (498, 499)), ((78, 79), (498, 499)))


def test_marks_very_long_line_one_span():
    old, new = "x " * 20000 + "a", "x " * 20000 + "b"
    assert mark_pair(old, new) == (((40000, 40001),), ((40000, 40001),))
    old, new = "a " + "x " * 20000, "b " + "y " * 20000
    assert mark_pair(old, new) == (((0, 40001),), ((0, 40001),))


def test_word_marks_capped_per_diff():
    from runinfodiffer.engine import MAX_MARKED_PAIRS

    count = MAX_MARKED_PAIRS + 500
    old = "".join(f"key{i} value {i}\n" for i in range(count))
    new = "".join(f"key{i} value {i + 1}\n" for i in range(count))
    diff = diff_text(old, new, budget=None)
    added = [line for hunk in diff.hunks for line in hunk.lines if line.kind == "+"]
    assert len(added) == count
    assert added[0].marks
    assert added[MAX_MARKED_PAIRS - 1].marks
    assert added[MAX_MARKED_PAIRS].marks == ()
    assert diff.added == count
