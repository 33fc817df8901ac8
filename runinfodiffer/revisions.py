"""Digests of recent values per partition and parameter, for revert marks in the poller.

The poller marks a change that brings back an earlier value ("reverted to the value of
run N") without reading old runs again: for every partition and parameter it keeps the
digests of the last values it saw change, in its state file. Only changes are stored,
so `depth` entries span at least `depth` global runs.
"""

from __future__ import annotations

import hashlib
from typing import Dict, List, Optional, Tuple

from .compare import normalize
from .model import Change
from .runinfo import RunRecord

#: Stored value changes per partition and parameter.
DEFAULT_DEPTH = 50
#: Digest of "no row in this run", which differs from the digest of every value.
NOT_RECORDED = "-"


def value_digest(value: Optional[str]) -> str:
    """Return a short digest of the normalised value; NOT_RECORDED for None."""
    if value is None:
        return NOT_RECORDED
    return hashlib.blake2b(normalize(value).encode("utf-8"), digest_size=8).hexdigest()


class ValueMemory:
    """Per key ``PARTITION:PARAMETER``, the list ``[[run, digest], ...]`` oldest first.

    The lists live in `data`, which the poller saves with its state.
    """

    def __init__(self, data: Dict[str, List[list]], depth: int = DEFAULT_DEPTH):
        self.data = data
        self.depth = depth

    def seed(self, key: str, run: int, digest: str) -> None:
        """Start the list of `key` with the baseline's value, unless it has one."""
        self.data.setdefault(key, [[run, digest]])

    def revert_source(self, key: str, digest: str) -> Optional[int]:
        """Return the newest earlier run whose value had `digest`, ignoring the current one."""
        entries = self.data.get(key, [])
        for run, stored in reversed(entries[:-1]):
            if stored == digest:
                return int(run)
        return None

    def record(self, key: str, run: int, digest: str) -> None:
        """Append the value of `run` when it differs from the last one; keep `depth` entries."""
        entries = self.data.setdefault(key, [])
        if entries and entries[-1][1] == digest:
            return
        entries.append([run, digest])
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
    """Return the earlier run that held the change's new value in all its partitions."""
    digest = value_digest(change.new_value if change.new_recorded else None)
    sources = {memory.revert_source(f"{partition}:{change.parameter}", digest) for partition in change.partitions}
    if len(sources) == 1:
        return sources.pop()
    return None
