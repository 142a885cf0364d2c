"""Aggregated data (`AGG.{dataId}/{H|D|M}`): UTC buckets, the aggregate value, and the update a data point implies.

Per target, per data id and per UTC hour, day and month, an aggregate keeps `min`, `max`, `sum` and `cnt`
(`mean = sum / cnt`); a condition's `function` picks one of them (reference/airvantage.md).

Only numbers are aggregated: int and float data points, not bools and not strings (even numeric ones,
which a device sending text did not mean as a measure).

Storing an update atomically (for the repository). One aggregate is one item keyed by target, data id and
bucket (`AggregateUpdate.bucket`, e.g. "D#20261123"). A data point `v` is applied as three UpdateItem calls,
because a failed condition rejects a whole UpdateItem and the ADD must never be lost:

1. `ADD #sum :v, #cnt :one` (no condition; creates the item when missing).
2. `SET #min = :v` with `ConditionExpression: attribute_not_exists(#min) OR #min > :v`.
3. `SET #max = :v` with `ConditionExpression: attribute_not_exists(#max) OR #max < :v`.

A ConditionalCheckFailedException on 2 or 3 means the stored extreme already wins: not an error. ADD is not
idempotent, so the caller applies a message's updates once (dedupe by message id before). DynamoDB numbers
are Decimals: convert `v` with `Decimal(str(v))`.

COMPANY aggregates are the aggregate of all points of all the company's systems (so a company SUM is the
sum of its systems' SUMs, its MAX the max of their MAXes): `company_updates` gives the same updates for
the company target, in the same buckets.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal, TypeGuard

from pydantic import BaseModel, ConfigDict

TimeScale = Literal["H", "D", "M"]
TIME_SCALES: tuple[TimeScale, ...] = ("H", "D", "M")
AggregateFunction = Literal["MIN", "MAX", "MEAN", "SUM", "CNT"]
AGGREGATE_FUNCTIONS: tuple[AggregateFunction, ...] = ("MIN", "MAX", "MEAN", "SUM", "CNT")

_BUCKET_FORMATS: dict[str, str] = {"H": "%Y%m%d%H", "D": "%Y%m%d", "M": "%Y%m"}

__all__ = [
    "AGGREGATE_FUNCTIONS",
    "TIME_SCALES",
    "Aggregate",
    "AggregateFunction",
    "AggregateUpdate",
    "TimeScale",
    "bucket_key",
    "bucket_keys",
    "company_updates",
    "is_aggregable",
    "updates_for",
]


def bucket_key(time_scale: TimeScale, timestamp_ms: int) -> str:
    """The UTC bucket holding `timestamp_ms`: "H#2026112314", "D#20261123" or "M#202611"."""
    moment = datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
    return f"{time_scale}#{moment.strftime(_BUCKET_FORMATS[time_scale])}"


def bucket_keys(timestamp_ms: int) -> dict[TimeScale, str]:
    """The hour, day and month buckets of one timestamp."""
    moment = datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
    return {scale: f"{scale}#{moment.strftime(_BUCKET_FORMATS[scale])}" for scale in TIME_SCALES}


def is_aggregable(value: object) -> TypeGuard[int | float]:
    """Whether a data point value feeds aggregates: a finite int or float (bools are not numbers here)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value)


class Aggregate(BaseModel):
    """min, max, sum and cnt of the points of one bucket. The empty aggregate (cnt 0, no min/max) is the
    identity of `merge`, so merging is associative and commutative (exactly so for integers)."""

    model_config = ConfigDict(frozen=True)

    min: int | float | None = None
    max: int | float | None = None
    sum: int | float = 0
    cnt: int = 0

    @classmethod
    def of(cls, value: int | float) -> Aggregate:
        """The aggregate of a single point."""
        return cls(min=value, max=value, sum=value, cnt=1)

    @property
    def mean(self) -> float | None:
        return self.sum / self.cnt if self.cnt else None

    def merge(self, other: Aggregate) -> Aggregate:
        """The aggregate of both sets of points."""
        return Aggregate(
            min=_extreme(min, self.min, other.min),
            max=_extreme(max, self.max, other.max),
            sum=self.sum + other.sum,
            cnt=self.cnt + other.cnt,
        )

    def add(self, value: int | float) -> Aggregate:
        return self.merge(Aggregate.of(value))

    def pick(self, function: AggregateFunction) -> int | float | None:
        """The value a condition's `function` selects; None (unknown) for an empty aggregate."""
        if not self.cnt:
            return None
        if function == "MIN":
            return self.min
        if function == "MAX":
            return self.max
        if function == "SUM":
            return self.sum
        if function == "CNT":
            return self.cnt
        if function == "MEAN":
            return self.mean
        raise ValueError(f"unknown aggregate function {function!r}")

    def wire(self) -> dict[str, int | float | None]:
        """The `valueAgg` of an alert attribute: {min, max, cnt, sum, mean}."""
        return {"min": self.min, "max": self.max, "cnt": self.cnt, "sum": self.sum, "mean": self.mean}


def _extreme(
    pick: Callable[..., int | float], left: int | float | None, right: int | float | None
) -> int | float | None:
    if left is None:
        return right
    if right is None:
        return left
    return pick(left, right)


class AggregateUpdate(BaseModel):
    """One bucket's change for one data point: ADD `value` to sum and 1 to cnt, lower min to `value` if it is
    smaller, raise max to `value` if it is larger (see the module text for the DynamoDB expressions)."""

    model_config = ConfigDict(frozen=True)

    target_type: Literal["SYSTEM", "COMPANY"]
    target_id: str
    data_id: str
    time_scale: TimeScale
    bucket: str
    value: int | float

    @property
    def attribute_name(self) -> str:
        """The rule attribute this bucket feeds, e.g. "AGG.room.temp/D"."""
        return f"AGG.{self.data_id}/{self.time_scale}"

    def apply(self, current: Aggregate | None) -> Aggregate:
        """The stored aggregate after this update (what the three UpdateItem calls achieve together)."""
        return (current or Aggregate()).add(self.value)


def updates_for(
    target_id: str, data_id: str, timestamp_ms: int, value: object, target_type: Literal["SYSTEM", "COMPANY"] = "SYSTEM"
) -> list[AggregateUpdate]:
    """The hour, day and month updates one data point implies for its target; [] when it is not a number."""
    if not is_aggregable(value):
        return []
    number: int | float = value
    return [
        AggregateUpdate(
            target_type=target_type, target_id=target_id, data_id=data_id, time_scale=scale, bucket=bucket, value=number
        )
        for scale, bucket in bucket_keys(timestamp_ms).items()
    ]


def company_updates(company_id: str, data_id: str, timestamp_ms: int, value: object) -> list[AggregateUpdate]:
    """The same point's updates for its system's company (COMPANY aggregates cover all the company's systems)."""
    return updates_for(company_id, data_id, timestamp_ms, value, target_type="COMPANY")
