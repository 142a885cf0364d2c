"""The emulator's streams do not grow with history: records every local poller is done with are
dropped by the runtime's maintenance (none a poller still needs), a stream nobody follows keeps its
newest records, and shard iterators expire as on AWS instead of piling up."""

from __future__ import annotations

import threading
import time
from typing import Any

from switchboard_local import motopatch
from switchboard_local.emulator import Emulator, aws_client
from switchboard_local.persistence import Maintenance
from switchboard_local.streams import StreamEventSource, StreamPollers


class Recorder:
    """The function under the pollers: records every key it is given."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self._lock = threading.Lock()

    def invoke(self, function_id: str, event: Any, request_id: str | None = None, timeout: float | None = None) -> Any:
        with self._lock:
            self.keys += [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]
        return {"batchItemFailures": []}

    def wait_for(self, count: int, timeout: float = 30.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while len(self.keys) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.keys)


def streamed_table(emulator: Emulator, name: str) -> str:
    dynamodb = aws_client("dynamodb", emulator.url)
    table = dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    return str(table["LatestStreamArn"])


def put(emulator: Emulator, table: str, keys: list[str]) -> None:
    dynamodb = aws_client("dynamodb", emulator.url)
    for key in keys:
        dynamodb.put_item(TableName=table, Item={"pk": {"S": key}})


def shard_of(table: str) -> Any:
    from moto.backends import get_backend

    return get_backend("dynamodb")["123456789012"]["us-east-1"].tables[table].stream_shard


def test_consumed_records_are_dropped_and_nothing_a_poller_needs(emulator):
    followed_arn = streamed_table(emulator, "followed")
    streamed_table(emulator, "unfollowed")
    first, second = Recorder(), Recorder()
    sources = [
        StreamEventSource(function_id=name, event_name="Stream", stream_arn=followed_arn, batch_size=7)
        for name in ("First", "Second")
    ]
    pollers = StreamPollers(sources, first, emulator.url, echo=lambda _line: None)  # type: ignore[arg-type]
    pollers.pollers[1].runner = second  # two functions following one stream, each at its own pace
    maintenance = Maintenance(None, streams_consumed=pollers.consumed_through)
    put(emulator, "unfollowed", [f"u{index}" for index in range(12)])
    # nothing is trimmed before every follower has read: one of them may still need the oldest record
    assert pollers.consumed_through() == {"followed": None}
    maintenance.trim_streams(keep_unfollowed=5)  # (other tests' streams in this process are trimmed too)
    assert len(shard_of("unfollowed").items) == 5
    assert [r.record["dynamodb"]["Keys"]["pk"]["S"] for r in shard_of("unfollowed").items] == [
        f"u{index}" for index in range(7, 12)
    ]
    assert len(shard_of("followed").items) == 0  # nothing written yet; nothing trimmed from it either

    pollers.start()
    try:
        keys = [f"k{index:03d}" for index in range(40)]
        put(emulator, "followed", keys)
        assert first.wait_for(40) == keys and second.wait_for(40) == keys
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and shard_of("followed").items:
            maintenance.trim_streams()  # until both pollers have noted their last batch
            time.sleep(0.1)
        assert shard_of("followed").items == []

        # records written after a trim reach every follower once, in order, with their own numbers
        more = [f"m{index:03d}" for index in range(15)]
        put(emulator, "followed", more)
        assert first.wait_for(55) == keys + more and second.wait_for(55) == keys + more
        sequence = shard_of("followed").starting_sequence_number
        maintenance.trim_streams()
        assert len(shard_of("followed").items) <= 15
    finally:
        pollers.stop()
    time.sleep(0.3)
    assert first.keys == keys + more and second.keys == keys + more  # no record twice
    # a reader arriving now starts at the oldest record kept
    streams = aws_client("dynamodbstreams", emulator.url)
    shard_id = streams.describe_stream(StreamArn=followed_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=followed_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")
    assert streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"] == []
    assert shard_of("followed").starting_sequence_number >= sequence


def test_shard_iterators_expire_and_are_bounded(emulator, monkeypatch):
    """Fails on moto as released: every GetRecords leaves one more iterator behind, forever."""
    arn = streamed_table(emulator, "polled")
    streams = aws_client("dynamodbstreams", emulator.url)
    shard_id = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id, ShardIteratorType="LATEST")["ShardIterator"]
    monkeypatch.setattr(motopatch, "ITERATORS_KEPT", 20)
    for _ in range(60):  # an idle poller asking again and again
        iterator = streams.get_records(ShardIterator=iterator)["NextShardIterator"]
    from moto.backends import get_backend

    kept = get_backend("dynamodbstreams")["123456789012"]["us-east-1"].shard_iterators
    assert len(kept) <= 20
    assert streams.get_records(ShardIterator=iterator)["Records"] == []  # the newest still works


def test_iterators_older_than_fifteen_minutes_are_forgotten():
    now = [1000.0]
    iterators = motopatch.ExpiringIterators(clock=lambda: now[0])
    iterators["old"] = object()
    now[0] += 14 * 60
    iterators["recent"] = object()
    assert list(iterators) == ["old", "recent"]
    now[0] += 61
    iterators["new"] = object()
    assert list(iterators) == ["recent", "new"]
