"""The bot loop: read the change log, post every entry newer than the last posted one.

Entries are posted in id order, one message per entry and notifier. The entry id is
saved after each successful post, so a restart continues where the last run stopped.
A kill between a post and the save repeats that one post. A notifier that fails stops
for the rest of the cycle, so its entries stay in order.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from typing import Dict, List, Optional

from ..changelog import Entry
from ..config import load_config
from ..errors import RunInfoDifferError
from .logs import configure_logging, hide_secrets
from .message import DiffOrReason, MissingDiff
from .notifiers import DEFERRED, POSTED, Notifier, make_notifiers
from .settings import BotSettings, add_arguments, settings_from_config
from .source import ChangeLogSource, DiffGone, SourceError
from .state import BotState, StateLock

log = logging.getLogger("runinfodiffer.bot")


class DifferBot:
    """One bot: a change-log source, notifiers, and the state file (locked by the caller)."""

    def __init__(self, settings: BotSettings, notifiers: List[Notifier], stop: Optional[threading.Event] = None,
                 source: Optional[ChangeLogSource] = None) -> None:
        self.settings = settings
        self.notifiers = notifiers
        self.stop = stop or threading.Event()
        self.source = source or ChangeLogSource(settings.change_log_url, settings.proxy,
                                                settings.connect_timeout, settings.read_timeout)
        self.state = BotState(settings.state).load()
        #: Monotonic time before which a rate-limited notifier does not post.
        self._paused_until: Dict[str, float] = {}
        self._failed_reads = 0

    def start(self, entries: List[Entry], replay: Optional[int] = None) -> None:
        """On first start, set each notifier's cursor to the newest entry (or `replay` back)."""
        if replay is not None and self.state.exists:
            log.warning("--replay %d ignored: state file %s exists; the bot continues after "
                        "the last posted entry", replay, self.state.path)
        for notifier in self.notifiers:
            if self.state.cursor(notifier.kind) is not None:
                continue
            cursor = _start_cursor(entries, replay or 0)
            self.state.cursors[notifier.kind] = cursor
            newest = f"entry {entries[-1].id} (run {entries[-1].run})" if entries else "no entries yet"
            log.info("first start for %s: newest is %s; posting entries with id > %d",
                     notifier.kind, newest, cursor)
        self.state.save()

    def run_cycle(self, replay: Optional[int] = None) -> bool:
        """Read the log and post what is pending; return True when nothing is left pending."""
        entries = self._read_log()
        if entries is None:
            return False
        if not self.state.exists or any(self.state.cursor(n.kind) is None for n in self.notifiers):
            self.start(entries, replay)
        self._warn_if_renumbered(entries)

        blocked = {n.kind for n in self.notifiers if self._paused_until.get(n.kind, 0) > time.monotonic()}
        complete = True
        for entry in entries:
            waiting = [n for n in self.notifiers if entry.id > self.state.cursors[n.kind]]
            if not waiting:
                continue
            if self.stop.is_set():
                return False
            ready = [n for n in waiting if n.kind not in blocked]
            if not ready:
                complete = False
                continue
            diffs = self._fetch_diffs(entry)
            if diffs is None:
                return False
            for notifier in ready:
                if self.stop.is_set():
                    return False
                if not self._post(notifier, entry, diffs):
                    blocked.add(notifier.kind)
                    complete = False
        return complete

    def _read_log(self) -> Optional[List[Entry]]:
        try:
            entries = self.source.entries()
        except SourceError as error:
            self._failed_reads += 1
            if self._failed_reads == 1 or self._failed_reads % 30 == 0:
                log.warning("%s (failed reads in a row: %d); retrying every %g s",
                            error, self._failed_reads, self.settings.poll_interval)
            return None
        if self._failed_reads:
            log.info("change log readable again after %d failed reads", self._failed_reads)
            self._failed_reads = 0
        return entries

    def _warn_if_renumbered(self, entries: List[Entry]) -> None:
        if not entries:
            return
        newest = entries[-1].id
        for kind, cursor in self.state.cursors.items():
            if newest < cursor:
                # NOTE: ids that restart below the cursor (a reset poller state) are not posted
                # until the state file is removed, because a reset looks like a rollback.
                log.warning("%s: newest entry id %d is below the last posted id %d; if the poller's "
                            "state was reset, stop the bot and delete %s", kind, newest, cursor,
                            self.state.path)

    def _fetch_diffs(self, entry: Entry) -> Optional[List[DiffOrReason]]:
        """Return one diff (or MissingDiff) per comparison; None when the web interface is unreachable."""
        diffs: List[DiffOrReason] = []
        for comparison in entry.comparisons:
            try:
                diffs.append(self.source.diff_text(comparison.text_url))
            except DiffGone as error:
                log.warning("entry %d (run %d): %s; posting without this diff", entry.id, entry.run, error)
                diffs.append(MissingDiff(str(error).rsplit(": ", 1)[-1]))
            except SourceError as error:
                log.warning("entry %d (run %d) stays pending: %s", entry.id, entry.run, error)
                return None
        return diffs

    def _post(self, notifier: Notifier, entry: Entry, diffs: List[DiffOrReason]) -> bool:
        """Send one entry; return True when the notifier may go on to the next entry."""
        started = time.monotonic()
        result = notifier.send(entry, diffs)
        elapsed = time.monotonic() - started

        if result.outcome == POSTED:
            self.state.advance(notifier.kind, entry.id)
            log.info("posted entry %d (run %d) to %s in %.2f s", entry.id, entry.run, notifier.kind, elapsed)
            return True
        if result.outcome == DEFERRED:
            if result.retry_after:
                self._paused_until[notifier.kind] = time.monotonic() + result.retry_after
            log.warning("entry %d (run %d) stays pending for %s: %s", entry.id, entry.run, notifier.kind,
                        result.detail)
            return False

        count = self.state.count_rejection(notifier.kind, entry.id)
        if count >= self.settings.max_rejections:
            log.error("entry %d (run %d) rejected by %s %d times (%s); skipping it", entry.id, entry.run,
                      notifier.kind, count, result.detail)
            self.state.advance(notifier.kind, entry.id)
            return True
        log.warning("entry %d (run %d) rejected by %s (%s); try %d of %d next cycle", entry.id, entry.run,
                    notifier.kind, result.detail, count, self.settings.max_rejections)
        return False

    def run(self, once: bool = False, replay: Optional[int] = None) -> int:
        """Cycle until stopped (or once); return the exit status."""
        log.info("DifferBot started: log %s via %s, every %g s, notifiers %s, state %s",
                 self.settings.change_log_url, self.settings.proxy or "direct connection",
                 self.settings.poll_interval, ", ".join(n.kind for n in self.notifiers), self.state.path)
        while True:
            complete = self.run_cycle(replay)
            if once:
                return 0 if complete else 1
            if self.stop.wait(self.settings.poll_interval):
                log.info("DifferBot stopping: state saved in %s", self.state.path)
                return 0

    def close(self) -> None:
        self.source.close()
        for notifier in self.notifiers:
            notifier.close()


def _start_cursor(entries: List[Entry], replay: int) -> int:
    """Return the cursor that leaves the last `replay` entries to post (0 with an empty log)."""
    if not entries:
        return 0
    if replay <= 0:
        return entries[-1].id
    if replay >= len(entries):
        return entries[0].id - 1
    return entries[-replay - 1].id


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="DifferBot.py", description="Post each new RunInfoDiffer change-log "
                                     "entry to Slack or Mattermost (and optionally e-mail).")
    add_arguments(parser)
    parser.add_argument("--once", action="store_true", help="run one cycle and exit: 0 when nothing is "
                        "pending, 1 otherwise (for cron and tests)")
    parser.add_argument("--replay", type=int, metavar="N", help="on first start (no state file), also post "
                        "the newest N entries")
    parser.add_argument("--debug", action="store_true", help="log debug messages")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the bot; return its exit status (0 done or stopped, 1 pending after --once, 2 trouble)."""
    args = build_parser().parse_args(argv)
    handler = configure_logging(args.debug)
    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        log.info("received %s: finishing the current post", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    try:
        settings = settings_from_config(load_config(args.config), args)
        with StateLock(settings.lock_path):
            notifiers = make_notifiers(settings, stop)
            hide_secrets(handler, _secrets(settings))
            bot = DifferBot(settings, notifiers, stop)
            try:
                return bot.run(once=args.once, replay=args.replay)
            finally:
                bot.close()
    except RunInfoDifferError as error:
        print(f"DifferBot: error: {error}", file=sys.stderr)
        return error.exit_status


def _secrets(settings: BotSettings) -> List[str]:
    secrets = []
    for reader in (settings.webhook_url, settings.bot_token):
        try:
            secrets.append(reader())
        except RunInfoDifferError:
            pass
    return secrets
