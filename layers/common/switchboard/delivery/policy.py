"""What to do after an attempt: classify the response and pick when (or whether) to retry.

Pure functions only; the deliver worker feeds them what it observed and stores what they decide.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum

NETWORK_ERRORS = frozenset({"dns", "connect", "tls", "timeout"})
# "blocked": the SSRF policy refused the target at send time; final, retrying cannot help.
ERROR_CLASSES = NETWORK_ERRORS | {"http", "blocked"}
RETRYABLE_STATUSES = frozenset({408, 425, 429})
GONE = 410

SQS_MAX_DELAY_S = 900
MAX_RETRY_AFTER_S = 24 * 3600
JITTER = 0.2
DEFAULT_DELAYS_S: tuple[float, ...] = (5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800)


class Outcome(StrEnum):
    SUCCESS = "SUCCESS"
    RETRY = "RETRY"
    FAILED = "FAILED"
    FAILED_AND_DEACTIVATE = "FAILED_AND_DEACTIVATE"


def classify(status: int | None, error_class: str | None, redirect_ok: bool = False) -> Outcome:
    """Map one attempt's result to an outcome.

    `status` is None when no response arrived (a transport failure: dns, connect, tls, timeout, or a
    malformed response, `http`); those are always retried. No redirects are followed, so a 3xx is the
    endpoint's final answer and fails like any other non-retryable status (1xx likewise) — unless
    `redirect_ok`: AirVantage hooks count any 2xx or 3xx as delivered (seed 001).
    """
    if error_class is not None and error_class not in ERROR_CLASSES:
        raise ValueError(f"unknown error class {error_class!r}")
    if error_class == "blocked":
        return Outcome.FAILED
    if status is None:
        return Outcome.RETRY
    if 200 <= status < 300 or (redirect_ok and 300 <= status < 400):
        return Outcome.SUCCESS
    if status in RETRYABLE_STATUSES or 500 <= status < 600:
        return Outcome.RETRY
    if status == GONE:
        return Outcome.FAILED_AND_DEACTIVATE
    return Outcome.FAILED


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """Delays before attempts 2, 3, …; once they run out the delivery is FAILED.

    Configurable globally and per delivery configuration; short schedules keep tests fast.
    """

    delays_s: tuple[float, ...] = DEFAULT_DELAYS_S
    max_delay_s: float = MAX_RETRY_AFTER_S

    def __post_init__(self) -> None:
        if any(not math.isfinite(d) or d < 0 for d in self.delays_s):
            raise ValueError("retry delays must be finite and non-negative")
        if not math.isfinite(self.max_delay_s) or self.max_delay_s <= 0:
            raise ValueError("max_delay_s must be finite and positive")

    def next_delay(self, attempt_number: int, rng: random.Random, retry_after: float | None = None) -> float | None:
        """Seconds to wait after failed attempt `attempt_number` (1-based), or None to give up.

        The scheduled delay gets ±20 % jitter so endpoints recovering from an outage are not hit in
        lock-step. A `Retry-After` can only lengthen the wait (never retry sooner than our schedule),
        and the result is capped at `max_delay_s` (24 h) so a hostile header cannot park a delivery.
        """
        if attempt_number < 1:
            raise ValueError("attempt numbers start at 1")
        if attempt_number > len(self.delays_s):
            return None
        delay = self.delays_s[attempt_number - 1] * rng.uniform(1 - JITTER, 1 + JITTER)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return min(delay, self.max_delay_s)


def parse_retry_after(header: str | None, now: datetime) -> float | None:
    """Seconds the endpoint asked us to wait (RFC 9110 §10.2.3), or None when absent or unusable.

    Accepts delta-seconds (digits only, so negatives and fractions are rejected) and HTTP-dates;
    a date in the past means "now" (0). Clamped to 24 h to keep huge values finite. `now` must be
    timezone-aware.
    """
    if header is None:
        return None
    text = header.strip()
    if text.isascii() and text.isdigit():
        return float(min(int(text), MAX_RETRY_AFTER_S))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max((when - now).total_seconds(), 0.0), float(MAX_RETRY_AFTER_S))


def sqs_delay_or_hold(delay_s: float) -> int | None:
    """SQS DelaySeconds for a retry, or None when it exceeds SQS's 900 s and must be held in DynamoDB.

    Rounded up so a retry never goes out before its Retry-After; held deliveries are re-enqueued by
    the schedule-triggered sweeper once due.
    """
    seconds = max(math.ceil(delay_s), 0)
    return seconds if seconds <= SQS_MAX_DELAY_S else None
