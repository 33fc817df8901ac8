"""Logging setup for the bot: timestamps, and secrets replaced before any record is written."""

from __future__ import annotations

import logging
import sys
import time
from typing import Iterable, List

REDACTED = "[secret]"


class SecretFilter(logging.Filter):
    """Replaces every occurrence of the given secrets in a record's formatted message."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets: List[str] = sorted({s for s in secrets if s}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        cleaned = message
        for secret in self.secrets:
            cleaned = cleaned.replace(secret, REDACTED)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            for secret in self.secrets:
                record.exc_text = record.exc_text.replace(secret, REDACTED)
        return True


def configure_logging(debug: bool = False) -> logging.Handler:
    """Log to stderr with UTC timestamps; return the handler so secrets can be added to it."""
    handler = logging.StreamHandler(sys.stderr)
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%SZ")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    if not debug:
        logging.getLogger("urllib3").setLevel(logging.WARNING)
    return handler


def hide_secrets(handler: logging.Handler, secrets: Iterable[str]) -> None:
    """Add a SecretFilter for `secrets` to `handler`."""
    handler.addFilter(SecretFilter(secrets))
