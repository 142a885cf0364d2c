"""The engine's throttle on a simulated clock: a per-minute rate with a backlog keeps its pace, and each
waiting task is re-queued once, for the slot it holds (not again and again until its turn)."""

from __future__ import annotations

from switchboard.delivery.engine import Engine
from switchboard.delivery.models import DeliverTask, Delivery
from switchboard.delivery.sender import HttpResult

from tests.fakes.memory_store import FixedConfigurations, MemoryStore, QueuedTasks, SilentNotices

ACCOUNT = "a" * 32


class Clock:
    def __init__(self) -> None:
        self.ms = 1_795_428_000_000

    def now(self) -> int:
        return self.ms

    def seconds(self) -> float:
        return self.ms / 1000

    def sleep(self, seconds: float) -> None:
        self.ms += int(seconds * 1000)


class RecordingSender:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.sent_at: list[int] = []

    def post(self, url, body, headers, timeout_s, **_options):
        self.sent_at.append(self.clock.ms)
        return HttpResult(200, None, None, "OK", None, 1)


def test_a_per_minute_backlog_keeps_its_pace_and_requeues_each_task_once():
    clock = Clock()
    store, tasks, sender = MemoryStore(), QueuedTasks(clock=clock.seconds), RecordingSender(clock)
    configs = FixedConfigurations.build(ACCOUNT, "1001", "http://127.0.0.1:9/hook", throttling=20)
    engine = Engine(store, configs, tasks, sender, SilentNotices(), clock=clock.now, sleep=clock.sleep)
    count = 50
    for n in range(count):
        event = f"evt{n:04d}"
        store.create(
            Delivery(
                account_id=ACCOUNT,
                event_id=event,
                config_id="1001",
                topic="NIS-Events",
                event_type="porting_event",
                event_timestamp="2026-11-23T10:00:00Z",
                fields={"number": "+1"},
                created_ms=clock.ms,
                updated_ms=clock.ms,
                due_ms=clock.ms,
            )
        )
        tasks.send(DeliverTask(account_id=ACCOUNT, event_id=event, config_id="1001", attempt=1))
    while len(sender.sent_at) < count:
        task = tasks.take(0)
        if task is None:
            clock.ms = int(tasks.next_ready_at() * 1000)  # nothing ready: jump to the next delayed task
            continue
        engine.deliver(task)
    gaps = [b - a for a, b in zip(sender.sent_at, sender.sent_at[1:], strict=False)]
    assert min(gaps) >= 3000  # 20 per minute: one every 3 s, never faster
    assert sender.sent_at[-1] - sender.sent_at[0] <= (count - 1) * 3000 + 1000  # and not much slower
    assert tasks.delayed <= count  # each waiting task went back once, holding its slot
    assert engine.outcomes.counts.get("success") == count
