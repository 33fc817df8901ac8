"""Line diff of two texts into the `TextDiff` model, and item diff of list values.

Two matchers find the changed line blocks. Small inputs use difflib's SequenceMatcher
with autojunk off, which costs little to import. Inputs above `LIBGIT2_MIN_LINES`, and
small ones with many repeated lines (see `choose_matcher`), use libgit2's xdiff through
pygit2. pygit2 is imported on first use because the import costs tens of milliseconds
and every CGI request is a new process. Without pygit2 every input goes to difflib,
which is correct but quadratic or worse on large or repetitive inputs.

Lines are split on "\\n" only. A last line without "\\n" never matches a line that has
one, so a change of the final newline alone shows as one removed and one added line, as
in git and GNU diff.
"""

from __future__ import annotations

import gc
from collections import Counter
from itertools import repeat
from typing import List, NamedTuple, Optional, Sequence

from .blocks import block_contexts
from .model import ADDED, CONTEXT, REMOVED, DiffLine, Hunk, ListDiff, TextDiff
from .words import mark_pair

#: Inputs with more lines than this (old and new together) go to libgit2 when pygit2 is
#: installed. Below it difflib is faster than importing pygit2.
LIBGIT2_MIN_LINES = 2000

#: Maximum count of (old line, equal new line) pairs that difflib gets; see `choose_matcher`.
DIFFLIB_MAX_PAIRS = 20000

#: Values that mean a list with no items, besides ``[]``. RunInfo stores these spellings
#: when a function manager left a list parameter unset.
EMPTY_LIST_VALUES = frozenset({"", "empty string", "not set"})

NO_NEWLINE_MARKER = "\\ No newline at end of file\n"

#: Maximum changed line pairs per diff that get word marks; later lines stay unmarked.
#: Marking costs about 4 µs per pair (bench/engine.py on a 2-core Xeon), which dominated
#: a complete 50,000-line diff, and highlights that deep are of little use to a reader.
MAX_MARKED_PAIRS = 10000


class Block(NamedTuple):
    """A run of changed lines: old lines [old_start, old_end) became new [new_start, new_end)."""

    old_start: int
    old_end: int
    new_start: int
    new_end: int

    @property
    def size(self) -> int:
        return self.old_end - self.old_start + self.new_end - self.new_start


class Group(NamedTuple):
    """The blocks of one hunk. A `cut` group was ended by the budget and gets no trailing context."""

    blocks: List[Block]
    cut: bool = False


def split_lines(text: str) -> List[str]:
    """Split on "\\n" only, so a missing final newline never glues two lines together."""
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def diff_text(old: str, new: str, *, context: int = 3, budget: Optional[int] = 2000) -> TextDiff:
    """Diff `old` against `new` line by line and return hunks with `context` lines around.

    `added`, `removed` and `total_hunks` always describe the whole diff. When more than
    `budget` lines changed, `hunks` contains only the first hunks with at most `budget`
    changed lines in all (the hunk that crosses the budget is cut short) and `truncated`
    is True. `budget=None` keeps everything. Each hunk's `context` names the block open
    at its first changed line (see `blocks`), and each removed line paired with an added
    line carries word marks (see `words`).
    """
    if context < 0:
        raise ValueError(f"invalid context {context}: expected 0 or more lines")
    if budget is not None and budget < 0:
        raise ValueError(f"invalid budget {budget}: expected 0 or more lines, or None")

    old_lines = split_lines(old)
    new_lines = split_lines(new)
    result = TextDiff(
        old_lines=len(old_lines),
        new_lines=len(new_lines),
        old_missing_newline=bool(old) and not old.endswith("\n"),
        new_missing_newline=bool(new) and not new.endswith("\n"),
    )
    blocks = _change_blocks(old, new, old_lines, new_lines)
    result.removed = sum(block.old_end - block.old_start for block in blocks)
    result.added = sum(block.new_end - block.new_start for block in blocks)

    groups = _group_blocks(blocks, context)
    result.total_hunks = len(groups)
    if budget is not None and result.added + result.removed > budget:
        groups = _apply_budget(groups, budget)
        result.truncated = True

    # The cyclic garbage collector runs every few hundred allocations and rescans the
    # young objects each time. Pausing it while the DiffLine objects are built cut about
    # a quarter off the complete diff of the bench's worst case (100,000 lines). None of
    # these objects form cycles.
    collecting = gc.isenabled()
    gc.disable()
    try:
        marks_left = [MAX_MARKED_PAIRS]
        result.hunks = [_build_hunk(group, old_lines, new_lines, context, marks_left) for group in groups]
    finally:
        if collecting:
            gc.enable()
    _set_block_contexts(result.hunks, groups, old, new, old_lines, new_lines)
    return result


def _change_blocks(old: str, new: str, old_lines: List[str], new_lines: List[str]) -> List[Block]:
    """Return the changed line blocks in order, separated by at least one equal line."""
    if old == new:
        return []
    if choose_matcher(old_lines, new_lines) == "libgit2":
        try:
            import pygit2  # noqa: F401  (only checks that it is installed)
        except ImportError:
            import logging  # only here: importing logging costs milliseconds per process

            logging.getLogger(__name__).warning(
                "pygit2 is not installed, so %d lines are diffed with difflib, which can be slow; "
                "install pygit2", len(old_lines) + len(new_lines))
        else:
            return _libgit2_blocks(old, new)
    return _difflib_blocks(old, new, old_lines, new_lines)


def choose_matcher(old_lines: List[str], new_lines: List[str]) -> str:
    """Return "difflib" for inputs that difflib diffs quickly, else "libgit2".

    difflib's longest-match search visits every (old line, equal new line) pair, and it
    does so again for each block it finds. Repeated lines therefore make it slow long
    before the line count is large. For example, diffing 1,000 lines that alternate
    between two values took 7 s (Python 3.11, 2-core Xeon). Inputs with more than
    DIFFLIB_MAX_PAIRS such pairs go to libgit2, as large inputs do.
    """
    if len(old_lines) + len(new_lines) > LIBGIT2_MIN_LINES:
        return "libgit2"
    counts = Counter(new_lines)
    pairs = sum(counts[line] for line in old_lines)
    return "libgit2" if pairs > DIFFLIB_MAX_PAIRS else "difflib"


def _difflib_blocks(old: str, new: str, old_lines: List[str], new_lines: List[str]) -> List[Block]:
    """Match with difflib (autojunk off, so frequent lines such as "}" still match)."""
    import difflib

    old_keys = _line_keys(old, old_lines)
    new_keys = _line_keys(new, new_lines)
    matcher = difflib.SequenceMatcher(None, old_keys, new_keys, autojunk=False)
    return [Block(i1, i2, j1, j2) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def _line_keys(text: str, lines: List[str]) -> list:
    """Return the lines as match keys, where a last line without "\\n" gets a key of its own kind."""
    keys: list = list(lines)
    if text and not text.endswith("\n"):
        keys[-1] = (keys[-1], "no newline")
    return keys


def _libgit2_blocks(old: str, new: str) -> List[Block]:
    """Match with libgit2 (xdiff, as git diff: Myers with the indent heuristic).

    A hunk with no lines on one side starts at the line before the gap, as in any
    unified diff, which is the 0-based index where the gap begins.
    """
    from pygit2 import Patch

    # libgit2 constants GIT_DIFF_FORCE_TEXT (1 << 20), so a NUL byte does not make the
    # value "binary" with no hunks, and GIT_DIFF_INDENT_HEURISTIC (1 << 18).
    flags = (1 << 20) | (1 << 18)
    patch = Patch.create_from(
        old.encode("utf-8", "surrogatepass"),
        new.encode("utf-8", "surrogatepass"),
        flag=flags,
        context_lines=0,
        interhunk_lines=0,
    )
    blocks = []
    for hunk in patch.hunks:
        old_start = hunk.old_start - 1 if hunk.old_lines else hunk.old_start
        new_start = hunk.new_start - 1 if hunk.new_lines else hunk.new_start
        blocks.append(Block(old_start, old_start + hunk.old_lines, new_start, new_start + hunk.new_lines))
    return blocks


def _group_blocks(blocks: Sequence[Block], context: int) -> List[Group]:
    """Put blocks whose gap is at most 2 * `context` equal lines into one hunk."""
    groups: List[Group] = []
    for block in blocks:
        if groups and block.old_start - groups[-1].blocks[-1].old_end <= 2 * context:
            groups[-1].blocks.append(block)
        else:
            groups.append(Group([block]))
    return groups


def _apply_budget(groups: Sequence[Group], budget: int) -> List[Group]:
    """Keep whole groups while they fit in `budget` changed lines, then cut the next one."""
    kept: List[Group] = []
    remaining = budget
    for group in groups:
        size = sum(block.size for block in group.blocks)
        if size <= remaining:
            kept.append(group)
            remaining -= size
            continue
        if remaining > 0:
            kept.append(_cut_group(group, remaining))
        break
    return kept


def _cut_group(group: Group, remaining: int) -> Group:
    """Return the start of `group` holding `remaining` changed lines, as a cut group.

    A block that does not fit keeps about as many removed as added lines, so the part
    shown still reads as old lines replaced by new ones.
    """
    blocks: List[Block] = []
    for block in group.blocks:
        if remaining == 0:
            break
        if block.size <= remaining:
            blocks.append(block)
            remaining -= block.size
            continue
        removed = block.old_end - block.old_start
        added = block.new_end - block.new_start
        keep_removed = min(removed, (remaining + 1) // 2)
        keep_added = min(added, remaining - keep_removed)
        keep_removed = min(removed, remaining - keep_added)
        blocks.append(Block(block.old_start, block.old_start + keep_removed,
                            block.new_start, block.new_start + keep_added))
        break
    return Group(blocks, cut=True)


def _build_hunk(group: Group, old_lines: List[str], new_lines: List[str], context: int,
                marks_left: List[int]) -> Hunk:
    """Materialise one hunk: leading context, each block with equal lines between, trailing context.

    `marks_left` is the one-item count of line pairs the diff may still mark, shared by its hunks.
    """
    first = group.blocks[0]
    lead = min(context, first.old_start)
    old_begin = old_pos = first.old_start - lead
    new_begin = new_pos = first.new_start - lead
    lines: List[DiffLine] = []
    for block in group.blocks:
        _append_context(lines, old_lines, old_pos, new_pos, block.old_start - old_pos)
        _append_block(lines, block, old_lines, new_lines, marks_left)
        old_pos, new_pos = block.old_end, block.new_end
    if not group.cut:
        trailing = min(context, len(old_lines) - old_pos)
        _append_context(lines, old_lines, old_pos, new_pos, trailing)
        old_pos += trailing
        new_pos += trailing
    old_count = old_pos - old_begin
    new_count = new_pos - new_begin
    return Hunk(
        old_start=old_begin + 1 if old_count else old_begin,
        old_count=old_count,
        new_start=new_begin + 1 if new_count else new_begin,
        new_count=new_count,
        lines=lines,
    )


def _append_context(lines: List[DiffLine], old_lines: List[str], old_pos: int, new_pos: int, count: int) -> None:
    shift = new_pos - old_pos
    lines.extend(
        DiffLine(CONTEXT, old_lines[index], index + 1, index + shift + 1) for index in range(old_pos, old_pos + count)
    )


def _append_block(lines: List[DiffLine], block: Block, old_lines: List[str], new_lines: List[str],
                  marks_left: List[int]) -> None:
    """Append the removed, then the added lines, with word marks on the k-th removed and k-th added."""
    removed = old_lines[block.old_start : block.old_end]
    added = new_lines[block.new_start : block.new_end]
    paired = min(len(removed), len(added), marks_left[0])
    marks_left[0] -= paired
    old_marks: List[tuple] = [()] * len(removed)
    new_marks: List[tuple] = [()] * len(added)
    if paired:
        old_marks[:paired], new_marks[:paired] = zip(*map(mark_pair, removed[:paired], added[:paired]))
    # map() calls the class from C: about 20% faster than a comprehension on 50,000 lines.
    lines.extend(map(DiffLine, repeat(REMOVED), removed, range(block.old_start + 1, block.old_end + 1),
                     repeat(None), old_marks))
    lines.extend(map(DiffLine, repeat(ADDED), added, repeat(None), range(block.new_start + 1, block.new_end + 1),
                     new_marks))


def _set_block_contexts(hunks: List[Hunk], groups: Sequence[Group], old: str, new: str,
                        old_lines: List[str], new_lines: List[str]) -> None:
    """Name each hunk's block from the old text at its first changed line (new text if old is empty)."""
    if not hunks:
        return
    if old_lines:
        labels = block_contexts(old, old_lines, [group.blocks[0].old_start for group in groups])
    else:
        labels = block_contexts(new, new_lines, [group.blocks[0].new_start for group in groups])
    for hunk, label in zip(hunks, labels):
        hunk.context = label


def format_unified(diff: TextDiff, old_label: str, new_label: str) -> str:
    """Return the diff as unified text that GNU patch applies to the old text.

    A line that is the last of a side lacking a final newline is followed by the
    "\\ No newline at end of file" marker. Returns "" when there are no hunks, as
    GNU diff prints nothing for equal files.
    """
    if not diff.hunks:
        return ""
    out = [f"--- {old_label}\n", f"+++ {new_label}\n"]
    for hunk in diff.hunks:
        out.append(hunk.header + "\n")
        for line in hunk.lines:
            out.append(line.kind + line.text + "\n")
            if _lacks_newline(diff, line):
                out.append(NO_NEWLINE_MARKER)
    return "".join(out)


def _lacks_newline(diff: TextDiff, line: DiffLine) -> bool:
    """Tell whether `line` is the last line of a side that has no final newline.

    A context line can be that only when both sides lack it, because the matchers never
    pair a last line without newline with a line that has one.
    """
    if line.kind == ADDED:
        return diff.new_missing_newline and line.new_lineno == diff.new_lines
    return diff.old_missing_newline and line.old_lineno == diff.old_lines


def parse_list(value: str) -> Optional[List[str]]:
    """Return the items of Java list text such as ``[HCAL_HO, HCAL_Laser]``, or None.

    ``[]`` and the values in EMPTY_LIST_VALUES are lists with no items. Items are split
    on ", " as Java's List.toString joins them, so an item that itself contains ", "
    is split too. Surrounding whitespace of the value and of each item is dropped.
    """
    text = value.strip()
    if text in EMPTY_LIST_VALUES:
        return []
    if not (text.startswith("[") and text.endswith("]")):
        return None
    inner = text[1:-1].strip()
    if not inner:
        return []
    return [item.strip() for item in inner.split(", ")]


def diff_items(old: str, new: str) -> Optional[ListDiff]:
    """Return the items added and removed between two list values, or None.

    Returns None when either side is not list text (see `parse_list`) or when both contain
    the same items in the same order (e.g. "not set" against "[]"). Items are counted as a multiset: an item present twice in `new` and
    once in `old` is added once. Order follows each side's own order.
    """
    old_items = parse_list(old)
    new_items = parse_list(new)
    if old_items is None or new_items is None or old_items == new_items:
        return None
    return ListDiff(added=_missing_from(new_items, old_items), removed=_missing_from(old_items, new_items))


def _missing_from(items: List[str], other: List[str]) -> List[str]:
    """Return the items of `items` beyond their count in `other`, in the order of `items`."""
    available = Counter(other)
    missing = []
    for item in items:
        if available[item] > 0:
            available[item] -= 1
        else:
            missing.append(item)
    return missing
