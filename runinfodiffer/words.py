"""Intra-line marks: the changed words of a removed line and the added line paired with it.

`mark_pair` returns character spans ``(start, end)`` on each side. The spans come from
one alignment of the two lines, so deleting the marked characters from both lines leaves
the same string on both sides. Work per pair is capped: long lines and lines with many
changed tokens get one span per side (the part between the common prefix and suffix),
and long lines with many repeated tokens are aligned with difflib's autojunk on.
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import accumulate
from typing import List, Optional, Tuple

Span = Tuple[int, int]
Spans = Tuple[Span, ...]

#: A word, a run of whitespace, or one other character. Tokens cover the line without gaps.
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")

#: Changed middles longer than this (in characters) are marked as one span, unaligned.
MAX_LINE_CHARS = 20000

#: Changed middles with more tokens than this are marked as one span, unaligned.
MAX_TOKENS = 2000

#: Longest word or whitespace run (in characters) by which a boundary moves to a token edge.
MAX_RUN = 200

#: Maximum count of (old token, equal new token) pairs for an exact alignment. difflib's
#: time grows with these pairs times the blocks found: 200 tokens alternating between
#: "a" and "," took 28 ms (Python 3.11, 2-core Xeon), 1,000 such pairs stay under 1 ms.
MAX_TOKEN_PAIRS = 1000

#: difflib applies autojunk only when the second sequence has at least this many items.
DIFFLIB_AUTOJUNK_MIN = 200


def mark_pair(old: str, new: str) -> Tuple[Spans, Spans]:
    """Return the changed character spans of `old` and of `new`, sorted and disjoint."""
    if old == new:
        return (), ()
    prefix, suffix = _common_ends(old, new)
    old_end = len(old) - suffix
    new_end = len(new) - suffix
    if old_end - prefix > 1 and new_end - prefix > 1:
        aligned = _mark_middles(old[prefix:old_end], new[prefix:new_end], prefix)
        if aligned is not None:
            return aligned
    return (
        ((prefix, old_end),) if prefix < old_end else (),
        ((prefix, new_end),) if prefix < new_end else (),
    )


def _mark_middles(old_middle: str, new_middle: str, offset: int) -> Optional[Tuple[Spans, Spans]]:
    """Align the changed middles word by word, or return None when one span each is better.

    One span is better when either middle is a single token, or too long to align
    within the caps below.
    """
    if len(old_middle) > MAX_LINE_CHARS or len(new_middle) > MAX_LINE_CHARS:
        return None
    if _TOKEN.fullmatch(old_middle) is not None or _TOKEN.fullmatch(new_middle) is not None:
        return None
    old_tokens = _TOKEN.findall(old_middle)
    new_tokens = _TOKEN.findall(new_middle)
    if max(len(old_tokens), len(new_tokens)) > MAX_TOKENS:
        return None
    if _equal_pairs(old_tokens, new_tokens) <= MAX_TOKEN_PAIRS:
        return _mark_aligned(old_tokens, new_tokens, offset, autojunk=False)
    if len(new_tokens) >= DIFFLIB_AUTOJUNK_MIN:
        # Frequent tokens (such as "," in a long list) cannot anchor a match, which
        # keeps the time near linear: a FED mask line of 1,800 tokens took under 15 ms.
        return _mark_aligned(old_tokens, new_tokens, offset, autojunk=True)
    return None


def _equal_pairs(old_tokens: List[str], new_tokens: List[str]) -> int:
    """Return how many (old token, new token) pairs are equal."""
    counts = Counter(new_tokens)
    return sum(counts[token] for token in old_tokens)


def _common_ends(old: str, new: str) -> Tuple[int, int]:
    """Return the common prefix and suffix lengths in characters, widened to token boundaries.

    The two never overlap. A boundary inside a word or a whitespace run moves back to
    the start (or, for the suffix, forward to the end) of that run, so marks cover
    whole tokens.
    """
    if old.isascii() and new.isascii():
        prefix, suffix = _ascii_common_ends(old.encode("ascii"), new.encode("ascii"))
    else:
        prefix = _common_prefix_length(old, new)
        suffix = _common_suffix_length(old, new, min(len(old), len(new)) - prefix)
    if prefix and _cuts_run(old[prefix - 1], old[prefix : prefix + 1], new[prefix : prefix + 1]):
        prefix -= _run_length(old[max(0, prefix - MAX_RUN) : prefix][::-1])
    if suffix:
        old_end, new_end = len(old) - suffix, len(new) - suffix
        if _cuts_run(old[old_end], old[old_end - 1 : old_end], new[new_end - 1 : new_end]):
            suffix -= _run_length(old[old_end : old_end + MAX_RUN])
    return prefix, suffix


def _ascii_common_ends(a: bytes, b: bytes) -> Tuple[int, int]:
    """Return the common prefix and suffix lengths of two byte strings, not overlapping.

    The first differing byte is the highest set bit of the two prefixes XORed as
    big-endian integers; little-endian does the same for the suffix. This runs in C,
    where a Python loop would visit every character.
    """
    limit = min(len(a), len(b))
    difference = int.from_bytes(a[:limit], "big") ^ int.from_bytes(b[:limit], "big")
    prefix = limit - 1 - (difference.bit_length() - 1) // 8 if difference else limit
    rest = limit - prefix
    if not rest:
        return prefix, 0
    difference = int.from_bytes(a[len(a) - rest :], "little") ^ int.from_bytes(b[len(b) - rest :], "little")
    return prefix, rest - 1 - (difference.bit_length() - 1) // 8 if difference else rest


def _cuts_run(edge: str, old_next: str, new_next: str) -> bool:
    """Tell whether the boundary after the common character `edge` splits a word or space run.

    `old_next` and `new_next` are the characters across the boundary (empty at a line end).
    Word characters are those of the regex class \\w: alphanumeric or "_".
    """
    if edge.isalnum() or edge == "_":
        return old_next.isalnum() or old_next == "_" or new_next.isalnum() or new_next == "_"
    if edge.isspace():
        return old_next.isspace() or new_next.isspace()
    return False


def _run_length(text: str) -> int:
    """Return the length of the word or whitespace run that starts `text`."""
    return _TOKEN.match(text).end()


def _common_prefix_length(a: str, b: str) -> int:
    """Return the length of the common prefix by binary search on slices (C-speed compares)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _common_suffix_length(a: str, b: str, limit: int) -> int:
    """Return the length of the common suffix, at most `limit`, by binary search on slices."""
    low, high = 0, max(limit, 0)
    while low < high:
        middle = (low + high + 1) // 2
        if a[len(a) - middle :] == b[len(b) - middle :]:
            low = middle
        else:
            high = middle - 1
    return low


def _mark_aligned(old_tokens: List[str], new_tokens: List[str], offset: int, autojunk: bool) -> Tuple[Spans, Spans]:
    """Align two token lists and return the spans of the tokens outside the matches.

    `offset` is the character position of the first token in its line. Two changed runs
    separated only by equal whitespace become one span, so that ``a b c`` -> ``x y z``
    is marked as one change rather than three.
    """
    import difflib  # here, not at module level, so importing the engine stays cheap

    matcher = difflib.SequenceMatcher(None, old_tokens, new_tokens, autojunk=autojunk)
    old_starts = list(accumulate(map(len, old_tokens), initial=offset))
    new_starts = list(accumulate(map(len, new_tokens), initial=offset))
    runs: List[List[int]] = []
    previous_equal = ""
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            previous_equal = "".join(old_tokens[i1:i2])
        elif runs and previous_equal.isspace():
            runs[-1][1], runs[-1][3] = i2, j2
        else:
            runs.append([i1, i2, j1, j2])
    return (
        tuple((old_starts[i1], old_starts[i2]) for i1, i2, _, _ in runs if i1 < i2),
        tuple((new_starts[j1], new_starts[j2]) for _, _, j1, j2 in runs if j1 < j2),
    )
