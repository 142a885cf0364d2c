"""In-memory implementations of the delivery engine's ports, so a benchmark measures our code and
not a database: the Store keeps the same conditions as DeliveriesRepository (claim, record, park,
the throttle's compare-and-set), Tasks behaves like SQS with DelaySeconds, and the configuration
is a fixed one with its signing secret in plain text (no KMS).

Every Store method takes one lock, so several Engine instances in threads can share it the way
several workers share the deliveries table.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from switchboard.delivery.models import Attempt, DeliverTask, Delivery, Status
from switchboard.delivery.repository import Claim, DeliveriesRepository
from switchboard.events.models import DeliveryConfiguration, DeliveryConfigurationInput


@dataclass
class _Row:
    """A delivery item: the delivery plus what only the table knows (lease, wake time). Writes are kept
    as pending changes and applied when the delivery is next read, so recording an attempt costs the
    benchmark no model copy (the throughput figure is meant to be about the engine)."""

    stored: Delivery
    lease_owner: str | None = None
    lease_until: int | None = None
    wake_ms: int | None = None
    changes: dict[str, Any] = field(default_factory=dict)

    @property
    def delivery(self) -> Delivery:
        if self.changes:
            self.stored = self.stored.model_copy(update=self.changes)
            self.changes = {}
        return self.stored

    @property
    def status(self) -> Status:
        return self.changes.get("status", self.stored.status)

    @property
    def attempts(self) -> int:
        return self.changes.get("attempts", self.stored.attempts)


class MemoryStore:
    """The engine's Store, in a dict; refusals are explained by DeliveriesRepository's own rules."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str, str], _Row] = {}
        self._attempts: dict[tuple[str, str, str], list[Attempt]] = {}
        self._tat: dict[tuple[str, str], int] = {}
        self._health: dict[tuple[str, str], dict[str, int]] = {}
        self._slots: dict[str, dict[int, tuple[int, str]]] = {}
        self.deferrals: dict[str, int] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------ seeding and reading back
    def create(self, delivery: Delivery, wake_ms: int | None = None, config_check: Any = None) -> bool:
        key = (delivery.account_id, delivery.event_id, delivery.config_id)
        with self._lock:
            if key in self._rows:
                return False
            self._rows[key] = _Row(delivery, wake_ms=wake_ms)
            return True

    def delivery(self, account_id: str, event_id: str, config_id: str) -> Delivery | None:
        with self._lock:
            row = self._rows.get((account_id, event_id, config_id))
            return row.delivery if row else None

    def statuses(self) -> dict[Status, int]:
        with self._lock:
            counts: dict[Status, int] = {}
            for row in self._rows.values():
                counts[row.status] = counts.get(row.status, 0) + 1
            return counts

    # ------------------------------------------------------------ the Store protocol
    def claim(
        self, account_id: str, event_id: str, config_id: str, attempt: int, owner: str, now_ms: int, lease_ms: int
    ) -> Claim:
        """Open, not handled, not parked, `attempt` is the next one, due, lease free — or the reason why not."""
        with self._lock:
            row = self._rows.get((account_id, event_id, config_id))
            if row is None:
                return Claim(None, False, "missing")
            delivery = row.delivery
            lease_free = row.lease_until is None or row.lease_until < now_ms
            if (
                delivery.status in (Status.PENDING, Status.RETRY)
                and not delivery.handled
                and not delivery.parked
                and delivery.attempts == attempt - 1
                and delivery.due_ms <= now_ms
                and lease_free
            ):
                row.lease_owner, row.lease_until = owner, now_ms + lease_ms
                return Claim(delivery, True, lease_until_ms=row.lease_until)
            return DeliveriesRepository._refusal(delivery, row.lease_until or 0, attempt, now_ms)

    def record(
        self, delivery: Delivery, attempt: Attempt, status: Status, due_ms: int, wake_ms: int | None, owner: str
    ) -> bool:
        """Only the lease holder records, and only the attempt it claimed."""
        key = (delivery.account_id, delivery.event_id, delivery.config_id)
        with self._lock:
            row = self._rows.get(key)
            if row is None or row.lease_owner != owner or row.attempts != attempt.number - 1:
                return False
            row.changes.update(status=status, attempts=attempt.number, due_ms=due_ms, updated_ms=attempt.attempted_ms)
            if attempt.address:
                row.changes["last_address"] = attempt.address
            row.lease_owner = row.lease_until = None
            row.wake_ms = wake_ms
            self._attempts.setdefault(key, []).append(attempt)
            return True

    def park(self, delivery: Delivery, reason: str, config_check: dict[str, Any] | None) -> bool:
        key = (delivery.account_id, delivery.event_id, delivery.config_id)
        with self._lock:
            row = self._rows.get(key)
            current = row.delivery if row else None
            if (
                current is None
                or current.status not in (Status.PENDING, Status.RETRY)
                or current.attempts != delivery.attempts
                or current.parked
            ):
                return False
            row.changes["parked"] = reason
            row.lease_owner = row.lease_until = None
            return True

    def swap_tat(self, account_id: str, config_id: str, expected: int | None, new: int) -> int | None:
        """Compare-and-set, answering like the repository: None when set, else the value found."""
        key = (account_id, config_id)
        with self._lock:
            current = self._tat.get(key)
            if current != expected:
                return current if current is not None else 0
            self._tat[key] = new
            return None

    def note_failure(self, account_id: str, config_id: str, now_ms: int, transport: bool) -> tuple[int, int, int]:
        with self._lock:
            health = self._health.setdefault((account_id, config_id), {})
            health.setdefault("failing_since", now_ms)
            health["transport_failures"] = health.get("transport_failures", 0) + 1 if transport else 0
            return health["failing_since"], health.get("last_success", 0), health["transport_failures"]

    def note_success(self, account_id: str, config_id: str, now_ms: int) -> None:
        with self._lock:
            health = self._health.setdefault((account_id, config_id), {})
            health["last_success"] = now_ms
            health.pop("failing_since", None)
            health.pop("transport_failures", None)

    def take_slot(self, scope: str, cap: int, token: str, until_ms: int, now_ms: int) -> int | None:
        with self._lock:
            slots = self._slots.setdefault(scope, {})
            for index in range(cap):
                held = slots.get(index)
                if held is None or held[0] < now_ms:
                    slots[index] = (until_ms, token)
                    return index
            return None

    def free_slot(self, scope: str, index: int, token: str) -> None:
        with self._lock:
            slots = self._slots.get(scope, {})
            if index in slots and slots[index][1] == token:
                del slots[index]

    def release_claim(self, delivery: Delivery, owner: str, now_ms: int, reason: str) -> bool:
        with self._lock:
            row = self._rows.get((delivery.account_id, delivery.event_id, delivery.config_id))
            if row is None or row.lease_owner != owner:
                return False
            row.lease_owner, row.lease_until = None, None
            self.deferrals[reason] = self.deferrals.get(reason, 0) + 1
            return True

    def release_lease(self, delivery: Delivery, owner: str) -> bool:
        with self._lock:
            row = self._rows.get((delivery.account_id, delivery.event_id, delivery.config_id))
            if row is None or row.lease_owner != owner:
                return False
            row.lease_owner, row.lease_until = None, None
            return True


class FixedConfigurations:
    """One delivery configuration, as CachedConfigurations would hand it out warm."""

    def __init__(self, config: DeliveryConfiguration, signing_secret: str) -> None:
        self.config = config
        self._signing_secret = signing_secret
        self.deactivated: list[str] = []
        self.circuits: list[int] = []

    @classmethod
    def build(cls, account_id: str, config_id: str, address: str, **spec: Any) -> FixedConfigurations:
        from switchboard.secrets import new_signing_secret

        now = int(time.time() * 1000)
        config = DeliveryConfiguration(
            id=config_id,
            account_id=account_id,
            spec=DeliveryConfigurationInput.model_validate(
                {"del-cfg-nm": f"bench-{config_id}", "addr": address, **spec}
            ),
            sealed_signing_secret="(plain text in the benchmark)",
            created_ms=now,
            updated_ms=now,
        )
        return cls(config, new_signing_secret())

    def get(self, account_id: str, config_id: str) -> DeliveryConfiguration | None:
        config = self.config
        return config if (config.account_id, config.id) == (account_id, config_id) else None

    def forget(self, account_id: str, config_id: str) -> None:
        pass

    def version_check(self, config: DeliveryConfiguration) -> dict[str, Any] | None:
        return None

    def signing_secrets(self, config: DeliveryConfiguration, now_ms: int) -> list[str]:
        return [self._signing_secret]

    def basic_credentials(self, config: DeliveryConfiguration) -> tuple[str, str]:
        raise NotImplementedError("the benchmark configuration has no endpoint authentication")

    def client_secret(self, config: DeliveryConfiguration) -> str:
        raise NotImplementedError("the benchmark configuration has no endpoint authentication")

    def deactivate(self, config: DeliveryConfiguration, reason: str) -> bool:
        self.deactivated.append(reason)
        return True

    def open_circuit(self, config: DeliveryConfiguration, until_ms: int) -> None:
        self.circuits.append(until_ms)
        self.config = self.config.model_copy(update={"circuit_open_until_ms": until_ms})


class SeveralConfigurations:
    """Several FixedConfigurations behind one Configurations port (tenants side by side)."""

    def __init__(self, *fixed: FixedConfigurations) -> None:
        self._by_key = {(f.config.account_id, f.config.id): f for f in fixed}

    def get(self, account_id: str, config_id: str) -> DeliveryConfiguration | None:
        fixed = self._by_key.get((account_id, config_id))
        return fixed.config if fixed else None

    def forget(self, account_id: str, config_id: str) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        def call(config: DeliveryConfiguration, *args: Any) -> Any:
            return getattr(self._by_key[(config.account_id, config.id)], name)(config, *args)

        return call


def pending_delivery(account_id: str, config_id: str, event_id: str, now_ms: int | None = None) -> Delivery:
    """A delivery as fanout creates it: pending, due now."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    return Delivery(
        account_id=account_id,
        event_id=event_id,
        config_id=config_id,
        topic="NIS-Events",
        event_type="porting_event",
        event_timestamp="2026-11-23T10:00:00Z",
        fields={"number": "+1"},
        created_ms=now,
        updated_ms=now,
        due_ms=now,
    )


class QueuedTasks:
    """A delivery queue with SQS's DelaySeconds: a task sent with a delay is offered again only once
    that delay has passed, earliest first. Thread-safe; workers share one."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock  # seconds; a simulated clock lets a test run hours of delays at once
        self._heap: list[tuple[float, int, Any]] = []
        self._order = itertools.count()
        self._ready = threading.Condition()
        self.delayed = 0  # tasks sent back with a delay (throttle waits, retries, not-yet-due)

    def send(self, task: Any, delay_s: int = 0) -> None:
        with self._ready:
            if delay_s:
                self.delayed += 1
            heapq.heappush(self._heap, (self._clock() + delay_s, next(self._order), task))
            self._ready.notify()

    def send_many(self, tasks: Iterable[DeliverTask]) -> None:
        for task in tasks:
            self.send(task)

    def take(self, wait_s: float) -> Any | None:
        """The earliest task whose delay has passed, waiting up to `wait_s` for one; None if none came."""
        deadline = self._clock() + wait_s
        with self._ready:
            while True:
                now = self._clock()
                if self._heap and self._heap[0][0] <= now:
                    return heapq.heappop(self._heap)[2]
                if now >= deadline:
                    return None
                ready_at = self._heap[0][0] if self._heap else deadline
                self._ready.wait(min(ready_at, deadline) - now)

    def next_ready_at(self) -> float | None:
        with self._ready:
            return self._heap[0][0] if self._heap else None

    def __len__(self) -> int:
        with self._ready:
            return len(self._heap)


class SilentNotices:
    """Configuration-disabled notices, kept instead of raised as alerts."""

    def __init__(self) -> None:
        self.disabled: list[str] = []

    def configuration_disabled(self, config: DeliveryConfiguration, reason: str) -> None:
        self.disabled.append(reason)
