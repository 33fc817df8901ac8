"""The poller cycle in-process, on the sample database, checked against its manifest."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from html.parser import HTMLParser
from pathlib import Path
from typing import Dict, List

import pytest

from runinfodiffer import poller as poller_module
from runinfodiffer.catalog import load_catalog
from runinfodiffer.changelog import parse_html, read_entries
from runinfodiffer.config import load_config
from runinfodiffer.db import connect
from runinfodiffer.errors import DatabaseUnavailable
from runinfodiffer.poller import Poller
from runinfodiffer.sample import FIRST_RUN, append_runs, build_sample, manifest_path
from runinfodiffer.schema import LVL0_HCAL, PARAMETER_TABLE, STRING_TABLE
from runinfodiffer.state import PollerState, load_state, save_state
from tests.conftest import write_config
from tests.rundb_growth import expected_entries, hold_back_states, restore_rows

BASE = "http://cms.example/cgi-bin/viewDiffer.py"


def make_poller(folder: Path, database: Path, start: "int | None" = FIRST_RUN - 1, **settings) -> Poller:
    """Return a poller on `database` whose state starts after run `start` (None: no state file)."""
    config_path = write_config(folder, database, change_log=str(folder / "BotUrlLog.html"),
                               state=str(folder / "state.json"), web_base_url=BASE, **settings)
    config = load_config(str(config_path))
    if start is not None and not config.state.exists():
        save_state(config.state, PollerState(last_run=start))
    poller = Poller(config, load_catalog(config.parameter_file), interval=0.01)
    poller.load_state()
    return poller


def entry_shapes(folder: Path) -> Dict[int, List[tuple]]:
    """Return {run: [(run1, sorted partitions, changed)]} from the change log in `folder`."""
    return {
        entry.run: [(c.run1, tuple(sorted(c.partitions)), c.changed) for c in entry.comparisons]
        for entry in read_entries(folder / "BotUrlLog.html")
    }


def expected_shapes(manifest: dict, after: int, through: "int | None" = None, *,
                    seed_baselines: bool = False) -> Dict[int, List[tuple]]:
    return {
        run: [(run1, tuple(sorted(partitions)), len(changes)) for run1, partitions, changes in comparisons]
        for run, comparisons in expected_entries(manifest, after, through, seed_baselines=seed_baselines).items()
    }


def manifest_run(manifest: dict, run: int) -> dict:
    return next(item for item in manifest["runs"] if item["run"] == run)


@pytest.fixture()
def database(tmp_path) -> Path:
    path = tmp_path / "runinfo.sqlite"
    build_sample(path)
    return path


def load_manifest(database: Path) -> dict:
    return json.loads(manifest_path(database).read_text())


def test_entries_match_manifest(tmp_path, database):
    append_runs(database, 150)
    manifest = load_manifest(database)
    poller = make_poller(tmp_path, database)

    assert poller.run(once=True) == 0

    expected = expected_shapes(manifest, FIRST_RUN - 1)
    assert len(expected) > 60
    assert entry_shapes(tmp_path) == expected
    entries = read_entries(tmp_path / "BotUrlLog.html")
    assert [entry.id for entry in entries] == list(range(1, len(entries) + 1))
    assert poller.state.next_entry_id == len(entries) + 1
    assert load_state(tmp_path / "state.json").last_run == poller.state.last_run


def test_entry_text_and_urls(tmp_path, database):
    poller = make_poller(tmp_path, database)
    poller.run(once=True)
    entries = {entry.run: entry for entry in read_entries(tmp_path / "BotUrlLog.html")}

    # 330030: HBHE and HF since 330026; HO was in EMPTY_FMS there, so it is diffed since 330025.
    # EMPTY_FMS goes back to "[]", its value in 330025 (the newest run with that value), as in the web views.
    entry = entries[330030]
    assert entry.summary == ("Run 330030: 2 parameters changed in HCAL_HBHE, HCAL_HF (since run 330026); "
                             "1 in HCAL_HO (since run 330025); EMPTY_FMS reverted to the value of run 330025")
    first, second = entry.comparisons
    assert first.url == f"{BASE}?runnumber1=330026&runnumber2=330030&partition=HCAL_HBHE&partition=HCAL_HF"
    assert first.text_url == first.url + "&format=text"
    assert second.url == f"{BASE}?runnumber1=330025&runnumber2=330030&partition=HCAL_HO"
    assert entry.time.endswith("Z")
    assert len(entry.time) == len("2026-12-04T20:00:00Z")
    assert entries[330015].summary == "Run 330015: 1 parameter changed in HCAL_HF (since run 330010)"


def test_empty_fms_keeps_baselines(tmp_path, database):
    manifest = load_manifest(database)
    run = 330026
    assert manifest_run(manifest, run)["empty_fms"] == ["HCAL_HO", "HCAL_Laser"]
    poller = make_poller(tmp_path, database)
    poller.run(once=True)
    entries = {entry.run: entry for entry in read_entries(tmp_path / "BotUrlLog.html")}

    assert [sorted(c.partitions) for c in entries[run].comparisons] == [["HCAL_HBHE", "HCAL_HF"]]
    # The next run diffs HO and Laser against 330025, the last run they took part in.
    assert {c.run1 for c in entries[330030].comparisons} == {330026, 330025}
    assert [c.partitions for c in entries[330030].comparisons if c.run1 == 330025] == [["HCAL_HO"]]


def test_baselines_after_empty_fms_run(tmp_path, database):
    poller = make_poller(tmp_path, database)
    with sqlite3.connect(str(database)) as connection:  # keep only the runs up to 330026
        connection.execute(f"DELETE FROM {PARAMETER_TABLE} WHERE RUNNUMBER > 330026")
    poller.run(once=True)
    assert poller.state.last_run == 330026
    assert poller.state.baselines == {"HCAL_HBHE": 330026, "HCAL_HF": 330026,
                                      "HCAL_HO": 330025, "HCAL_Laser": 330025}


def test_listed_in_empty_fms_not_diffed(tmp_path, database):
    # HO still publishes rows in 330031, but HBHE's EMPTY_FMS lists it: HO does not take part.
    with sqlite3.connect(str(database)) as connection:
        connection.execute(f"DELETE FROM {PARAMETER_TABLE} WHERE RUNNUMBER > 330031")
        changed = connection.execute(
            f"UPDATE {STRING_TABLE} SET VALUE = '[HCAL_HO]' WHERE RUNSESSION_PARAMETER_ID IN "
            f"(SELECT ID FROM {PARAMETER_TABLE} WHERE RUNNUMBER = 330031 AND NAME = 'CMS.HCAL_HBHE:EMPTY_FMS')"
        ).rowcount
    assert changed == 2  # the value at start and the one written again at stop
    poller = make_poller(tmp_path, database)

    poller.run(once=True)

    assert poller.state.baselines["HCAL_HO"] == 330030
    assert poller.state.baselines["HCAL_HBHE"] == 330031
    comparisons = {entry.run: entry.comparisons for entry in read_entries(tmp_path / "BotUrlLog.html")}
    # The EMPTY_FMS edit itself is a change in HBHE (and HF, which shares the baseline).
    assert [(c.run1, c.partitions) for c in comparisons[330031]] == [(330030, ["HCAL_HBHE", "HCAL_HF"])]


def test_laser_spellings_are_one_partition(tmp_path, database):
    manifest = load_manifest(database)
    spelled = [item["run"] for item in manifest["runs"]
               if item["name_spelling"].get("HCAL_Laser") == "HCAL_LASER" and item["kind"] == "global"]
    assert spelled[:3] == [330030, 330031, 330034]
    poller = make_poller(tmp_path, database)
    with sqlite3.connect(str(database)) as connection:
        connection.execute(f"DELETE FROM {PARAMETER_TABLE} WHERE RUNNUMBER > 330031")
        count = connection.execute(f"SELECT COUNT(*) FROM {PARAMETER_TABLE} WHERE RUNNUMBER = 330031 "
                                   "AND NAME LIKE 'CMS.HCAL\\_LASER:%' ESCAPE '\\'").fetchone()[0]
    assert count > 0

    poller.run(once=True)

    assert poller.state.baselines["HCAL_Laser"] == 330031
    assert "HCAL_LASER" not in poller.state.baselines
    entries = {entry.run: entry for entry in read_entries(tmp_path / "BotUrlLog.html")}
    # Laser took part in 330030 (spelled HCAL_LASER) with no change since 330025.
    assert all("HCAL_Laser" not in c.partitions for c in entries[330030].comparisons)


def test_hcal_out_run_is_not_diffed(tmp_path, database):
    manifest = load_manifest(database)
    out = manifest_run(manifest, 330038)
    assert (out["kind"], out["reached_running"], out["hcal_in"], out["partitions"]) == ("global", True, False, [])
    poller = make_poller(tmp_path, database)
    poller.run(once=True)
    entries = {entry.run: entry for entry in read_entries(tmp_path / "BotUrlLog.html")}

    assert 330038 not in entries
    assert {c.run1 for c in entries[330040].comparisons} == {330034}


def test_hcal_out_flag_advances_last_run(tmp_path, database, caplog):
    # A global run whose LVL0 HCAL flag is Out: processed, nothing diffed, baselines kept.
    with sqlite3.connect(str(database)) as connection:
        connection.execute(f"DELETE FROM {PARAMETER_TABLE} WHERE RUNNUMBER > 330019")
        connection.execute(f"UPDATE {STRING_TABLE} SET VALUE = 'Out' WHERE RUNSESSION_PARAMETER_ID IN "
                           f"(SELECT ID FROM {PARAMETER_TABLE} WHERE RUNNUMBER = 330019 AND NAME = ?)", (LVL0_HCAL,))
    poller = make_poller(tmp_path, database)

    with caplog.at_level(logging.INFO, logger="runinfodiffer.poller"):
        poller.run(once=True)

    assert poller.state.last_run == 330019
    assert set(poller.state.baselines.values()) == {330015}
    assert 330019 not in entry_shapes(tmp_path)
    assert "run 330019: processed: HCAL Out, no partition took part, nothing diffed" in caplog.text


def test_run_in_configuring_waits_then_processed(tmp_path, database, caplog):
    last = 330080
    removed_rows = hold_back_states(database, last)
    assert [row[6] for row in removed_rows] == ["Configured", "Starting", "Running", "Stopping", "Configured"]
    poller = make_poller(tmp_path, database)

    with caplog.at_level(logging.INFO, logger="runinfodiffer.poller"):
        first = poller.cycle()
        second = poller.cycle()
    assert (first.pending, second.pending) == (last, last)
    assert poller.state.last_run == 330078
    assert caplog.text.count(f"run {last}: not Running yet (states: Configuring)") == 1

    restore_rows(database, removed_rows)
    result = poller.cycle()
    assert (result.finished, result.pending) == (1, None)
    assert poller.state.last_run == last


def test_run_never_running_skipped_when_newer(tmp_path, caplog):
    database = tmp_path / "runinfo.sqlite"
    build_sample(database, runs=4)
    manifest = load_manifest(database)
    assert manifest["runs"][-1]["run"] == 330016
    assert manifest["runs"][-1]["rc_states"] == ["Configuring", "Configured", "Halted"]
    poller = make_poller(tmp_path, database)

    with caplog.at_level(logging.INFO, logger="runinfodiffer.poller"):
        assert poller.cycle().pending == 330016
        assert poller.state.last_run == 330015
        assert append_runs(database, 1) == [330019]
        result = poller.cycle()

    assert (result.finished, result.pending) == (2, None)
    assert poller.state.last_run == 330019
    assert ("run 330016: skipped: never reached Running (states: Configuring, Configured, Halted) "
            "and global run 330019 is newer") in caplog.text
    assert 330016 not in entry_shapes(tmp_path)
    assert [c[0] for c in entry_shapes(tmp_path)[330019]] == [330015]


def test_first_start_begins_at_latest(tmp_path, database, caplog):
    poller = make_poller(tmp_path, database, start=None)
    with caplog.at_level(logging.INFO, logger="runinfodiffer.poller"):
        result = poller.cycle()
    assert result.finished == 0
    assert poller.state.last_run == 330080
    assert poller.state.baselines == {p: 330080 for p in ("HCAL_HBHE", "HCAL_HF", "HCAL_HO", "HCAL_Laser")}
    assert "first start: starting after the latest global run 330080" in caplog.text
    # The empty change log exists from the start, so DifferBot can read it at once.
    assert read_entries(tmp_path / "BotUrlLog.html") == []
    assert (tmp_path / "BotUrlLog.html").is_file()

    added = append_runs(database, 40)
    manifest = load_manifest(database)
    poller.run(once=True)
    # Run 330080 is every partition's first baseline, so the next run is diffed against it.
    shapes = entry_shapes(tmp_path)
    assert shapes == expected_shapes(manifest, 330080, seed_baselines=True)
    assert min(shapes) in added
    assert shapes[min(shapes)][0][0] == 330080
    assert poller.state.last_run in added


def test_ids_continue_after_lost_state(tmp_path, database):
    poller = make_poller(tmp_path, database)
    poller.run(once=True)
    count = len(read_entries(tmp_path / "BotUrlLog.html"))
    (tmp_path / "state.json").unlink()

    restarted = make_poller(tmp_path, database, start=None)
    assert restarted.state.next_entry_id == count + 1
    restarted.run(once=True)
    append_runs(database, 30)
    restarted.run(once=True)

    ids = [entry.id for entry in read_entries(tmp_path / "BotUrlLog.html")]
    assert len(ids) > count
    assert ids == list(range(1, len(ids) + 1))


def test_idle_cycle_is_one_statement(tmp_path, database):
    poller = make_poller(tmp_path, database)
    poller.run(once=True)
    saved = load_state(tmp_path / "state.json")
    before = poller.reader.db.statements

    result = poller.cycle()

    assert poller.reader.db.statements - before == 1
    assert (result.finished, result.pending) == (0, None)
    after = load_state(tmp_path / "state.json")
    assert (after.last_run, after.baselines, after.next_entry_id) == (
        saved.last_run, saved.baselines, saved.next_entry_id)
    assert after.heartbeat is not None and after.heartbeat >= saved.heartbeat


def test_statements_per_processed_run(tmp_path, database):
    manifest = load_manifest(database)
    poller = make_poller(tmp_path, database)
    poller.run(once=True)
    start = poller.state.last_run
    added = append_runs(database, 60)
    manifest = load_manifest(database)
    fresh = [item for item in manifest["runs"] if item["run"] in added and item["kind"] == "global"]
    with_values = [item for item in fresh if item["reached_running"] and item["hcal_in"]]
    assert len(with_values) > 20

    # A restarted poller must read the baselines too: in the same statement as the first run.
    restarted = make_poller(tmp_path, database)
    assert restarted.state.last_run == start
    result = restarted.cycle()

    statements = restarted.reader.db.statements
    pending = 1 if result.pending else 0
    assert statements == 1 + len(with_values) - pending
    assert result.finished == len([item for item in fresh if item["hcal_in"]]) - pending


def test_crash_after_entry_reuses_id(tmp_path, database, monkeypatch):
    reference = tmp_path / "reference"
    reference.mkdir()
    make_poller(reference, database).run(once=True)

    crashed = tmp_path / "crashed"
    crashed.mkdir()
    poller = make_poller(crashed, database)
    real_save = poller_module.save_state

    def save_then_crash(path, state):
        # Die after the entry of run 330030 is written, before the state records the run.
        if state.last_run == 330030:
            raise KeyboardInterrupt("simulated SIGKILL")
        real_save(path, state)

    monkeypatch.setattr(poller_module, "save_state", save_then_crash)
    with pytest.raises(KeyboardInterrupt):
        poller.run(once=True)
    monkeypatch.setattr(poller_module, "save_state", real_save)
    assert load_state(crashed / "state.json").last_run == 330026
    assert read_entries(crashed / "BotUrlLog.html")[-1].run == 330030

    make_poller(crashed, database).run(once=True)

    def strip_time(folder):
        return [(e.id, e.run, e.summary, e.comparisons) for e in read_entries(folder / "BotUrlLog.html")]

    assert strip_time(crashed) == strip_time(reference)
    assert load_state(crashed / "state.json").next_entry_id == load_state(reference / "state.json").next_entry_id


def test_change_log_cap_keeps_ids_increasing(tmp_path, database):
    poller = make_poller(tmp_path, database, change_log_cap=5)
    poller.run(once=True)
    entries = read_entries(tmp_path / "BotUrlLog.html")
    total = len(expected_shapes(load_manifest(database), FIRST_RUN - 1))
    assert [entry.id for entry in entries] == list(range(total - 4, total + 1))
    assert poller.state.next_entry_id == total + 1


def test_max_catchup_limits_each_cycle(tmp_path, database, caplog):
    poller = make_poller(tmp_path, database, max_catchup=3)
    with caplog.at_level(logging.WARNING, logger="runinfodiffer.poller"):
        result = poller.cycle()
    assert result.limited
    assert result.finished == 3
    assert poller.state.last_run == 330016
    assert "handling the first 3 this cycle (max_catchup)" in caplog.text

    poller.run(once=True)
    assert entry_shapes(tmp_path) == expected_shapes(load_manifest(database), FIRST_RUN - 1)


def test_database_failures_retried(tmp_path, database, caplog):
    poller = make_poller(tmp_path, database)
    attempts: List[int] = []

    def flaky_connect():
        attempts.append(1)
        if len(attempts) <= 3:
            raise DatabaseUnavailable(f"cannot connect to test database: attempt {len(attempts)} refused")
        return connect(poller.config)

    poller._connect = flaky_connect
    runner = threading.Thread(target=poller.run)
    with caplog.at_level(logging.INFO, logger="runinfodiffer.poller"):
        runner.start()
        try:
            for _ in range(200):
                if poller.state.last_run == 330080:
                    break
                threading.Event().wait(0.02)
        finally:
            poller.stop.set()
            runner.join(timeout=10)

    assert not runner.is_alive()
    assert poller.state.last_run == 330080
    assert "attempt 1 refused; retry 1 in 0.0 s" in caplog.text
    assert "attempt 3 refused; retry 3 in 0.0 s" in caplog.text
    assert "recovered after 3 failed attempts" in caplog.text


def test_once_raises_when_database_missing(tmp_path):
    poller = make_poller(tmp_path, tmp_path / "absent.sqlite")
    with pytest.raises(DatabaseUnavailable) as caught:
        poller.run(once=True)
    assert "database file not found" in str(caught.value)


class TagBalance(HTMLParser):
    """Records end tags that do not close the innermost open element."""

    VOID = {"meta", "link", "br", "hr", "img", "input"}

    def __init__(self) -> None:
        super().__init__()
        self.open: List[str] = []
        self.errors: List[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.open[-1] if self.open else 'nothing'}")
        else:
            self.open.pop()


def test_change_log_html_is_valid(tmp_path, database):
    append_runs(database, 100)
    make_poller(tmp_path, database).run(once=True)
    text = (tmp_path / "BotUrlLog.html").read_text(encoding="utf-8")

    balance = TagBalance()
    balance.feed(text)
    balance.close()
    assert balance.errors == []
    assert balance.open == []

    html5lib = pytest.importorskip("html5lib")
    parser = html5lib.HTMLParser(strict=True)
    parser.parse(text)
    assert parser.errors == []

    assert parse_html(text) == read_entries(tmp_path / "BotUrlLog.html")
