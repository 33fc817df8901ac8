"""Block context for hunk headers: the innermost block open at a line, like git's function name.

Two kinds of text are understood, chosen by the first non-blank character:

* XML (starts with ``<``): the innermost open element, shown as its start tag with one
  identifying attribute, e.g. ``<LocalRunkey name="LED-HBHE">``. The scan is a tolerant
  regular-expression pass, not an XML parser, so unquoted attribute values, stray end
  tags and unclosed elements do not stop it. An end tag closes the nearest open element
  of that name and everything opened inside it. An end tag with no open element of that
  name is ignored. Self-closing tags, comments, CDATA sections, processing
  instructions and declarations open nothing and are skipped.
* Anything else is taken as brace-delimited configuration: the innermost open ``{``,
  shown as its line up to the brace, e.g. ``hcal::uHTRManager {``. Braces inside quoted
  strings or comments are counted too.

One pass over the text answers all requested lines, and it stops at the last of them.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from typing import List, Optional, Sequence

#: Maximum length of a context label; longer labels are cut and end with "...".
MAX_CONTEXT_CHARS = 80

#: Attributes that identify an element, in order of preference (matched without case).
IDENTIFYING_ATTRIBUTES = ("name", "id", "file", "partition", "key", "type")

#: A comment, a CDATA section or a tag. One leading "<" and greedy attribute text keep the
#: scan fast. Processing instructions and declarations never match, since a tag name must
#: start with a letter or "_". A self-closing tag matches with attrs ending in "/".
_XML_TOKEN = re.compile(
    r"<(?:!--.*?-->|!\[CDATA\[.*?\]\]>|(?P<close>/?)(?P<name>[A-Za-z_][\w:.\-]*)(?P<attrs>[^<>]*)>)",
    re.S,
)
_ATTRIBUTE = re.compile(r"([A-Za-z_][\w:.\-]*)\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s\"'>]+)")
_SPACE = re.compile(r"\s+")


def block_contexts(text: str, lines: Sequence[str], positions: Sequence[int]) -> List[str]:
    """Return the context label of the innermost block open at each line index in `positions`.

    `lines` must be ``split_lines(text)``. A block counts as open at line i when it was
    opened on an earlier line and not closed before line i, so a block's own opening
    line gets its parent's label. `positions` must be sorted ascending. The label is ""
    where no block is open.
    """
    if not positions:
        return []
    offsets = _line_offsets(lines, positions)
    if text.lstrip().startswith("<"):
        return _scan_xml(text, offsets)
    return _scan_braces(text, offsets)


def _line_offsets(lines: Sequence[str], positions: Sequence[int]) -> List[int]:
    """Return the character offset in the text of each line index in `positions` (sorted)."""
    offsets = []
    offset = previous = 0
    for position in positions:
        position = min(position, len(lines))
        offset += sum(map(len, lines[previous:position])) + (position - previous)
        offsets.append(offset)
        previous = position
    return offsets


def _scan_xml(text: str, offsets: Sequence[int]) -> List[str]:
    """Return, for each offset, the label of the innermost element open before it."""
    # Tags after the last offset are never needed, but a comment or CDATA section that
    # starts before it must be matched whole, or the tags inside it would count.
    end = len(text) if "<!--" in text or "<![CDATA[" in text else offsets[-1]
    tags = [match for match in _XML_TOKEN.finditer(text, 0, end) if match[2] and match[3][-1:] != "/"]
    starts = [match.start() for match in tags]
    labels: List[str] = []
    stack: List["re.Match[str]"] = []
    done = 0
    for offset in offsets:
        stop = bisect_left(starts, offset, done)
        for match in tags[done:stop]:
            if not match.group("close"):
                stack.append(match)
                continue
            _close_element(stack, match.group("name"))
        done = stop
        labels.append(_element_label(stack[-1]) if stack else "")
    return labels


def _close_element(stack: List["re.Match[str]"], name: str) -> None:
    """Pop the innermost open element called `name` and all inside it; ignore a stray end tag."""
    for depth in range(len(stack) - 1, -1, -1):
        if stack[depth].group("name") == name:
            del stack[depth:]
            return


def _element_label(match: "re.Match[str]") -> str:
    """Return the start tag with its most identifying attribute, or the whole start tag."""
    name = match.group("name")
    attributes = {key.lower(): (key, value) for key, value in _ATTRIBUTE.findall(match.group("attrs"))}
    for wanted in IDENTIFYING_ATTRIBUTES:
        if wanted in attributes:
            key, value = attributes[wanted]
            return _shorten(f"<{name} {key}={value}>")
    return _shorten(match.group(0))


def _scan_braces(text: str, offsets: Sequence[int]) -> List[str]:
    """Return, for each offset, the label of the innermost ``{`` open before it."""
    braces = _brace_positions(text, offsets[-1])
    labels: List[str] = []
    stack: List[int] = []
    done = 0
    for offset in offsets:
        stop = bisect_left(braces, offset, done)
        for position in braces[done:stop]:
            if text[position] == "{":
                stack.append(position)
            elif stack:
                stack.pop()
        done = stop
        labels.append(_brace_label(text, stack[-1]) if stack else "")
    return labels


def _brace_positions(text: str, end: int) -> List[int]:
    """Return the sorted offsets of "{" and "}" before `end` (str.find is faster than a regex)."""
    positions = []
    for brace in "{}":
        position = text.find(brace, 0, end)
        while position >= 0:
            positions.append(position)
            position = text.find(brace, position + 1, end)
    positions.sort()
    return positions


def _brace_label(text: str, brace: int) -> str:
    """Return the line of the brace at `brace` up to the brace, or the previous non-blank line."""
    line_start = text.rfind("\n", 0, brace) + 1
    head = text[line_start:brace].strip()
    if not head:
        head = _previous_nonblank_line(text, line_start) or ""
    return _shorten(f"{head} {{" if head else "{")


def _previous_nonblank_line(text: str, line_start: int) -> Optional[str]:
    end = line_start - 1
    while end > 0:
        start = text.rfind("\n", 0, end) + 1
        line = text[start:end].strip()
        if line:
            return line
        end = start - 1
    return None


def _shorten(label: str) -> str:
    """Collapse whitespace (tags may span lines) and cut to MAX_CONTEXT_CHARS."""
    label = _SPACE.sub(" ", label).strip()
    if len(label) > MAX_CONTEXT_CHARS:
        return label[: MAX_CONTEXT_CHARS - 3] + "..."
    return label
