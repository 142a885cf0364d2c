"""The circuit breaker (docs/delivery.md, "Slow endpoints"): consecutive timeouts or connection
failures open it; while open, tasks are put back for when it closes, the attempt not spent and nothing
sent; it opens again for twice as long if the endpoint still fails, and an HTTP answer is not a
transport failure."""

from __future__ import annotations

from switchboard.delivery.engine import Engine, EngineSettings
from switchboard.delivery.models import DeliverTask
from switchboard.delivery.sender import HttpResult

from tests.fakes.memory_store import FixedConfigurations, MemoryStore, QueuedTasks, SilentNotices, pending_delivery

ACCOUNT = "a" * 32


class Clock:
    def __init__(self) -> None:
        self.ms = 1_795_428_000_000

    def now(self) -> int:
        return self.ms


class ScriptedSender:
    def __init__(self, *results: HttpResult) -> None:
        self.results = list(results)
        self.sent = 0

    def post(self, url, body, headers, timeout_s, **_options):
        self.sent += 1
        return self.results.pop(0) if len(self.results) > 1 else self.results[0]


REFUSED = HttpResult(None, "connect", "connection refused", "", None, 1)
SERVER_ERROR = HttpResult(503, None, None, "busy", None, 1)
OK = HttpResult(200, None, None, "OK", None, 1)


def world(sender: ScriptedSender):
    clock = Clock()
    store, tasks = MemoryStore(), QueuedTasks()
    configs = FixedConfigurations.build(ACCOUNT, "1001", "https://hooks.example.com/x", **{"retry-schedule": [0] * 20})
    settings = EngineSettings(circuit_failures=3, circuit_cooldown_s=30, circuit_max_cooldown_s=600)
    engine = Engine(store, configs, tasks, sender, SilentNotices(), settings, clock=clock.now)  # type: ignore[arg-type]
    return clock, store, configs, engine


def deliveries(store: MemoryStore, clock: Clock, count: int) -> list[DeliverTask]:
    made = []
    for n in range(count):
        delivery = pending_delivery(ACCOUNT, "1001", f"evt{n:04d}", clock.ms)
        store.create(delivery)
        made.append(DeliverTask(account_id=ACCOUNT, event_id=delivery.event_id, config_id="1001", attempt=1))
    return made


def test_consecutive_connection_failures_open_the_circuit_and_waiting_spends_nothing():
    sender = ScriptedSender(REFUSED)
    clock, store, configs, engine = world(sender)
    tasks = deliveries(store, clock, 5)
    assert [str(engine.deliver(t)) for t in tasks[:3]] == ["retry"] * 3
    assert configs.circuits == [clock.ms + 30_000]
    assert configs.config.wire()["circuit-open-until"].endswith("Z")
    assert str(engine.deliver(tasks[3])) == "deferred:circuit-open"
    assert sender.sent == 3 and store.delivery(ACCOUNT, "evt0003", "1001").attempts == 0
    # Closed again after the cool-down: the next failure opens it at once, for twice as long.
    clock.ms += 31_000
    assert [str(engine.deliver(t)) for t in (tasks[3], tasks[4])] == ["retry", "retry"]
    assert str(engine.deliver(deliveries_again(store, clock, tasks[0]))) == "retry"
    assert configs.circuits[-1] == clock.ms + 60_000


def deliveries_again(store: MemoryStore, clock: Clock, task: DeliverTask) -> DeliverTask:
    """The task of a delivery's next attempt (its first one failed and is due again)."""
    return task.model_copy(update={"attempt": store.delivery(ACCOUNT, task.event_id, "1001").attempts + 1})


def test_an_http_error_is_not_a_transport_failure_and_a_success_resets_the_count():
    sender = ScriptedSender(REFUSED, REFUSED, SERVER_ERROR, REFUSED, REFUSED, OK, REFUSED, REFUSED)
    clock, store, configs, engine = world(sender)
    tasks = deliveries(store, clock, 8)
    assert [str(engine.deliver(t)).split(":")[0] for t in tasks] == ["retry"] * 5 + ["success"] + ["retry"] * 2
    assert configs.circuits == []
