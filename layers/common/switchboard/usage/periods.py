"""Period maths and threshold crossing: pure functions, no I/O.

Usage is kept per UTC day (`days`: "YYYY-MM-DD" -> bytes). A period's usage is the sum of the days
inside it, so a limit, period or custom-day change applies to usage already counted, and records may
arrive in any order or split: the counters only add.

- `absolute`: one period that never resets (it starts at the epoch).
- `monthly` with custom day d: a period starts at 00:00 UTC on day min(d, days in that month) and
  runs up to the next such boundary (Jan 31 → Feb 28/29 → Mar 31 → Apr 30).

Each threshold fires at most once per period, several crossed by one update in ascending order. The
thresholds fired in a period are remembered with the limit they were fired under; when the limit has
changed, those now above the usage are re-armed (`rearm`).
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal

Period = Literal["absolute", "monthly"]

ABSOLUTE_START = date(1970, 1, 1)
DAY_MS = 86_400_000
# Day counters older than this are folded into `older` (they still count for `absolute` periods).
KEPT_DAYS = 400
# Fired-threshold sets are kept for this many most recent periods (late records of older periods
# are counted but fire nothing).
KEPT_PERIODS = 13


@dataclass(frozen=True)
class Limit:
    """What threshold evaluation needs of a subscriber."""

    data_limit: int
    period: Period
    custom_day: int = 1
    thresholds: tuple[int, ...] = (50, 80, 90, 100)


@dataclass
class Fired:
    limit: int
    thresholds: set[int] = field(default_factory=set)


@dataclass
class UsageState:
    days: dict[str, int] = field(default_factory=dict)
    older: int = 0
    older_than: str = ""  # `older` holds the days before this one ("" when none was folded)
    fired: dict[str, Fired] = field(default_factory=dict)  # period start (YYYY-MM-DD) -> fired set

    def copy(self) -> UsageState:
        return UsageState(
            dict(self.days),
            self.older,
            self.older_than,
            {start: Fired(f.limit, set(f.thresholds)) for start, f in self.fired.items()},
        )


@dataclass(frozen=True)
class Crossing:
    period_start: date
    threshold: int
    total_usage: int
    data_limit: int


def day_of(epoch_ms: int) -> date:
    return datetime.fromtimestamp(epoch_ms // 1000, tz=UTC).date()


def _boundary(year: int, month: int, custom_day: int) -> date:
    return date(year, month, min(custom_day, calendar.monthrange(year, month)[1]))


def period_start(day: date, period: Period, custom_day: int = 1) -> date:
    """The first day of the period `day` falls in."""
    if period == "absolute":
        return ABSOLUTE_START
    this_month = _boundary(day.year, day.month, custom_day)
    if day >= this_month:
        return this_month
    year, month = (day.year - 1, 12) if day.month == 1 else (day.year, day.month - 1)
    return _boundary(year, month, custom_day)


def period_end(start: date, period: Period, custom_day: int = 1) -> date | None:
    """The first day after the period that starts on `start` (None: absolute never ends)."""
    if period == "absolute":
        return None
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return _boundary(year, month, custom_day)


def iso_start(start: date) -> str:
    """A period start as the hash and the API show it: `2020-01-01T00:00:00.000Z`."""
    return f"{start.isoformat()}T00:00:00.000Z"


def notification_hash(imsi: str, start: date, threshold: int, data_limit: int) -> str:
    """Upper-case hex SHA-256 of `imsi|periodStart|thresholdValue|dataLimit`."""
    text = f"{imsi}|{iso_start(start)}|{threshold}|{data_limit}"
    return hashlib.sha256(text.encode()).hexdigest().upper()


def period_usage(state: UsageState, start: date, period: Period, custom_day: int = 1) -> int:
    end = period_end(start, period, custom_day)
    first, last = start.isoformat(), end.isoformat() if end else "9999-12-31"
    total = sum(used for day, used in state.days.items() if first <= day < last)
    if period == "absolute":
        total += state.older
    return total


def reached(usage: int, threshold: int, data_limit: int) -> bool:
    return usage * 100 >= threshold * data_limit


def rearm(fired: Fired, usage: int, data_limit: int) -> Fired:
    """The fired set under a (possibly new) limit: thresholds now above the usage fire again."""
    if fired.limit == data_limit:
        return fired
    return Fired(data_limit, {t for t in fired.thresholds if reached(usage, t, data_limit)})


def add_usage(
    state: UsageState, limit: Limit | None, records: Iterable[tuple[int, int]], today: date | None = None
) -> tuple[UsageState, list[Crossing]]:
    """Count `records` ((timestamp ms, bytes)) and return the new state and the thresholds crossed,
    in order of period and then ascending threshold. `state` is not changed."""
    new = state.copy()
    touched: dict[date, int] = {}  # period start -> usage before this update
    for timestamp_ms, used in records:
        day = day_of(timestamp_ms)
        if limit is not None:
            start = period_start(day, limit.period, limit.custom_day)
            if start not in touched:
                touched[start] = period_usage(new, start, limit.period, limit.custom_day)
        key = day.isoformat()
        if new.older_than and key < new.older_than:
            new.older += used
        else:
            new.days[key] = new.days.get(key, 0) + used
    crossings: list[Crossing] = []
    if limit is not None:
        kept = _recent_periods(new, touched)
        for start in sorted(touched):
            if start.isoformat() not in kept:
                continue  # a period too old to remember what fired in it: counted, fires nothing
            before = touched[start]
            after = period_usage(new, start, limit.period, limit.custom_day)
            fired = rearm(new.fired.get(start.isoformat(), Fired(limit.data_limit)), before, limit.data_limit)
            for threshold in sorted(set(limit.thresholds)):
                if threshold not in fired.thresholds and reached(after, threshold, limit.data_limit):
                    fired.thresholds.add(threshold)
                    crossings.append(Crossing(start, threshold, after, limit.data_limit))
            new.fired[start.isoformat()] = fired
        new.fired = {start: new.fired[start] for start in sorted(new.fired)[-KEPT_PERIODS:]}
    _fold_old_days(new, today)
    return new, crossings


def _recent_periods(state: UsageState, touched: dict[date, int]) -> set[str]:
    """The period starts whose fired sets are remembered after this update."""
    starts = set(state.fired) | {start.isoformat() for start in touched}
    return set(sorted(starts)[-KEPT_PERIODS:])


def _fold_old_days(state: UsageState, today: date | None) -> None:
    if today is None:
        return
    cutoff = (today - timedelta(days=KEPT_DAYS)).isoformat()
    old = [day for day in state.days if day < cutoff]
    if not old:
        return
    state.older += sum(state.days.pop(day) for day in old)
    state.older_than = max(state.older_than, cutoff)
