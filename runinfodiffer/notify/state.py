"""The bot's state file and its lock.

The state file stores, per notifier kind, the id of the last change-log entry that was
posted (or skipped after repeated rejection). Entry ids only grow, so "post every
entry with a larger id" survives a log that shrinks, is rewritten or loses old
entries off the front. The file is replaced atomically after every post; a crash
between a post and the save repeats at most that one post.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, Optional

from ..errors import RunInfoDifferError
from ..files import LockHeld, PidLock, write_atomic

__all__ = ["BotState", "LockHeld", "StateError", "StateLock"]

STATE_VERSION = 1


class StateError(RunInfoDifferError):
    """The state file exists but cannot be read."""


class BotState:
    """Last posted entry id per notifier kind, and rejection counts of pending entries."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.cursors: Dict[str, int] = {}
        #: "KIND:ENTRY_ID" -> number of 4xx rejections so far.
        self.rejections: Dict[str, int] = {}
        self.exists = False

    def load(self) -> "BotState":
        """Read the file; a missing file leaves the state empty (first start)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return self
        except OSError as error:
            raise StateError(f"cannot read state file {self.path}: {error.strerror}") from None
        try:
            data = json.loads(text)
            self.cursors = {str(kind): int(value) for kind, value in data.get("cursors", {}).items()}
            self.rejections = {str(key): int(value) for key, value in data.get("rejections", {}).items()}
        except (ValueError, TypeError, AttributeError) as error:
            raise StateError(f"state file {self.path} is invalid ({error}); fix it, or delete it to "
                             "start over from the newest entry") from None
        self.exists = True
        return self

    def cursor(self, kind: str) -> Optional[int]:
        return self.cursors.get(kind)

    def advance(self, kind: str, entry_id: int) -> None:
        """Record `entry_id` as done for `kind` and save the file."""
        self.cursors[kind] = max(entry_id, self.cursors.get(kind, entry_id))
        self.rejections.pop(f"{kind}:{entry_id}", None)
        self.save()

    def count_rejection(self, kind: str, entry_id: int) -> int:
        """Add one rejection of `entry_id` by `kind`, save, and return the new count."""
        key = f"{kind}:{entry_id}"
        self.rejections[key] = self.rejections.get(key, 0) + 1
        self.save()
        return self.rejections[key]

    def save(self) -> None:
        """Write the state to a temporary file, fsync it, and move it over the old one."""
        payload = {
            "version": STATE_VERSION,
            "cursors": self.cursors,
            "rejections": self.rejections,
            "updated": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "pid": os.getpid(),
        }
        write_atomic(self.path, json.dumps(payload, indent=1, sort_keys=True) + "\n", mode=0o600)
        self.exists = True


class StateLock(PidLock):
    """An exclusive `flock` on the lock file beside the state file, held while the bot runs.

    The lock file contains the holder's pid, so the second bot can name it. The kernel
    drops the lock when the holder exits, even after SIGKILL, so a stale file is harmless.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path, lambda pid: f"another DifferBot (pid {pid}) is running on {path}; "
                         "stop it first, or give this one another --state file")
