"""Which process owns the other end of a loopback TCP connection (Linux /proc only).

Tests use it to tell a direct connection from one relayed by sshd: a server looks up
the client's source port while the connection is open.
"""

from __future__ import annotations

import os
import socket
import sys
from http.server import ThreadingHTTPServer
from typing import Optional


def socket_owner_pid(local_port: int) -> Optional[int]:
    """Return the pid holding the TCP socket bound to 127.0.0.1:`local_port`, or None."""
    inode = _socket_inode(local_port)
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for pid in filter(str.isdigit, os.listdir("/proc")):
        folder = f"/proc/{pid}/fd"
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            try:
                if os.readlink(f"{folder}/{name}") == target:
                    return int(pid)
            except OSError:
                continue
    return None


def _socket_inode(local_port: int) -> Optional[str]:
    wanted = f"{local_port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as stream:
                next(stream)
                for line in stream:
                    fields = line.split()
                    if fields[1].rsplit(":", 1)[1] == wanted and fields[9] != "0":
                        return fields[9]
        except OSError:
            continue
    return None


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class QuietHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that ignores clients vanishing mid-request (killed bots)."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)
