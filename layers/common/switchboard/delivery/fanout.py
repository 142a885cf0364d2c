"""Fanout: a published event becomes one delivery per matching delivery configuration.

Once per (event, configuration), however many of the configuration's subscriptions match and
however often the events queue redelivers the message: the delivery is created with a
conditional put. Its first task is queued every time (a duplicate task finds attempt 1 taken and
is dropped), so a crash between storing and queueing loses nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from switchboard.delivery.engine import Configurations, Tasks
from switchboard.delivery.models import DeliverTask, Delivery, PublishedEvent, Status
from switchboard.delivery.repository import ConfigurationChanged, DeliveriesRepository
from switchboard.errors import Unavailable
from switchboard.events.models import parse_time
from switchboard.events.subscriptions import SubscriptionMatcher


class Fanout:
    def __init__(
        self,
        subscriptions: SubscriptionMatcher,
        configurations: Configurations,
        store: DeliveriesRepository,
        tasks: Tasks,
        clock: Callable[[], int],
        wake_grace_s: int,
    ) -> None:
        self._subscriptions = subscriptions
        self._configs = configurations
        self._store = store
        self._tasks = tasks
        self._clock = clock
        self._grace_ms = wake_grace_s * 1000

    def handle(self, event: PublishedEvent) -> list[str]:
        """Create the event's deliveries and queue their first attempts; returns the configuration ids."""
        matched = self._subscriptions.matching(
            event.account_id, event.topic, event.event_type, event.fields, parse_time(event.timestamp)
        )
        config_ids = sorted({subscription.delivery_configuration_id for subscription in matched}, key=int)
        now = self._clock()
        tasks = []
        for config_id in config_ids:
            parked = self._create(event, config_id, now)
            if parked is None:
                tasks.append(
                    DeliverTask(account_id=event.account_id, event_id=event.event_id, config_id=config_id, attempt=1)
                )
        self._tasks.send_many(tasks)
        return config_ids

    def _create(self, event: PublishedEvent, config_id: str, now: int) -> str | None:
        """Store the delivery; scheduled (cron) configurations collect theirs for buffer files. Parking
        holds only while the configuration is as read (a schedule removed meanwhile releases what
        waited, and must not miss this one), so a change in between means reading it again."""
        for _ in range(3):
            config = self._configs.get(event.account_id, config_id)
            # Scheduled (cron) configurations collect their deliveries for the buffer-file flush.
            scheduled = config is not None and bool(config.spec.cron_expression)
            parked: Literal["scheduled"] | None = "scheduled" if scheduled else None
            delivery = Delivery(
                account_id=event.account_id,
                event_id=event.event_id,
                config_id=config_id,
                topic=event.topic,
                event_type=event.event_type,
                event_timestamp=event.timestamp,
                fields=event.fields,
                status=Status.PENDING,
                created_ms=now,
                updated_ms=now,
                due_ms=now,
                parked=parked,
            )
            check = self._configs.version_check(config) if config is not None and parked else None
            try:
                self._store.create(delivery, wake_ms=now + self._grace_ms, config_check=check)
                return parked
            except ConfigurationChanged:
                self._configs.forget(event.account_id, config_id)
        raise Unavailable(f"delivery configuration {config_id} keeps changing; the event will be fanned out again")
