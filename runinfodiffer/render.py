"""Text and JSON renderings of a `RunDiff`, for the CLI, the web and Slack.

The HTML views render the same model through templates in `runinfodiffer.web`.
"""

from __future__ import annotations

import json
from typing import Dict, List, Optional

from .engine import format_unified
from .model import ADDED, REMOVED, Change, RunDiff

#: git's default colours (color.diff): meta bold, frag cyan, old red, new green.
_COLORS = {"meta": "\033[1m", "frag": "\033[36m", REMOVED: "\033[31m", ADDED: "\033[32m"}
_RESET = "\033[m"


def summary_line(diff: RunDiff) -> str:
    """Return e.g. ``Run 330012 -> 330020: 3 parameters changed in HCAL_HBHE, HCAL_HF``."""
    count = len(diff.changed_parameters)
    if not count:
        return f"Run {diff.run1} -> {diff.run2}: no differences in {', '.join(diff.partitions)}"
    noun = "parameter" if count == 1 else "parameters"
    return f"Run {diff.run1} -> {diff.run2}: {count} {noun} changed in {', '.join(diff.changed_partitions)}"


def not_taking_part_lines(diff: RunDiff) -> List[str]:
    """Return one line per partition that was left out, e.g. ``HCAL_HO did not take part in run 5``."""
    lines = []
    for partition, runs in diff.not_taking_part.items():
        which = " and ".join(f"run {run}" for run in runs)
        lines.append(f"{partition} did not take part in {which}; not compared.")
    return lines


def change_heading(change: Change) -> str:
    return f"{change.parameter} [{', '.join(change.partitions)}]"


def change_notes(change: Change, run1: int, run2: int) -> List[str]:
    """Return the plain-language notes above a change's hunks."""
    notes = []
    if not change.old_recorded:
        notes.append(f"not recorded in run {run1}")
    if not change.new_recorded:
        notes.append(f"not recorded in run {run2}")
    if change.reverted_to is not None:
        notes.append(f"reverted to the value of run {change.reverted_to}")
    if change.diff.items is not None:
        notes.append(change.diff.items.summary())
    if change.diff.truncated:
        shown = len(change.diff.hunks)
        notes.append(
            f"large diff: {change.diff.added} lines added, {change.diff.removed} removed; "
            f"showing {shown} of {change.diff.total_hunks} hunks"
        )
    return notes


def render_text(diff: RunDiff, *, color: bool = False, complete_url: Optional[str] = None) -> str:
    """Render a summary, then a unified diff (3 lines of context) per changed parameter.

    List values show their item changes instead of the swapped line. `complete_url`,
    when given, is printed under a diff cut by the size budget.
    """
    out = [summary_line(diff)]
    out.extend(not_taking_part_lines(diff))
    for change in diff.changes:
        out.append("")
        out.extend(_change_block(f"== {change_heading(change)}", change, diff.run1, diff.run2, color))
        if change.diff.truncated and complete_url:
            out.append(f"... complete diff: {complete_url}")
    return "\n".join(out) + "\n"


def _change_block(heading: str, change: Change, old_run: int, new_run: int, color: bool) -> List[str]:
    """Return a change's heading, its notes, and its unified diff unless the list items cover it."""
    lines = [_paint("meta", heading, color)]
    lines.extend(f"   {note}" for note in change_notes(change, old_run, new_run))
    if change.diff.items is not None and (change.diff.items.added or change.diff.items.removed):
        return lines
    unified = format_unified(change.diff, f"run {old_run}", f"run {new_run}")
    lines.extend(_paint_line(line, color) for line in unified.splitlines())
    return lines


def _paint(kind: str, text: str, color: bool) -> str:
    return f"{_COLORS[kind]}{text}{_RESET}" if color else text


def _paint_line(line: str, color: bool) -> str:
    if not color:
        return line
    if line.startswith(("--- ", "+++ ")):
        return _paint("meta", line, True)
    if line.startswith("@@"):
        return _paint("frag", line, True)
    if line[:1] in (ADDED, REMOVED):
        return _paint(line[:1], line, True)
    return line


def render_history_text(title: str, steps: list, *, color: bool = False) -> str:
    """Render a parameter history: one heading per step, then its diff."""
    out = [title, f"{len(steps)} change{'s' if len(steps) != 1 else ''} found"]
    for step in steps:
        heading = f"== run {step.run} [{', '.join(step.change.partitions)}] since run {step.previous_run}"
        out.append("")
        out.extend(_change_block(heading, step.change, step.previous_run, step.run, color))
    return "\n".join(out) + "\n"


def render_json(diff: RunDiff) -> str:
    """Render the documented JSON form, keys in a stable order."""
    return json.dumps(diff.to_dict(), indent=2, ensure_ascii=False) + "\n"


def json_schema_keys() -> Dict[str, str]:
    """Return the top-level JSON keys with their meaning, for the docs and `--help`."""
    return {
        "run1, run2": "the compared run numbers",
        "partitions": "the partitions chosen for the comparison",
        "not_taking_part": "partition -> runs in which it did not take part (not compared)",
        "stats": "parameters_changed, lines_added, lines_removed",
        "changes": "parameter, partitions, old_recorded, new_recorded, added, removed, "
        "truncated, total_hunks, items (list values), hunks with lines and intra-line marks",
    }
