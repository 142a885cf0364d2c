"""Parking a delivery whose configuration is inactive (docs/delivery.md): when the configuration turns
out to have been reactivated meanwhile, the task is queued again at once and the lease taken for parking
is given back, with no deferral counted."""

from __future__ import annotations

from typing import Any

from switchboard.delivery.engine import Engine, EngineSettings
from switchboard.delivery.models import DeliverTask

from tests.fakes.memory_store import FixedConfigurations, MemoryStore, QueuedTasks, SilentNotices, pending_delivery

ACCOUNT = "a" * 32
NOW = 1_795_428_000_000


class Unused:
    def post(self, *_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("nothing is sent while parking")


def test_a_configuration_reactivated_while_parking_gives_the_lease_back_and_queues_the_task():
    store, tasks = MemoryStore(), QueuedTasks()
    configs = FixedConfigurations.build(ACCOUNT, "1001", "https://hooks.example.com/x", **{"is-active": False})
    engine = Engine(store, configs, tasks, Unused(), SilentNotices(), EngineSettings(), clock=lambda: NOW)  # type: ignore[arg-type]
    store.create(pending_delivery(ACCOUNT, "1001", "evt0001", NOW))
    task = DeliverTask(account_id=ACCOUNT, event_id="evt0001", config_id="1001", attempt=1)

    original_park = store.park

    def park_after_a_reactivation(*args: Any) -> bool:
        # the configuration is switched on between the engine's read of it and its park
        configs.config = configs.config.model_copy(
            update={"spec": configs.config.spec.model_copy(update={"is_active": True})}
        )
        store.park = original_park  # type: ignore[method-assign]
        return False

    store.park = park_after_a_reactivation  # type: ignore[method-assign]
    assert str(engine.deliver(task)) == "requeued:reactivated"
    row = store._rows[(ACCOUNT, "evt0001", "1001")]
    assert row.lease_owner is None and row.lease_until is None
    assert store.deferrals == {} and not row.delivery.parked
    assert tasks.take(0) == task
