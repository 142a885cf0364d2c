"""Scheduled delivery: buffer files closed on cron ticks and delivered as one request each.

A configuration with a `cron-expression` collects its events' deliveries (fanout parks them as
waiting for the schedule). On every tick the configuration's open file closes and a new one
opens: the waiting deliveries move into the closed file (one conditional write each, so a
delivery is either in a file or released as an ordinary delivery, never both), the file is
written to the files bucket, and one delivery of the file — event id `buffer-file-{file-id}` —
goes through the delivery engine: signed, throttled, authenticated, retried and tracked like any
other. When it ends, every event of the file takes its outcome (SUCCESS or FAILED).

Ticks are a chain of messages on the buffer queue, one per configuration, each delayed until its
tick (SQS delays up to 15 minutes; a far tick is re-queued). A tick is done once per
(configuration, tick): the schedule item records the last tick done, conditionally. A minute's
safety net re-arms a chain whose message was lost and finishes files a crash left CLOSING.
docs/ess.md, "Scheduled delivery", explains the choices.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from switchboard.clock import iso_from_ms
from switchboard.delivery import payload
from switchboard.delivery.buffer_repository import (
    SCHEDULE_SHARDS,
    BufferRepository,
    Schedule,
)
from switchboard.delivery.engine import Configurations, Tasks
from switchboard.delivery.models import DeliverTask, Delivery, Status, event_key
from switchboard.delivery.repository import DeliveriesRepository
from switchboard.events import cron
from switchboard.events.models import RESERVED_EVENT_PREFIX, DeliveryConfiguration, parse_time
from switchboard.objects import ObjectStore

SQS_MAX_DELAY_S = 900
FILE_TOPIC = "ESS-Buffer-Files"
FILE_EVENT_TYPE = "event_buffer_file"


def file_event_id(file_id: int) -> str:
    return f"{RESERVED_EVENT_PREFIX}{file_id}"


# ---------------------------------------------------------------- buffer queue messages


class ArmTask(BaseModel):
    """A configuration's schedule was set, changed or removed: (re)start or end its tick chain."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["arm"] = "arm"
    account_id: str
    config_id: str


class TickTask(BaseModel):
    """One tick of one configuration's chain."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["tick"] = "tick"
    account_id: str
    config_id: str
    tick_ms: int
    chain: str


class SettleTask(BaseModel):
    """A file's delivery ended: its events take the outcome, one page per message."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["settle"] = "settle"
    account_id: str
    config_id: str
    file_id: int
    status: Status
    cursor: str | None = None


BufferTask = ArmTask | TickTask | SettleTask


class BufferEnvelope(BaseModel):
    task: BufferTask = Field(discriminator="kind")


# ---------------------------------------------------------------- latest-event-only


def _rank(delivery: Delivery) -> tuple[int, str]:
    """Newer first by event timestamp (not arrival); equal timestamps ordered by event id."""
    return parse_time(delivery.event_timestamp), delivery.event_id


def event_identity(delivery: Delivery) -> tuple[str, ...]:
    """What `latest-event-only` keeps one of: the topic and the `X-ESS-EVENT-KEY` value. An event
    without key fields is only ever itself."""
    names = event_key(delivery.fields)
    if not names:
        return ("event", delivery.event_id)
    return (delivery.topic, payload.event_key_header(delivery.fields, names))


def newest_per_key(deliveries: Iterable[Delivery]) -> list[Delivery]:
    """For every event key, the event with the newest timestamp; in event-time order."""
    newest: dict[tuple[str, ...], Delivery] = {}
    for delivery in deliveries:
        key = event_identity(delivery)
        current = newest.get(key)
        if current is None or _rank(delivery) > _rank(current):
            newest[key] = delivery
    return sorted(newest.values(), key=_rank)


def notification(delivery: Delivery) -> dict[str, Any]:
    return {
        "topic": delivery.topic,
        "event-id": delivery.event_id,
        "event": {
            "evt-tp": delivery.event_type,
            "timestamp": delivery.event_timestamp,
            "fld-val-list": delivery.fields,
        },
    }


# ---------------------------------------------------------------- the service


class ScheduleArming:
    """The configurations' schedule port: a change of schedule arms (or ends) the tick chain."""

    def __init__(self, tasks: Tasks) -> None:
        self._tasks = tasks

    def schedule_changed(self, config: DeliveryConfiguration) -> None:
        self._tasks.send(ArmTask(account_id=config.account_id, config_id=config.id))


class Settler:
    """The engine's FileDeliveries port for the deliver function: a file's body from the bucket,
    and its outcome handed to the buffer queue."""

    def __init__(self, objects: ObjectStore, tasks: Tasks) -> None:
        self._objects = objects
        self._tasks = tasks

    def body(self, delivery: Delivery) -> tuple[bytes, dict[str, str]]:
        key = str(delivery.fields["object"])
        found = self._objects.get(key)
        if found is None:
            raise FileNotFoundError(f"buffer file object {key} is gone (past retention)")
        data, content_type = found
        return data, {
            "Content-Type": content_type,
            "X-ESS-FILE-ID": str(delivery.fields["file-id"]),
            "X-ESS-EVENT-COUNT": str(delivery.fields["events"]),
        }

    def finished(self, delivery: Delivery, status: Status) -> None:
        self._tasks.send(
            SettleTask(
                account_id=delivery.account_id,
                config_id=delivery.config_id,
                file_id=int(delivery.fields["file-id"]),
                status=status,
            )
        )


@dataclass(frozen=True)
class BufferPolicy:
    # A chain whose tick is this late is presumed lost and re-armed by the safety net.
    chain_grace_s: int = 90
    # Open deliveries are in the sweeper's wake index this long after they are due.
    wake_grace_s: int = 300


class BufferFiles:
    def __init__(
        self,
        store: BufferRepository,
        deliveries: DeliveriesRepository,
        configurations: Configurations,
        objects: ObjectStore,
        buffer_tasks: Tasks,
        delivery_tasks: Tasks,
        clock: Callable[[], int],
        policy: BufferPolicy,
    ) -> None:
        self._store = store
        self._deliveries = deliveries
        self._configs = configurations
        self._objects = objects
        self._tasks = buffer_tasks
        self._delivery_tasks = delivery_tasks
        self._clock = clock
        self._policy = policy

    # ------------------------------------------------------------ queue
    def handle(self, task: BufferTask) -> str:
        if isinstance(task, ArmTask):
            return self.arm(task.account_id, task.config_id)
        if isinstance(task, TickTask):
            return self.tick(task)
        return self.settle(task)

    def _fresh_config(self, account_id: str, config_id: str) -> DeliveryConfiguration | None:
        self._configs.forget(account_id, config_id)
        return self._configs.get(account_id, config_id)

    def _send_tick(self, schedule: Schedule, tick_ms: int) -> None:
        delay = math.ceil(max(0, tick_ms - self._clock()) / 1000)
        task = TickTask(
            account_id=schedule.account_id, config_id=schedule.config_id, tick_ms=tick_ms, chain=schedule.chain
        )
        self._tasks.send(task, min(delay, SQS_MAX_DELAY_S))

    def arm(self, account_id: str, config_id: str) -> str:
        config = self._fresh_config(account_id, config_id)
        current = self._store.schedule(account_id, config_id)
        if config is None or not config.spec.cron_expression:
            if current is not None and current.closing_file_id is not None:
                self._finish(current.account_id, current.config_id, current.closing_file_id)
                current = self._store.schedule(account_id, config_id)
            if current is not None:
                self._store.drop(current)
            return "ended"
        now = self._clock()
        next_tick = cron.next_tick_ms(config.spec.cron_expression, now, config.spec.cron_time_zone)
        if next_tick is None:
            return "never"
        new_file = self._store.next_file_id() if current is None or current.open_file_id is None else 0
        schedule = self._store.arm(account_id, config_id, uuid.uuid4().hex, next_tick, new_file, now)
        self._send_tick(schedule, next_tick)
        return "armed"

    def tick(self, task: TickTask) -> str:
        schedule = self._store.schedule(task.account_id, task.config_id)
        if schedule is None or schedule.chain != task.chain:
            return "stale"  # the schedule ended or was re-armed: another chain carries on
        now = self._clock()
        if task.tick_ms > now:
            self._tasks.send(task, min(math.ceil((task.tick_ms - now) / 1000), SQS_MAX_DELAY_S))
            return "early"
        if schedule.last_tick_ms >= task.tick_ms:
            return "duplicate"
        config = self._fresh_config(task.account_id, task.config_id)
        if config is None or not config.spec.cron_expression:
            return self.arm(task.account_id, task.config_id)
        closed = self.flush(config, schedule, task.tick_ms)
        # A chain that fell behind (an outage) moves on from now: missed ticks are not replayed one by one.
        next_tick = cron.next_tick_ms(
            config.spec.cron_expression, max(task.tick_ms, now - 1000), config.spec.cron_time_zone
        )
        if next_tick is not None and self._store.advance(schedule, task.tick_ms, next_tick):
            self._send_tick(schedule, next_tick)
        return "closed" if closed else "empty"

    # ------------------------------------------------------------ closing a file
    def _waiting(self, account_id: str, config_id: str, until_ms: int) -> bool:
        cursor: dict[str, Any] | None = None
        while True:
            page, cursor = self._deliveries.scheduled(account_id, config_id, until_ms, cursor)
            if page:
                return True
            if not cursor:
                return False

    def flush(self, config: DeliveryConfiguration, schedule: Schedule, tick_ms: int) -> bool:
        """Close the open file at `tick_ms` if events wait for it; True when a file was closed."""
        if schedule.closing_file_id is not None:
            self._finish(schedule.account_id, schedule.config_id, schedule.closing_file_id)
            schedule = self._store.schedule(schedule.account_id, schedule.config_id) or schedule
        if schedule.open_file_id is None or not self._waiting(schedule.account_id, schedule.config_id, tick_ms):
            return False  # an empty period: no file, no request
        closing = schedule.open_file_id
        if not self._store.close_open(schedule, tick_ms, self._store.next_file_id()):
            fresh = self._store.schedule(schedule.account_id, schedule.config_id)
            if fresh is None or fresh.closing_file_id is None:
                return False  # a concurrent worker closed and finished it
            closing = fresh.closing_file_id
        self._finish(schedule.account_id, schedule.config_id, closing)
        return True

    def _finish(self, account_id: str, config_id: str, file_id: int) -> None:
        """Finish a CLOSING file: gather its events, write it, hand it to delivery. Repeatable."""
        file = self._store.get_file(account_id, file_id)
        if file is None or file.status != "CLOSING" or file.closed_ms is None:
            return
        cursor: dict[str, Any] | None = None
        while True:
            page, cursor = self._deliveries.scheduled(account_id, config_id, file.closed_ms, cursor)
            for waiting in page:
                self._deliveries.into_file(waiting, file_id)
            if not cursor:
                break
        members: list[Delivery] = []
        cursor = None
        while True:
            page, cursor = self._deliveries.file_members(account_id, config_id, file_id, cursor)
            members += page
            if not cursor:
                break
        if not members:
            self._store.discard_closing(file)
            return
        config = self._fresh_config(account_id, config_id)
        spec = config.spec if config is not None else None
        latest_only = bool(spec and spec.latest_event_only)
        chosen = newest_per_key(members) if latest_only else sorted(members, key=_rank)
        fmt: payload.Format = "XML" if spec is not None and spec.format == "XML" else "JSON"
        body, headers = payload.render_file(file_id, [notification(d) for d in chosen], fmt)
        key = f"buffer-files/{account_id}/{config_id}/{file_id}.{fmt.lower()}"
        self._objects.put(key, body, headers["Content-Type"])
        deliver = spec is not None and bool(spec.address)
        written = file.model_copy(
            update={"events": len(chosen), "size": len(body), "object_key": key, "format": fmt, "delivered": deliver}
        )
        now = self._clock()
        extra: list[dict[str, Any]] = []
        delivery: Delivery | None = None
        if deliver:
            delivery = Delivery(
                account_id=account_id,
                event_id=file_event_id(file_id),
                config_id=config_id,
                topic=FILE_TOPIC,
                event_type=FILE_EVENT_TYPE,
                event_timestamp=iso_from_ms(file.closed_ms),
                fields={"file-id": file_id, "events": len(chosen), "object": key, "format": fmt, "size": len(body)},
                created_ms=now,
                updated_ms=now,
                due_ms=now,
            )
            extra.append(self._deliveries.create_operation(delivery, now + self._policy.wake_grace_s * 1000))
        if not self._store.finish_closing(written, extra):
            return  # another worker finished it
        if delivery is not None:
            self._delivery_tasks.send(
                DeliverTask(account_id=account_id, event_id=delivery.event_id, config_id=config_id, attempt=1)
            )
        else:
            # Nowhere to send it: the file is kept for download and its events count as delivered
            # (failed, when the configuration was deleted meanwhile).
            outcome = Status.SUCCESS if spec is not None else Status.FAILED
            self._tasks.send(SettleTask(account_id=account_id, config_id=config_id, file_id=file_id, status=outcome))

    # ------------------------------------------------------------ outcome
    def settle(self, task: SettleTask) -> str:
        import json

        if task.cursor is None:
            file = self._store.get_file(task.account_id, task.file_id)
            if file is not None and file.delivered:
                self._store.set_outcome(
                    task.account_id, task.file_id, "DELIVERED" if task.status is Status.SUCCESS else "FAILED"
                )
        page, cursor = self._deliveries.file_members(
            task.account_id, task.config_id, task.file_id, json.loads(task.cursor) if task.cursor else None
        )
        now = self._clock()
        for delivery in page:
            if delivery.status is not task.status and not delivery.handled:
                self._deliveries.settle(delivery, task.status, now)
        if cursor:
            self._tasks.send(task.model_copy(update={"cursor": json.dumps(cursor, sort_keys=True, default=str)}))
        return f"settled:{len(page)}"

    # ------------------------------------------------------------ safety net
    def sweep(self) -> dict[str, int]:
        """Every minute: finish files a crash left CLOSING, re-arm chains whose tick is overdue, end
        the schedules of configurations that have none any more."""
        counts = {"finished": 0, "rearmed": 0, "ended": 0}
        now = self._clock()
        for shard in range(SCHEDULE_SHARDS):
            for schedule in self._store.schedules(shard):
                config = self._fresh_config(schedule.account_id, schedule.config_id)
                if schedule.closing_file_id is not None:
                    self._finish(schedule.account_id, schedule.config_id, schedule.closing_file_id)
                    counts["finished"] += 1
                if config is None or not config.spec.cron_expression:
                    self.arm(schedule.account_id, schedule.config_id)
                    counts["ended"] += 1
                elif schedule.next_tick_ms + self._policy.chain_grace_s * 1000 < now:
                    next_tick = cron.next_tick_ms(config.spec.cron_expression, now, config.spec.cron_time_zone)
                    chain = uuid.uuid4().hex
                    if next_tick is not None and self._store.rechain(schedule, chain, next_tick):
                        self._send_tick(schedule.model_copy(update={"chain": chain}), next_tick)
                        counts["rearmed"] += 1
        return counts
