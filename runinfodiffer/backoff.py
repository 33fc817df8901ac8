"""Exponential backoff for retrying a failing database."""

from __future__ import annotations

#: Maximum wait between two retries, in seconds.
MAX_DELAY = 600.0


class Backoff:
    """Delays that double after each failure, from `initial` up to `maximum` seconds."""

    def __init__(self, initial: float, maximum: float = MAX_DELAY, factor: float = 2.0):
        if initial <= 0:
            raise ValueError(f"initial delay must be positive, got {initial}")
        self.initial = min(initial, maximum)
        self.maximum = maximum
        self.factor = factor
        #: Consecutive failures since the last success, counted up to the cap.
        self.failures = 0

    def next_delay(self) -> float:
        """Count one failure and return the seconds to wait before the next attempt."""
        delay = min(self.initial * self.factor ** self.failures, self.maximum)
        # Stop counting at the cap, so the power never grows past a float's range.
        if delay < self.maximum:
            self.failures += 1
        return delay

    def reset(self) -> None:
        """Forget the failures after a success."""
        self.failures = 0
