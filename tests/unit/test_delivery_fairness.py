"""Slow endpoints cost their own tenant (engine fairness, docs/delivery.md "Slow endpoints"): an attempt
unanswered after its patience needs a slow slot of its configuration and of its account, or it is cut
off and deferred (its attempt not spent); a configuration seen slow takes its slots before sending;
fast endpoints never touch the slots."""

from __future__ import annotations

import threading
import time
from typing import Any

from switchboard.delivery.engine import Engine, EngineSettings, TaskOutcome
from switchboard.delivery.models import DeliverTask, Delivery, Status
from switchboard.delivery.sender import Sender

from tests.fakes.memory_store import (
    FixedConfigurations,
    MemoryStore,
    QueuedTasks,
    SeveralConfigurations,
    SilentNotices,
    pending_delivery,
)
from tests.receivers import Receiver, Reply

T, C = "t" * 32, "c" * 32
SETTINGS = EngineSettings(patience_s=0.3, slow_per_configuration=2, slow_per_account=3, defer_s=30)


def delivery(account: str, config_id: str, n: int) -> Delivery:
    return pending_delivery(account, config_id, f"evt{config_id}{n:04d}")


def task(d: Delivery) -> DeliverTask:
    return DeliverTask(account_id=d.account_id, event_id=d.event_id, config_id=d.config_id, attempt=1)


class World:
    def __init__(self) -> None:
        self.receiver = Receiver()
        self.stalled = 0  # requests the stalled endpoint has started answering
        self.receiver.decide("/stall", self._stall)
        self.receiver.script("/fast", Reply(200, "ok"))
        self.store, self.tasks = MemoryStore(), QueuedTasks()
        url = self.receiver.url
        self.configs = SeveralConfigurations(
            FixedConfigurations.build(T, "1001", f"{url}/stall", **{"timeout-seconds": 2}),
            FixedConfigurations.build(T, "1002", f"{url}/stall", **{"timeout-seconds": 2}),
            FixedConfigurations.build(C, "2001", f"{url}/fast", **{"timeout-seconds": 2}),
        )

    def _stall(self, _request: Any) -> Reply:
        self.stalled += 1
        return Reply(200, "late", delay_s=6)  # past every attempt's 2 s timeout

    def engine(self) -> Engine:
        return Engine(self.store, self.configs, self.tasks, Sender(allow_private=True), SilentNotices(), SETTINGS)

    def seeded(self, account: str, config_id: str, count: int) -> list[Delivery]:
        made = [delivery(account, config_id, n) for n in range(count)]
        for d in made:
            self.store.create(d)
        return made

    def close(self) -> None:
        self.receiver.close()


def side_by_side(engines_and_tasks: list[tuple[Engine, DeliverTask]]) -> list[str]:
    results: list[str] = [""] * len(engines_and_tasks)

    def run(index: int, engine: Engine, work: DeliverTask) -> None:
        results[index] = str(engine.deliver(work))

    threads = [threading.Thread(target=run, args=(i, e, t)) for i, (e, t) in enumerate(engines_and_tasks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_slow_attempts_beyond_the_configurations_slots_are_cut_off_and_deferred():
    world = World()
    try:
        stalled = world.seeded(T, "1001", 5)
        started = time.monotonic()
        outcomes = side_by_side([(world.engine(), task(d)) for d in stalled])
        # Two waited out their timeout (slots held), three were cut off after the patience.
        assert sorted(outcomes) == ["deferred:slow-endpoint"] * 3 + ["retry"] * 2, outcomes
        assert time.monotonic() - started < 2 + 5
        deferred = [d for d in stalled if world.store.delivery(T, d.event_id, "1001").attempts == 0]
        assert len(deferred) == 3  # not spent: their first attempt is still to come
        assert all(world.store.delivery(T, d.event_id, "1001").status is Status.PENDING for d in deferred)
        assert len(world.tasks) == 3 + 2  # three deferred tasks back on the queue, two retries
        assert sum(world.store.deferrals.values()) == 3
    finally:
        world.close()


def test_an_account_cannot_take_more_than_its_slots_across_configurations():
    world = World()
    try:
        first, second = world.seeded(T, "1001", 2), world.seeded(T, "1002", 2)
        outcomes = side_by_side([(world.engine(), task(d)) for d in first + second])
        assert sorted(outcomes).count("retry") == 3  # the account's three slots
        assert sorted(outcomes).count("deferred:slow-endpoint") == 1
    finally:
        world.close()


def test_a_configuration_seen_slow_takes_its_slots_before_sending():
    world = World()
    try:
        engine = world.engine()
        first, second, third = world.seeded(T, "1001", 3)
        assert str(engine.deliver(task(first))) == "retry"  # went slow, held a slot, timed out
        scope, far = f"{T}#1001", int(time.time() * 1000) + 60_000
        assert world.store.take_slot(scope, 2, "other", far, 0) is not None
        assert world.store.take_slot(scope, 2, "other", far, 0) is not None
        sent = world.stalled
        started = time.monotonic()
        assert str(engine.deliver(task(second))) == "deferred:slow-endpoint"
        assert time.monotonic() - started < SETTINGS.patience_s  # refused before sending
        assert world.stalled == sent
        # A worker that has not seen it slow sends, and is cut off at its patience.
        assert str(world.engine().deliver(task(third))) == "deferred:slow-endpoint"
        assert world.stalled == sent + 1
    finally:
        world.close()


def test_a_fast_endpoint_beside_a_stalled_one_is_not_held_up_and_takes_no_slots():
    world = World()
    try:
        stalled = world.seeded(T, "1001", 6)
        (fast,) = world.seeded(C, "2001", 1)
        engines = [(world.engine(), task(d)) for d in stalled]
        arrived: list[float] = []
        threads = [threading.Thread(target=e.deliver, args=(t,)) for e, t in engines]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        assert world.engine().deliver(task(fast)).outcome is TaskOutcome.SUCCESS
        arrived.append(time.monotonic() - started)
        for thread in threads:
            thread.join(30)
        assert arrived[0] < 1.5
        assert not any(scope.startswith(C) for scope in world.store._slots)
    finally:
        world.close()
