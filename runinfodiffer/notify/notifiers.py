"""Notifiers: one small class per destination, selected by kind.

Each `send` returns a `Result` instead of raising:

- POSTED: the destination accepted the message.
- DEFERRED: a failure that is not the entry's fault (connection error, timeout, 5xx,
  429, a revoked webhook). The entry stays pending and is tried again next cycle.
- REJECTED: the destination refused this message (Slack answers 400
  `invalid_payload`, for example). The bot counts rejections per entry and skips
  the entry after `max_rejections`.

Slack connections never use the SOCKS proxy of the change log; slack_sdk honours
the usual HTTPS_PROXY variable on its own.
"""

from __future__ import annotations

import email.message
import logging
import smtplib
import socket
import threading
from dataclasses import dataclass
from email.utils import formatdate, make_msgid
from typing import Dict, List, Optional, Type
from urllib.error import URLError

from ..changelog import Entry
from .message import DiffOrReason, build_message, build_plain
from .retry import RetryLog, retry_handlers
from .settings import BotSettings

log = logging.getLogger(__name__)

#: slack_sdk logs request URLs (with the webhook secret) at INFO and DEBUG, so its
#: clients get this logger, which passes warnings and errors only.
sdk_log = logging.getLogger("runinfodiffer.notify.sdk")
sdk_log.setLevel(logging.WARNING)

POSTED, DEFERRED, REJECTED = "posted", "deferred", "rejected"

#: HTTP statuses that mean the webhook or channel itself is unusable, not the message:
#: every entry would fail the same way, so none is skipped for them.
_CONFIG_STATUSES = (401, 403, 404, 410)


@dataclass
class Result:
    """Outcome of one post, with details for the log."""

    outcome: str
    detail: str = ""
    #: Seconds the destination asked to wait (429 Retry-After), when known.
    retry_after: Optional[float] = None


class Notifier:
    """Base class: sends one entry with its diffs to one destination."""

    kind = ""

    def send(self, entry: Entry, diffs: List[DiffOrReason]) -> Result:
        raise NotImplementedError

    def close(self) -> None:
        """Release connections; the default has none."""


class WebhookNotifier(Notifier):
    """Slack or Mattermost incoming webhook (slack_sdk WebhookClient)."""

    kind = "webhook"

    def __init__(self, settings: BotSettings, stop: threading.Event) -> None:
        from slack_sdk.webhook import WebhookClient

        self.settings = settings
        url = settings.webhook_url()
        self.retry_log = RetryLog(self.kind, secrets=[url])
        self.client = WebhookClient(
            url,
            timeout=int(max(1, round(settings.slack_timeout))),
            logger=sdk_log,
            retry_handlers=retry_handlers(settings, stop, self.retry_log),
        )

    def send(self, entry: Entry, diffs: List[DiffOrReason]) -> Result:
        message = build_message(entry, diffs, self.settings.flavor, self.settings.message_limit)
        self.retry_log.entry = entry
        try:
            if message.blocks is None:
                response = self.client.send(text=message.text, unfurl_links=False)
            else:
                response = self.client.send(text=message.text, blocks=message.blocks, unfurl_links=False)
        except (URLError, OSError, socket.timeout) as error:
            return Result(DEFERRED, f"connection failed: {_reason(error)}")
        finally:
            self.retry_log.entry = None

        body = (response.body or "").strip()[:200]
        status = response.status_code
        if status == 200:
            return Result(POSTED, body)
        if status == 429:
            return Result(DEFERRED, f"rate limited (HTTP 429) {body}", _retry_after(response.headers))
        if status >= 500:
            return Result(DEFERRED, f"HTTP {status} {body}")
        if status in _CONFIG_STATUSES:
            return Result(DEFERRED, f"HTTP {status} {body}: the webhook URL is invalid or revoked, "
                                    "or its channel is archived; fix the webhook")
        return Result(REJECTED, f"HTTP {status} {body}")


class WebApiNotifier(Notifier):
    """Slack Web API `chat.postMessage` with a bot token and a channel (slack_sdk WebClient)."""

    kind = "webapi"

    #: Errors that are about the token or channel, not the message.
    _CONFIG_ERRORS = ("not_authed", "invalid_auth", "account_inactive", "token_revoked", "token_expired",
                      "not_in_channel", "channel_not_found", "is_archived", "missing_scope")

    def __init__(self, settings: BotSettings, stop: threading.Event) -> None:
        from slack_sdk import WebClient

        self.settings = settings
        token = settings.bot_token()
        self.retry_log = RetryLog(self.kind, secrets=[token])
        self.client = WebClient(
            token=token,
            base_url=settings.api_url,
            timeout=int(max(1, round(settings.slack_timeout))),
            logger=sdk_log,
            retry_handlers=retry_handlers(settings, stop, self.retry_log),
        )

    def send(self, entry: Entry, diffs: List[DiffOrReason]) -> Result:
        from slack_sdk.errors import SlackApiError, SlackRequestError

        message = build_message(entry, diffs, self.settings.flavor, self.settings.message_limit)
        self.retry_log.entry = entry
        try:
            self.client.chat_postMessage(channel=self.settings.channel, text=message.text,
                                         blocks=message.blocks, unfurl_links=False)
        except SlackApiError as error:
            status = error.response.status_code
            code = str(error.response.get("error", "") if isinstance(error.response.data, dict) else "")
            if status == 429 or code == "ratelimited":
                return Result(DEFERRED, "rate limited (HTTP 429)", _retry_after(error.response.headers))
            if status >= 500 or code in self._CONFIG_ERRORS or not code:
                return Result(DEFERRED, f"HTTP {status} {code or 'no error code'}")
            return Result(REJECTED, f"HTTP {status} {code}")
        except (SlackRequestError, URLError, OSError, socket.timeout) as error:
            return Result(DEFERRED, f"connection failed: {_reason(error)}")
        finally:
            self.retry_log.entry = None
        return Result(POSTED, "ok")


class EmailNotifier(Notifier):
    """Plain-text e-mail through an SMTP server (smtplib); off unless listed in `notifiers`."""

    kind = "email"

    def __init__(self, settings: BotSettings, stop: threading.Event) -> None:
        self.settings = settings

    def send(self, entry: Entry, diffs: List[DiffOrReason]) -> Result:
        plain = build_plain(entry, diffs)
        mail = email.message.EmailMessage()
        mail["Subject"] = f"{self.settings.subject_prefix} {plain.subject}".strip()
        mail["From"] = self.settings.email_from
        mail["To"] = ", ".join(self.settings.email_to)
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = make_msgid("runinfodiffer")
        mail.set_content(plain.text)
        try:
            with smtplib.SMTP(self.settings.smtp_host, self.settings.smtp_port,
                              timeout=self.settings.slack_timeout) as smtp:
                smtp.send_message(mail)
        except smtplib.SMTPResponseException as error:
            outcome = REJECTED if 500 <= error.smtp_code < 600 else DEFERRED
            return Result(outcome, f"SMTP {error.smtp_code} {error.smtp_error!r}")
        except smtplib.SMTPRecipientsRefused as error:
            return Result(REJECTED, f"recipients refused: {', '.join(error.recipients)}")
        except (smtplib.SMTPException, OSError) as error:
            return Result(DEFERRED, f"SMTP {self.settings.smtp_host}:{self.settings.smtp_port}: {error}")
        return Result(POSTED, "sent")


NOTIFIERS: Dict[str, Type[Notifier]] = {
    WebhookNotifier.kind: WebhookNotifier,
    WebApiNotifier.kind: WebApiNotifier,
    EmailNotifier.kind: EmailNotifier,
}


def make_notifiers(settings: BotSettings, stop: threading.Event) -> List[Notifier]:
    """Create the notifiers named in `settings.notifiers`; raise ConfigError for a missing secret."""
    return [NOTIFIERS[kind](settings, stop) for kind in settings.notifiers]


def _retry_after(headers: object) -> Optional[float]:
    try:
        value = headers.get("Retry-After") or headers.get("retry-after")  # type: ignore[attr-defined]
    except AttributeError:
        return None
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _reason(error: BaseException) -> str:
    if isinstance(error, URLError):
        return str(error.reason)
    return str(error) or type(error).__name__
