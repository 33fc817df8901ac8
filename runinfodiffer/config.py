"""Settings from `runinfodiffer.toml`.

The file is found through `--config`, then the environment variable
`RUNINFODIFFER_CONFIG`, then `runinfodiffer.toml` in the checkout next to `cgi-bin/`.
Without a file every key keeps its default. Relative paths in the file are relative to
the file's folder; relative paths in defaults are relative to the checkout.
"""

from __future__ import annotations

import logging
import os
import stat
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Dict, Optional
from urllib.parse import urlsplit

from .errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised by the Python 3.9 CI run
    import tomli as tomllib

log = logging.getLogger(__name__)

#: The checkout: the folder that holds `cgi-bin/`, `html/` and the package.
CHECKOUT = Path(__file__).resolve().parent.parent
CONFIG_NAME = "runinfodiffer.toml"
ENV_CONFIG = "RUNINFODIFFER_CONFIG"

_PATH_KEYS = ("password_file", "parameter_file", "change_log", "state")


@dataclass
class DatabaseURL:
    """The RunInfo database location: an SQLite file or an Oracle service."""

    kind: str  # "sqlite" or "oracle"
    path: Optional[Path] = None
    user: str = ""
    host: str = ""
    port: int = 1521
    service: str = ""

    def __str__(self) -> str:
        """Return the URL without any secret, for logs and messages."""
        if self.kind == "sqlite":
            return f"sqlite:///{self.path}"
        return f"oracle://{self.user}@{self.host}:{self.port}/{self.service}"


def parse_database_url(url: str, base: Path) -> DatabaseURL:
    """Parse ``sqlite:///PATH`` (or a bare path) and ``oracle://USER@HOST:PORT/SERVICE``.

    A relative SQLite path is taken relative to `base`. A password in the URL is
    rejected, because passwords belong in the password file.
    """
    if "://" not in url:
        return DatabaseURL("sqlite", path=(base / url) if not os.path.isabs(url) else Path(url))
    if url.startswith("sqlite:///"):
        raw = url[len("sqlite:///"):]
        if not raw:
            raise ConfigError("database URL sqlite:/// names no file: use sqlite:///PATH")
        return DatabaseURL("sqlite", path=Path(raw) if os.path.isabs(raw) else base / raw)

    parts = urlsplit(url)
    if parts.scheme != "oracle":
        raise ConfigError(
            f"unsupported database URL {url.split('://')[0]}://...: "
            "use sqlite:///PATH or oracle://USER@HOST:PORT/SERVICE"
        )
    if parts.password is not None:
        raise ConfigError("the Oracle URL must not contain a password: put it in the password file")
    service = parts.path.lstrip("/")
    if not (parts.username and parts.hostname and service):
        raise ConfigError("invalid Oracle URL: expected oracle://USER@HOST:PORT/SERVICE")
    try:
        port = parts.port or 1521
    except ValueError as error:
        raise ConfigError(f"invalid port in Oracle URL: {error}") from error
    return DatabaseURL("oracle", user=parts.username, host=parts.hostname, port=port, service=service)


@dataclass
class Config:
    """All settings; field names are the keys of `runinfodiffer.toml`."""

    database: str = "sqlite:///var/sample.sqlite"
    password_file: Path = field(default=CHECKOUT / "database_pwd.txt")
    schema: str = "CMS_RUNINFO"
    parameter_file: Path = field(default=CHECKOUT / "diffed_parameters.txt")
    web_base_url: str = "http://127.0.0.1:8000/cgi-bin/viewDiffer.py"
    change_log: Path = field(default=CHECKOUT / "var" / "BotUrlLog.html")
    change_log_cap: int = 100
    state: Path = field(default=CHECKOUT / "var" / "poller-state.json")
    poll_interval: float = 30.0
    global_marker: str = "/hcalpro/Global/"
    max_catchup: int = 500
    diff_budget: int = 2000
    #: Raw `[bot]` table; the bot validates its own keys.
    bot: Dict[str, Any] = field(default_factory=dict)
    #: The file these settings came from, or None for defaults.
    source: Optional[Path] = None
    #: Folder that relative paths are resolved against.
    base: Path = CHECKOUT

    @property
    def database_url(self) -> DatabaseURL:
        return parse_database_url(self.database, self.base)

    def read_password(self) -> str:
        """Return the first line of the password file; warn when others may read it."""
        path = self.password_file
        try:
            mode = path.stat().st_mode
            first_line = path.read_text(encoding="utf-8").splitlines()[:1]
        except OSError as error:
            raise ConfigError(f"cannot read password file {path}: {error.strerror}") from error
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning("password file %s is readable by group or others: run chmod 600 %s", path, path)
        if not first_line or not first_line[0].strip():
            raise ConfigError(f"password file {path} is empty: its first line must be the password")
        return first_line[0].strip()


def find_config(explicit: Optional[str] = None) -> Optional[Path]:
    """Return the config file to use: `explicit`, then $RUNINFODIFFER_CONFIG, then the checkout's."""
    for candidate in (explicit, os.environ.get(ENV_CONFIG)):
        if candidate:
            path = Path(candidate)
            if not path.is_file():
                raise ConfigError(f"config file not found: {path}")
            return path
    default = CHECKOUT / CONFIG_NAME
    return default if default.is_file() else None


def load_config(explicit: Optional[str] = None) -> Config:
    """Find and read the configuration; defaults when no file exists."""
    path = find_config(explicit)
    if path is None:
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from error
    return config_from_dict(data, source=path)


def config_from_dict(data: Dict[str, Any], source: Optional[Path] = None) -> Config:
    """Build a Config from parsed TOML, resolving paths against the source's folder."""
    base = source.resolve().parent if source else CHECKOUT
    allowed = {f.name for f in fields(Config)} - {"source", "base"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(allowed))}")

    config = Config(source=source, base=base)
    for key, value in data.items():
        default = getattr(config, key)
        if isinstance(default, Path):
            if not isinstance(value, str):
                raise ConfigError(f"{source}: {key} must be a path string")
            value = Path(value) if os.path.isabs(value) else base / value
        elif isinstance(default, float) and type(value) is int:
            value = float(value)
        elif type(value) is not type(default):
            raise ConfigError(f"{source}: {key} must be of type {type(default).__name__}")
        setattr(config, key, value)

    # Validate the URL now, so a typo fails at start rather than at the first query.
    config.database_url
    return config
