"""The ESS read and act APIs over deliveries: list, summary, tracking, the attempt log, handled
deliveries, and redelivery (one, or in bulk in the background)."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

from switchboard.accounts.service import AccountService
from switchboard.delivery.jobs import Reopener
from switchboard.delivery.models import (
    Delivery,
    DeliveryFilter,
    HandledInput,
    RedeliverInput,
    RedeliverTask,
    Status,
    SummaryWindow,
)
from switchboard.delivery.repository import DeliveriesRepository
from switchboard.errors import Conflict, NotFound
from switchboard.events.models import parse_time
from switchboard.events.repository import EventsRepository
from switchboard.tenancy import Caller


def split_delivery_id(wire_id: str) -> tuple[str, str]:
    """`{EVT_ID}:{DEL_CFG_ID}` → (event id, configuration id); NotFound for anything else."""
    event_id, _, config_id = wire_id.rpartition(":")
    if not event_id or not config_id.isdigit() or len(config_id) > 12 or len(event_id) > 64:
        raise NotFound(wire_id, "event delivery")
    return event_id, config_id


class EventDeliveriesService:
    def __init__(
        self,
        store: DeliveriesRepository,
        events: EventsRepository,
        accounts: AccountService,
        reopener: Reopener,
        tasks,
        clock: Callable[[], int],
    ) -> None:
        self._store = store
        self._events = events
        self._accounts = accounts
        self._reopener = reopener
        self._tasks = tasks
        self._clock = clock

    def _account(self, caller: Caller, company: str | None) -> str:
        return self._accounts.scope_for(caller, company, "company").id

    def _names(self, account_id: str, config_ids: set[str]) -> dict[str, str]:
        return self._events.configuration_names(account_id, config_ids)

    def _delivery(self, account_id: str, wire_id: str) -> Delivery:
        event_id, config_id = split_delivery_id(wire_id)
        delivery = self._store.get(account_id, event_id, config_id)
        if delivery is None:
            raise NotFound(wire_id, "event delivery")
        return delivery

    # ------------------------------------------------------------ reads
    def list(
        self, caller: Caller, company: str | None, query: DeliveryFilter, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], bool]:
        account_id = self._account(caller, company)
        page, more = self._store.list(
            account_id,
            query.config_id,
            query.status,
            query.from_ms,
            query.to_ms,
            query.topic,
            query.event_type,
            offset,
            limit,
        )
        names = self._names(account_id, {delivery.config_id for delivery in page})
        return [delivery.wire(names.get(delivery.config_id)) for delivery in page], more

    def summary(self, caller: Caller, company: str | None, window: SummaryWindow) -> dict[str, Any]:
        """Pending / retry / failed per configuration → topic → event type, for deliveries created in
        the window's hours (read from counters, never from the deliveries)."""
        account_id = self._account(caller, company)
        tree: dict[str, dict[str, dict[str, dict[str, int]]]] = {}
        from_ms, to_ms = window.bounds(self._clock())
        for counter in self._store.summary_counters(account_id, from_ms, to_ms):
            types = tree.setdefault(counter["config_id"], {}).setdefault(counter["topic"], {})
            counts = types.setdefault(counter["event_type"], {"pending": 0, "retry": 0, "failed": 0})
            for name in counts:
                counts[name] += int(counter.get(name, 0))
        names = self._names(account_id, set(tree))
        configurations = []
        for config_id in sorted(tree, key=int):
            topics = []
            for topic, types in sorted(tree[config_id].items()):
                rows = [{"id": code, **counts} for code, counts in sorted(types.items())]
                topics.append({"topic-nm": topic, "event-types": rows, **_sum(rows)})
            configurations.append(
                {"del-cfg-id": int(config_id), "del-cfg-nm": names.get(config_id), "topics": topics, **_sum(topics)}
            )
        return {"delivery-configurations": configurations}

    def tracking(self, caller: Caller, company: str | None, wire_id: str) -> dict[str, Any]:
        account_id = self._account(caller, company)
        delivery = self._delivery(account_id, wire_id)
        attempts = self._store.attempts(account_id, delivery.event_id, delivery.config_id)
        tracking: dict[str, Any] = {
            "event-id": delivery.event_id,
            "del-cfg-id": int(delivery.config_id),
            "delivery-status": delivery.status.value,
            "delivery-attempts": [attempt.tracking_wire() for attempt in attempts],
        }
        if delivery.deferrals:  # extension: waits that were not attempts (docs/delivery.md, "Slow endpoints")
            tracking["deferrals"] = delivery.deferrals
            tracking["deferred-reason"] = delivery.deferred_reason
        return tracking

    def attempt_log(
        self, caller: Caller, company: str | None, from_ms: int | None, to_ms: int | None, offset: int, limit: int
    ) -> tuple[builtins.list[dict[str, Any]], bool]:
        account_id = self._account(caller, company)
        attempts, more = self._store.attempt_log(account_id, from_ms, to_ms, offset, limit)
        deliveries = self._store.deliveries({(a.account_id, a.event_id, a.config_id) for a in attempts})
        names = self._names(account_id, {attempt.config_id for attempt in attempts})
        rows = [
            attempt.log_wire(
                deliveries.get((attempt.account_id, attempt.event_id, attempt.config_id)), names.get(attempt.config_id)
            )
            for attempt in attempts
        ]
        return rows, more

    # ------------------------------------------------------------ actions
    def mark_handled(self, caller: Caller, company: str | None, data: HandledInput) -> int:
        """The consumer dealt with these deliveries itself: they leave the pending/retry counts and are
        not retried. Returns how many changed (already handled ones do not count)."""
        account_id = self._account(caller, company)
        deliveries = [
            d
            for d in self._store.of_event(account_id, data.event_id)
            if (data.topic is None or d.topic == data.topic)
            and (data.event_type is None or d.event_type == data.event_type)
        ]
        if data.config_name is not None:
            names = self._names(account_id, {d.config_id for d in deliveries})
            deliveries = [d for d in deliveries if names.get(d.config_id) == data.config_name]
        start, end = data.window()
        if start is not None or end is not None:
            deliveries = [d for d in deliveries if _within(parse_time(d.event_timestamp), start, end)]
        now = self._clock()
        return sum(1 for d in deliveries if not d.handled and self._store.mark_handled(d, now))

    def redeliver(self, caller: Caller, company: str | None, wire_id: str) -> dict[str, Any]:
        """Send one delivery again now (a new attempt number, the same event id)."""
        account_id = self._account(caller, company)
        delivery = self._delivery(account_id, wire_id)
        if delivery.status is Status.PENDING and not delivery.handled:
            raise Conflict(f"event delivery {wire_id} is pending already")
        if not self._reopener.redeliver_one(delivery):
            raise Conflict(f"event delivery {wire_id} is being attempted right now; try again shortly")
        reopened = self._store.get(account_id, delivery.event_id, delivery.config_id) or delivery
        return reopened.wire(self._names(account_id, {delivery.config_id}).get(delivery.config_id))

    def redeliver_bulk(self, caller: Caller, company: str | None, data: RedeliverInput) -> dict[str, Any]:
        account_id = self._account(caller, company)
        if self._events.get_configuration(account_id, data.config_id) is None:
            raise NotFound(data.config_id, "delivery configuration", field="del-cfg-id")
        statuses = data.statuses()
        from_ms, to_ms = parse_time(data.from_), parse_time(data.to)
        self._tasks.send(
            RedeliverTask(
                account_id=account_id, config_id=data.config_id, from_ms=from_ms, to_ms=to_ms, statuses=statuses
            )
        )
        return {
            "del-cfg-id": int(data.config_id),
            "from": data.from_,
            "to": data.to,
            "delivery-status": [status.value for status in statuses],
            "status": "ACCEPTED",
        }


def _sum(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {name: sum(row[name] for row in rows) for name in ("pending", "retry", "failed")}


def _within(moment: int, start: int | None, end: int | None) -> bool:
    return (start is None or moment >= start) and (end is None or moment <= end)
