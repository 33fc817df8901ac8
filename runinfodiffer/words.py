"""Intra-line marks: the changed words of a removed line and the added line paired with it.

`mark_pair` returns character spans ``(start, end)`` on each side. The spans come from
one alignment of the two lines, so deleting the marked characters from both lines leaves
the same string on both sides. Work per pair is capped: long lines and lines with many
changed tokens get one span per side (the part between the common prefix and suffix).
"""

from __future__ import annotations

import difflib
import re
from itertools import accumulate
from typing import List, Sequence, Tuple

Span = Tuple[int, int]
Spans = Tuple[Span, ...]

#: A word, a run of whitespace, or one other character. Tokens cover the line without gaps.
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")

#: Lines longer than this (in characters) are not tokenised. Instead, a character-level
#: prefix and suffix trim, widened to word boundaries, marks them.
MAX_LINE_CHARS = 5000

#: Largest product of the two middle token counts that is aligned word by word.
MAX_ALIGN_CELLS = 40000


def mark_pair(old: str, new: str) -> Tuple[Spans, Spans]:
    """Return the changed character spans of `old` and of `new`, sorted and disjoint."""
    if old == new:
        return (), ()
    if len(old) > MAX_LINE_CHARS or len(new) > MAX_LINE_CHARS:
        return _mark_by_trim(old, new)

    old_tokens = _TOKEN.findall(old)
    new_tokens = _TOKEN.findall(new)
    prefix, suffix = _common_ends(old_tokens, new_tokens)
    old_middle = old_tokens[prefix : len(old_tokens) - suffix]
    new_middle = new_tokens[prefix : len(new_tokens) - suffix]
    offset = len("".join(old_tokens[:prefix]))

    if len(old_middle) > 1 and len(new_middle) > 1 and len(old_middle) * len(new_middle) <= MAX_ALIGN_CELLS:
        return _mark_aligned(old_middle, new_middle, offset)
    return _single_span(old_middle, offset), _single_span(new_middle, offset)


def _common_ends(a: Sequence[str], b: Sequence[str]) -> Tuple[int, int]:
    """Return the lengths of the common prefix and the common suffix, not overlapping."""
    limit = min(len(a), len(b))
    prefix = 0
    while prefix < limit and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    return prefix, suffix


def _single_span(tokens: Sequence[str], offset: int) -> Spans:
    length = sum(map(len, tokens))
    return ((offset, offset + length),) if length else ()


def _mark_aligned(old_tokens: List[str], new_tokens: List[str], offset: int) -> Tuple[Spans, Spans]:
    """Align two token lists and return the spans of the tokens outside the matches.

    Two changed runs separated only by equal whitespace become one span, so that
    ``a b c`` -> ``x y z`` is marked as one change rather than three.
    """
    matcher = difflib.SequenceMatcher(None, old_tokens, new_tokens, autojunk=False)
    old_starts = list(accumulate(map(len, old_tokens), initial=offset))
    new_starts = list(accumulate(map(len, new_tokens), initial=offset))
    old_spans: List[Span] = []
    new_spans: List[Span] = []
    pending = None
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            if pending is not None and not "".join(old_tokens[i1:i2]).isspace():
                _flush(pending, old_spans, new_spans)
                pending = None
            continue
        if pending is None:
            pending = [i1, i2, j1, j2]
        else:
            pending[1], pending[3] = i2, j2
    if pending is not None:
        _flush(pending, old_spans, new_spans)
    return (
        tuple((old_starts[i1], old_starts[i2]) for i1, i2 in old_spans if i1 < i2),
        tuple((new_starts[j1], new_starts[j2]) for j1, j2 in new_spans if j1 < j2),
    )


def _flush(pending: List[int], old_spans: List[Span], new_spans: List[Span]) -> None:
    """Append one merged change run, as token index ranges, to both span lists."""
    old_spans.append((pending[0], pending[1]))
    new_spans.append((pending[2], pending[3]))


def _mark_by_trim(old: str, new: str) -> Tuple[Spans, Spans]:
    """Mark the part between the common prefix and suffix, widened to whole words."""
    prefix = _common_prefix_length(old, new)
    suffix = _common_prefix_length(old[prefix:][::-1], new[prefix:][::-1])
    while prefix > 0 and _is_word(old[prefix - 1]) and (_is_word_at(old, prefix) or _is_word_at(new, prefix)):
        prefix -= 1
    while suffix > 0 and _is_word(old[-suffix]) and (
        _is_word_at(old, len(old) - suffix - 1) or _is_word_at(new, len(new) - suffix - 1)
    ):
        suffix -= 1
    old_end = len(old) - suffix
    new_end = len(new) - suffix
    return (
        ((prefix, old_end),) if prefix < old_end else (),
        ((prefix, new_end),) if prefix < new_end else (),
    )


def _common_prefix_length(a: str, b: str) -> int:
    """Return the common prefix length by binary search on slices (C-speed compares)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _is_word_at(text: str, index: int) -> bool:
    return 0 <= index < len(text) and _is_word(text[index])
