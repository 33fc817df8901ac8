"""Durable file replacement and single-instance locks, for the poller and the bot.

Standard library only, because the bot host imports it without the database code.
"""

from __future__ import annotations

import errno
import fcntl
import os
import tempfile
from pathlib import Path
from typing import Callable, Optional

from .errors import RunInfoDifferError


class LockHeld(RunInfoDifferError):
    """Another process holds the lock; the message names its pid."""


def write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    """Replace `path` with `text`, so that a reader sees, and a crash leaves, the old or the new file.

    The text goes to a temporary file in the same folder, is flushed with fsync, and is
    moved into place with `os.replace`; then the folder is synced so the rename itself
    survives a power cut (where the file system allows fsync on a folder).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)  # mkstemp creates 0600; web server and bot read these files
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    try:
        descriptor = os.open(str(folder), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems reject fsync on a folder
    finally:
        os.close(descriptor)


class PidLock:
    """An exclusive `flock` on a lock file that contains the holder's pid.

    The kernel releases the lock when the holder exits, also on SIGKILL, so a stale lock
    file never blocks a restart. `describe_holder(pid)` words the LockHeld message.
    """

    def __init__(self, path: Path, describe_holder: Callable[[str], str]):
        self.path = Path(path)
        self._describe_holder = describe_holder
        self._descriptor: Optional[int] = None

    def acquire(self) -> None:
        """Take the lock or raise LockHeld naming the holder's pid."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Opened without O_TRUNC: truncating before the lock is ours would erase the
        # holder's pid.
        descriptor = os.open(str(self.path), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            holder = os.read(descriptor, 64).decode("ascii", "replace").strip() or "unknown"
            os.close(descriptor)
            if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise LockHeld(self._describe_holder(holder)) from None
            raise LockHeld(f"cannot lock {self.path}: {error.strerror}") from error
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

    def __enter__(self) -> "PidLock":
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()
