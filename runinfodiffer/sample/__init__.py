"""Build the deterministic sample RunInfo database and its manifest.

The sample is a SQLite file with the tables of `schema.SQLITE_DDL`, filled with a
fixed sequence of HCAL runs shaped like production RunInfo. The first
`len(BASE_SEQUENCE)` runs are curated so that every case the diff must handle occurs.
Later runs come from a pseudo-random generator with a fixed seed. A database grown
with `append_runs` contains the same rows, with the same IDs, as one built at once.

The manifest, written next to the database, is the ground truth of the tests. It is
computed from the injection log (value keys, see `values`), not by diffing:

- "runs": one entry per run (kind, reached_running, hcal_in, partitions that published
  rows, empty_fms, name_spelling such as {"HCAL_Laser": "HCAL_LASER"}).
- "pairs": consecutive global runs that reached Running with HCAL In, with the
  expected "changes" {parameter: [partitions]} for catalog parameters, restricted to
  partitions that took part in both runs, plus "not_taking_part" {partition: runs}
  and "non_changes": injection entries (whitespace, stop_differs) that must not
  show as changes.
- "baselines": {"run1", "run2", "partition", "changes"} for a partition whose last
  eligible global run before run2 (run1, the poller's baseline) is not the previous
  eligible run.
- "injections": the log; {"run", "partition", "parameter", "kind", "value"}, where
  "value" is the key in effect from that run on (null: no row). Expected changes for
  any two runs follow from comparing the keys in effect at each; "initial_values"
  holds the keys in effect before the first injection.
- "demo_pair", "largest_pair", "hostile_pair": copies of selected entries of "pairs";
  the demo pair adds the changed "partitions", the others the "partition" and
  "parameter" of interest. Null when the database holds too few runs.

Modules: `sequence` plans the runs, `rows` turns a planned run into RunInfo rows,
`values` and `texts` hold the value templates, and `manifest` computes the manifest.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import List, Optional, Union

from ..schema import DATE_TABLE, PARAMETER_TABLE, SQLITE_DDL, STRING_TABLE
from .manifest import manifest_path, write_manifest
from .rows import run_rows
from .sequence import BASE_SEQUENCE, FIRST_RUN, SEQUENCE, RunPlan

__all__ = ["BASE_SEQUENCE", "FIRST_RUN", "append_runs", "build_sample", "manifest_path"]

#: Length of the STRING_VALUE copy. Longer values are complete only in RUNSESSION_STRING.
#: NOTE: the production column length is not known here; 255 keeps the sample small.
SHORT_COPY_CHARS = 255

def build_sample(path: Union[str, Path], runs: Optional[int] = None) -> dict:
    """Write a sample database with the first `runs` runs of the sequence, and its manifest.

    `runs` defaults to the curated runs. Any database at `path` is replaced. Returns the
    manifest.
    """
    count = len(BASE_SEQUENCE) if runs is None else runs
    if count < 0:
        raise ValueError(f"invalid run count {count}: expected 0 or more")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (path, Path(f"{path}-journal")):
        if leftover.exists():
            leftover.unlink()
    plans = SEQUENCE.get(count)
    connection = _connect(path)
    try:
        connection.executescript(SQLITE_DDL)
        next_id = 1
        for plan in plans:
            next_id = _write_run(connection, plan, next_id, 0.0)
    finally:
        connection.close()
    return write_manifest(path, plans)


def append_runs(path: Union[str, Path], count: int, *, step_delay: float = 0.0) -> List[int]:
    """Append the next `count` runs of the sequence to the sample database at `path`,
    update its manifest and return the new run numbers.

    Each run is one transaction. With `step_delay` > 0, a run that reaches Running is
    committed in two transactions, before and from its Running row, with a pause of
    `step_delay` seconds after each, so that a concurrent reader sees it grow.
    """
    if count < 0:
        raise ValueError(f"invalid run count {count}: expected 0 or more")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"sample database {path} not found; create it with build_sample first")
    connection = _connect(path)
    try:
        highest, max_id = connection.execute(
            f"SELECT MAX(RUNNUMBER), MAX(ID) FROM {PARAMETER_TABLE}").fetchone()
        done = 0 if highest is None else SEQUENCE.count_through(highest)
        plans = SEQUENCE.get(done + count)
        # IDs follow the full build, not MAX(ID) + 1, because a test may delete the last
        # rows of a run and write them back later with their original IDs.
        next_id = max(SEQUENCE.first_id(done), (max_id or 0) + 1)
        for plan in plans[done:]:
            next_id = _write_run(connection, plan, next_id, step_delay)
    finally:
        connection.close()
    write_manifest(path, plans)
    return [plan.run for plan in plans[done:]]


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(str(path), timeout=30)
    # The sample can be rebuilt at any time, so durability against power loss is not needed.
    connection.execute("PRAGMA synchronous=OFF")
    return connection


def _write_run(connection: sqlite3.Connection, plan: RunPlan, next_id: int, step_delay: float) -> int:
    rows, running_at = run_rows(plan)
    parts = [rows] if step_delay <= 0 or running_at is None else [rows[:running_at], rows[running_at:]]
    session = 410000 + plan.index
    for part in parts:
        parameter_rows, string_rows, date_rows = [], [], []
        for name, value, table, moment in part:
            value = value or None  # Oracle stores '' as NULL.
            short = None if value is None or table == DATE_TABLE else value[:SHORT_COPY_CHARS]
            parameter_rows.append((next_id, plan.run, session, name, short, moment.strftime("%Y-%m-%d %H:%M:%S")))
            (date_rows if table == DATE_TABLE else string_rows).append((next_id, value))
            next_id += 1
        with connection:
            connection.executemany(f"INSERT INTO {PARAMETER_TABLE} VALUES (?, ?, ?, ?, ?, ?)", parameter_rows)
            connection.executemany(f"INSERT INTO {STRING_TABLE} VALUES (?, ?)", string_rows)
            connection.executemany(f"INSERT INTO {DATE_TABLE} VALUES (?, ?)", date_rows)
        if step_delay > 0:
            time.sleep(step_delay)
    return next_id

