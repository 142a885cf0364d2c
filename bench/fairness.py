"""Fair delivery (docs/delivery.md, "Slow endpoints"), side by side in this run: tenant C's delivery
latency alone, behind tenant T's stalled endpoint with the engine's slow slots, and behind it with the
slow slots switched off (every attempt waits out its timeout, as the engine did before).

Four workers (threads, an Engine each, as four concurrent deliver invocations) share one in-memory
store and one queue; T's tasks are queued first, C's one task after them. C's latency runs from its
task being queued to its request reaching C's receiver.
"""

from __future__ import annotations

import threading
import time

WORKERS = 4
STALLED_TASKS = 20
TIMEOUT_S = 2  # T's configured timeout; its endpoint answers after 4 s
PATIENCE_S = 0.3
T, C = "t" * 32, "c" * 32


def c_latency(stalled_tasks: int, fair: bool) -> float:
    from switchboard.delivery.engine import Engine, EngineSettings
    from switchboard.delivery.models import DeliverTask
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

    receiver = Receiver()
    receiver.script("/stall", Reply(200, "late", delay_s=2 * TIMEOUT_S))
    receiver.script("/calm", Reply(200, "ok"))
    configurations = SeveralConfigurations(
        FixedConfigurations.build(T, "1001", f"{receiver.url}/stall", **{"timeout-seconds": TIMEOUT_S}),
        FixedConfigurations.build(C, "2001", f"{receiver.url}/calm", **{"timeout-seconds": TIMEOUT_S}),
    )

    # Without slow slots: no attempt is ever cut off (the patience is longer than any timeout) and the
    # slots are more than there are tasks, so none is ever deferred.
    cap = 2 if fair else 10_000
    settings = EngineSettings(
        patience_s=PATIENCE_S if fair else 3600.0, slow_per_configuration=cap, slow_per_account=cap, defer_s=30
    )
    store, tasks = MemoryStore(), QueuedTasks()
    now = int(time.time() * 1000)

    def queue(account: str, config_id: str, n: int) -> None:
        event = f"e{config_id}{n:05d}"
        store.create(pending_delivery(account, config_id, event, now))
        tasks.send(DeliverTask(account_id=account, event_id=event, config_id=config_id, attempt=1))

    for n in range(stalled_tasks):
        queue(T, "1001", n)
    queued = time.monotonic()
    queue(C, "2001", 0)
    done = threading.Event()

    def work(engine: Engine) -> None:
        while not done.is_set():
            task = tasks.take(0.05)
            if task is not None:
                engine.deliver(task)

    engines = [
        Engine(store, configurations, tasks, Sender(allow_private=True), SilentNotices(), settings)
        for _ in range(WORKERS)
    ]
    threads = [threading.Thread(target=work, args=(engine,), daemon=True) for engine in engines]
    for thread in threads:
        thread.start()
    try:
        arrived = receiver.wait_for("/calm", 1, timeout=stalled_tasks * TIMEOUT_S + 30)
        latency = arrived[0].at - queued if arrived else float("inf")
    finally:
        done.set()
        for thread in threads:
            thread.join(TIMEOUT_S + 5)
        receiver.close()
    return latency


def report() -> list[str]:
    alone = c_latency(0, fair=True)
    fair = c_latency(STALLED_TASKS, fair=True)
    unfair = c_latency(STALLED_TASKS, fair=False)
    verdict = "PASS" if fair < unfair / 5 and fair < PATIENCE_S + 2 else "below target"
    return [
        f"delivery fairness       C's latency behind T's stalled endpoint ({STALLED_TASKS} tasks queued first, "
        f"{TIMEOUT_S} s timeouts, {WORKERS} workers): {fair:.2f} s with slow slots vs {alone:.3f} s alone "
        f"(ratio {fair / alone:.0f}; the patience is {PATIENCE_S} s) vs {unfair:.2f} s without slow slots "
        f"(ratio with/without {fair / unfair:.3f})  {verdict}"
    ]
