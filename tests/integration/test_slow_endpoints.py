"""Slow endpoints on moto (docs/delivery.md, "Slow endpoints"): a batch's attempts go out side by side,
an attempt past its patience needs a slow slot or is deferred without spending the attempt, the
deferral shows in the tracking API, and the slots live in the deliveries table as leases."""

from __future__ import annotations

import threading
import time

import pytest
from switchboard import wiring

from tests.integration.test_delivery import Pipeline
from tests.receivers import Receiver, Reply


@pytest.fixture
def atomic_writes(monkeypatch):
    """DynamoDB applies a conditional write atomically; moto in-process checks and writes without a lock,
    so threads of one batch could both pass a condition. (The local runtime serialises its requests.)"""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.Lock()
    original = DynamoDBBackend.update_item

    def update_item(self, *args, **kwargs):
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "update_item", update_item)


@pytest.fixture
def pipeline(aws, monkeypatch, atomic_writes):
    monkeypatch.setenv("ALLOW_PRIVATE_TARGETS", "true")
    monkeypatch.setenv("SLOW_ATTEMPT_AFTER_SECONDS", "0.5")
    monkeypatch.setenv("SLOW_ATTEMPTS_PER_CONFIGURATION", "1")
    wiring.reset()
    return Pipeline(aws)


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def test_one_slow_slot_per_configuration_the_rest_deferred_and_tracked(pipeline, receiver, world):
    who = world.child_admin
    stalled = receiver.script("/stall", Reply(200, "late", delay_s=5))
    config = pipeline.config(who, stalled, **{"timeout-seconds": 2, "retry-schedule": [600]})
    pipeline.subscribe(who, config["id"])
    events = [pipeline.publish(who) for _ in range(3)]
    started = time.monotonic()
    pipeline._poll("EVENTS_QUEUE_URL", "fanout")
    assert pipeline._poll("DELIVERY_QUEUE_URL", "deliver") == 3  # one batch, worked side by side
    elapsed = time.monotonic() - started
    assert elapsed < 2 + 3  # one timeout, not three in a row
    tracked = {event: pipeline.tracking(who, event, config["id"]) for event in events}
    timed_out = [t for t in tracked.values() if t["delivery-attempts"]]
    deferred = [t for t in tracked.values() if not t["delivery-attempts"]]
    assert len(timed_out) == 1 and timed_out[0]["delivery-status"] == "RETRY"
    assert timed_out[0]["delivery-attempts"][0]["status"] == "RETRY"
    assert len(deferred) == 2
    for waiting in deferred:
        assert waiting["delivery-status"] == "PENDING" and waiting["deferrals"] == 1
        assert "slow attempt(s) of this configuration already in flight" in waiting["deferred-reason"]
    assert "deferrals" not in timed_out[0]


def test_slots_are_leases_taken_once_and_given_back_by_their_holder(aws):
    repository = wiring.deliveries_repository()
    now = int(time.time() * 1000)
    first = repository.take_slot("acct#1", 2, "a", now + 10_000, now)
    second = repository.take_slot("acct#1", 2, "b", now + 10_000, now)
    assert {first, second} == {0, 1}
    assert repository.take_slot("acct#1", 2, "c", now + 10_000, now) is None
    assert first is not None and second is not None
    repository.free_slot("acct#1", first, "not-the-holder")
    assert repository.take_slot("acct#1", 2, "c", now + 10_000, now) is None
    repository.free_slot("acct#1", first, "a")
    assert repository.take_slot("acct#1", 2, "c", now + 10_000, now) == first
    # A lease that ran out (its holder died) is taken over.
    assert repository.take_slot("acct#1", 2, "d", now + 30_000, now + 20_000) is not None
