"""Test helpers for the poller: grow the sample database, hold back run states, expected entries.

Run as a program, it grows a sample database while a poller reads it::

    python -m tests.rundb_growth DB SEED RUNS [MAX_BATCH [MAX_PAUSE]]

It appends RUNS runs of the sample sequence in batches of 1 to MAX_BATCH (default 5)
runs, with a seeded random pause of up to MAX_PAUSE seconds (default 0.3) after each
batch, and prints each new run number. A run that reaches Running is committed in two
steps, before and from its Running row.
"""

from __future__ import annotations

import random
import sqlite3
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from runinfodiffer.schema import PARAMETER_TABLE, RC_STATE, STRING_TABLE

#: (run1, partitions, {parameter: partitions}) for one comparison of an entry.
ExpectedComparison = Tuple[int, Tuple[str, ...], Dict[str, Tuple[str, ...]]]


def grow(path: Path, seed: int, runs: int, max_batch: int = 5, max_pause: float = 0.3,
         step_delay: float = 0.02) -> List[int]:
    """Append `runs` runs in seeded batches with pauses; return the new run numbers.

    Each run that reaches Running is committed in two steps, `step_delay` seconds apart,
    so a reader also sees runs that have not reached Running yet.
    """
    from runinfodiffer.sample import append_runs

    rng = random.Random(seed)
    added: List[int] = []
    while len(added) < runs:
        batch = min(rng.randint(1, max_batch), runs - len(added))
        numbers = append_runs(path, batch, step_delay=step_delay)
        added.extend(numbers)
        print(*numbers, sep="\n", flush=True)
        time.sleep(rng.uniform(0.0, max_pause))
    return added


def hold_back_states(path: Path, run: int, keep: Sequence[str] = ("Configuring",)) -> List[tuple]:
    """Delete `run`'s RC_STATE rows after those in `keep`; return them for `restore_rows`.

    The run then looks as it does in RunInfo while it is still being configured.
    """
    with sqlite3.connect(str(path)) as connection:
        rows = connection.execute(
            f"SELECT p.ID, p.RUNNUMBER, p.SESSION_ID, p.NAME, p.STRING_VALUE, p.TIME, s.VALUE "
            f"FROM {PARAMETER_TABLE} p JOIN {STRING_TABLE} s ON s.RUNSESSION_PARAMETER_ID = p.ID "
            f"WHERE p.RUNNUMBER = ? AND p.NAME = ? ORDER BY p.ID", (run, RC_STATE),
        ).fetchall()
        removed = [row for row in rows if row[6] not in keep]
        for row in removed:
            connection.execute(f"DELETE FROM {STRING_TABLE} WHERE RUNSESSION_PARAMETER_ID = ?", (row[0],))
            connection.execute(f"DELETE FROM {PARAMETER_TABLE} WHERE ID = ?", (row[0],))
    return removed


def restore_rows(path: Path, rows: Sequence[tuple]) -> None:
    """Write back the rows that `hold_back_states` removed, with their original IDs."""
    with sqlite3.connect(str(path)) as connection:
        for row in rows:
            connection.execute(f"INSERT INTO {PARAMETER_TABLE} (ID, RUNNUMBER, SESSION_ID, NAME, STRING_VALUE, "
                               f"TIME) VALUES (?, ?, ?, ?, ?, ?)", row[:6])
            connection.execute(f"INSERT INTO {STRING_TABLE} (RUNSESSION_PARAMETER_ID, VALUE) VALUES (?, ?)",
                               (row[0], row[6]))


def took_part(run: dict) -> List[str]:
    """Return the partitions (catalog spelling) that took part in a manifest run."""
    empty = {name.upper() for name in run.get("empty_fms") or ()}
    return [p for p in run["partitions"] if p.upper() not in empty]


def expected_entries(manifest: dict, after: int, through: Optional[int] = None, *,
                     seed_baselines: bool = False) -> Dict[int, List[ExpectedComparison]]:
    """Return, per run with changes, the comparisons an uninterrupted poller writes.

    Follows the manifest only: the global runs above `after` (up to `through`), which
    reached Running with HCAL In, and the changes that "pairs" and "baselines" state for
    each partition against its baseline. Comparisons are ordered newest baseline first.
    With `seed_baselines`, run `after` itself is the first baseline of its partitions,
    as on a poller's first start.
    """
    changes = _changes_by_comparison(manifest)
    baselines: Dict[str, int] = {}
    expected: Dict[int, List[ExpectedComparison]] = {}
    for run in manifest["runs"]:
        number = run["run"]
        eligible = run["kind"] == "global" and run["reached_running"] and run["hcal_in"]
        if seed_baselines and number == after and eligible:
            baselines.update((partition, number) for partition in took_part(run))
        if number <= after or (through is not None and number > through):
            continue
        if not eligible:
            continue
        groups: Dict[int, List[str]] = {}
        for partition in took_part(run):
            if partition in baselines:
                groups.setdefault(baselines[partition], []).append(partition)
            baselines[partition] = number
        comparisons = []
        for baseline in sorted(groups, reverse=True):
            found: Dict[str, List[str]] = {}
            for partition in groups[baseline]:
                for parameter in changes.get((baseline, number, partition), ()):
                    found.setdefault(parameter, []).append(partition)
            if found:
                changed = tuple(p for p in groups[baseline] if any(p in names for names in found.values()))
                comparisons.append((baseline, changed, {k: tuple(v) for k, v in sorted(found.items())}))
        if comparisons:
            expected[number] = comparisons
    return expected


def _changes_by_comparison(manifest: dict) -> Dict[Tuple[int, int, str], List[str]]:
    """Map (run1, run2, partition) to the changed parameters, from "pairs" and "baselines"."""
    changes: Dict[Tuple[int, int, str], List[str]] = {}
    for item in list(manifest["pairs"]) + list(manifest.get("baselines") or ()):
        for parameter, partitions in item["changes"].items():
            for partition in partitions:
                changes.setdefault((item["run1"], item["run2"], partition), []).append(parameter)
    return changes


def main(argv: Sequence[str]) -> int:
    path, seed, runs = Path(argv[0]), int(argv[1]), int(argv[2])
    max_batch = int(argv[3]) if len(argv) > 3 else 5
    max_pause = float(argv[4]) if len(argv) > 4 else 0.3
    grow(path, seed, runs, max_batch, max_pause)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
