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

import errno
import fcntl
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, Optional

from .errors import ConfigError, RunInfoDifferError


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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(state.to_dict(), indent=1, sort_keys=True) + "\n"
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)  # the web status page reads it; mkstemp makes it 0600
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    # The rename is durable only once the folder's entry is on disk.
    descriptor = os.open(str(folder), os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class PollerRunning(RunInfoDifferError):
    """Another poller holds the lock on the same state file."""


def lock_path(state_path: Path) -> Path:
    """Return the lock file beside the state: `<state>.lock`."""
    return Path(f"{state_path}.lock")


class StateLock:
    """An exclusive `flock` on `<state>.lock`, which contains the holder's pid.

    The kernel releases the lock when the holder exits, also on SIGKILL, so a stale lock
    file never blocks a restart.
    """

    def __init__(self, state_path: Path):
        self.path = lock_path(state_path)
        self._descriptor: Optional[int] = None

    def acquire(self) -> None:
        """Take the lock or raise PollerRunning naming the holder's pid."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Opened without O_TRUNC: truncating before the lock is ours would erase the
        # running poller's pid.
        descriptor = os.open(str(self.path), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            holder = os.read(descriptor, 64).decode("ascii", "replace").strip() or "unknown"
            os.close(descriptor)
            if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise PollerRunning(
                    f"another poller (pid {holder}) is running on this state; lock file {self.path}"
                ) from None
            raise ConfigError(f"cannot lock {self.path}: {error.strerror}") from error
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode("ascii"))
        os.fsync(descriptor)
        self._descriptor = descriptor

    def release(self) -> None:
        """Release the lock; the file stays, so it always names the last holder."""
        if self._descriptor is not None:
            fcntl.flock(self._descriptor, fcntl.LOCK_UN)
            os.close(self._descriptor)
            self._descriptor = None

    def __enter__(self) -> "StateLock":
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()
