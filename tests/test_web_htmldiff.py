"""Side-by-side rows and previews built from the diff model."""

from __future__ import annotations

import re

from runinfodiffer.engine import diff_text
from runinfodiffer.model import Change
from runinfodiffer.web.htmldiff import MAX_FOLDED_LINES, MAX_PREVIEW_EXTENSION, highlight, side_by_side, unified_preview


def change_of(old: str, new: str, budget=None) -> Change:
    return Change("CFGDOC_TXT", ["HCAL_HF"], True, True, old, new, diff_text(old, new, budget=budget))


def numbered(count: int, changed=(), suffix: str = " changed") -> str:
    return "".join(f"line {n}{suffix if n in changed else ''}\n" for n in range(1, count + 1))


def test_highlight_escapes_and_marks():
    assert highlight('<a href="x">&', ()) == "&lt;a href=&#34;x&#34;&gt;&amp;"
    assert highlight("key <old> end", ((4, 9),)) == 'key <span class="hl">&lt;old&gt;</span> end'


def test_rows_fold_unchanged_regions():
    rows = side_by_side(change_of(numbered(30), numbered(30, changed={15})))
    kinds = [row.kind for row in rows]
    assert kinds[0] == "skip"
    assert kinds[1] == "hunk"
    assert kinds[-1] == "skip"
    first, last = rows[0], rows[-1]
    assert (first.skipped, first.old_start, first.new_start) == (11, 1, 1)
    assert (last.skipped, last.old_start, last.new_start) == (12, 19, 19)
    folded = re.findall(r'<tr><td class="ln">(\d+)</td><td>([^<]*)</td><td class="ln">(\d+)</td>', str(first.folded))
    assert folded == [(str(n), f"line {n}", str(n)) for n in range(1, 12)]


def test_rows_pair_removed_with_added():
    rows = side_by_side(change_of(numbered(30), numbered(30, changed={15})))
    lines = [row for row in rows if row.kind == "line"]
    assert [(row.left.lineno, row.right.lineno) for row in lines] == [(n, n) for n in range(12, 19)]
    changed = lines[3]
    assert (changed.left.kind, changed.right.kind) == ("del", "add")
    assert str(changed.left.html) == "line 15"
    assert str(changed.right.html) == 'line 15<span class="hl"> changed</span>'


def test_rows_of_added_value():
    change = Change("EMPTY_FMS", ["HCAL_HF"], False, True, "", "[HCAL_HO]\n", diff_text("", "[HCAL_HO]\n"))
    rows = side_by_side(change)
    assert [row.kind for row in rows] == ["hunk", "line"]
    assert (rows[1].left.kind, rows[1].right.kind, rows[1].right.lineno) == ("empty", "add", 1)


def test_long_unchanged_region_not_folded():
    size = MAX_FOLDED_LINES + 50
    rows = side_by_side(change_of(numbered(size), numbered(size, changed={size})))
    assert rows[0].kind == "skip"
    assert rows[0].skipped == size - 4
    assert str(rows[0].folded) == ""


def test_escaped_values_in_rows():
    old = "<x>\n" * 10 + '<script>alert("a")</script>\n'
    new = "<x>\n" * 10 + "<script>alert('b')</script>\n"
    html = "".join(str(row.left.html) + str(row.right.html) + str(row.folded) for row in side_by_side(change_of(old, new)))
    assert "<script>" not in html
    assert "<x>" not in html
    assert "&lt;script&gt;" in html


def test_preview_counts_remaining_lines():
    change = change_of(numbered(100), numbered(100, changed={10, 50, 90}))
    shown, more, _ = unified_preview(change, 20)
    total = sum(1 + len(hunk.lines) for hunk in change.diff.hunks)
    assert len(shown) == 20
    assert more == total - 20
    assert shown[0].kind == "hunk"
    assert str(shown[0].html) == change.diff.hunks[0].header


def test_preview_of_short_diff():
    shown, more, _ = unified_preview(change_of("a\n", "b\n"), 20)
    assert [line.kind for line in shown] == ["hunk", "del", "add"]
    assert more == 0


def test_preview_extends_to_end_of_change():
    # The hunk header and three context lines put lines 10-15 of the old value at
    # preview lines 5-10 (removed) and 11-16 (added); a limit of 8 falls inside them.
    changed = set(range(10, 16))
    change = change_of(numbered(40), numbered(40, changed=changed))
    shown, more, cut = unified_preview(change, 8)
    kinds = [line.kind for line in shown]
    total = sum(1 + len(hunk.lines) for hunk in change.diff.hunks)
    assert kinds == ["hunk"] + ["ctx"] * 3 + ["del"] * 6 + ["add"] * 6
    assert more == total - 16
    assert cut is False


def test_preview_extension_is_bounded():
    change = change_of(numbered(100), numbered(100, changed=set(range(5, 60))))
    shown, more, cut = unified_preview(change, 20)
    total = sum(1 + len(hunk.lines) for hunk in change.diff.hunks)
    assert len(shown) == 20 + MAX_PREVIEW_EXTENSION
    assert shown[-1].kind in ("del", "add")
    assert more == total - len(shown)
    assert cut is True


def test_preview_stops_at_limit_on_context():
    change = change_of(numbered(100), numbered(100, changed={10, 50, 90}))
    shown, more, cut = unified_preview(change, 4)
    assert [line.kind for line in shown] == ["hunk", "ctx", "ctx", "ctx"]
    assert cut is False
