"""Parameter history across a run range, and reverts to an earlier run's value.

A diff of two runs cannot tell since when a value is what it is, or whether a change
brings back an older value. The history reads one parameter for every run of a range,
one query per block of at most 1,000 run numbers, and lists each run whose value
differs from the previous run that recorded it. Runs in which a partition did not take
part are skipped for that partition, not reported as changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .compare import LIST_PARAMETERS, normalize
from .engine import diff_items, diff_text
from .model import Change, RunDiff
from .runinfo import RunInfoReader, RunRecord
from .schema import LEVEL1_FULLPATH, PARAMETER_TABLE, STRING_TABLE

#: Run numbers read per query; also Oracle's IN-list limit, so blocks stay comparable.
BLOCK_RUNS = 1000
#: Global runs searched backwards for an equal earlier value.
DEFAULT_LOOKBACK = 50

#: (run, recorded, normalised value) of one partition, in run order.
Series = List[Tuple[int, bool, str]]


@dataclass
class Step:
    """A run whose value differs from the previous run that recorded the parameter."""

    run: int
    previous_run: int
    change: Change

    def to_dict(self) -> dict:
        result = {"run": self.run, "previous_run": self.previous_run}
        result.update(self.change.to_dict())
        return result


def read_series(
    reader: RunInfoReader,
    parameter: str,
    partitions: Sequence[str],
    first: int,
    last: int,
    *,
    global_only: bool = False,
    marker: str = "/hcalpro/Global/",
    progress: Optional[Callable[[int, int], None]] = None,
) -> Dict[str, Series]:
    """Read the start values of `parameter` per partition for runs `first`..`last`."""
    # EMPTY_FMS comes along because a partition listed there did not take part.
    pairs = [(p, parameter) for p in partitions] + [
        (p, "EMPTY_FMS") for p in reader.catalog.partitions if parameter != "EMPTY_FMS"
    ]
    series: Dict[str, Series] = {p: [] for p in partitions}
    for start in range(first, last + 1, BLOCK_RUNS):
        end = min(start + BLOCK_RUNS - 1, last)
        for run, record in reader.read_run_range(start, end, pairs).items():
            if global_only and not record.is_global(marker):
                continue
            _append_values(series, record, parameter)
        if progress is not None:
            progress(end - first + 1, last - first + 1)
    return series


def _append_values(series: Dict[str, Series], record: RunRecord, parameter: str) -> None:
    for partition, values in series.items():
        if not record.took_part(partition):
            continue
        key = (partition, parameter)
        values.append((record.run, key in record.values, normalize(record.values.get(key, ""))))


def history_steps(
    series: Dict[str, Series],
    parameter: str,
    partitions: Sequence[str],
    *,
    first_change: bool = False,
    lookback: int = DEFAULT_LOOKBACK,
    budget: Optional[int] = 2000,
) -> List[Step]:
    """Turn per-partition series into steps; the same step in several partitions is one.

    With `first_change`, each partition yields at most its first run whose value differs
    from the value in the first run of its series.
    """
    found: Dict[Tuple[int, int, bool, bool, str, str], List[str]] = {}
    reverts: Dict[Tuple[int, int, bool, bool, str, str], Optional[int]] = {}
    for partition in partitions:
        values = series.get(partition, [])
        for index in range(1, len(values)):
            reference = values[0] if first_change else values[index - 1]
            current = values[index]
            if reference[1:] == current[1:]:
                continue
            key = (current[0], reference[0], reference[1], current[1], reference[2], current[2])
            found.setdefault(key, []).append(partition)
            reverts[key] = _revert_source(values, index, lookback)
            if first_change:
                break

    steps = []
    for key in sorted(found, key=lambda k: (k[0], k[1])):
        run, previous, old_recorded, new_recorded, old_value, new_value = key
        diff = diff_text(old_value, new_value, budget=budget)
        if parameter.upper() in LIST_PARAMETERS:
            diff.items = diff_items(old_value, new_value)
        change = Change(parameter, found[key], old_recorded, new_recorded, old_value, new_value, diff,
                        reverted_to=reverts[key])
        steps.append(Step(run, previous, change))
    return steps


def _revert_source(values: Series, index: int, lookback: int) -> Optional[int]:
    """Return the latest run before the previous one whose value equals values[index]."""
    target = values[index][1:]
    earliest = max(0, index - 1 - lookback)
    for position in range(index - 2, earliest - 1, -1):
        if values[position][1:] == target:
            return values[position][0]
    return None


def global_runs_before(reader: RunInfoReader, run: int, marker: str, limit: int) -> List[int]:
    """Return up to `limit` global run numbers below `run`, newest first, in one query."""
    sql = (
        f"SELECT DISTINCT g.RUNNUMBER FROM {reader.db.table(PARAMETER_TABLE)} g "
        f"JOIN {reader.db.table(STRING_TABLE)} gs ON gs.RUNSESSION_PARAMETER_ID = g.ID "
        f"WHERE g.NAME = :fullpath AND g.RUNNUMBER < :run AND gs.VALUE LIKE :marker ESCAPE '\\' "
        f"ORDER BY g.RUNNUMBER DESC"
    )
    escaped = marker.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = reader.db.query(sql, {"fullpath": LEVEL1_FULLPATH, "run": run, "marker": f"%{escaped}%"})
    return [int(row[0]) for row in rows[:limit]]


def mark_reverts(
    reader: RunInfoReader, diff: RunDiff, marker: str, lookback: int = DEFAULT_LOOKBACK
) -> None:
    """Set `reverted_to` on changes whose new value equals an earlier global run's value.

    Looks at up to `lookback` global runs before `diff.run1`, newest first, in two
    queries (the run list, then their values). Only runs that reached Running with HCAL
    In count, and partitions only where they took part. A diff whose run1 is the newer
    run (runs given swapped) gets no marks, because "earlier" has no meaning there.
    """
    if not diff.changes or diff.run1 >= diff.run2:
        return
    runs = global_runs_before(reader, diff.run1, marker, lookback)
    pairs = sorted({(p, c.parameter) for c in diff.changes for p in c.partitions} |
                   {(p, "EMPTY_FMS") for p in reader.catalog.partitions})
    records = reader.read_runs(runs, pairs)
    for change in diff.changes:
        if not change.new_recorded:
            continue
        for run in runs:  # newest first
            record = records[run]
            if _holds_value(record, change):
                change.reverted_to = run
                break


def _holds_value(record: RunRecord, change: Change) -> bool:
    # Only runs the poller compares count: reached Running with HCAL In.
    if not record.reached_running or (record.hcal or "").strip().lower() != "in":
        return False
    for partition in change.partitions:
        key = (partition, change.parameter)
        if not record.took_part(partition) or key not in record.values:
            return False
        if normalize(record.values[key]) != change.new_value:
            return False
    return True
