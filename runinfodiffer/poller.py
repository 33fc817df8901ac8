"""The poller: diff every new global run against each partition's baseline.

Every cycle sends one query for the global runs numbered above the last processed run,
then handles them in run-number order:

- a run that has not reached Running is waited for, unless a newer global run exists,
  in which case it never will and is skipped;
- a run with HCAL Out has no partition taking part: nothing is diffed;
- otherwise the partitions that took part are diffed against their baseline, the last
  processed global run in which each took part, with one diff per distinct baseline.
  A partition's first appearance only sets its baseline.

A run with changes gets one change log entry. The state is saved after every run, and
the change log is keyed on the run, so a poller killed at any moment and restarted
handles each global run exactly once.

The first start without a state file begins after the latest global run, without
diffing it. That run becomes the baseline of the partitions that took part in it (when
it reached Running with HCAL In); any other partition's baseline is set by its first
appearance.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sqlite3
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple
from urllib.parse import urlencode

from .backoff import Backoff
from .catalog import Catalog
from .changelog import Comparison, Entry, append_entry, json_path, read_entries, write_entries
from .compare import compare_records
from .config import Config, DatabaseURL
from .db import Database, connect
from .errors import ConfigError, DatabaseUnavailable, UsageError
from .revisions import RECENT_GLOBALS, ValueMemory, remember_values, revert_source, within_lookback
from .runinfo import RunInfoReader, RunRecord, RunStatus
from .state import PollerState, StateLock, load_state, save_state, utc_now

log = logging.getLogger(__name__)


@dataclass
class CycleResult:
    """Outcome of one cycle."""

    #: Runs finished this cycle: processed, or skipped because they never reached Running.
    finished: int = 0
    #: The run waiting to reach Running, if any.
    pending: Optional[int] = None
    #: True when more runs were waiting than `max_catchup`; the next cycle starts at once.
    limited: bool = False


@dataclass
class RunOutcome:
    """Result of diffing one run: the comparisons with changes and the first appearances."""

    partitions: List[str]
    comparisons: List[Comparison]
    first_appearances: List[str]
    #: Parameter -> earlier run whose value came back, for the summary.
    reverts: Dict[str, int] = field(default_factory=dict)


class Poller:
    """Finds new global runs, diffs them and writes the change log and the state.

    `connect_database` opens the database. It is called again after a failure, so the
    poller recovers from a restarted database server. NOTE: an SQLite file replaced
    while connected is still read through the old file until a query fails.
    """

    def __init__(
        self,
        config: Config,
        catalog: Catalog,
        *,
        interval: Optional[float] = None,
        url: Optional[DatabaseURL] = None,
        connect_database: Optional[Callable[[], Database]] = None,
        stop: Optional[threading.Event] = None,
    ):
        self.config = config
        self.catalog = catalog
        self.interval = config.poll_interval if interval is None else interval
        self.url = url or config.database_url
        self._connect = connect_database or (lambda: connect(config, self.url))
        self.stop = stop or threading.Event()
        self.state = PollerState()
        self._reader: Optional[RunInfoReader] = None
        #: Records of baseline runs, so a baseline is read once and not once per new run.
        self._records: Dict[int, RunRecord] = {}
        self._pending_logged: Optional[int] = None

    @property
    def reader(self) -> RunInfoReader:
        """Return the reader, connecting first when no connection is open."""
        if self._reader is None:
            self._reader = RunInfoReader(self._connect(), self.catalog)
        return self._reader

    def disconnect(self) -> None:
        """Close the connection; the next query opens a new one."""
        if self._reader is not None:
            try:
                self._reader.db.close()
            except Exception as error:  # a broken connection may fail to close; it is dropped anyway
                log.debug("closing the database connection failed: %s", error)
            self._reader = None

    def load_state(self) -> None:
        """Read the state file (the lock must be held) and take the next entry id past the change log's."""
        state = load_state(self.config.state)
        if state is None:
            log.info("no poller state at %s: the first cycle starts after the latest global run",
                     self.config.state)
            state = PollerState()
        state.pid = os.getpid()
        try:
            stored_ids = [entry.id for entry in read_entries(self.config.change_log)]
        except (ValueError, KeyError, TypeError) as error:
            raise ConfigError(f"invalid change log {json_path(self.config.change_log)}: {error}") from error
        if stored_ids and max(stored_ids) >= state.next_entry_id:
            # Entries past the state's counter: written just before a crash, or the state was lost.
            log.info("change log %s has entry %d: next entry id %d -> %d", self.config.change_log,
                     max(stored_ids), state.next_entry_id, max(stored_ids) + 1)
            state.next_entry_id = max(stored_ids) + 1
        if not Path(self.config.change_log).exists():
            # An empty log lets DifferBot start before the first change: otherwise its
            # first read finds the first entry and takes it as old.
            write_entries(self.config.change_log, [])
            log.info("created the empty change log %s", self.config.change_log)
        self.state = state

    def save(self) -> None:
        save_state(self.config.state, self.state)

    # --- one cycle -------------------------------------------------------------------

    def cycle(self) -> CycleResult:
        """Query the new global runs once and handle them in order."""
        result = CycleResult()
        marker = self.config.global_marker
        if self.state.last_run is None:
            self._choose_start()

        after = self.state.last_run or 0
        statuses = self.reader.global_runs_after(after, marker)
        self.state.last_poll = utc_now()
        limit = max(1, self.config.max_catchup)
        if len(statuses) > limit:
            result.limited = True
            log.warning("%d global runs after run %d are waiting: handling the first %d this cycle "
                        "(max_catchup)", len(statuses), after, limit)

        for index, status in enumerate(statuses[:limit]):
            if self.stop.is_set():
                result.limited = False
                break
            newer = statuses[index + 1].run if index + 1 < len(statuses) else None
            if not self._handle(status, newer):
                result.pending = status.run
                break
            result.finished += 1

        self.state.heartbeat = utc_now()
        self.save()
        return result

    def _choose_start(self) -> None:
        """Start after the latest global run, taking it as the baseline of its partitions."""
        latest = self.reader.latest_global_run(self.config.global_marker)
        self.state.last_run = latest if latest is not None else 0
        if latest is None:
            log.info("first start: no global run in the database yet; every global run will be processed")
            self.save()
            return

        record = self.reader.read_run(latest)
        partitions = []
        if record.reached_running and (record.hcal or "").strip().lower() == "in":
            partitions = [p for p in self.catalog.partitions if record.took_part(p)]
        for partition in partitions:
            self.state.baselines[partition] = latest
        log.info("first start: starting after the latest global run %d (not diffed); it is the baseline of "
                 "%s; other partitions get theirs when they first take part",
                 latest, ", ".join(partitions) or "no partition")
        self.save()

    def _handle(self, status: RunStatus, newer: Optional[int]) -> bool:
        """Handle one global run; return False when it must be checked again next cycle."""
        run = status.run
        if not status.reached_running:
            states = ", ".join(status.states) or "none"
            if newer is None:
                if self._pending_logged != run:
                    log.info("run %d: not Running yet (states: %s); checking again next cycle", run, states)
                    self._pending_logged = run
                return False
            log.warning("run %d: skipped: never reached Running (states: %s) and global run %d is newer",
                        run, states, newer)
            self._finish(run)
            return True

        if not status.hcal_in:
            log.info("run %d: processed: HCAL %s, no partition took part, nothing diffed",
                     run, status.hcal or "flag not recorded")
            self._finish(run)
            return True

        outcome = self._diff(run)
        self._record(run, outcome)
        return True

    def _diff(self, run: int) -> RunOutcome:
        """Read the run and its missing baselines in one query, and diff per baseline."""
        baselines = self.state.baselines
        needed = {run} | {baseline for baseline in baselines.values() if baseline not in self._records}
        self._records.update(self.reader.read_runs(needed))
        new = self._records[run]

        partitions = [p for p in self.catalog.partitions if new.took_part(p)]
        groups: Dict[int, List[str]] = {}
        first: List[str] = []
        for partition in partitions:
            if partition in baselines:
                groups.setdefault(baselines[partition], []).append(partition)
            else:
                first.append(partition)

        memory = ValueMemory(self.state.values)
        comparisons = []
        reverts: Dict[str, int] = {}
        for baseline in sorted(groups, reverse=True):
            names = groups[baseline]
            pairs = self.catalog.pairs(names)
            remember_values(memory, self._records[baseline], pairs, seed=True)
            diff = compare_records(self._records[baseline], new, names, pairs,
                                   budget=self.config.diff_budget or None)
            for change in diff.changes:
                source = revert_source(memory, change)
                if source is not None and within_lookback(self.state.recent_globals, baseline, source):
                    reverts[change.parameter] = source
            changed = len({change.parameter for change in diff.changes})
            if changed:
                comparisons.append(self._comparison(baseline, run, diff.changed_partitions, changed))
        remember_values(memory, new, self.catalog.pairs(partitions), seed=False)
        return RunOutcome(partitions, comparisons, first, reverts)

    def _comparison(self, baseline: int, run: int, partitions: List[str], changed: int) -> Comparison:
        query: List[Tuple[str, object]] = [("runnumber1", baseline), ("runnumber2", run)]
        query += [("partition", partition) for partition in partitions]
        separator = "&" if "?" in self.config.web_base_url else "?"
        url = f"{self.config.web_base_url}{separator}{urlencode(query)}"
        return Comparison(baseline, run, list(partitions), changed, url, url + "&format=text")

    def _record(self, run: int, outcome: RunOutcome) -> None:
        """Write the entry (if anything changed), move the baselines, save the state."""
        before = {p: self.state.baselines.get(p) for p in outcome.partitions}
        entry_note = ""
        if outcome.comparisons:
            entry = Entry(self.state.next_entry_id, utc_now(), run,
                          summarize(run, outcome.comparisons, outcome.reverts), outcome.comparisons)
            stored = append_entry(self.config.change_log, entry, cap=self.config.change_log_cap)
            if stored.id != entry.id:
                log.info("run %d: change log already has entry %d for it (written before a restart); kept",
                         run, stored.id)
            self.state.next_entry_id = max(self.state.next_entry_id, stored.id + 1)
            entry_note = f"; change log entry {stored.id}"

        if outcome.first_appearances:
            log.info("run %d: first appearance of %s: baseline set, nothing diffed",
                     run, ", ".join(outcome.first_appearances))
        for partition in outcome.partitions:
            self.state.baselines[partition] = run

        changes = sum(comparison.changed for comparison in outcome.comparisons)
        described = ", ".join(f"{p} (baseline {before[p] if before[p] is not None else 'none'})"
                              for p in outcome.partitions) or "none"
        log.info("run %d: processed: partitions %s; changed parameters: %d%s", run, described, changes, entry_note)
        self._finish(run)

        # Keep only the records that are still some partition's baseline.
        current = set(self.state.baselines.values())
        self._records = {number: record for number, record in self._records.items() if number in current}

    def _finish(self, run: int) -> None:
        self.state.last_run = run
        self.state.recent_globals = (self.state.recent_globals + [run])[-RECENT_GLOBALS:]
        self.save()

    # --- the loop --------------------------------------------------------------------

    def run(self, once: bool = False) -> int:
        """Poll until stopped (or, with `once`, until nothing is pending); return the exit status.

        With `once`, a database failure raises DatabaseUnavailable. Otherwise every
        failure is logged and retried with exponential backoff up to 10 minutes.
        """
        backoff = Backoff(self.interval)
        while not self.stop.is_set():
            try:
                result = self.cycle()
            except (DatabaseUnavailable, sqlite3.Error) as error:
                if once:
                    raise DatabaseUnavailable(str(error)) from error
                self._retry(backoff, f"database query failed: {error}")
                continue
            except OSError as error:
                if once:
                    raise
                self._retry(backoff, f"writing {error.filename or 'a file'} failed: {error.strerror}")
                continue
            except Exception:  # noqa: BLE001 - a long-running service logs, waits and retries
                if once:
                    raise
                log.exception("poll cycle failed")
                self._retry(backoff, "poll cycle failed with the error above")
                continue

            if backoff.failures:
                log.info("recovered after %d failed attempts", backoff.failures)
            backoff.reset()
            if result.limited:
                continue
            if once:
                break
            self.stop.wait(self.interval)
        return 0

    def _retry(self, backoff: Backoff, message: str) -> None:
        delay = backoff.next_delay()
        log.warning("%s; retry %d in %.1f s", message, backoff.failures, delay)
        self.disconnect()
        self.state.heartbeat = utc_now()
        try:
            self.save()
        except OSError as error:
            log.error("saving the heartbeat to %s failed: %s", self.config.state, error.strerror)
        self.stop.wait(delay)


def summarize(run: int, comparisons: List[Comparison], reverts: Optional[Dict[str, int]] = None) -> str:
    """Return the entry's one-line summary.

    Example: ``Run 330020: 3 parameters changed in HCAL_HBHE, HCAL_HF (since run 330012);
    1 in HCAL_HO (since run 330005); HCAL_DAQ_RELEASE reverted to the value of run 330001``.
    """
    parts = []
    for index, comparison in enumerate(comparisons):
        noun = "parameter" if comparison.changed == 1 else "parameters"
        counted = f"{comparison.changed} {noun} changed" if index == 0 else str(comparison.changed)
        parts.append(f"{counted} in {', '.join(comparison.partitions)} (since run {comparison.run1})")
    for parameter, source in sorted((reverts or {}).items()):
        parts.append(f"{parameter} reverted to the value of run {source}")
    return f"Run {run}: " + "; ".join(parts)


def install_signal_handlers(stop: threading.Event) -> None:
    """Make SIGTERM and SIGINT set `stop`, so the current run finishes and the state is saved."""

    def request_stop(signum: int, frame: object) -> None:
        # Event.set from a helper thread: the handler may interrupt the main thread
        # while it holds the event's lock, and setting it here would deadlock.
        log.info("received %s: stopping after the current step", signal.Signals(signum).name)
        threading.Thread(target=stop.set, daemon=True).start()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)


def log_to_stdout() -> None:
    """Move the root logger's stderr handlers to stdout.

    The established start command, ``nohup python -u cgi-bin/Run_Info_Diff.py local_run
    > RunInfoDiffer.log &``, redirects only stdout, and the poller prints nothing else.
    Errors that end the command still go to stderr.
    """
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stderr:
            handler.setStream(sys.stdout)


def cmd_poll(args: argparse.Namespace) -> int:
    """Run the poller for the `poll` command and `Run_Info_Diff.py local_run`."""
    from .catalog import load_catalog
    from .config import load_config, parse_database_url

    config = load_config(args.config)
    url = parse_database_url(args.database, base=Path.cwd()) if args.database else None
    interval = config.poll_interval if args.interval is None else args.interval
    if not interval > 0:
        raise UsageError(f"--interval must be a positive number of seconds, got {interval}")
    catalog = load_catalog(config.parameter_file)
    poller = Poller(config, catalog, interval=interval, url=url)
    log_to_stdout()

    with StateLock(config.state):
        poller.load_state()
        install_signal_handlers(poller.stop)
        log.info("poller started (pid %d): config %s, database %s, state %s, change log %s, "
                 "interval %g s%s", os.getpid(), config.source or "defaults (no runinfodiffer.toml)",
                 poller.url, config.state, config.change_log, interval, ", once" if args.once else "")
        try:
            status = poller.run(once=args.once)
        finally:
            poller.disconnect()
            log.info("poller stopped (pid %d): last run %s, next entry id %d", os.getpid(),
                     poller.state.last_run, poller.state.next_entry_id)
    return status
