"""Background work of the delivery queue besides attempts. `Reopener` puts deliveries back on the
queue (the sweeper's overdue ones, one redelivered through the API, a page of a bulk redelivery);
`Releaser` sends what an inactive configuration held once it is active again. Each job does a
bounded page and queues its own continuation, so no invocation runs long and a crash repeats at
most one page."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

from switchboard.delivery.engine import Configurations, Tasks
from switchboard.delivery.models import DeliverTask, Delivery, RedeliverTask, ReleaseTask
from switchboard.delivery.repository import WAKE_SHARDS, DeliveriesRepository


def _cursor_text(cursor: dict[str, Any] | None) -> str | None:
    return json.dumps(cursor, sort_keys=True) if cursor else None


def _cursor(text: str | None) -> dict[str, Any] | None:
    return json.loads(text) if text else None


def _next_task(delivery: Delivery) -> DeliverTask:
    return DeliverTask(
        account_id=delivery.account_id,
        event_id=delivery.event_id,
        config_id=delivery.config_id,
        attempt=delivery.attempts + 1,
    )


class ReactivationNotices(Protocol):
    def configuration_reactivated(self, account_id: str, config_id: str) -> None: ...


class Reopener:
    def __init__(
        self,
        store: DeliveriesRepository,
        tasks: Tasks,
        clock: Callable[[], int],
        wake_grace_s: int,
    ) -> None:
        self._store = store
        self._tasks = tasks
        self._clock = clock
        self._grace_ms = wake_grace_s * 1000

    def sweep(self) -> int:
        """Re-send every open delivery whose wake time has passed: held retries now due, and any whose
        task went missing (a crash between writing and queueing). Returns how many."""
        now = self._clock()
        sent = 0
        for shard in range(WAKE_SHARDS):
            for delivery in self._store.overdue(shard, now):
                # Snooze first: if queueing fails the next sweep tries again; a duplicate task is harmless.
                if self._store.snooze(delivery, now + self._grace_ms):
                    self._tasks.send(_next_task(delivery), 0)
                    sent += 1
        return sent

    def redeliver(self, task: RedeliverTask) -> int:
        """Bulk redelivery: reopen one page of matching deliveries and queue them (throttled as usual)."""
        page, cursor = self._store.redeliverable(
            task.account_id, task.config_id, task.from_ms, task.to_ms, task.statuses, _cursor(task.cursor)
        )
        now = self._clock()
        reopened = 0
        for delivery in page:
            if self._store.reopen(delivery, now, now + self._grace_ms):
                self._tasks.send(_next_task(delivery), 0)
                reopened += 1
        if cursor:
            self._tasks.send(
                task.model_copy(update={"cursor": _cursor_text(cursor), "redelivered": task.redelivered + reopened}), 0
            )
        return reopened

    def redeliver_one(self, delivery: Delivery) -> bool:
        """Reopen one delivery and queue its next attempt now; False if it changed meanwhile."""
        now = self._clock()
        if not self._store.reopen(delivery, now, now + self._grace_ms):
            return False
        self._tasks.send(_next_task(delivery), 0)
        return True


class Releaser:
    def __init__(
        self,
        store: DeliveriesRepository,
        configurations: Configurations,
        tasks: Tasks,
        notices: ReactivationNotices,
        clock: Callable[[], int],
        wake_grace_s: int,
    ) -> None:
        self._store = store
        self._configs = configurations
        self._tasks = tasks
        self._notices = notices
        self._clock = clock
        self._grace_ms = wake_grace_s * 1000

    def release(self, task: ReleaseTask) -> int:
        """A configuration was (re)activated (or saved active): send what waited for it, one page per message."""
        if task.cursor is None:
            self._notices.configuration_reactivated(task.account_id, task.config_id)
            self._store.reset_health(task.account_id, task.config_id)
        self._configs.forget(task.account_id, task.config_id)
        config = self._configs.get(task.account_id, task.config_id)
        if config is None or not config.spec.is_active:
            return 0  # deleted or deactivated again meanwhile: its deliveries keep waiting
        page, cursor = self._store.parked(task.account_id, task.config_id, _cursor(task.cursor))
        now = self._clock()
        # Deliveries collected for a cron schedule stay for it, unless the configuration has none any more.
        waiting = ("inactive",) if config.spec.cron_expression else ("inactive", "scheduled")
        released = [delivery for delivery in page if delivery.parked in waiting]
        for delivery in released:
            # Unparked first: should queueing fail, the wake index brings it back after the grace period.
            if self._store.unpark(delivery, now, now + self._grace_ms):
                self._tasks.send(_next_task(delivery), 0)
        if cursor:
            self._tasks.send(task.model_copy(update={"cursor": _cursor_text(cursor)}), 0)
        return len(released)
