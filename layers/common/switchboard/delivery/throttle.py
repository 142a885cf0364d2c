"""Per-configuration rate limit maths: GCRA (generic cell rate algorithm), pure.

GCRA keeps one number per delivery configuration, the theoretical arrival time `tat`: when the
next request would be due if requests arrived exactly at the configured rate. A request at `now`
is allowed when `now >= tat - (burst - 1) * T` (T = emission interval), and then moves `tat` to
`max(tat, now) + T`; otherwise it must wait `retry_after_ms`.

Sharing one limit across concurrent workers (the deliver worker, later): read `tat` from the
configuration's throttle item in DynamoDB, call `gcra`, and when allowed write `new_tat_ms` with a
conditional update `attribute_not_exists(tat) OR tat = :read_tat`. If the condition fails another
worker took the slot first: re-read and decide again. A denied delivery writes nothing and is put
back on the queue with `retry_after_ms` as its delay; waiting does not use up an attempt.

Times are whole milliseconds; T is rounded up to the next millisecond, so the limit is exact when
1000 * per_seconds / count is whole (e.g. 20/s, 60/min) and otherwise errs on the slow side (30/s
runs at 29.4/s). Rates beyond 1000/s are not representable and are refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

ThrottlingUnit = Literal["MINUTE", "SECOND"]
UNIT_SECONDS: dict[str, float] = {"MINUTE": 60.0, "SECOND": 1.0}


@dataclass(frozen=True, slots=True)
class Rate:
    """`count` requests per `per_seconds`."""

    count: int
    per_seconds: float

    def __post_init__(self) -> None:
        if self.count < 1 or not math.isfinite(self.per_seconds) or self.per_seconds <= 0:
            raise ValueError("a rate needs a positive count and period")
        if self.count > self.per_seconds * 1000:
            raise ValueError("rates above 1000 per second are not supported")

    @classmethod
    def from_config(cls, throttling: int, unit: ThrottlingUnit = "MINUTE") -> Rate:
        """From a delivery configuration's `throttling` and `throttling-unit` (MINUTE by default)."""
        if unit not in UNIT_SECONDS:
            raise ValueError(f"unknown throttling unit {unit!r}")
        return cls(throttling, UNIT_SECONDS[unit])

    @property
    def emission_interval_ms(self) -> int:
        return math.ceil(self.per_seconds * 1000 / self.count)


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    new_tat_ms: int
    retry_after_ms: int


def gcra(tat_ms: int | None, now_ms: int, rate: Rate, burst: int = 1) -> Decision:
    """Decide one request. `tat_ms` None means no request seen yet; a denial leaves `tat` unchanged."""
    if burst < 1:
        raise ValueError("burst must be at least 1")
    interval = rate.emission_interval_ms
    tat = now_ms if tat_ms is None else max(tat_ms, now_ms)
    allow_at = tat - (burst - 1) * interval
    if now_ms < allow_at:
        return Decision(allowed=False, new_tat_ms=tat, retry_after_ms=allow_at - now_ms)
    return Decision(allowed=True, new_tat_ms=tat + interval, retry_after_ms=0)
