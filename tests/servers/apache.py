"""A private Apache httpd with CGI on 127.0.0.1, for end-to-end tests and `make bench`.

Apache runs CGI scripts as www-data, so everything a script touches must be readable
by that user: the checkout copy, the database, the interpreter. Three facts shape the
helpers below:

* pytest's tmp_path lies under a 0700 folder, so sites live in a fresh 0755 folder
  under /tmp (`world_readable_folder`);
* the interpreter must be reachable by www-data, which pyenv's under /root is not.
  CGI scripts run from a venv of Debian's /usr/bin/python3 (`cgi_venv`), cached in
  /tmp by the hash of its requirements. Their `#!/usr/bin/env python3` line finds it
  through `SetEnv PATH`, as docs/web.md deploys them;
* Apache refuses `User root`, and without a User line a CGI script would run as root
  and hide permission mistakes, so the config sets `User www-data`.

`log_config` is compiled into Debian's apache2; loading it again is a syntax error.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Sequence

APACHE = "/usr/sbin/apache2"
MODULES = Path("/usr/lib/apache2/modules")
SYSTEM_PYTHON = "/usr/bin/python3"
#: What the CGI script imports beyond the standard library (see pyproject.toml).
CGI_REQUIREMENTS = ("Jinja2>=3.0", "pygit2>=1.14")
#: Parts of the checkout that the web interface needs at run time.
CHECKOUT_PARTS = ("runinfodiffer", "cgi-bin", "html", "diffed_parameters.txt")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def world_readable_folder(prefix: str) -> Path:
    """Create a folder under /tmp that www-data can traverse and read."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    folder.chmod(0o755)
    return folder


def cgi_venv(requirements: Sequence[str] = CGI_REQUIREMENTS) -> Path:
    """Return the python of a venv of /usr/bin/python3 with `requirements`, building it once.

    The venv lives in /tmp/runinfodiffer-cgi-venv-HASH, world-readable. A lock file
    serialises concurrent builders, and a marker file marks a finished build.
    """
    key = hashlib.sha256("\n".join([SYSTEM_PYTHON, *requirements]).encode()).hexdigest()[:12]
    folder = Path(f"/tmp/runinfodiffer-cgi-venv-{key}")
    python = folder / "bin" / "python"
    marker = folder / ".complete"
    with open(f"/tmp/runinfodiffer-cgi-venv-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            shutil.rmtree(folder, ignore_errors=True)
            subprocess.run([SYSTEM_PYTHON, "-m", "venv", str(folder)], check=True, timeout=300)
            subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                            *requirements], check=True, timeout=600)
            marker.touch()
    return python


def copy_checkout(source: Path, target: Path, python: Path) -> Path:
    """Copy the web interface's files to `target`, readable by all, compiled by `python`."""
    target.mkdir(parents=True, exist_ok=True)
    target.chmod(0o755)
    for part in CHECKOUT_PARTS:
        origin = source / part
        if origin.is_dir():
            shutil.copytree(origin, target / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(origin, target / part)
    for path in [target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    for script in (target / "cgi-bin").glob("*.py"):
        script.chmod(0o755)
    # www-data cannot write __pycache__ here, so without this step every request would
    # compile the package from source; the deployment docs ask for the same step.
    subprocess.run([str(python), "-m", "compileall", "-q", str(target / "runinfodiffer")], check=True, timeout=120)
    return target


@dataclass
class Apache:
    """A running Apache: base URL, its folder and logs."""

    folder: Path
    port: int
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def error_log(self) -> Path:
        return self.folder / "error.log"

    @property
    def access_log(self) -> Path:
        return self.folder / "access.log"

    def stop(self) -> None:
        """Stop with SIGTERM to the parent, which stops its children and frees the port."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def __enter__(self) -> "Apache":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def apache_config(folder: Path, port: int, checkout: Path, env: Dict[str, str]) -> str:
    """Return an httpd.conf: mpm_event with mod_cgid, the hcalmon URL layout, `env` passed to CGI."""
    modules = ["mpm_event", "cgid", "authz_core", "alias", "mime", "dir", "env"]
    lines = [f'ServerRoot "{folder}"', f"Listen 127.0.0.1:{port}", "ServerName 127.0.0.1",
             f'PidFile "{folder}/httpd.pid"', f'DefaultRuntimeDir "{folder}"', f'ErrorLog "{folder}/error.log"',
             "LogLevel warn", "User www-data", "Group www-data"]
    lines += [f'LoadModule {name}_module "{MODULES}/mod_{name}.so"' for name in modules]
    lines += [
        f'ScriptSock "{folder}/cgid.sock"',
        "TypesConfig /etc/mime.types",
        # %D: the time taken to serve the request, in microseconds.
        'LogFormat "%h %t \\"%r\\" %>s %b %D" timed',
        f'CustomLog "{folder}/access.log" timed',
        "DirectoryIndex index.html",
        f'ScriptAlias /cgi-bin/RunInfoDiffer/ "{checkout}/cgi-bin/"',
        f'Alias /RunInfoDiffer/ "{checkout}/html/"',
        f'<Directory "{checkout}/cgi-bin">', "    Options +ExecCGI", "    Require all granted", "</Directory>",
        f'<Directory "{checkout}/html">', "    Require all granted", "</Directory>",
    ]
    lines += [f'SetEnv {name} "{value}"' for name, value in env.items()]
    return "\n".join(lines) + "\n"


def start_apache(folder: Path, checkout: Path, env: Optional[Dict[str, str]] = None,
                 port: Optional[int] = None, timeout: float = 20.0) -> Apache:
    """Write the config into `folder`, start Apache in the foreground and wait until it serves."""
    port = port or free_port()
    config = folder / "httpd.conf"
    config.write_text(apache_config(folder, port, checkout, env or {}), encoding="utf-8")
    check = subprocess.run([APACHE, "-t", "-f", str(config)], capture_output=True, text=True, timeout=30)
    if check.returncode != 0:
        raise RuntimeError(f"apache2 rejected {config}: {check.stderr.strip()}")

    with open(folder / "stderr.log", "wb") as stderr:
        process = subprocess.Popen([APACHE, "-DFOREGROUND", "-f", str(config)],
                                   stdout=subprocess.DEVNULL, stderr=stderr)
    server = Apache(folder, port, process)
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"{server.url}/RunInfoDiffer/", timeout=2).read()
            return server
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"apache2 exited with status {process.returncode}: "
                                   f"{tail(folder / 'stderr.log')} {tail(server.error_log)}") from None
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"apache2 did not answer on port {port} within {timeout} s")
            time.sleep(0.05)


@dataclass
class Site:
    """A world-readable folder with a checkout copy, a database copy and a settings file."""

    folder: Path
    checkout: Path
    database: Path
    config: Path
    python: Path

    @property
    def cgi_env(self) -> Dict[str, str]:
        """Return the `SetEnv` values of the documented deployment.

        The scripts keep their `#!/usr/bin/env python3` line, so PATH picks the venv.
        """
        return {"RUNINFODIFFER_CONFIG": str(self.config), "PATH": f"{self.python.parent}:/usr/bin:/bin"}


def prepare_site(source: Path, database: Path, python: Path, prefix: str = "runinfodiffer-site-") -> Site:
    """Copy the checkout and `database` into a new world-readable folder and write its settings.

    The change log and poller state paths point into the folder, so tests may write them.
    """
    folder = world_readable_folder(prefix)
    checkout = copy_checkout(source, folder / "checkout", python)
    data = folder / "data"
    data.mkdir()
    data.chmod(0o755)
    copy = data / database.name
    shutil.copy2(database, copy)
    copy.chmod(0o644)
    config = data / "runinfodiffer.toml"
    config.write_text(
        f'database = "sqlite:///{copy}"\n'
        f'parameter_file = "{checkout / "diffed_parameters.txt"}"\n'
        f'change_log = "{data / "BotUrlLog.html"}"\n'
        f'state = "{data / "poller-state.json"}"\n',
        encoding="utf-8",
    )
    config.chmod(0o644)
    return Site(folder, checkout, copy, config, python)


def tail(path: Path, lines: int = 40) -> str:
    """Return the last `lines` lines of a log, for assertion messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
