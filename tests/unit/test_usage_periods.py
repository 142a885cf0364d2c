"""Period maths and threshold crossing (switchboard/usage/periods.py): month ends, leap years, custom
day 31, limit changes, and the exactly-once properties whatever the order and splitting of the records."""

from __future__ import annotations

import calendar
import hashlib
import itertools
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from switchboard.usage import periods
from switchboard.usage.periods import Limit, UsageState, add_usage, period_end, period_start

GIB = 1 << 30


def ms(day: date, hour: int = 12) -> int:
    return int(datetime(day.year, day.month, day.day, hour, tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("day", "custom", "start", "end"),
    [
        (date(2026, 1, 31), 31, date(2026, 1, 31), date(2026, 2, 28)),
        (date(2026, 2, 28), 31, date(2026, 2, 28), date(2026, 3, 31)),
        (date(2026, 2, 27), 31, date(2026, 1, 31), date(2026, 2, 28)),
        (date(2026, 3, 30), 31, date(2026, 2, 28), date(2026, 3, 31)),
        (date(2026, 4, 30), 31, date(2026, 4, 30), date(2026, 5, 31)),
        (date(2028, 2, 29), 31, date(2028, 2, 29), date(2028, 3, 31)),  # leap year
        (date(2028, 2, 28), 30, date(2028, 1, 30), date(2028, 2, 29)),
        (date(2026, 1, 1), 1, date(2026, 1, 1), date(2026, 2, 1)),
        (date(2025, 12, 31), 1, date(2025, 12, 1), date(2026, 1, 1)),
        (date(2026, 1, 14), 15, date(2025, 12, 15), date(2026, 1, 15)),
        (date(2026, 12, 15), 15, date(2026, 12, 15), date(2027, 1, 15)),
    ],
)
def test_monthly_periods(day: date, custom: int, start: date, end: date) -> None:
    assert period_start(day, "monthly", custom) == start
    assert period_end(start, "monthly", custom) == end


def test_absolute_never_resets() -> None:
    assert period_start(date(2026, 5, 5), "absolute") == periods.ABSOLUTE_START
    assert period_end(periods.ABSOLUTE_START, "absolute") is None
    limit = Limit(100, "absolute", thresholds=(50,))
    state, fired = add_usage(UsageState(), limit, [(ms(date(2020, 1, 1)), 30)])
    state, fired = add_usage(state, limit, [(ms(date(2026, 1, 1)), 30)])
    assert [(c.threshold, c.total_usage) for c in fired] == [(50, 60)]


@given(st.dates(min_value=date(1971, 1, 1), max_value=date(2200, 12, 31)), st.integers(1, 31))
def test_every_day_is_in_exactly_one_period(day: date, custom: int) -> None:
    start = period_start(day, "monthly", custom)
    end = period_end(start, "monthly", custom)
    assert end is not None and start <= day < end
    assert start.day == min(custom, calendar.monthrange(start.year, start.month)[1])  # clamped at month end
    assert period_start(end, "monthly", custom) == end  # the next period starts where this one ends


def test_hash_is_the_reference_one() -> None:
    value = periods.notification_hash("123470101231123", date(2020, 1, 1), 90, 1073741824)
    assert len(value) == 64 and value == value.upper()
    text = "123470101231123|2020-01-01T00:00:00.000Z|90|1073741824"
    assert value == hashlib.sha256(text.encode()).hexdigest().upper()


def test_one_update_crossing_several_fires_each_in_ascending_order() -> None:
    limit = Limit(GIB, "monthly", 1)
    _, fired = add_usage(UsageState(), limit, [(ms(date(2026, 3, 3)), GIB)])
    assert [c.threshold for c in fired] == [50, 80, 90, 100]
    assert {c.period_start for c in fired} == {date(2026, 3, 1)}
    assert all(c.total_usage == GIB for c in fired)


def test_thresholds_fire_once_per_period_and_again_in_the_next() -> None:
    limit = Limit(1000, "monthly", 31, (50, 100))
    state, fired = add_usage(UsageState(), limit, [(ms(date(2026, 1, 31)), 600)])
    assert [c.threshold for c in fired] == [50]
    state, fired = add_usage(state, limit, [(ms(date(2026, 2, 27)), 100)])
    assert fired == []  # still the period starting Jan 31
    state, fired = add_usage(state, limit, [(ms(date(2026, 2, 28)), 500)])
    assert [(c.period_start, c.threshold) for c in fired] == [(date(2026, 2, 28), 50)]  # Feb 28: a new period


def test_a_limit_change_rearms_the_thresholds_now_above_the_usage() -> None:
    day = ms(date(2026, 6, 10))
    small = Limit(1000, "monthly", 1, (50, 80, 90, 100))
    state, fired = add_usage(UsageState(), small, [(day, 850)])
    assert [c.threshold for c in fired] == [50, 80]
    bigger = Limit(2000, "monthly", 1, (50, 80, 90, 100))  # usage now 42.5 %: 50 and 80 re-armed
    state, fired = add_usage(state, bigger, [(day, 150)])  # 1000 / 2000 = 50 %
    assert [(c.threshold, c.data_limit, c.total_usage) for c in fired] == [(50, 2000, 1000)]
    state, fired = add_usage(state, bigger, [(day, 0)])
    assert fired == []
    smaller = Limit(1100, "monthly", 1, (50, 80, 90, 100))  # 1000 / 1100 = 90.9 %: 50 stays fired
    _, fired = add_usage(state, smaller, [(day, 0)])
    assert [c.threshold for c in fired] == [80, 90]


def test_no_limit_counts_and_fires_nothing() -> None:
    state, fired = add_usage(UsageState(), None, [(ms(date(2026, 6, 10)), 5000)])
    assert fired == [] and state.days == {"2026-06-10": 5000}
    _, fired = add_usage(state, Limit(1000, "monthly", 1), [(ms(date(2026, 6, 11)), 1)])
    assert [c.threshold for c in fired] == [50, 80, 90, 100]  # the month's usage counted before the limit


def test_old_days_fold_into_the_absolute_total() -> None:
    limit = Limit(1000, "absolute", thresholds=(100,))
    state, _ = add_usage(UsageState(), limit, [(ms(date(2020, 1, 1)), 400)], today=date(2026, 1, 1))
    assert state.days == {} and state.older == 400
    state, fired = add_usage(state, limit, [(ms(date(2019, 1, 1)), 600)], today=date(2026, 1, 1))
    assert state.older == 1000 and [c.threshold for c in fired] == [100]


# ---------------------------------------------------------------- properties

DAYS = st.dates(min_value=date(2027, 11, 20), max_value=date(2028, 4, 10))  # across a leap February
RECORDS = st.lists(st.tuples(DAYS, st.integers(0, 400)), min_size=1, max_size=30)
LIMITS = st.builds(
    Limit,
    data_limit=st.integers(1, 3000),
    period=st.sampled_from(["monthly", "absolute"]),
    custom_day=st.integers(1, 31),
    thresholds=st.lists(st.integers(1, 100), min_size=1, max_size=6, unique=True).map(tuple),
)


def run(limit: Limit, batches: list[list[tuple[date, int]]]) -> list[periods.Crossing]:
    state, fired = UsageState(), []
    for batch in batches:
        state, crossed = add_usage(state, limit, [(ms(day), used) for day, used in batch])
        fired += crossed
    return fired


def split(records: list, cuts: list[int]) -> list[list]:
    bounds = sorted({0, len(records), *(cut % (len(records) + 1) for cut in cuts)})
    return [records[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=300, deadline=None)
@given(LIMITS, RECORDS, st.randoms(use_true_random=False), st.lists(st.integers(0, 30), max_size=8))
def test_thresholds_fire_once_per_period_whatever_the_order_and_splitting(limit, records, rnd, cuts) -> None:
    shuffled = list(records)
    rnd.shuffle(shuffled)
    one_go = run(limit, [records])
    pieces = run(limit, split(shuffled, cuts))
    key = [(c.period_start, c.threshold) for c in pieces]
    assert len(key) == len(set(key))  # never twice in a period
    assert set(key) == {(c.period_start, c.threshold) for c in one_go}
    # exactly the thresholds the period's total reaches
    totals: dict[date, int] = {}
    for day, used in records:
        start = period_start(day, limit.period, limit.custom_day)
        totals[start] = totals.get(start, 0) + used
    expected = {(s, t) for s, total in totals.items() for t in limit.thresholds if total * 100 >= t * limit.data_limit}
    assert set(key) == expected


@settings(max_examples=200, deadline=None)
@given(LIMITS, RECORDS)
def test_one_update_fires_in_ascending_order(limit, records) -> None:
    fired = run(limit, [records])
    order = [(c.period_start, c.threshold) for c in fired]
    assert order == sorted(order)
