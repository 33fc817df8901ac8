"""Digests of recent values per partition and parameter, for revert marks in the poller.

The poller marks a change that brings back an earlier value ("reverted to the value of
run N") without reading old runs again. For every partition and parameter it keeps, in
its state file, the digests of the last values it saw. There is one entry per value, so
`depth` entries span at least `depth` global runs.
"""

from __future__ import annotations

import hashlib
from typing import Dict, List, Optional, Tuple

from .compare import normalize
from .history import DEFAULT_LOOKBACK
from .model import Change
from .runinfo import RunRecord

#: Stored value changes per partition and parameter.
DEFAULT_DEPTH = 50
#: Digest of "no row in this run", which differs from the digest of every value.
NOT_RECORDED = "-"
#: Global runs before a diff's older run in which an earlier value counts as reverted
#: to, as `history.mark_reverts` looks back for the web views and the CLI.
LOOKBACK = DEFAULT_LOOKBACK
#: Global run numbers the poller keeps to place that window.
RECENT_GLOBALS = 500


def value_digest(value: Optional[str]) -> str:
    """Return a short digest of the normalised value; NOT_RECORDED for None."""
    if value is None:
        return NOT_RECORDED
    return hashlib.blake2b(normalize(value).encode("utf-8"), digest_size=8).hexdigest()


class ValueMemory:
    """Per key ``PARTITION:PARAMETER``, the list ``[[first_run, digest, last_run], ...]``.

    Each entry is one value in the order the values appeared: the run that brought it
    and the newest run seen holding it. The lists live in `data`, which the poller
    saves with its state.
    """

    def __init__(self, data: Dict[str, List[list]], depth: int = DEFAULT_DEPTH):
        self.data = data
        self.depth = depth

    def seed(self, key: str, run: int, digest: str) -> None:
        """Start the list of `key` with the baseline's value, unless it has one."""
        self.data.setdefault(key, [[run, digest, run]])

    def revert_source(self, key: str, digest: str) -> Optional[int]:
        """Return the newest earlier run that held `digest`, ignoring the current value.

        This is the rule of the history and the web views: the latest run whose value
        the change brings back.
        """
        entries = self.data.get(key, [])
        for entry in reversed(entries[:-1]):
            if entry[1] == digest:
                return int(entry[-1])
        return None

    def record(self, key: str, run: int, digest: str) -> None:
        """Note the value of `run`: a new entry when it changed; keep `depth` entries."""
        entries = self.data.setdefault(key, [])
        if entries and entries[-1][1] == digest:
            entries[-1][2:] = [run]
            return
        entries.append([run, digest, run])
        del entries[:-self.depth]


def remember_values(memory: ValueMemory, record: RunRecord, pairs: List[Tuple[str, str]], seed: bool) -> None:
    """Store the run's value digests: as first entries (`seed`) or as possible changes."""
    for partition, parameter in pairs:
        digest = value_digest(record.values.get((partition, parameter)))
        key = f"{partition}:{parameter}"
        if seed:
            memory.seed(key, record.run, digest)
        else:
            memory.record(key, record.run, digest)


def revert_source(memory: ValueMemory, change: Change) -> Optional[int]:
    """Return the earlier run that held the change's new value in all its partitions.

    A parameter that stops being recorded is reported as "not recorded", never as a
    revert, as in `history.mark_reverts`.
    """
    if not change.new_recorded:
        return None
    digest = value_digest(change.new_value)
    sources = {memory.revert_source(f"{partition}:{change.parameter}", digest) for partition in change.partitions}
    if len(sources) == 1:
        return sources.pop()
    return None


def within_lookback(recent_globals: List[int], baseline: int, source: int, lookback: int = LOOKBACK) -> bool:
    """Return whether `source` is among the `lookback` newest global runs before `baseline`.

    `recent_globals` lists the global runs the poller finished, oldest first. When it
    contains fewer than `lookback` runs before `baseline`, every run in it counts.
    """
    before = [run for run in recent_globals if run < baseline]
    if len(before) < lookback:
        return True
    return source >= before[-lookback]
