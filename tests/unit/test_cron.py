"""Six-field cron schedules: validation naming the field at fault, and next-tick maths in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from switchboard.events import cron


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    "expression",
    ["0 15 * * * *", "*/5 * * * * *", "0 0 0 L * ?", "0 0 12 15W * ?", "0 30 9 ? * MON#2", "0 0 8 * JAN-MAR MON-FRI"],
)
def test_quartz_style_expressions_are_accepted(expression):
    assert cron.validate(expression) == expression


@pytest.mark.parametrize(
    ("expression", "field", "position"),
    [
        ("60 * * * * *", "second", 1),
        ("0 60 * * * *", "minute", 2),
        ("0 0 24 * * *", "hour", 3),
        ("0 0 0 32 * *", "day-of-month", 4),
        ("0 0 0 0 * *", "day-of-month", 4),
        ("0 0 0 * 13 *", "month", 5),
        ("0 0 0 * * 8", "day-of-week", 6),
        ("0 0 0 * * 5L", "day-of-week", 6),
        ("0 0 0 LW * *", "day-of-month", 4),
        ("x 0 0 * * *", "second", 1),
        ("0 */0 * * * *", "minute", 2),
        ("0 0 0 31 2 *", "day-of-month", 4),  # never fires
    ],
)
def test_a_bad_field_is_named_with_its_position(expression, field, position):
    with pytest.raises(cron.CronError) as caught:
        cron.validate(expression)
    assert (caught.value.field, caught.value.position) == (field, position)
    assert field in str(caught.value) or "never" in str(caught.value)


@pytest.mark.parametrize("expression", ["* * * * *", "0 0 0 * * * 2026", "", "every hour"])
def test_the_wrong_number_of_fields_is_refused(expression):
    with pytest.raises(cron.CronError, match="six fields"):
        cron.validate(expression)


def test_unknown_time_zones_are_refused():
    with pytest.raises(ValueError, match="IANA"):
        cron.zone("Mars/Olympus")


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("0 15 * * * *", at(2026, 1, 31, 23, 15, 0), at(2026, 2, 1, 0, 15, 0)),  # strictly after
        ("*/5 * * * * *", at(2026, 3, 1, 0, 0, 3), at(2026, 3, 1, 0, 0, 5)),
        ("0 0 0 L * ?", at(2026, 1, 31, 0, 0, 0), at(2026, 2, 28, 0, 0, 0)),  # month end
        ("0 0 0 L * ?", at(2028, 2, 1, 0, 0, 0), at(2028, 2, 29, 0, 0, 0)),  # leap year
        ("0 0 0 31 * ?", at(2026, 4, 1, 0, 0, 0), at(2026, 5, 31, 0, 0, 0)),  # skips 30-day months
        ("0 0 12 15W * ?", at(2026, 8, 1, 0, 0, 0), at(2026, 8, 14, 12, 0, 0)),  # the 15th is a Saturday
        ("0 30 9 ? * MON#2", at(2026, 2, 1, 0, 0, 0), at(2026, 2, 9, 9, 30, 0)),
        # UTC has no daylight saving: 02:30 exists on the European spring-forward night.
        ("0 30 2 * * *", at(2026, 3, 29, 0, 0, 0), at(2026, 3, 29, 2, 30, 0)),
    ],
)
def test_next_tick(expression, after, expected):
    assert cron.next_tick(expression, after) == expected


def test_a_named_zone_moves_the_ticks():
    # 09:00 in Paris is 08:00 UTC in winter, 07:00 UTC in summer.
    assert cron.next_tick("0 0 9 * * *", at(2026, 1, 10, 0, 0, 0), "Europe/Paris") == at(2026, 1, 10, 8, 0, 0)
    assert cron.next_tick("0 0 9 * * *", at(2026, 7, 10, 0, 0, 0), "Europe/Paris") == at(2026, 7, 10, 7, 0, 0)


@given(
    st.integers(min_value=1, max_value=59),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)).map(lambda d: d.replace(tzinfo=UTC)),
)
def test_every_n_seconds_ticks_strictly_later_and_within_a_minute(step, after):
    tick = cron.next_tick(f"*/{step} * * * * *", after)
    assert tick is not None and after < tick <= after.replace(microsecond=0) + timedelta(seconds=60)
    assert tick.second % step == 0 and tick.microsecond == 0


def test_next_tick_ms_matches_next_tick():
    after = at(2026, 5, 5, 5, 5, 5)
    ms = cron.next_tick_ms("0 */10 * * * *", int(after.timestamp() * 1000))
    assert ms == int(at(2026, 5, 5, 5, 10, 0).timestamp() * 1000)
