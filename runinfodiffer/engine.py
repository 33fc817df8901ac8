"""Line diff of two texts into the `TextDiff` model.

NOTE: first version on difflib (autojunk off); quadratic on large inputs.
"""

from __future__ import annotations

import difflib
from typing import List, Optional

from .model import ADDED, CONTEXT, REMOVED, DiffLine, Hunk, TextDiff


def split_lines(text: str) -> List[str]:
    """Split on "\\n" only, so a missing final newline never glues two lines together."""
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def diff_text(old: str, new: str, *, context: int = 3, budget: Optional[int] = 2000) -> TextDiff:
    """Diff `old` against `new` line by line and return hunks with `context` lines around."""
    old_lines = split_lines(old)
    new_lines = split_lines(new)
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    result = TextDiff(
        old_lines=len(old_lines),
        new_lines=len(new_lines),
        old_missing_newline=bool(old) and not old.endswith("\n"),
        new_missing_newline=bool(new) and not new.endswith("\n"),
    )
    for group in matcher.get_grouped_opcodes(context):
        first, last = group[0], group[-1]
        hunk = Hunk(
            old_start=first[1] + 1 if last[2] > first[1] else first[1],
            old_count=last[2] - first[1],
            new_start=first[3] + 1 if last[4] > first[3] else first[3],
            new_count=last[4] - first[3],
        )
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                for k in range(i2 - i1):
                    hunk.lines.append(DiffLine(CONTEXT, old_lines[i1 + k], i1 + k + 1, j1 + k + 1))
                continue
            for k in range(i1, i2):
                hunk.lines.append(DiffLine(REMOVED, old_lines[k], k + 1, None))
            for k in range(j1, j2):
                hunk.lines.append(DiffLine(ADDED, new_lines[k], None, k + 1))
            result.removed += i2 - i1
            result.added += j2 - j1
        result.hunks.append(hunk)
    result.total_hunks = len(result.hunks)
    return result


def format_unified(diff: TextDiff, old_label: str, new_label: str) -> str:
    """Return the diff as unified text that GNU patch applies."""
    out = [f"--- {old_label}\n", f"+++ {new_label}\n"]
    for hunk in diff.hunks:
        out.append(hunk.header + "\n")
        for line in hunk.lines:
            out.append(line.kind + line.text + "\n")
            last_old = line.old_lineno == diff.old_lines and line.kind != ADDED
            last_new = line.new_lineno == diff.new_lines and line.kind != REMOVED
            if (last_old and diff.old_missing_newline) or (last_new and diff.new_missing_newline):
                if not (line.kind == CONTEXT and diff.old_missing_newline != diff.new_missing_newline):
                    out.append("\\ No newline at end of file\n")
    return "".join(out)
