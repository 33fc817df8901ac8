"""Bench section "history": one parameter's history over 1,000 runs against reading its rows.

The sample database is grown to RUNS runs (`build_sample`, then `append_runs`) and kept
in the temporary folder, keyed by the run count and a digest of the sample generator's
source, so a second bench run skips the build. Three ways to get the same rows run in
turn, best of ROUNDS each, on a warm SQLite page cache:

- **raw read**: the SQL that `RunInfoReader.read_run_range` sends, through plain
  `sqlite3`, one query per 1,000 run numbers, rows fetched and dropped.
- **RunInfoReader read**: `read_run_range` per block of 1,000 run numbers, which also
  builds a `RunRecord` per run.
- **history**: `read_series` plus `history_steps`, which also diffs every step and looks
  for reverts; the web history page calls the same two functions.

Target: the history within TARGET times the raw read, for a short value and for the
largest one. Statements are counted with `Database.statements`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Callable, List, Sequence, Tuple

from bench.run import Report, Table

RUNS = 1000
ROUNDS = 5
TARGET = 3.0
REVERT_PAIRS = 3

#: (parameter, partitions): a one-line value in every partition, and the largest text.
CASES = [
    ("HCAL_DAQ_RELEASE", ["HCAL_HBHE", "HCAL_Laser", "HCAL_HO", "HCAL_HF"]),
    ("CFGDOC_TXT", ["HCAL_HBHE"]),
]


def run(report: Report) -> None:
    """Grow or reuse the sample database, time the three reads per case and add the table."""
    database, seconds = grown_sample(RUNS)
    report.add(measure(database, seconds))
    report.add(measure_reverts(database))


def grown_sample(runs: int) -> Tuple[Path, float]:
    """Return the cached grown sample database and the seconds spent building it (0 when reused)."""
    from runinfodiffer import sample
    from runinfodiffer.sample import append_runs, build_sample, manifest_path

    source = Path(sample.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(source.glob("*.py")):
        digest.update(path.read_bytes())
    folder = Path(tempfile.gettempdir()) / f"runinfodiffer-bench-history-{runs}-{digest.hexdigest()[:12]}"
    database = folder / "sample.sqlite"
    if database.exists() and manifest_path(database).exists():
        return database, 0.0

    started = time.perf_counter()
    building = Path(tempfile.mkdtemp(prefix="runinfodiffer-bench-history-"))
    partial = building / "sample.sqlite"
    manifest = build_sample(partial)
    append_runs(partial, runs - len(manifest["runs"]))
    # The folder appears complete or not at all, so an interrupted build is never reused.
    try:
        os.replace(building, folder)
    except OSError:  # another bench run finished first; use its copy
        shutil.rmtree(building, ignore_errors=True)
    return database, time.perf_counter() - started


def measure(database: Path, build_seconds: float) -> Table:
    """Return the table: per case the three timings, statements and the ratio to the raw read."""
    from runinfodiffer.catalog import load_catalog
    from runinfodiffer.config import CHECKOUT
    from runinfodiffer.db import connect
    from runinfodiffer.history import history_steps, read_series
    from runinfodiffer.runinfo import RunInfoReader
    from runinfodiffer.sample import manifest_path

    manifest = json.loads(manifest_path(database).read_text(encoding="utf-8"))
    numbers = [entry["run"] for entry in manifest["runs"]]
    first, last = min(numbers), max(numbers)
    with tempfile.TemporaryDirectory() as folder:
        config = _write_config(Path(folder), database, CHECKOUT)
    catalog = load_catalog(config.parameter_file)

    table = Table(f"Parameter history over {len(numbers)} runs ({first} to {last}), best of {ROUNDS}",
                  ["parameter", "partitions", "steps", "queries", "raw read", "RunInfoReader read",
                   "history", "history / raw", "target", "result"])
    raw = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    database_handle = connect(config)
    reader = RunInfoReader(database_handle, catalog)
    try:
        for parameter, partitions in CASES:
            pairs = series_pairs(catalog.partitions, parameter, partitions)
            sql, names = raw_sql(pairs)
            blocks = [(start, min(start + 999, last)) for start in range(first, last + 1, 1000)]

            def raw_read() -> None:
                for start, end in blocks:
                    raw.execute(sql, [start, end, *names]).fetchall()

            def reader_read() -> None:
                for start, end in blocks:
                    reader.read_run_range(start, end, pairs)

            found: List[int] = []

            def history() -> None:
                series = read_series(reader, parameter, partitions, first, last, global_only=True,
                                     marker=config.global_marker)
                found[:] = [len(history_steps(series, parameter, partitions, budget=config.diff_budget or None))]

            before = database_handle.statements
            history()
            queries = database_handle.statements - before
            best = best_of({"raw": raw_read, "reader": reader_read, "history": history}, ROUNDS)
            ratio = best["history"] / best["raw"]
            table.rows.append([
                parameter, ", ".join(partitions), str(found[0]), str(queries),
                f"{best['raw'] * 1000:.1f} ms", f"{best['reader'] * 1000:.1f} ms", f"{best['history'] * 1000:.1f} ms",
                f"{ratio:.2f}x", f"<= {TARGET:.0f}x", "PASS" if ratio <= TARGET else "FAIL",
            ])
    finally:
        raw.close()
        database_handle.close()
    built = f"built in {build_seconds:.1f} s" if build_seconds else "reused from an earlier bench run"
    table.notes.append(
        f"Sample database {database} ({database.stat().st_size / 1e6:.0f} MB, {built}). Global runs only, "
        f"as the web history page reads by default. The three reads alternate, {ROUNDS} rounds after one "
        "warm-up call. The history adds building the series, one diff per step and the revert search."
    )
    return table


def measure_reverts(database: Path) -> Table:
    """Return the table of what `mark_reverts` adds to a diff, as the web diff views call it.

    The cases are the last REVERT_PAIRS compared pairs of the grown sample that change
    CFGDOC_TXT, the largest value, so the revert search reads it for LOOKBACK runs.
    """
    from runinfodiffer.catalog import load_catalog
    from runinfodiffer.compare import compare_runs
    from runinfodiffer.config import CHECKOUT
    from runinfodiffer.db import connect
    from runinfodiffer.history import DEFAULT_LOOKBACK, mark_reverts
    from runinfodiffer.runinfo import RunInfoReader
    from runinfodiffer.sample import manifest_path

    manifest = json.loads(manifest_path(database).read_text(encoding="utf-8"))
    pairs = [pair for pair in manifest["pairs"] if "CFGDOC_TXT" in pair["changes"]][-REVERT_PAIRS:]
    table = Table(f"Revert marks per diff: compare_runs, then mark_reverts over {DEFAULT_LOOKBACK} global runs, "
                  f"best of {ROUNDS}",
                  ["pair", "changes", "compare_runs", "mark_reverts", "statements", "marked"])
    with tempfile.TemporaryDirectory() as folder:
        config = _write_config(Path(folder), database, CHECKOUT)
        handle = connect(config)
        try:
            reader = RunInfoReader(handle, load_catalog(config.parameter_file))
            for pair in pairs:
                partitions = reader.catalog.partitions
                diff = compare_runs(reader, pair["run1"], pair["run2"], partitions)
                before = handle.statements
                mark_reverts(reader, diff, config.global_marker)
                statements = handle.statements - before
                best = best_of({
                    "compare": lambda: compare_runs(reader, pair["run1"], pair["run2"], partitions),
                    "marks": lambda: mark_reverts(reader, diff, config.global_marker),
                }, ROUNDS)
                marked = sum(1 for change in diff.changes if change.reverted_to is not None)
                table.rows.append([f"{pair['run1']}/{pair['run2']}", str(len(diff.changes)),
                                   f"{best['compare'] * 1000:.1f} ms", f"{best['marks'] * 1000:.1f} ms",
                                   str(statements), str(marked)])
        finally:
            handle.close()
    table.notes.append("No target: the figures show what the revert marks add to every diff request of the web "
                       "views. mark_reverts reads the changed parameters of the global runs before run 1.")
    return table


def _write_config(folder: Path, database: Path, checkout: Path):
    """Write a settings file for `database` in `folder` and return the loaded settings."""
    from runinfodiffer.config import load_config

    path = folder / "runinfodiffer.toml"
    path.write_text(f'database = "sqlite:///{database}"\n'
                    f'parameter_file = "{checkout / "diffed_parameters.txt"}"\n', encoding="utf-8")
    return load_config(str(path))


def series_pairs(all_partitions: Sequence[str], parameter: str, partitions: Sequence[str]) -> List[Tuple[str, str]]:
    """Return the (partition, name) pairs `read_series` reads: the parameter, and EMPTY_FMS of every partition."""
    return [(p, parameter) for p in partitions] + [(p, "EMPTY_FMS") for p in all_partitions if parameter != "EMPTY_FMS"]


def raw_sql(pairs: Sequence[Tuple[str, str]]) -> Tuple[str, List[str]]:
    """Return the statement `read_run_range` sends for `pairs` in sqlite3's qmark style, and its names."""
    from runinfodiffer.schema import LEVEL1_FULLPATH, LEVEL1_RUNKEY, LVL0_HCAL, RC_STATE

    names = [f"CMS.{p}:{n}".upper() for p, n in pairs] + [n.upper() for n in (RC_STATE, LVL0_HCAL, LEVEL1_FULLPATH,
                                                                              LEVEL1_RUNKEY)]
    sql = (
        "SELECT p.RUNNUMBER, p.NAME, s.VALUE FROM RUNSESSION_PARAMETER p "
        "LEFT JOIN RUNSESSION_STRING s ON s.RUNSESSION_PARAMETER_ID = p.ID "
        f"WHERE p.RUNNUMBER BETWEEN ? AND ? AND UPPER(p.NAME) IN ({', '.join('?' * len(names))}) "
        "ORDER BY p.RUNNUMBER, p.ID"
    )
    return sql, names


def best_of(functions: dict, rounds: int) -> dict:
    """Return the best seconds of each function over `rounds` turns, after one warm-up call each."""
    for function in functions.values():
        function()
    best = {label: float("inf") for label in functions}
    for _ in range(rounds):
        for label, function in functions.items():
            started = time.perf_counter()
            function()
            best[label] = min(best[label], time.perf_counter() - started)
    return best
