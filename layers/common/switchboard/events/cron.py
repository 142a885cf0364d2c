"""Delivery schedules: six-field cron expressions, seconds first (Quartz/Spring style), read by croniter.

    second  minute  hour  day-of-month  month  day-of-week
    0       15      *     *             *      *            → at minute 15 of every hour

What croniter reads is what a schedule may say: `*`, lists, ranges, steps, month and day names,
`?` (any), `L` (last day of the month), `W` (nearest weekday: `15W`) and `#` (`MON#2`, the second
Monday). It refuses `5L` (last Friday), `LW` and `L-2`; so does Switchboard, with the field named.
A year (Quartz's optional seventh field) is refused: schedules repeat. Day-of-week numbers follow
Spring and cron (0 or 7 = Sunday, 1 = Monday); names (`MON-FRI`) read the same everywhere.

Times are UTC unless the configuration names an IANA time zone (`cron-time-zone`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FIELDS = ("second", "minute", "hour", "day-of-month", "month", "day-of-week")
# Looking this far ahead for the next tick; a schedule that never fires within it is refused.
HORIZON = timedelta(days=366 * 5)


class CronError(ValueError):
    """A cron expression that cannot be a schedule; `field` names the part at fault (None: the whole)."""

    def __init__(self, message: str, field: str | None = None, position: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.position = position  # 1-based index of the field at fault


def zone(name: str | None) -> ZoneInfo | None:
    """The IANA zone a schedule runs in (None: UTC); ValueError for an unknown name."""
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. Europe/Paris)") from None


def validate(expression: str, time_zone: str | None = None) -> str:
    """`expression` normalised (single spaces), or CronError naming the field and its position."""
    from croniter import croniter

    parts = expression.split()
    if len(parts) != len(FIELDS):
        detail = " (a year is not accepted)" if len(parts) == 7 else ""
        raise CronError(
            f"a cron expression has six fields, seconds first: second minute hour day-of-month month "
            f"day-of-week, e.g. '0 15 * * * *'; this one has {len(parts)}{detail}"
        )
    # Each field on its own, the others left open: the first one croniter refuses is the culprit.
    for index, part in enumerate(parts):
        probe = ["*"] * len(FIELDS)
        probe[index] = part
        if index == 3 and part != "?":
            probe[5] = "?"
        if not croniter.is_valid(" ".join(probe), second_at_beginning=True):
            raise CronError(
                f"{FIELDS[index]} (field {index + 1}) has a value that is not accepted: {part!r}",
                FIELDS[index],
                index + 1,
            )
    text = " ".join(parts)
    if not croniter.is_valid(text, second_at_beginning=True):
        raise CronError(f"the fields of {text!r} do not combine into a schedule")
    start = datetime(2000, 1, 1, tzinfo=zone(time_zone) or UTC)
    if next_tick(text, start, time_zone, horizon=HORIZON) is None:
        raise CronError(f"{text!r} never fires (a day that no month has?)", FIELDS[3], 4)
    return text


def next_tick(
    expression: str, after: datetime, time_zone: str | None = None, horizon: timedelta = HORIZON
) -> datetime | None:
    """The first tick strictly after `after` (in UTC), or None when there is none within `horizon`."""
    from croniter import CroniterBadDateError, croniter

    tz = zone(time_zone) or UTC
    local = after.astimezone(tz)
    try:
        moment = croniter(expression, local, second_at_beginning=True, max_years_between_matches=6).get_next(datetime)
    except CroniterBadDateError:
        return None
    if moment - local > horizon:
        return None
    return moment.astimezone(UTC)


def next_tick_ms(expression: str, after_ms: int, time_zone: str | None = None) -> int | None:
    tick = next_tick(expression, datetime.fromtimestamp(after_ms / 1000, tz=UTC), time_zone)
    return None if tick is None else int(tick.timestamp() * 1000)
