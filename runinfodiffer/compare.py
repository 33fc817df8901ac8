"""Compare two runs: the one function behind `remote_run`, the web views and the poller."""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

from .engine import diff_items, diff_text
from .errors import RunNotFound
from .model import Change, RunDiff
from .runinfo import RunInfoReader, RunRecord

#: Parameters whose values are Java lists, diffed item by item as well as by line.
LIST_PARAMETERS = frozenset({"EMPTY_FMS", "MASKED_RESOURCES"})


def normalize(value: str) -> str:
    """Return `value` as compared: LF line endings, no white space at either end.

    A non-empty result ends with one newline, so no diff shows "No newline at end of
    file" for values that never had one in the database.
    """
    text = value.replace("\r\n", "\n").strip()
    return text + "\n" if text else ""


def compare_records(
    old: RunRecord,
    new: RunRecord,
    partitions: Sequence[str],
    reader_pairs: Sequence[Tuple[str, str]],
    *,
    budget: Optional[int] = 2000,
) -> RunDiff:
    """Diff two read runs for `partitions`, restricted to the catalog `reader_pairs`."""
    result = RunDiff(old.run, new.run, list(partitions))
    taking_part = []
    for partition in partitions:
        absent = [record.run for record in (old, new) if not record.took_part(partition)]
        if absent:
            result.not_taking_part[partition] = absent
        else:
            taking_part.append(partition)

    # Key: the change itself, so the same change in several partitions is reported once.
    groups: Dict[Tuple[str, bool, bool, str, str], List[str]] = {}
    chosen = set(taking_part)
    for partition, parameter in reader_pairs:
        if partition not in chosen:
            continue
        key = (partition, parameter)
        old_recorded, new_recorded = key in old.values, key in new.values
        old_value = normalize(old.values.get(key, ""))
        new_value = normalize(new.values.get(key, ""))
        if old_recorded == new_recorded and old_value == new_value:
            continue
        group_key = (parameter, old_recorded, new_recorded, old_value, new_value)
        groups.setdefault(group_key, []).append(partition)

    for (parameter, old_recorded, new_recorded, old_value, new_value), names in groups.items():
        diff = diff_text(old_value, new_value, budget=budget)
        if parameter.upper() in LIST_PARAMETERS:
            diff.items = diff_items(old_value, new_value)
        ordered = [p for p in partitions if p in names]
        result.changes.append(
            Change(parameter, ordered, old_recorded, new_recorded, old_value, new_value, diff)
        )
    return result


def compare_runs(
    reader: RunInfoReader,
    run1: int,
    run2: int,
    partitions: Sequence[str],
    *,
    budget: Optional[int] = 2000,
) -> RunDiff:
    """Read both runs in one query and diff them for `partitions` (catalog spellings).

    Raises RunNotFound when a run has no HCAL or Level-0 record at all.
    """
    records = reader.read_runs([run1, run2])
    for run in (run1, run2):
        if not records[run].exists:
            raise RunNotFound(f"run {run} not found: RunInfo has no HCAL or Level-0 record for it")
    return compare_records(
        records[run1], records[run2], partitions, reader.catalog.pairs(partitions), budget=budget
    )
