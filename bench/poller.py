"""Bench section "poller": database statements and time per poller cycle.

The poller runs in this process on a sample database of CATCHUP_RUNS runs in a
temporary folder (change log and state there too, with fsync on every state save).
Statements are counted with `Database.statements`.

Targets, in statements: an idle cycle (no new run) sends one query. A cycle that
handles new runs sends one query for the run states, plus at most one per run whose
values it needs, which are the global runs that reached Running with HCAL In. This
holds after a restart too, when the baselines are not cached, because they are read in
the same statement as the first new run.
"""

from __future__ import annotations

import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import List, Tuple

from bench.run import Report, Table

CATCHUP_RUNS = 500
IDLE_CYCLES = 20


def run(report: Report) -> None:
    """Measure catch-up, idle, one-new-run and restart cycles; add one table to `report`."""
    from runinfodiffer.sample import append_runs, build_sample

    # The poller logs every run; the table is the output here.
    poller_log = logging.getLogger("runinfodiffer.poller")
    level = poller_log.level
    poller_log.setLevel(logging.ERROR)
    try:
        report.add(measure(build_sample, append_runs))
    finally:
        poller_log.setLevel(level)


def measure(build_sample, append_runs) -> Table:
    """Return the table of statements and times of each kind of cycle."""
    table = Table("Poller statements and time per cycle",
                  ["cycle", "global runs handled", "runs read", "statements", "target", "time", "result"])
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        database = folder / "sample.sqlite"
        manifest = build_sample(database, runs=CATCHUP_RUNS)
        poller = make_poller(folder, database, start=manifest["runs"][0]["run"] - 1)

        seconds, result = timed(poller.cycle)
        statements = poller.reader.db.statements
        handled, read = counts(manifest, 0, poller.state.last_run)
        table.rows.append(row(f"catch-up of {CATCHUP_RUNS} sample runs", handled, read, statements,
                              1 + read, seconds))
        table.notes.append(f"catch-up: {seconds / max(handled, 1) * 1000:.1f} ms per global run handled, "
                           f"{result.finished} finished; change log cap {poller.config.change_log_cap}.")

        idle = []
        for _ in range(IDLE_CYCLES):
            before = poller.reader.db.statements
            seconds, _ = timed(poller.cycle)
            idle.append((poller.reader.db.statements - before, seconds))
        worst = max(statements for statements, _ in idle)
        table.rows.append(row(f"idle (max statements, median time of {IDLE_CYCLES})", 0, 0, worst, 1,
                              statistics.median(seconds for _, seconds in idle)))

        last = poller.state.last_run
        manifest = next_eligible(database, append_runs)
        before = poller.reader.db.statements
        seconds, _ = timed(poller.cycle)
        handled, read = counts(manifest, last, poller.state.last_run)
        table.rows.append(row("new runs, baselines cached", handled, read,
                              poller.reader.db.statements - before, 1 + read, seconds))

        last = poller.state.last_run
        manifest = next_eligible(database, append_runs)
        restarted = make_poller(folder, database, start=None)
        seconds, _ = timed(restarted.cycle)
        handled, read = counts(manifest, last, restarted.state.last_run)
        table.rows.append(row("new runs after a restart", handled, read, restarted.reader.db.statements,
                              1 + read, seconds))
        poller.disconnect()
        restarted.disconnect()

    table.notes.append("runs read: global runs that reached Running with HCAL In, whose values are read. "
                       "Times are one cycle's wall time on the machine running `make bench`.")
    return table


def make_poller(folder: Path, database: Path, start):
    """Return a poller on `database` with its state and change log in `folder`."""
    from runinfodiffer.catalog import load_catalog
    from runinfodiffer.config import CHECKOUT, Config
    from runinfodiffer.poller import Poller
    from runinfodiffer.state import PollerState, save_state

    config = Config(database=f"sqlite:///{database}", parameter_file=CHECKOUT / "diffed_parameters.txt",
                    change_log=folder / "BotUrlLog.html", state=folder / "state.json")
    if start is not None:
        save_state(config.state, PollerState(last_run=start))
    poller = Poller(config, load_catalog(config.parameter_file))
    poller.load_state()
    return poller


def next_eligible(database: Path, append_runs) -> dict:
    """Append runs until one is a global run with HCAL In that reached Running; return the manifest."""
    import json

    from runinfodiffer.sample import manifest_path

    for _ in range(20):
        added = append_runs(database, 1)
        manifest = json.loads(manifest_path(database).read_text())
        if any(is_read(item) for item in manifest["runs"] if item["run"] in added):
            return manifest
    raise RuntimeError("no eligible global run in 20 appended sample runs")


def is_read(item: dict) -> bool:
    return item["kind"] == "global" and item["reached_running"] and bool(item["hcal_in"])


def counts(manifest: dict, after: int, through: int) -> Tuple[int, int]:
    """Return (global runs with HCAL In handled, runs among them whose values were read)."""
    runs = [item for item in manifest["runs"] if after < item["run"] <= through
            and item["kind"] == "global" and item["hcal_in"]]
    return len(runs), len([item for item in runs if is_read(item)])


def timed(call):
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def row(label: str, handled: int, read: int, statements: int, target: int, seconds: float) -> List[str]:
    return [label, str(handled), str(read), str(statements), f"<= {target}", f"{seconds * 1000:.1f} ms",
            "PASS" if statements <= target else "FAIL"]
