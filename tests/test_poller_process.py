"""The poller as a process: SIGKILL and restart, SIGTERM, a locked or missing database, the lock.

Each test starts `runinfodiffer poll` (or `Run_Info_Diff.py local_run`) in a subprocess
on a sample database in a temporary folder, with a poll interval of a tenth of a second.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, List, Optional

import pytest

from runinfodiffer.catalog import Catalog, load_catalog
from runinfodiffer.changelog import parse_html, read_entries
from runinfodiffer.config import CHECKOUT, Config
from runinfodiffer.db import connect
from runinfodiffer.runinfo import RunInfoReader
from runinfodiffer.sample import FIRST_RUN, append_runs, build_sample
from runinfodiffer.state import PollerState, load_state, save_state
from tests.conftest import write_config
from tests.test_poller import entry_shapes, expected_shapes, load_manifest

INTERVAL = "0.1"
#: Seconds any single wait for the poller may take before the test fails.
WAIT_LIMIT = 30.0
KILL_SEED = 20221204


def setup_folder(folder: Path, database: Path, start: Optional[int] = FIRST_RUN - 1, **settings) -> Path:
    """Write a config (and a state starting after `start`) in `folder`; return the config."""
    folder.mkdir(parents=True, exist_ok=True)
    config = write_config(folder, database, change_log=str(folder / "BotUrlLog.html"),
                          state=str(folder / "state.json"), **settings)
    if start is not None:
        save_state(folder / "state.json", PollerState(last_run=start))
    return config


def poll_command(config: Path, *options: str) -> List[str]:
    return [sys.executable, "-m", "runinfodiffer", "poll", "--config", str(config), "--interval", INTERVAL, *options]


def start_poller(command: List[str], log: Path, env: Optional[dict] = None) -> subprocess.Popen:
    with open(log, "ab") as stream:
        return subprocess.Popen(command, stdout=stream, stderr=subprocess.STDOUT, cwd=str(CHECKOUT), env=env)


def wait_for(condition: Callable[[], bool], description: str, limit: float = WAIT_LIMIT) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {limit} s waiting for {description}")
        time.sleep(0.05)


def last_run(folder: Path) -> Optional[int]:
    state = load_state(folder / "state.json")
    return state.last_run if state else None


def last_global_run(database: Path) -> int:
    manifest = load_manifest(database)
    return max(item["run"] for item in manifest["runs"] if item["kind"] == "global" and item["hcal_in"])


def ready_runs_after(database: Path, catalog: Catalog, after: Optional[int]) -> List[int]:
    """Return the global runs above `after` that reached Running: the poller's backlog."""
    config = Config(database=f"sqlite:///{database}")
    with connect(config) as db:
        statuses = RunInfoReader(db, catalog).global_runs_after(after or 0, config.global_marker)
    return [status.run for status in statuses if status.reached_running]


def run_once(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run(poll_command(config, "--once"), cwd=str(CHECKOUT), capture_output=True,
                          text=True, timeout=120)


def comparable(folder: Path) -> list:
    """Return the change log without the times of writing."""
    return [(e.id, e.run, e.summary, e.comparisons) for e in read_entries(folder / "BotUrlLog.html")]


def test_sigkill_restarts_exactly_once(tmp_path):
    database = tmp_path / "runinfo.sqlite"
    build_sample(database)
    killed = tmp_path / "killed"
    # A cap above the number of entries, so the log keeps every id from 1.
    config = setup_folder(killed, database, change_log_cap=1000)
    # Runs arrive faster than a restart takes, so most restarts find a backlog to catch up on.
    grower = subprocess.Popen(
        [sys.executable, "-m", "tests.rundb_growth", str(database), str(KILL_SEED), "250", "10", "0.1"],
        cwd=str(CHECKOUT), stdout=subprocess.DEVNULL,
    )
    rng = random.Random(KILL_SEED)
    catalog = load_catalog(CHECKOUT / "diffed_parameters.txt")

    # Kill at seeded random moments: during start-up, catch-up, an idle wait or a write.
    kills = 0
    progress = []
    killed_with_backlog = 0
    started = time.monotonic()
    while kills < 24 or grower.poll() is None:
        assert time.monotonic() - started < 90, "the kill loop took too long"
        log = tmp_path / f"poller-{kills}.log"
        process = start_poller(poll_command(config), log)
        time.sleep(rng.uniform(0.05, 0.9))
        process.kill()
        assert process.wait(timeout=10) == -signal.SIGKILL
        kills += 1
        progress.append(last_run(killed))
        if "processed" in log.read_text() and ready_runs_after(database, catalog, progress[-1]):
            killed_with_backlog += 1
    assert grower.wait(timeout=60) == 0
    print(f"{kills} kills, {killed_with_backlog} during a catch-up")

    finished = run_once(config)
    assert finished.returncode == 0, finished.stderr
    reference = tmp_path / "reference"
    reference_config = setup_folder(reference, database, change_log_cap=1000)
    result = run_once(reference_config)
    assert result.returncode == 0, result.stderr

    # The kills interrupted real work: the state moved between many of them, and some
    # processes died while runs that had reached Running were still waiting.
    assert kills >= 24
    assert len(set(progress)) >= 10
    assert killed_with_backlog >= 3, f"only {killed_with_backlog} of {kills} kills hit a catch-up"

    entries = read_entries(killed / "BotUrlLog.html")
    runs = [entry.run for entry in entries]
    ids = [entry.id for entry in entries]
    assert len(runs) == len(set(runs))
    assert ids == sorted(set(ids))
    assert ids == list(range(1, len(ids) + 1))
    assert comparable(killed) == comparable(reference)
    assert entry_shapes(killed) == expected_shapes(load_manifest(database), FIRST_RUN - 1)
    assert parse_html((killed / "BotUrlLog.html").read_text()) == entries

    final, expected = load_state(killed / "state.json"), load_state(reference / "state.json")
    assert final.last_run == expected.last_run
    assert final.baselines == expected.baselines
    assert final.next_entry_id == expected.next_entry_id


def test_locked_database_retried(tmp_path):
    database = tmp_path / "runinfo.sqlite"
    build_sample(database)
    folder = tmp_path / "poller"
    config = setup_folder(folder, database)
    log = tmp_path / "poller.log"
    process = start_poller(poll_command(config), log)
    try:
        wait_for(lambda: last_run(folder) == 330080, "the sample to be processed")

        # An exclusive transaction blocks readers, as a long write or a broken lock does.
        blocker = sqlite3.connect(str(database), isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        wait_for(lambda: "retry 2 in" in log.read_text(), "two retries", limit=15)
        blocker.execute("ROLLBACK")
        blocker.close()

        added = append_runs(database, 10)
        wait_for(lambda: last_run(folder) == last_global_run(database), f"runs {added[0]}-{added[-1]}")
    finally:
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=10)

    text = log.read_text()
    assert status == 0
    assert "database query failed: query on sqlite:///" in text
    assert "database is locked; retry 1 in 0.1 s" in text
    assert "database is locked; retry 2 in 0.2 s" in text
    assert "recovered after" in text
    assert entry_shapes(folder) == expected_shapes(load_manifest(database), FIRST_RUN - 1)


def test_missing_database_retried(tmp_path):
    database = tmp_path / "runinfo.sqlite"
    folder = tmp_path / "poller"
    config = setup_folder(folder, database)
    log = tmp_path / "poller.log"
    process = start_poller(poll_command(config), log)
    try:
        wait_for(lambda: "retry 3 in" in log.read_text(), "three retries")
        staged = tmp_path / "staged.sqlite"
        build_sample(staged)
        os.replace(staged, database)
        wait_for(lambda: last_run(folder) == 330080, "the sample to be processed")
    finally:
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=10)

    text = log.read_text()
    assert status == 0
    assert f"database file not found: {database}" in text
    assert "retry 1 in 0.1 s" in text
    assert "recovered after" in text
    # The manifest stays beside the staged file, which was moved without it.
    assert entry_shapes(folder) == expected_shapes(load_manifest(staged), FIRST_RUN - 1)


def test_second_poller_rejected_and_sigterm(tmp_path):
    database = tmp_path / "runinfo.sqlite"
    build_sample(database)
    folder = tmp_path / "poller"
    config = setup_folder(folder, database)
    log = tmp_path / "RunInfoDiffer.log"
    env = dict(os.environ, RUNINFODIFFER_CONFIG=str(config))
    first = start_poller([sys.executable, "-u", "cgi-bin/Run_Info_Diff.py", "local_run", "--interval", INTERVAL],
                         log, env)
    try:
        wait_for(lambda: last_run(folder) == 330080, "the sample to be processed")
        state = load_state(folder / "state.json")
        assert state.pid == first.pid

        # The heartbeat moves on while idle; nothing else in the state changes.
        wait_for(lambda: load_state(folder / "state.json").heartbeat != state.heartbeat, "a new heartbeat", 5)
        idle = load_state(folder / "state.json")
        assert (idle.last_run, idle.baselines, idle.next_entry_id) == (
            state.last_run, state.baselines, state.next_entry_id)

        changelog_before = (folder / "BotUrlLog.json").stat().st_mtime_ns
        second = run_once(config)
        assert second.returncode == 2
        assert f"another poller (pid {first.pid}) is running" in second.stderr
        assert (folder / "BotUrlLog.json").stat().st_mtime_ns == changelog_before
    finally:
        first.send_signal(signal.SIGTERM)
        status = first.wait(timeout=10)

    text = log.read_text()
    assert status == 0
    assert f"poller started (pid {first.pid}): config {config}" in text
    assert "received SIGTERM: stopping after the current step" in text
    assert f"poller stopped (pid {first.pid}): last run 330080" in text


def test_sigterm_interrupts_sleep(tmp_path):
    database = tmp_path / "runinfo.sqlite"
    build_sample(database)
    folder = tmp_path / "poller"
    config = setup_folder(folder, database)
    log = tmp_path / "poller.log"
    command = poll_command(config)
    command[command.index("--interval") + 1] = "3600"
    process = start_poller(command, log)
    wait_for(lambda: last_run(folder) == 330080, "the sample to be processed")

    stopping = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    assert time.monotonic() - stopping < 5
    assert "poller stopped" in log.read_text()


def test_sigterm_during_catchup(tmp_path):
    database = tmp_path / "runinfo.sqlite"
    build_sample(database, runs=250)
    folder = tmp_path / "poller"
    config = setup_folder(folder, database)
    log = tmp_path / "poller.log"
    process = start_poller(poll_command(config), log)
    wait_for(lambda: "processed" in log.read_text(), "the first processed run")
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=10) == 0

    stopped_at = last_run(folder)
    assert stopped_at < last_global_run(database)
    assert max((entry.run for entry in read_entries(folder / "BotUrlLog.html")), default=0) <= stopped_at
    assert "received SIGINT" in log.read_text()

    assert run_once(config).returncode == 0
    reference = tmp_path / "reference"
    assert run_once(setup_folder(reference, database)).returncode == 0
    assert comparable(folder) == comparable(reference)


def test_local_run_once_exits_zero(tmp_path):
    database = tmp_path / "runinfo.sqlite"
    build_sample(database)
    folder = tmp_path / "poller"
    config = setup_folder(folder, database, start=None)
    env = dict(os.environ, RUNINFODIFFER_CONFIG=str(config))

    result = subprocess.run([sys.executable, "cgi-bin/Run_Info_Diff.py", "local_run", "--once"], cwd=str(CHECKOUT),
                            env=env, capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    assert "first start: starting after the latest global run 330080" in result.stdout
    assert result.stderr == ""
    assert last_run(folder) == 330080


@pytest.mark.parametrize("interval", ["0", "-1", "nan"])
def test_invalid_interval_rejected(tmp_path, interval):
    config = setup_folder(tmp_path, tmp_path / "absent.sqlite")
    result = subprocess.run([sys.executable, "-m", "runinfodiffer", "poll", "--config", str(config),
                             "--interval", interval], cwd=str(CHECKOUT), capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "--interval must be a positive number of seconds" in result.stderr
