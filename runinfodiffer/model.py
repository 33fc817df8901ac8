"""The diff model shared by the engine, the comparison and every renderer.

The engine fills `TextDiff` and `ListDiff` from two strings; `compare` wraps them into
`Change` and `RunDiff`; the text, JSON and HTML renderers read them. This module imports
no database or HTML code. `to_dict` methods give the JSON form with a stable key order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

#: Line kinds, as the first column of a unified diff.
CONTEXT = " "
REMOVED = "-"
ADDED = "+"


@dataclass
class DiffLine:
    """One line of a hunk. Line numbers are 1-based; the side a line is absent from is None."""

    kind: str
    text: str
    old_lineno: Optional[int]
    new_lineno: Optional[int]
    #: Changed character spans (start, end) within `text`, for intra-line highlights.
    marks: Tuple[Tuple[int, int], ...] = ()

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "text": self.text,
            "old_lineno": self.old_lineno,
            "new_lineno": self.new_lineno,
            "marks": [list(span) for span in self.marks],
        }


@dataclass
class Hunk:
    """A hunk as in a unified diff, with the nearest enclosing block of its first line."""

    old_start: int
    old_count: int
    new_start: int
    new_count: int
    lines: List[DiffLine] = field(default_factory=list)
    #: Nearest enclosing block (XML element or `name {` line), like git's function name.
    context: str = ""

    @property
    def header(self) -> str:
        """Return the `@@ -a,b +c,d @@ context` line."""
        text = f"@@ -{_range(self.old_start, self.old_count)} +{_range(self.new_start, self.new_count)} @@"
        return f"{text} {self.context}" if self.context else text

    def to_dict(self) -> dict:
        return {
            "old_start": self.old_start,
            "old_count": self.old_count,
            "new_start": self.new_start,
            "new_count": self.new_count,
            "context": self.context,
            "lines": [line.to_dict() for line in self.lines],
        }


def _range(start: int, count: int) -> str:
    return str(start) if count == 1 else f"{start},{count}"


@dataclass
class ListDiff:
    """Item-level changes of a list value such as `[HCAL_HO, HCAL_Laser]`."""

    added: List[str] = field(default_factory=list)
    removed: List[str] = field(default_factory=list)

    def summary(self) -> str:
        """Return e.g. ``added HCAL_HO; removed hcalEventBuilder_0``."""
        parts = []
        if self.added:
            parts.append("added " + ", ".join(self.added))
        if self.removed:
            parts.append("removed " + ", ".join(self.removed))
        return "; ".join(parts) if parts else "items reordered"

    def to_dict(self) -> dict:
        return {"added": list(self.added), "removed": list(self.removed)}


@dataclass
class TextDiff:
    """The line diff of two texts.

    `hunks` may hold fewer hunks than the whole diff when the size budget cut it
    (`truncated`); `added` and `removed` always count the whole diff.
    """

    hunks: List[Hunk] = field(default_factory=list)
    added: int = 0
    removed: int = 0
    old_lines: int = 0
    new_lines: int = 0
    truncated: bool = False
    total_hunks: int = 0
    #: True when that side's text does not end with a newline (patch's "\\ No newline").
    old_missing_newline: bool = False
    new_missing_newline: bool = False
    items: Optional[ListDiff] = None

    @property
    def changed_lines(self) -> int:
        return self.added + self.removed

    def to_dict(self) -> dict:
        return {
            "added": self.added,
            "removed": self.removed,
            "truncated": self.truncated,
            "total_hunks": self.total_hunks,
            "items": self.items.to_dict() if self.items is not None else None,
            "hunks": [hunk.to_dict() for hunk in self.hunks],
        }


@dataclass
class Change:
    """One parameter that differs between two runs, in one or more partitions.

    The same change in several partitions is one `Change` listing them all. A side that
    has no row for the parameter is "not recorded", which differs from an empty value.
    """

    parameter: str
    partitions: List[str]
    old_recorded: bool
    new_recorded: bool
    old_value: str
    new_value: str
    diff: TextDiff
    #: An earlier run whose value the new value equals again, when one was looked for.
    reverted_to: Optional[int] = None

    def to_dict(self) -> dict:
        result = {
            "parameter": self.parameter,
            "partitions": list(self.partitions),
            "old_recorded": self.old_recorded,
            "new_recorded": self.new_recorded,
            "reverted_to": self.reverted_to,
        }
        result.update(self.diff.to_dict())
        return result


@dataclass
class RunDiff:
    """Everything that differs between two runs for a set of partitions."""

    run1: int
    run2: int
    partitions: List[str]
    #: Partition -> the runs (of run1, run2) in which it did not take part.
    not_taking_part: Dict[str, List[int]] = field(default_factory=dict)
    changes: List[Change] = field(default_factory=list)

    @property
    def changed_partitions(self) -> List[str]:
        """Return the partitions with at least one change, in the order of `partitions`."""
        seen = {p for change in self.changes for p in change.partitions}
        return [p for p in self.partitions if p in seen]

    @property
    def changed_parameters(self) -> List[str]:
        """Return the distinct changed parameters in report order.

        A parameter can appear in several changes when its new value differs between
        partitions, so this may be shorter than `changes`.
        """
        return list(dict.fromkeys(change.parameter for change in self.changes))

    def stats(self) -> dict:
        return {
            "parameters_changed": len(self.changed_parameters),
            "lines_added": sum(c.diff.added for c in self.changes),
            "lines_removed": sum(c.diff.removed for c in self.changes),
        }

    def to_dict(self) -> dict:
        return {
            "run1": self.run1,
            "run2": self.run2,
            "partitions": list(self.partitions),
            "not_taking_part": {p: list(runs) for p, runs in self.not_taking_part.items()},
            "stats": self.stats(),
            "changes": [change.to_dict() for change in self.changes],
        }
