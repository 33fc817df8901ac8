"""Bot settings: the `[bot]` table of `runinfodiffer.toml`, then command-line overrides.

Secrets (the webhook URL and the Web API token) are read from a file or an
environment variable and never from the settings file, so the settings file can sit
in the repository. They are read when a notifier is created and never stored in the
settings object, so they stay out of its `repr()`; the bot's log filter hides them.
"""

from __future__ import annotations

import argparse
import os
import stat
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Dict, List, Optional

from ..config import CHECKOUT, Config
from ..errors import ConfigError

ENV_WEBHOOK_URL = "RUNINFODIFFER_WEBHOOK_URL"
ENV_BOT_TOKEN = "RUNINFODIFFER_SLACK_TOKEN"

NOTIFIER_KINDS = ("webhook", "webapi", "email")
FLAVORS = ("slack", "mattermost")

_PATH_KEYS = ("state", "webhook_url_file", "token_file")


@dataclass
class BotSettings:
    """All bot settings; field names are the keys of the `[bot]` table."""

    #: The change log on the web interface; a URL ending in `.json` selects the JSON form.
    change_log_url: str = "http://hcalmon.cms/RunInfoDiffer/BotUrlLog.html"
    #: SOCKS proxy for the change log and diffs only; "" connects directly.
    #: `socks5h` makes the far end of the tunnel resolve host names.
    proxy: str = "socks5h://localhost:1080"
    #: Seconds between two reads of the change log.
    poll_interval: float = 10.0
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    #: File with the last posted entry id per notifier; the lock file sits beside it.
    state: Path = field(default=CHECKOUT / "var" / "bot-state.json")
    #: Notifier kinds to post to: "webhook", "webapi", "email".
    notifiers: List[str] = field(default_factory=lambda: ["webhook"])
    #: Message markup: "slack" (text and blocks) or "mattermost" (Markdown text only).
    flavor: str = "slack"
    #: Retries of one post after a 5xx response or a connection error, within a cycle.
    retries: int = 2
    #: Longest Retry-After (seconds) waited for within a cycle; longer ones defer the post.
    max_retry_after: float = 60.0
    #: Posts of one entry that the endpoint may reject (4xx) before the entry is skipped.
    max_rejections: int = 3
    #: Seconds allowed for one request to Slack or Mattermost.
    slack_timeout: float = 15.0
    #: Maximum message length in characters. A Slack section block contains at most 3,000.
    message_limit: int = 3500
    webhook_url_file: Path = field(default=Path("~/.runinfodiffer/webhook-url").expanduser())
    token_file: Path = field(default=Path("~/.runinfodiffer/slack-token").expanduser())
    #: Slack channel for the "webapi" notifier (chat.postMessage), e.g. "#hcal-ops".
    channel: str = ""
    #: Slack Web API base URL; only tests change it.
    api_url: str = "https://slack.com/api/"
    smtp_host: str = "localhost"
    smtp_port: int = 25
    email_from: str = ""
    email_to: List[str] = field(default_factory=list)
    subject_prefix: str = "[RunInfoDiffer]"

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError for a value the bot cannot work with."""
        unknown = sorted(set(self.notifiers) - set(NOTIFIER_KINDS))
        if unknown or not self.notifiers:
            raise ConfigError(f"bot.notifiers: unknown or missing kind(s) {unknown}; "
                              f"valid kinds: {', '.join(NOTIFIER_KINDS)}")
        if self.flavor not in FLAVORS:
            raise ConfigError(f"bot.flavor must be one of {', '.join(FLAVORS)}, got {self.flavor!r}")
        if not self.change_log_url.startswith(("http://", "https://")):
            raise ConfigError(f"bot.change_log_url must be an http(s) URL, got {self.change_log_url!r}")
        if self.proxy and not self.proxy.startswith(("socks5h://", "socks5://", "socks4://", "socks4a://",
                                                      "http://", "https://")):
            raise ConfigError(f"bot.proxy must be a proxy URL such as socks5h://localhost:1080 "
                              f"or \"\" for direct connections, got {self.proxy!r}")
        for name in ("poll_interval", "connect_timeout", "read_timeout", "slack_timeout"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"bot.{name} must be a positive number of seconds")
        if self.retries < 0 or self.max_rejections < 1:
            raise ConfigError("bot.retries must be >= 0 and bot.max_rejections >= 1")
        if self.message_limit < 500:
            raise ConfigError("bot.message_limit must be at least 500 characters")
        if "email" in self.notifiers and not (self.email_from and self.email_to):
            raise ConfigError("the email notifier needs bot.email_from and bot.email_to")
        if "webapi" in self.notifiers and not self.channel:
            raise ConfigError("the webapi notifier needs bot.channel, e.g. \"#hcal-ops\"")

    @property
    def lock_path(self) -> Path:
        return self.state.with_name(self.state.name + ".lock")

    def webhook_url(self) -> str:
        """Return the incoming-webhook URL from $RUNINFODIFFER_WEBHOOK_URL or the webhook file."""
        return read_secret(ENV_WEBHOOK_URL, self.webhook_url_file, "webhook URL")

    def bot_token(self) -> str:
        """Return the Slack bot token from $RUNINFODIFFER_SLACK_TOKEN or the token file."""
        return read_secret(ENV_BOT_TOKEN, self.token_file, "Slack bot token")


def read_secret(variable: str, path: Path, description: str) -> str:
    """Return a secret from the environment variable, else the first line of `path`.

    The message on failure names both sources and never the secret itself.
    """
    value = os.environ.get(variable, "").strip()
    if value:
        return value
    try:
        mode = path.stat().st_mode
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ConfigError(f"no {description}: ${variable} is unset and {path} does not exist; "
                          f"write the {description} to {path} and run chmod 600 {path}") from None
    except OSError as error:
        raise ConfigError(f"cannot read {description} file {path}: {error.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{description} file {path} is readable by group or others: run chmod 600 {path}")
    if not lines or not lines[0].strip():
        raise ConfigError(f"{description} file {path} is empty: its first line must be the {description}")
    return lines[0].strip()


def settings_from_dict(data: Dict[str, Any], base: Path, source: Optional[Path] = None) -> BotSettings:
    """Build settings from a parsed `[bot]` table; relative paths are relative to `base`."""
    known = {f.name: f for f in fields(BotSettings)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{source or 'settings'}: unknown [bot] key(s) {', '.join(unknown)}; "
                          f"valid keys: {', '.join(sorted(known))}")

    defaults = BotSettings()
    values: Dict[str, Any] = {}
    for key, value in data.items():
        default = getattr(defaults, key)
        if key in _PATH_KEYS:
            if not isinstance(value, str):
                raise ConfigError(f"{source}: bot.{key} must be a path string")
            path = Path(value).expanduser()
            value = path if path.is_absolute() else base / path
        elif isinstance(default, float) and type(value) is int:
            value = float(value)
        elif isinstance(default, list):
            if not (isinstance(value, list) and all(isinstance(item, str) for item in value)):
                raise ConfigError(f"{source}: bot.{key} must be a list of strings")
        elif type(value) is not type(default):
            raise ConfigError(f"{source}: bot.{key} must be of type {type(default).__name__}")
        values[key] = value
    return BotSettings(**values)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options that override settings."""
    parser.add_argument("--config", metavar="FILE", help="settings file with a [bot] table "
                        "(default: $RUNINFODIFFER_CONFIG, then runinfodiffer.toml in the checkout)")
    parser.add_argument("--log-url", metavar="URL", help="change log URL (BotUrlLog.html or BotUrlLog.json)")
    parser.add_argument("--proxy", metavar="URL", help="SOCKS proxy for the change log and diffs, "
                        "e.g. socks5h://localhost:1080; \"\" connects directly")
    parser.add_argument("--interval", type=float, metavar="SECONDS", help="seconds between reads of the change log")
    parser.add_argument("--state", metavar="FILE", help="state file with the last posted entry ids")
    parser.add_argument("--notifier", action="append", choices=NOTIFIER_KINDS, metavar="KIND",
                        help="notifier to post to, repeatable: webhook, webapi, email (default: from settings)")


def settings_from_config(config: Config, args: Optional[argparse.Namespace] = None) -> BotSettings:
    """Return the `[bot]` settings of `config`, with command-line overrides from `args`."""
    data = dict(config.bot)
    if args is not None:
        overrides = {"change_log_url": args.log_url, "proxy": args.proxy, "poll_interval": args.interval,
                     "notifiers": args.notifier}
        data.update({key: value for key, value in overrides.items() if value is not None})
    settings = settings_from_dict(data, config.base, config.source)
    if args is not None and args.state:
        settings.state = Path(args.state).resolve()
    return settings
