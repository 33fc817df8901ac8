"""Rows for the HTML diff views, built from the diff model.

Cell contents are escaped here with markupsafe and returned as `Markup`, so templates
print them as they are. Building a few thousand cells in Python is several times
faster than looping over text segments in Jinja2. Every piece of value text still
passes through `escape` exactly once.
"""

from __future__ import annotations

from itertools import islice
from typing import Iterator, List, NamedTuple, Optional, Sequence, Tuple

from markupsafe import Markup, escape

from ..model import ADDED, CONTEXT, REMOVED, Change, DiffLine, Hunk

#: Unchanged regions up to this many lines are included in the page, folded. Longer
#: ones show only their size and line range; the raw value links lead to the full text.
MAX_FOLDED_LINES = 400

_MARK_OPEN = Markup('<span class="hl">')
_MARK_CLOSE = Markup("</span>")


def highlight(text: str, marks: Sequence[Tuple[int, int]]) -> Markup:
    """Return `text` escaped, with the character spans in `marks` wrapped for highlighting."""
    if not marks:
        return escape(text)
    parts = []
    position = 0
    for start, end in marks:
        parts.append(escape(text[position:start]))
        parts.append(_MARK_OPEN + escape(text[start:end]) + _MARK_CLOSE)
        position = end
    parts.append(escape(text[position:]))
    return Markup("").join(parts)


class Cell:
    """One side of a side-by-side row; `kind` is "ctx", "del", "add" or "empty"."""

    # Plain classes rather than dataclasses: each @dataclass runs generated code at
    # import, a cost every CGI request pays.
    __slots__ = ("kind", "lineno", "html")

    def __init__(self, kind: str, lineno: Optional[int] = None, html: Markup = Markup("")):
        self.kind = kind
        self.lineno = lineno
        self.html = html


_EMPTY = Cell("empty")


class Row:
    """A row of the side-by-side table.

    `kind` "line" has two cells; "hunk" has the hunk header; "skip" stands for
    `skipped` unchanged lines, with their table rows in `folded` when short enough.
    """

    __slots__ = ("kind", "left", "right", "header", "skipped", "old_start", "new_start", "folded")

    def __init__(self, kind: str, left: Optional[Cell] = None, right: Optional[Cell] = None, *,
                 header: str = "", skipped: int = 0, old_start: int = 0, new_start: int = 0):
        self.kind = kind
        self.left = left or _EMPTY
        self.right = right or _EMPTY
        self.header = header
        self.skipped = skipped
        self.old_start = old_start
        self.new_start = new_start
        self.folded = Markup("")


def _cell(line: DiffLine) -> Cell:
    if line.kind == REMOVED:
        return Cell("del", line.old_lineno, highlight(line.text, line.marks))
    if line.kind == ADDED:
        return Cell("add", line.new_lineno, highlight(line.text, line.marks))
    return Cell("ctx", line.old_lineno, escape(line.text))


def hunk_rows(hunk: Hunk) -> List[Row]:
    """Return the rows of one hunk: context lines on both sides, removals paired with additions."""
    rows: List[Row] = []
    removed: List[DiffLine] = []
    added: List[DiffLine] = []

    def flush() -> None:
        for index in range(max(len(removed), len(added))):
            left = _cell(removed[index]) if index < len(removed) else _EMPTY
            right = _cell(added[index]) if index < len(added) else _EMPTY
            rows.append(Row("line", left, right))
        removed.clear()
        added.clear()

    for line in hunk.lines:
        if line.kind == CONTEXT:
            flush()
            left = _cell(line)
            rows.append(Row("line", left, Cell("ctx", line.new_lineno, left.html)))
        elif line.kind == REMOVED:
            if added:  # a removal after additions starts a new change block
                flush()
            removed.append(line)
        else:
            added.append(line)
    flush()
    return rows


def _skip_row(old_lines: List[str], old_start: int, new_start: int, count: int) -> Row:
    """Return a "skip" row for `count` unchanged lines from 1-based `old_start` and `new_start`.

    The folded rows are built here in one pass: the region is escaped as one string
    and split again (escaping leaves newlines alone), because a row-by-row template
    loop over thousands of unchanged lines dominated the complete view's time.
    """
    row = Row("skip", skipped=count, old_start=old_start, new_start=new_start)
    if count <= MAX_FOLDED_LINES:
        texts = str(escape("\n".join(old_lines[old_start - 1:old_start - 1 + count]))).split("\n")
        row.folded = Markup("").join(
            Markup(f'<tr><td class="ln">{old_start + offset}</td><td>{text}</td>'
                   f'<td class="ln">{new_start + offset}</td><td>{text}</td></tr>\n')
            for offset, text in enumerate(texts)
        )
    return row


def side_by_side(change: Change) -> List[Row]:
    """Return the rows of a complete side-by-side diff of `change`.

    Unchanged regions before, between and after hunks become "skip" rows. When the
    size budget cut the diff, nothing is claimed about the lines after the last hunk.
    """
    diff = change.diff
    old_lines = change.old_value.split("\n")
    rows: List[Row] = []
    old_next, new_next = 1, 1
    for hunk in diff.hunks:
        old_first = hunk.old_start if hunk.old_count else hunk.old_start + 1
        new_first = hunk.new_start if hunk.new_count else hunk.new_start + 1
        gap = old_first - old_next
        if gap > 0:
            rows.append(_skip_row(old_lines, old_next, new_next, gap))
        rows.append(Row("hunk", header=hunk.header))
        rows.extend(hunk_rows(hunk))
        old_next = old_first + hunk.old_count
        new_next = new_first + hunk.new_count

    trailing = diff.old_lines - old_next + 1
    if diff.hunks and not diff.truncated and trailing > 0:
        rows.append(_skip_row(old_lines, old_next, new_next, trailing))
    return rows


class PreviewLine:
    """A line of the unified preview in the truncated view; `kind` is "hunk", "ctx", "del" or "add"."""

    __slots__ = ("kind", "html")

    def __init__(self, kind: str, html: Markup):
        self.kind = kind
        self.html = html


class Preview(NamedTuple):
    """The first lines of a change's unified diff, for the truncated view."""

    lines: List[PreviewLine]
    #: Lines of the diff's hunks that follow `lines`.
    more: int
    #: True when `lines` stops inside a run of removed and added lines because the
    #: run is longer than `MAX_PREVIEW_EXTENSION`.
    cut_in_change: bool


_KINDS = {CONTEXT: "ctx", REMOVED: "del", ADDED: "add"}

#: A preview that reaches its limit inside a run of removed and added lines goes on
#: to the end of that run, by at most this many lines.
MAX_PREVIEW_EXTENSION = 20


def unified_preview(change: Change, limit: int) -> Preview:
    """Return the first `limit` unified-diff lines of `change` and how many lines follow.

    The preview never ends between the removed and the added lines of one change: it
    extends to the end of the current run of changed lines, by at most
    `MAX_PREVIEW_EXTENSION` lines. The count covers the hunks the diff holds, which are
    all of them unless the size budget cut the diff (`change.diff.truncated`).
    """
    total = sum(1 + len(hunk.lines) for hunk in change.diff.hunks)
    # One line past the longest preview shows whether the preview stops inside a change.
    head = list(islice(_preview_lines(change.diff.hunks), limit + MAX_PREVIEW_EXTENSION + 1))

    end = min(limit, len(head))
    last_end = min(limit + MAX_PREVIEW_EXTENSION, len(head))
    while 0 < end < last_end and _changed(head[end - 1]) and _changed(head[end]):
        end += 1
    cut_in_change = 0 < end < len(head) and _changed(head[end - 1]) and _changed(head[end])
    return Preview(head[:end], total - end, cut_in_change)


def _preview_lines(hunks: Sequence[Hunk]) -> Iterator[PreviewLine]:
    for hunk in hunks:
        yield PreviewLine("hunk", escape(hunk.header))
        for line in hunk.lines:
            yield PreviewLine(_KINDS[line.kind], Markup(escape(line.kind)) + highlight(line.text, line.marks))


def _changed(line: PreviewLine) -> bool:
    return line.kind in ("del", "add")
