"""slack_sdk retry handlers for the bot: bounded, and cut short by a stop request.

slack_sdk 3.x retries a request inside `send` when a handler accepts the failure:
`ServerErrorRetryHandler` for 500 and 503, `ConnectionErrorRetryHandler` for
connection errors, and a rate-limit handler for 429. The built-in rate-limit handler
sleeps for any Retry-After, however long, and parses only whole seconds. The one here
waits at most `max_retry_after` seconds. A longer Retry-After goes back to the bot,
which leaves the entry pending and pauses that notifier for that long.
"""

from __future__ import annotations

import random
import threading
from typing import List, Optional

from slack_sdk.http_retry import ConnectionErrorRetryHandler, RetryHandler
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from .settings import BotSettings


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

    def __init__(self, max_retry_count: int, max_wait: float, stop: threading.Event) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait
        self.stop = stop

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
        # A stop request during the wait gives up the retry, so the bot can exit.
        if self.stop.wait(wait):
            return
        state.next_attempt_requested = True
        state.increment_current_attempt()


class StoppableRetryHandler(RetryHandler):
    """Mixin that rejects further retries once the bot is stopping."""

    stop: threading.Event

    def can_retry(self, **kwargs) -> bool:  # type: ignore[override]
        return not self.stop.is_set() and super().can_retry(**kwargs)


class _ServerErrors(StoppableRetryHandler, ServerErrorRetryHandler):
    def __init__(self, max_retry_count: int, stop: threading.Event) -> None:
        ServerErrorRetryHandler.__init__(self, max_retry_count=max_retry_count)
        self.stop = stop


class _ConnectionErrors(StoppableRetryHandler, ConnectionErrorRetryHandler):
    def __init__(self, max_retry_count: int, stop: threading.Event) -> None:
        ConnectionErrorRetryHandler.__init__(self, max_retry_count=max_retry_count)
        self.stop = stop


def retry_handlers(settings: BotSettings, stop: threading.Event) -> List[RetryHandler]:
    """Return the handlers for one Slack client: 429, then 500/503, then connection errors.

    A read timeout is not retried here: Slack may have posted the message already, and
    the next cycle retries the entry anyway.
    """
    return [
        BoundedRateLimitRetryHandler(settings.retries + 1, settings.max_retry_after, stop),
        _ServerErrors(settings.retries, stop),
        _ConnectionErrors(settings.retries, stop),
    ]
