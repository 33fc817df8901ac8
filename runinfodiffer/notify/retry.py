"""slack_sdk retry handlers for the bot: bounded, and cut short by a stop request.

slack_sdk 3.x retries a request inside `send` when a handler accepts the failure:
`ServerErrorRetryHandler` for 500 and 503, `ConnectionErrorRetryHandler` for
connection errors, and a rate-limit handler for 429. The built-in rate-limit handler
sleeps for any Retry-After, however long, and parses only whole seconds. The one here
waits at most `max_retry_after` seconds. A longer Retry-After goes back to the bot,
which leaves the entry pending and pauses that notifier for that long.

Every retry logs one warning through a `RetryLog`: the entry being sent, the attempt
that failed, its HTTP status or error, and the wait before the next attempt.
"""

from __future__ import annotations

import logging
import random
import threading
from typing import List, Optional, Sequence
from urllib.error import URLError

from slack_sdk.http_retry import ConnectionErrorRetryHandler, RetryHandler
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from ..changelog import Entry
from .settings import BotSettings

log = logging.getLogger(__name__)


class RetryLog:
    """Logs the retries of one notifier's requests, naming the entry it is sending.

    The notifier sets `entry` around each send. `secrets` (webhook URL, token) are
    replaced in error texts so that they never reach the log.
    """

    def __init__(self, kind: str, secrets: Sequence[str] = ()) -> None:
        self.kind = kind
        self.secrets = [secret for secret in secrets if secret]
        self.entry: Optional[Entry] = None

    def retrying(self, state: RetryState, response: Optional[HttpResponse],
                 error: Optional[Exception], wait: float) -> None:
        """Log that attempt `state.current_attempt + 1` failed and the next follows in `wait` s."""
        if self.entry is None:
            subject = f"post to {self.kind}"
        else:
            subject = f"entry {self.entry.id} (run {self.entry.run}) to {self.kind}"
        log.warning("%s: attempt %d failed with %s; retrying in %.1f s",
                    subject, state.current_attempt + 1, self._failure(response, error), wait)

    def _failure(self, response: Optional[HttpResponse], error: Optional[Exception]) -> str:
        if response is not None:
            text = f"HTTP {response.status_code}"
        elif isinstance(error, URLError):
            text = f"connection error: {error.reason}"
        elif error is not None:
            text = f"connection error: {error or type(error).__name__}"
        else:
            text = "an unknown error"
        for secret in self.secrets:
            text = text.replace(secret, "<secret>")
        return text


def retry_after_seconds(response: Optional[HttpResponse]) -> Optional[float]:
    """Return the Retry-After header of a retry-handler response in seconds, if numeric."""
    if response is None:
        return None
    for name, values in response.headers.items():
        if name.lower() == "retry-after" and values:
            try:
                return max(0.0, float(values[0]))
            except ValueError:
                return None
    return None


class BoundedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """Retries a 429 after Retry-After seconds, only when that is at most `max_wait`."""

    def __init__(self, max_retry_count: int, max_wait: float, stop: threading.Event,
                 retry_log: Optional[RetryLog] = None) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait
        self.stop = stop
        self.retry_log = retry_log

    def _can_retry(self, *, state: RetryState, request: HttpRequest,
                   response: Optional[HttpResponse] = None, error: Optional[Exception] = None) -> bool:
        if response is None or response.status_code != 429 or self.stop.is_set():
            return False
        wait = retry_after_seconds(response)
        return wait is None or wait <= self.max_wait

    def prepare_for_next_attempt(self, *, state: RetryState, request: HttpRequest,
                                 response: Optional[HttpResponse] = None,
                                 error: Optional[Exception] = None) -> None:
        wait = retry_after_seconds(response)
        wait = (1.0 + random.random()) if wait is None else wait + 0.1 * random.random()
        _wait_for_retry(self.stop, self.retry_log, state, response, error, wait)


class StoppableRetryHandler(RetryHandler):
    """Mixin that logs each retry and gives it up once the bot is stopping."""

    stop: threading.Event
    retry_log: Optional[RetryLog]

    def can_retry(self, **kwargs) -> bool:  # type: ignore[override]
        return not self.stop.is_set() and super().can_retry(**kwargs)

    def prepare_for_next_attempt(self, *, state: RetryState, request: HttpRequest,
                                 response: Optional[HttpResponse] = None,
                                 error: Optional[Exception] = None) -> None:
        wait = self.interval_calculator.calculate_sleep_duration(state.current_attempt)
        _wait_for_retry(self.stop, self.retry_log, state, response, error, wait)


def _wait_for_retry(stop: threading.Event, retry_log: Optional[RetryLog], state: RetryState,
                    response: Optional[HttpResponse], error: Optional[Exception], wait: float) -> None:
    """Log the retry, wait, and request the next attempt unless a stop came during the wait."""
    if retry_log is not None:
        retry_log.retrying(state, response, error, wait)

    # A stop request during the wait gives up the retry, so the bot can exit.
    if stop.wait(wait):
        return
    state.next_attempt_requested = True
    state.increment_current_attempt()


class _ServerErrors(StoppableRetryHandler, ServerErrorRetryHandler):
    def __init__(self, max_retry_count: int, stop: threading.Event, retry_log: Optional[RetryLog]) -> None:
        ServerErrorRetryHandler.__init__(self, max_retry_count=max_retry_count)
        self.stop = stop
        self.retry_log = retry_log


class _ConnectionErrors(StoppableRetryHandler, ConnectionErrorRetryHandler):
    def __init__(self, max_retry_count: int, stop: threading.Event, retry_log: Optional[RetryLog]) -> None:
        ConnectionErrorRetryHandler.__init__(self, max_retry_count=max_retry_count)
        self.stop = stop
        self.retry_log = retry_log


def retry_handlers(settings: BotSettings, stop: threading.Event,
                   retry_log: Optional[RetryLog] = None) -> List[RetryHandler]:
    """Return the handlers for one Slack client: 429, then 500/503, then connection errors.

    Each retry is logged through `retry_log` when one is given. A read timeout is not
    retried here: Slack may have posted the message already, and the next cycle
    retries the entry anyway.
    """
    return [
        BoundedRateLimitRetryHandler(settings.retries + 1, settings.max_retry_after, stop, retry_log),
        _ServerErrors(settings.retries, stop, retry_log),
        _ConnectionErrors(settings.retries, stop, retry_log),
    ]
