"""Block context for hunk headers: the innermost block open at a line, like git's function name.

Two kinds of text are understood, chosen by the first non-blank character:

* XML (starts with ``<``): the innermost open element, shown as its start tag with one
  identifying attribute, e.g. ``<LocalRunkey name="LED-HBHE">``. The scan is a tolerant
  regular-expression pass, not an XML parser, so unquoted attribute values, stray end
  tags and unclosed elements do not stop it. An end tag closes the nearest open element
  of that name and everything opened inside it; an end tag with no open element of that
  name is ignored. Comments, CDATA sections, processing instructions and declarations
  are skipped.
* Anything else is taken as brace-delimited configuration: the innermost open ``{``,
  shown as its line up to the brace, e.g. ``hcal::uHTRManager {``. Braces inside quoted
  strings or comments are counted too.

One pass over the text answers all requested lines, and it stops at the last of them.
"""

from __future__ import annotations

import re
from itertools import accumulate
from typing import List, Optional, Sequence, Tuple

#: Maximum length of a context label; longer labels are cut and end with "...".
MAX_CONTEXT_CHARS = 80

#: Attributes that identify an element, in order of preference (matched without case).
IDENTIFYING_ATTRIBUTES = ("name", "id", "file", "partition", "key", "type")

_XML_TOKEN = re.compile(
    r"<!--.*?-->"
    r"|<!\[CDATA\[.*?\]\]>"
    r"|<[?!][^>]*>"
    r"|<(?P<close>/?)(?P<name>[A-Za-z_][\w:.\-]*)(?P<attrs>[^<>]*?)(?P<empty>/?)>",
    re.S,
)
_ATTRIBUTE = re.compile(r"([A-Za-z_][\w:.\-]*)\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s\"'>]+)")
_BRACE = re.compile(r"[{}]")
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
    line_starts = list(accumulate((len(line) + 1 for line in lines[: positions[-1]]), initial=0))
    offsets = [line_starts[min(position, len(line_starts) - 1)] for position in positions]
    if text.lstrip().startswith("<"):
        return _scan_xml(text, offsets)
    return _scan_braces(text, offsets)


def _scan_xml(text: str, offsets: Sequence[int]) -> List[str]:
    """Answer each offset with the label of the innermost element open before it."""
    labels: List[str] = []
    stack: List[Tuple[str, "re.Match[str]"]] = []
    query = 0
    for match in _XML_TOKEN.finditer(text, 0, offsets[-1]):
        while query < len(offsets) and match.start() >= offsets[query]:
            labels.append(_element_label(stack[-1][1]) if stack else "")
            query += 1
        name = match.group("name")
        if name is None or match.group("empty"):
            continue
        if not match.group("close"):
            stack.append((name, match))
            continue
        for depth in range(len(stack) - 1, -1, -1):
            if stack[depth][0] == name:
                del stack[depth:]
                break
    while query < len(offsets):
        labels.append(_element_label(stack[-1][1]) if stack else "")
        query += 1
    return labels


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
    """Answer each offset with the label of the innermost ``{`` open before it."""
    labels: List[str] = []
    stack: List[int] = []
    query = 0
    for match in _BRACE.finditer(text, 0, offsets[-1]):
        while query < len(offsets) and match.start() >= offsets[query]:
            labels.append(_brace_label(text, stack[-1]) if stack else "")
            query += 1
        if match.group(0) == "{":
            stack.append(match.start())
        elif stack:
            stack.pop()
    while query < len(offsets):
        labels.append(_brace_label(text, stack[-1]) if stack else "")
        query += 1
    return labels


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
