"""A throw-away OpenSSH server on 127.0.0.1 and an `ssh -N -D` SOCKS tunnel through it.

This is the route the bot takes on cmshcalweb01 (`ssh -f -ND 1080 USER@cmsusr`), on
loopback: host and client keys are generated per test, sshd runs in the foreground
from a generated config, and the tunnel is ready once the SOCKS port answers a
version-5 greeting.
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import List, Optional

from .sockets import free_port

SSHD = "/usr/sbin/sshd"


class SshTunnel:
    """sshd plus one SOCKS tunnel; `proxy_url` is what the bot's `proxy` setting takes."""

    def __init__(self, folder: Path, sshd: str = SSHD, ssh: str = "ssh") -> None:
        self.folder = Path(folder)
        self.sshd_path = sshd
        self.ssh_path = ssh
        self.sshd_port = free_port()
        self.socks_port = free_port()
        self.sshd: Optional[subprocess.Popen] = None
        self.tunnel: Optional[subprocess.Popen] = None

    @property
    def proxy_url(self) -> str:
        return f"socks5h://127.0.0.1:{self.socks_port}"

    def __enter__(self) -> "SshTunnel":
        self._write_keys_and_config()
        self.start_sshd()
        self.start_tunnel()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop_tunnel()
        if self.sshd is not None:
            self.sshd.terminate()
            self.sshd.wait(10)

    def _write_keys_and_config(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        for name in ("host_key", "client_key"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.folder / name)],
                           check=True)
        (self.folder / "authorized_keys").write_text((self.folder / "client_key.pub").read_text())
        config = [
            "ListenAddress 127.0.0.1",
            f"HostKey {self.folder / 'host_key'}",
            f"PidFile {self.folder / 'sshd.pid'}",
            f"AuthorizedKeysFile {self.folder / 'authorized_keys'}",
            "PermitRootLogin prohibit-password",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "AllowTcpForwarding yes",
            "StrictModes no",
            "LogLevel ERROR",
        ]
        (self.folder / "sshd_config").write_text("\n".join(config) + "\n")

    def start_sshd(self) -> None:
        log = open(self.folder / "sshd.log", "ab")
        self.sshd = subprocess.Popen([self.sshd_path, "-D", "-e", "-f", str(self.folder / "sshd_config"),
                                      "-p", str(self.sshd_port)], stdout=log, stderr=log)
        _wait_for_port(self.sshd_port, self.sshd, "sshd")

    def tunnel_command(self) -> List[str]:
        return [self.ssh_path, "-F", "/dev/null", "-N", "-D", f"127.0.0.1:{self.socks_port}",
                "-p", str(self.sshd_port), "-i", str(self.folder / "client_key"),
                "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "IdentitiesOnly=yes", "-o", "ExitOnForwardFailure=yes", "-o", "LogLevel=ERROR",
                f"{getpass.getuser()}@127.0.0.1"]

    def start_tunnel(self) -> None:
        log = open(self.folder / "ssh.log", "ab")
        self.tunnel = subprocess.Popen(self.tunnel_command(), stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.tunnel.poll() is not None:
                raise RuntimeError(f"ssh -D exited with {self.tunnel.returncode}: "
                                   f"{(self.folder / 'ssh.log').read_text()}")
            if socks_ready(self.socks_port):
                return
            time.sleep(0.05)
        raise RuntimeError("ssh -D tunnel did not open its SOCKS port within 15 s")

    def stop_tunnel(self) -> None:
        if self.tunnel is not None and self.tunnel.poll() is None:
            self.tunnel.terminate()
            self.tunnel.wait(10)
        self.tunnel = None

    def sshd_pids(self) -> List[int]:
        """Return the pids of sshd and its children (the per-connection processes)."""
        if self.sshd is None:
            return []
        parents = {}
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stream:
                    parents[int(pid)] = int(stream.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
        tree = [self.sshd.pid]
        for ancestor in tree:
            tree.extend(pid for pid, parent in parents.items() if parent == ancestor)
        return tree


def socks_ready(port: int) -> bool:
    """Return True when a SOCKS5 server on 127.0.0.1:`port` accepts "no authentication"."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
            connection.sendall(b"\x05\x01\x00")
            return connection.recv(2) == b"\x05\x00"
    except OSError:
        return False


def _wait_for_port(port: int, process: subprocess.Popen, name: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{name} did not listen on 127.0.0.1:{port} within 10 s")
