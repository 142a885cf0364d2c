"""Soak: 5,000 events through publish -> fanout -> delivery on `switchboard local` (durable, 4 clients).

Every event is delivered exactly once, and the runtime's peak resident memory after 5,000 events
stays within 1.2x of its peak after 1,000 (moto's transactions used to copy whole tables: memory
grew by megabytes per event until the runtime died).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bench.delivery import FastReceiver
from bench.local_runtime import publish, subscribe, wait_delivered
from tests.e2e.process import RuntimeProcess

pytestmark = [pytest.mark.e2e, pytest.mark.soak]

FIRST = 1_000
TOTAL = 5_000
CLIENTS = 4
MEMORY_GROWTH_LIMIT = 1.2
# Generous: fanout has one poller locally; on a loaded 2-core machine it fans out a few events/s.
DRAIN_TIMEOUT_S = 3_600


def test_five_thousand_events_delivered_once_in_bounded_memory(tmp_path: Path) -> None:
    receiver = FastReceiver(record=True)
    runtime = RuntimeProcess("--data-dir", str(tmp_path / "state"))
    try:
        config_id = subscribe(runtime.api_url, runtime.token, receiver.url + "/hook")
        ids: list[str] = []
        _, _, batch = publish(runtime.api_url, runtime.token, FIRST, CLIENTS, retry_authorizer_failures=True)
        ids += batch
        assert wait_delivered(receiver, FIRST, DRAIN_TIMEOUT_S) == FIRST, runtime.tail()
        peak_at_first = runtime.rss_kib(peak=True)

        while len(ids) < TOTAL:
            count = min(1_000, TOTAL - len(ids))
            _, _, batch = publish(runtime.api_url, runtime.token, count, CLIENTS, retry_authorizer_failures=True)
            ids += batch
        assert wait_delivered(receiver, TOTAL, DRAIN_TIMEOUT_S) == TOTAL, runtime.tail()
        time.sleep(3.0)  # a duplicate would come right behind
        peak_at_total = runtime.rss_kib(peak=True)

        delivered = [webhook_id for _, webhook_id in receiver.arrivals]
        expected = {f"{event}:{config_id}" for event in ids}
        assert len(ids) == len(set(ids)) == TOTAL
        assert set(delivered) == expected, "lost deliveries"
        assert len(delivered) == TOTAL, f"{len(delivered) - TOTAL} duplicate deliveries"
        print(
            f"\nruntime peak RSS: {peak_at_first / 1024:.0f} MiB after {FIRST:,} events, "
            f"{peak_at_total / 1024:.0f} MiB after {TOTAL:,} ({peak_at_total / peak_at_first:.2f}x)"
        )
        assert peak_at_total <= MEMORY_GROWTH_LIMIT * peak_at_first
        assert runtime.stop() == 0
    finally:
        runtime.kill()
        receiver.close()
