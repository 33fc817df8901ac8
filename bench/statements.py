"""Bench section "statements": database statements and time per `remote_run` diff.

Each pair of the sample database is diffed the way `Run_Info_Diff.py remote_run`
does, through `compare_runs`, on a reader over the SQLite sample; statements are
counted with `Database.statements`. Target: one statement per diff, because both runs
are read in the same query whatever the number of parameters and partitions. The
command and the web views then look for reverts with `mark_reverts`, two statements
more when anything changed (the earlier global runs, then their values).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.run import Report, Table


def run(report: Report) -> None:
    """Diff the demo, largest and hostile pairs and every manifest pair; add one table."""
    from runinfodiffer.catalog import load_catalog
    from runinfodiffer.compare import compare_runs
    from runinfodiffer.config import CHECKOUT, Config
    from runinfodiffer.db import connect
    from runinfodiffer.history import mark_reverts
    from runinfodiffer.runinfo import RunInfoReader
    from runinfodiffer.sample import build_sample

    table = Table("Statements per remote_run diff (sample database)",
                  ["pair", "runs", "changes", "statements", "target", "with revert marks", "time",
                   "result"])
    with tempfile.TemporaryDirectory() as directory:
        database = Path(directory) / "sample.sqlite"
        manifest = build_sample(database)
        config = Config(database=f"sqlite:///{database}")
        reader = RunInfoReader(connect(config), load_catalog(CHECKOUT / "diffed_parameters.txt"))
        named = [(name, manifest[name]) for name in ("demo_pair", "largest_pair", "hostile_pair")]
        named.append((f"all {len(manifest['pairs'])} manifest pairs", None))
        for name, pair in named:
            pairs = manifest["pairs"] if pair is None else [pair]
            before = reader.db.statements
            started = time.perf_counter()
            changes = 0
            for p in pairs:
                result = compare_runs(reader, p["run1"], p["run2"], reader.catalog.partitions)
                changes += len(result.changes)
            seconds = time.perf_counter() - started
            statements = reader.db.statements - before

            before = reader.db.statements
            for p in pairs:
                mark_reverts(reader, compare_runs(reader, p["run1"], p["run2"], reader.catalog.partitions),
                             config.global_marker)
            with_reverts = reader.db.statements - before
            runs = f"{pair['run1']} -> {pair['run2']}" if pair else "consecutive global runs"
            verdict = "PASS" if statements <= len(pairs) else "FAIL"
            table.rows.append([name, runs, changes, statements, f"<= {len(pairs)}", with_reverts,
                               f"{seconds * 1000:.1f} ms", verdict])
        reader.db.close()
    table.notes.append("Time includes reading both runs (SQLite, same process) and the diff engine.")
    report.add(table)
