"""Property tests: GNU patch applies `format_unified` output to the old text and gives the new text.

Both matchers (difflib and libgit2) run on every generated example, by replacing
`engine.choose_matcher` for the run.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runinfodiffer import engine
from runinfodiffer.engine import diff_text, format_unified, split_lines
from runinfodiffer.words import mark_pair

PATCH = shutil.which("patch")

#: Lines that are hard for a unified diff or for patch: empty, CR, tabs, non-ASCII, lines
#: that look like diff syntax, a very long line, and the frequent lines of configuration.
TRICKY_LINES = [
    "",
    " ",
    "}",
    "{",
    "  a = 1;",
    "  a = 2;",
    "\tb\t= 3;",
    "é ü 漢字 ✓",
    "\r",
    "x\r",
    "--- a",
    "+++ b",
    "@@ -1 +1 @@",
    "\\ No newline at end of file",
    "-",
    "+",
    "<LocalRunkey name=\"LED-HBHE\">",
    "</LocalRunkey>",
    "long " * 2000,
]

line_strategy = st.one_of(
    st.sampled_from(TRICKY_LINES),
    st.text(st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)), max_size=30),
)


@st.composite
def texts(draw, lines=st.lists(line_strategy, max_size=25)):
    """Draw a text: lines joined by "\\n" or "\\r\\n", with or without a final newline."""
    items = draw(lines)
    if draw(st.booleans()) and items:
        items = items * draw(st.integers(1, 600 // len(items)))
    separator = draw(st.sampled_from(["\n", "\r\n"]))
    text = separator.join(items)
    if items and draw(st.booleans()):
        text += separator
    return text


@st.composite
def text_pairs(draw):
    """Draw an old text and a new text that is either unrelated or an edit of the old one."""
    old = draw(texts())
    if draw(st.booleans()):
        return old, draw(texts())
    lines = old.split("\n")
    for _ in range(draw(st.integers(0, 6))):
        position = draw(st.integers(0, len(lines)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        if action == "insert":
            lines.insert(position, draw(line_strategy))
        elif position < len(lines) and action == "delete":
            del lines[position]
        elif position < len(lines):
            lines[position] = draw(line_strategy)
    return old, "\n".join(lines)


def apply_patch(old: str, unified: str) -> str:
    """Run GNU patch on a file holding `old` and return the patched file's text."""
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        (work / "old").write_bytes(old.encode("utf-8"))
        (work / "diff").write_bytes(unified.encode("utf-8"))
        completed = subprocess.run(
            [PATCH, "--batch", "--quiet", "--fuzz=0", "--no-backup-if-mismatch",
             "--reject-file=-", "-o", str(work / "out"), "-i", str(work / "diff"), str(work / "old")],
            capture_output=True,
        )
        assert completed.returncode == 0, completed.stdout + completed.stderr
        return (work / "out").read_bytes().decode("utf-8")


def check_round_trip(old: str, new: str, context: int) -> None:
    diff = diff_text(old, new, context=context, budget=None)
    unified = format_unified(diff, "a/value", "b/value")
    if old == new:
        assert unified == ""
        return
    assert apply_patch(old, unified) == new
    assert diff.removed == sum(1 for h in diff.hunks for line in h.lines if line.kind == "-")
    assert diff.added == sum(1 for h in diff.hunks for line in h.lines if line.kind == "+")
    assert diff.total_hunks == len(diff.hunks)
    assert not diff.truncated


@pytest.mark.skipif(PATCH is None, reason="GNU patch is not installed")
@pytest.mark.parametrize("matcher", ["libgit2", "difflib"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pair=text_pairs(), context=st.integers(0, 4))
def test_patch_reproduces_new_text(matcher, pair, context):
    if matcher == "libgit2":
        pytest.importorskip("pygit2")
    saved = engine.choose_matcher
    engine.choose_matcher = lambda old_lines, new_lines: matcher
    try:
        check_round_trip(pair[0], pair[1], context)
    finally:
        engine.choose_matcher = saved


@settings(max_examples=150, deadline=None)
@given(pair=text_pairs(), budget=st.integers(0, 12))
def test_budget_keeps_prefix_of_hunks(pair, budget):
    full = diff_text(*pair, context=1, budget=None)
    cut = diff_text(*pair, context=1, budget=budget)
    assert (cut.added, cut.removed, cut.total_hunks) == (full.added, full.removed, full.total_hunks)
    if full.changed_lines <= budget:
        assert cut.hunks == full.hunks
        assert not cut.truncated
        return
    assert cut.truncated
    shown = sum(1 for hunk in cut.hunks for line in hunk.lines if line.kind != " ")
    assert shown == budget
    if budget == 0:
        assert cut.hunks == []
        return
    assert cut.hunks[:-1] == full.hunks[: len(cut.hunks) - 1]
    last, original = cut.hunks[-1], full.hunks[len(cut.hunks) - 1]
    assert hunk_begin(last) == hunk_begin(original)
    assert last.context == original.context
    if last != original:
        assert last.lines[-1].kind != " "


def hunk_begin(hunk):
    """Return the 0-based old and new line index where a hunk begins.

    A side with count 0 states the line before the hunk, so its start is not shifted.
    """
    return (
        hunk.old_start - 1 if hunk.old_count else hunk.old_start,
        hunk.new_start - 1 if hunk.new_count else hunk.new_start,
    )


@settings(max_examples=200, deadline=None)
@given(old=line_strategy, new=line_strategy)
def test_marks_cover_the_difference(old, new):
    old_marks, new_marks = mark_pair(old, new)
    for line, marks in ((old, old_marks), (new, new_marks)):
        assert list(marks) == sorted(marks)
        for (start, end), following in zip(marks, list(marks[1:]) + [(len(line) + 1, 0)]):
            assert 0 <= start < end <= len(line)
            assert end < following[0]
    assert strip_marks(old, old_marks) == strip_marks(new, new_marks)


def strip_marks(line: str, marks) -> str:
    kept, position = [], 0
    for start, end in marks:
        kept.append(line[position:start])
        position = end
    kept.append(line[position:])
    return "".join(kept)


@settings(max_examples=100, deadline=None)
@given(text=texts())
def test_split_lines_round_trip(text):
    lines = split_lines(text)
    joined = "\n".join(lines) + ("\n" if lines and text.endswith("\n") else "")
    assert joined == text


def changed_sample_values(path: Path) -> set:
    """Return every (old, new) pair of differing values of one name in consecutive runs.

    Each run's value of a name is the string of its row with the lowest ID, as the reader
    takes it. A missing string counts as "".
    """
    import sqlite3

    connection = sqlite3.connect(str(path))
    try:
        rows = connection.execute(
            "SELECT p.NAME, s.VALUE FROM RUNSESSION_PARAMETER p "
            "JOIN RUNSESSION_STRING s ON s.RUNSESSION_PARAMETER_ID = p.ID "
            "WHERE p.ID IN (SELECT MIN(ID) FROM RUNSESSION_PARAMETER GROUP BY RUNNUMBER, NAME) "
            "ORDER BY p.NAME, p.RUNNUMBER"
        ).fetchall()
    finally:
        connection.close()
    pairs = set()
    for (name, value), (next_name, next_value) in zip(rows, rows[1:]):
        if name == next_name and value != next_value:
            pairs.add((value or "", next_value or ""))
    return pairs


@pytest.mark.skipif(PATCH is None, reason="GNU patch is not installed")
def test_patch_reproduces_sample_changes(sample_db):
    pairs = changed_sample_values(sample_db[0])
    assert len(pairs) >= 10
    for old, new in sorted(pairs):
        check_round_trip(old, new, context=3)
