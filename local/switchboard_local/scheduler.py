"""Schedule and ScheduleV2 events: rate(), cron() and at() expressions fired locally.

The scheduler reads time from an injectable clock and wakes every `tick` seconds, so tests
can run schedules on an accelerated clock instead of waiting minutes.
"""

from __future__ import annotations

import calendar
import functools
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .functions import FunctionRunner, InvocationError
from .template import ACCOUNT_ID, FUNCTION_TYPES, REGION, Resolver, Template, iter_events

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


class ScheduleError(ValueError):
    """A schedule expression the local scheduler (or AWS) does not accept."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def accelerated_clock(factor: float, start: datetime | None = None) -> Clock:
    """A clock running `factor` times faster than real time (for tests)."""
    origin_real = time.monotonic()
    origin = start or utc_now()
    return lambda: origin + timedelta(seconds=(time.monotonic() - origin_real) * factor)


# --------------------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Rate:
    period: timedelta

    def next_after(self, after: datetime, anchor: datetime) -> datetime:
        """The first firing after `after`: anchor + n * period (the first is a period in)."""
        if after < anchor:
            return anchor + self.period
        periods = (after - anchor) // self.period + 1
        return anchor + periods * self.period


@dataclass(frozen=True)
class At:
    when: datetime  # aware

    def next_after(self, after: datetime, anchor: datetime) -> datetime | None:
        return self.when if self.when > after else None


_RATE = re.compile(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
_DAYS = {d: i + 1 for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}


def parse_expression(expression: str, timezone: str = "UTC") -> Rate | Cron | At:
    expression = expression.strip()
    try:
        tz = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(f"unknown time zone {timezone!r}") from exc
    rate = _RATE.fullmatch(expression)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2)
        if value <= 0:
            raise ScheduleError(f"{expression}: the value must be positive")
        if (value == 1) != (not unit.endswith("s")):
            raise ScheduleError(f"{expression}: AWS wants the singular unit for 1 and the plural otherwise")
        return Rate(timedelta(seconds=value * _UNITS[unit.rstrip("s")]))
    if expression.startswith("cron(") and expression.endswith(")"):
        return Cron.parse(expression[5:-1], tz)
    if expression.startswith("at(") and expression.endswith(")"):
        try:
            return At(datetime.fromisoformat(expression[3:-1]).replace(tzinfo=tz))
        except ValueError as exc:
            raise ScheduleError(f"{expression}: expected at(yyyy-mm-ddThh:mm:ss)") from exc
    raise ScheduleError(f"unsupported schedule expression {expression!r}")


def _parse_field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    """Values of a cron field: `*`, lists, ranges (wrapping allowed), `/` steps, names."""

    def number(token: str) -> int:
        token = token.upper()
        value = names.get(token) if names else None
        if value is None:
            if not token.isdigit():
                raise ScheduleError(f"bad cron value {token!r}")
            value = int(token)
        if not low <= value <= high:
            raise ScheduleError(f"cron value {value} outside {low}-{high}")
        return value

    values: set[int] = set()
    for item in text.split(","):
        base, _, step_text = item.partition("/")
        step = int(step_text) if step_text else 1
        if step_text and (not step_text.isdigit() or step <= 0):
            raise ScheduleError(f"bad cron step in {item!r}")
        if base == "*":
            start, end = low, high
        elif "-" in base:
            start, end = (number(t) for t in base.split("-", 1))
        else:
            start = number(base)
            end = high if step_text else start
        span = list(range(start, end + 1)) if start <= end else [*range(start, high + 1), *range(low, end + 1)]
        values.update(span[::step])
    return frozenset(values)


def _aws_weekday(day: date) -> int:
    return (day.weekday() + 1) % 7 + 1  # 1 = Sunday ... 7 = Saturday


def _last_day(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _nearest_weekday(year: int, month: int, dom: int) -> int:
    """Day-of-month `W`: the weekday nearest to dom, without leaving the month."""
    last = calendar.monthrange(year, month)[1]
    dom = min(dom, last)
    weekday = date(year, month, dom).weekday()
    if weekday == 5:  # Saturday -> Friday, or Monday when the 1st
        return dom - 1 if dom > 1 else dom + 2
    if weekday == 6:  # Sunday -> Monday, or Friday when the last day
        return dom + 1 if dom < last else dom - 2
    return dom


DayRule = Callable[[date], bool]


def _day_of_month_rules(text: str) -> list[DayRule] | None:
    if text == "?":
        return None
    rules: list[DayRule] = []
    plain = []
    for item in text.upper().split(","):
        if item == "L":
            rules.append(lambda d: d.day == _last_day(d))
        elif item == "LW":
            rules.append(lambda d: d.day == _nearest_weekday(d.year, d.month, _last_day(d)))
        elif item.endswith("W") and item[:-1].isdigit():
            rules.append(functools.partial(_is_nearest_weekday, int(item[:-1])))
        else:
            plain.append(item)
    if plain:
        days = _parse_field(",".join(plain), 1, 31)
        rules.append(lambda d: d.day in days)
    return rules


def _is_nearest_weekday(target: int, d: date) -> bool:
    return d.day == _nearest_weekday(d.year, d.month, target)


def _is_nth_weekday(weekday: int, nth: int, d: date) -> bool:
    return _aws_weekday(d) == weekday and (d.day - 1) // 7 + 1 == nth


def _is_last_weekday(weekday: int, d: date) -> bool:
    return _aws_weekday(d) == weekday and d.day + 7 > _last_day(d)


def _day_of_week_rules(text: str) -> list[DayRule] | None:
    if text == "?":
        return None
    rules: list[DayRule] = []
    plain = []
    for item in text.upper().split(","):
        if "#" in item:
            weekday_text, _, nth_text = item.partition("#")
            weekday = _parse_field(weekday_text, 1, 7, _DAYS)
            nth = int(nth_text) if nth_text.isdigit() and 1 <= int(nth_text) <= 5 else None
            if nth is None or len(weekday) != 1:
                raise ScheduleError(f"bad day-of-week {item!r}: expected like 6#3")
            (only,) = weekday
            rules.append(functools.partial(_is_nth_weekday, only, nth))
        elif item == "L":
            rules.append(lambda d: _aws_weekday(d) == 7)
        elif item.endswith("L"):
            (last,) = _parse_field(item[:-1], 1, 7, _DAYS)
            rules.append(functools.partial(_is_last_weekday, last))
        else:
            plain.append(item)
    if plain:
        days = _parse_field(",".join(plain), 1, 7, _DAYS)
        rules.append(lambda d: _aws_weekday(d) in days)
    return rules


@dataclass(frozen=True)
class Cron:
    """AWS's six-field cron: minutes hours day-of-month month day-of-week year."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    months: frozenset[int]
    years: frozenset[int]
    day_rules: tuple[DayRule, ...]
    tz: ZoneInfo

    @classmethod
    def parse(cls, text: str, tz: ZoneInfo) -> Cron:
        fields = text.split()
        if len(fields) != 6:
            raise ScheduleError(f"cron({text}): AWS cron has six fields (min hour dom month dow year)")
        minute, hour, dom, month, dow, year = fields
        if (dom == "?") == (dow == "?"):
            raise ScheduleError(f"cron({text}): exactly one of day-of-month and day-of-week must be '?'")
        month_numbers = re.sub("|".join(_MONTHS), "", month.upper())  # names like JUL hold an L
        for name, value in (("minutes", minute), ("hours", hour), ("month", month_numbers), ("year", year)):
            if re.search(r"[LW#?]", value.upper()):
                raise ScheduleError(f"cron({text}): {value!r} is not allowed in the {name} field")
        day_rules = _day_of_month_rules(dom) or _day_of_week_rules(dow) or []
        return cls(
            minutes=tuple(sorted(_parse_field(minute, 0, 59))),
            hours=tuple(sorted(_parse_field(hour, 0, 23))),
            months=_parse_field(month, 1, 12, _MONTHS),
            years=_parse_field(year, 1970, 2199),
            day_rules=tuple(day_rules),
            tz=tz,
        )

    def next_after(self, after: datetime, anchor: datetime | None = None) -> datetime | None:
        """The first firing strictly after `after` (None if there is none within 5 years)."""
        local = after.astimezone(self.tz)
        start = local.replace(second=0, microsecond=0, tzinfo=None) + timedelta(minutes=1)
        day = start.date()
        for _ in range(366 * 5):
            if day.year in self.years and day.month in self.months and any(rule(day) for rule in self.day_rules):
                for hour in self.hours:
                    for minute in self.minutes:
                        candidate = datetime(day.year, day.month, day.day, hour, minute)
                        if candidate >= start:
                            return candidate.replace(tzinfo=self.tz).astimezone(UTC)
            day += timedelta(days=1)
        return None


# --------------------------------------------------------------------------- template


@dataclass(frozen=True)
class ScheduleSpec:
    function_id: str
    event_name: str
    name: str
    arn: str
    expression: Rate | Cron | At
    kind: str  # "rule" (Type: Schedule, EventBridge) or "scheduler" (Type: ScheduleV2)
    input: str | None = None
    enabled: bool = True


def schedule_specs(template: Template, resolver: Resolver) -> list[ScheduleSpec]:
    specs = []
    for function_id, function in template.of_type(*FUNCTION_TYPES).items():
        for event_name, raw in iter_events(function, "Schedule", "ScheduleV2"):
            props = resolver.resolve(raw)
            kind = "scheduler" if function["Properties"]["Events"][event_name]["Type"] == "ScheduleV2" else "rule"
            text = props.get("ScheduleExpression") if kind == "scheduler" else props.get("Schedule")
            try:
                expression = parse_expression(str(text), str(props.get("ScheduleExpressionTimezone", "UTC")))
            except ScheduleError as exc:
                raise ScheduleError(f"{function_id}.{event_name}: {exc}") from exc
            name = str(props.get("Name") or f"{template.stack_name}-{function_id}{event_name}")[:64]
            if kind == "scheduler":
                group = props.get("GroupName", "default")
                arn = f"arn:aws:scheduler:{REGION}:{ACCOUNT_ID}:schedule/{group}/{name}"
            else:
                arn = f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{name}"
            enabled = str(props.get("Enabled", True)).lower() != "false" and props.get("State", "ENABLED") == "ENABLED"
            raw_input = props.get("Input")
            specs.append(
                ScheduleSpec(
                    function_id=function_id,
                    event_name=event_name,
                    name=name,
                    arn=arn,
                    expression=expression,
                    kind=kind,
                    input=raw_input if raw_input is None or isinstance(raw_input, str) else json.dumps(raw_input),
                    enabled=enabled,
                )
            )
    return specs


def schedule_event(spec: ScheduleSpec, scheduled: datetime) -> Any:
    """What the target receives: the configured Input as-is, else a scheduled event."""
    time_text = scheduled.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    event_id = str(uuid.uuid4())
    if spec.input is not None:
        text = spec.input
        if spec.kind == "scheduler":
            # EventBridge Scheduler's context attributes in the templated target input.
            for key, value in (
                ("schedule-arn", spec.arn),
                ("scheduled-time", time_text),
                ("execution-id", event_id),
                ("attempt-number", "1"),
            ):
                text = text.replace(f"<aws.scheduler.{key}>", value)
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler" if spec.kind == "scheduler" else "aws.events",
        "account": ACCOUNT_ID,
        "time": time_text,
        "region": REGION,
        "resources": [spec.arn],
        "detail": {},
    }


# --------------------------------------------------------------------------- the scheduler


class Scheduler:
    def __init__(
        self,
        specs: list[ScheduleSpec],
        runner: FunctionRunner,
        *,
        tick: float = 1.0,
        clock: Clock = utc_now,
        echo: Callable[[str], None] = print,
    ) -> None:
        self.specs = [s for s in specs if s.enabled]
        self.runner = runner
        self.tick = tick
        self.clock = clock
        self.echo = echo
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="schedule")
        self._next: dict[int, datetime | None] = {}
        self._anchor = clock()

    def start(self) -> None:
        if not self.specs:
            return
        self._anchor = anchor = self.clock()
        for index, spec in enumerate(self.specs):
            self._next[index] = spec.expression.next_after(anchor, anchor)
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
        self._thread.start()

    def next_firings(self) -> dict[str, datetime | None]:
        return {f"{s.function_id}.{s.event_name}": self._next.get(i) for i, s in enumerate(self.specs)}

    def _run(self) -> None:
        while not self._stop.wait(self.tick):
            now = self.clock()
            for index, spec in enumerate(self.specs):
                due = self._next.get(index)
                if due is None or due > now:
                    continue
                # Fire once even if the clock skipped several periods: missed runs are
                # not replayed (as after an outage), the schedule just moves on.
                self._next[index] = spec.expression.next_after(now, self._anchor)
                self._executor.submit(self._fire, spec, due)

    def _fire(self, spec: ScheduleSpec, scheduled: datetime) -> None:
        try:
            self.runner.invoke(spec.function_id, schedule_event(spec, scheduled))
        except InvocationError as exc:
            if not self._stop.is_set():
                self.echo(
                    f"[schedule] {spec.function_id}.{spec.event_name} failed: {exc.error_type}: {exc.error_message}"
                )

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        # Running invocations end when the runner closes; don't wait for them here.
        self._executor.shutdown(wait=False, cancel_futures=True)
