"""The poller's state file and the lock that keeps a second poller from writing it.

The state is one JSON object::

    {"last_run": 330020, "baselines": {"HCAL_HF": 330012}, "next_entry_id": 8,
     "heartbeat": "2026-12-04T20:00:00Z", "last_poll": "2026-12-04T20:00:00Z", "pid": 4242}

`last_run` is the last global run the poller finished (processed or skipped), or None
before the first start picked one. `baselines` maps each partition (catalog spelling) to
the last processed global run in which it took part. The web status page reads this
file, so it is replaced atomically. It is written to a temporary file, flushed with
fsync and moved into place with `os.replace`, then the folder is synced. A crash
leaves either the old or the new state, never a mix.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Optional

from .errors import ConfigError
from .files import PidLock, write_atomic


def utc_now() -> str:
    """Return the current UTC time as ISO 8601 with a trailing Z, to the second."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class PollerState:
    """The state the poller keeps across restarts."""

    last_run: Optional[int] = None
    baselines: Dict[str, int] = field(default_factory=dict)
    next_entry_id: int = 1
    #: Last time the poll loop was alive (every cycle, also when the database is down).
    heartbeat: Optional[str] = None
    #: Last time the query for new global runs succeeded.
    last_poll: Optional[str] = None
    pid: Optional[int] = None
    #: Recent value digests per "PARTITION:PARAMETER", for revert marks (see revisions.py).
    values: Dict[str, list] = field(default_factory=dict)
    #: The last global runs finished (processed or skipped), oldest first, for the
    #: revert look-back window.
    recent_globals: List[int] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "PollerState":
        """Build the state from parsed JSON; raise ValueError on a missing or mistyped key."""
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        last_run = data.get("last_run")
        if last_run is not None and type(last_run) is not int:
            raise ValueError(f"last_run must be an integer or null, got {last_run!r}")
        baselines = data.get("baselines", {})
        if not isinstance(baselines, dict) or not all(type(run) is int for run in baselines.values()):
            raise ValueError("baselines must map partition names to run numbers")
        values = data.get("values", {})
        if not isinstance(values, dict):
            raise ValueError("values must map PARTITION:PARAMETER to lists of [run, digest]")
        next_entry_id = data.get("next_entry_id", 1)
        if type(next_entry_id) is not int or next_entry_id < 1:
            raise ValueError(f"next_entry_id must be a positive integer, got {next_entry_id!r}")
        return cls(
            last_run=last_run,
            baselines=dict(baselines),
            next_entry_id=next_entry_id,
            heartbeat=data.get("heartbeat"),
            last_poll=data.get("last_poll"),
            pid=data.get("pid"),
            values=dict(values),
            recent_globals=[int(run) for run in data.get("recent_globals", [])],
        )


def load_state(path: Path) -> Optional[PollerState]:
    """Read the state file; None when it does not exist.

    Raises ConfigError for a file that cannot be read or parsed, because guessing a
    state would skip or repeat runs.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ConfigError(f"cannot read poller state {path}: {error.strerror}") from error
    try:
        return PollerState.from_dict(json.loads(text))
    except ValueError as error:
        raise ConfigError(
            f"invalid poller state {path}: {error}; fix it, or delete it to start at the latest global run"
        ) from error


def save_state(path: Path, state: PollerState) -> None:
    """Replace the state file atomically and durably."""
    write_atomic(Path(path), json.dumps(state.to_dict(), indent=1, sort_keys=True) + "\n")


def lock_path(state_path: Path) -> Path:
    """Return the lock file beside the state: `<state>.lock`."""
    return Path(f"{state_path}.lock")


class StateLock(PidLock):
    """The poller's lock on `<state>.lock`; a second poller gets LockHeld naming the first."""

    def __init__(self, state_path: Path):
        path = lock_path(state_path)
        super().__init__(path, lambda pid: f"another poller (pid {pid}) is running on this state; lock file {path}")
