"""DynamoDB stream event sources driven like Lambda's stream pollers.

A poller follows every shard of its table's stream (TRIM_HORIZON or LATEST), gathers up to
BatchSize records, invokes the function with Lambda's DynamoDB stream event and moves on only
when the batch succeeded. With ReportBatchItemFailures a batch resumes from the first record
the function reported; with BisectBatchOnFunctionError the failing records are split in two and
each half is tried on its own (a split is not a retry), so one record that keeps failing ends
alone; records still failing after MaximumRetryAttempts are described on the OnFailure SQS
destination (as Lambda does: the stream positions, not the records) and skipped, and the
records after them flow.
FilterCriteria patterns are applied (the subset the template uses), so filtered-out records cost
no invocation.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .emulator import aws_client
from .functions import FunctionRunner, InvocationError
from .pollers import Pollers
from .template import FUNCTION_TYPES, Resolver, Template, iter_events

log = logging.getLogger(__name__)

POLL_INTERVAL_SECONDS = 0.25
DESCRIBE_EVERY_SECONDS = 30.0  # new shards are rare (one per table in the emulator)
RETRY_PAUSE_SECONDS = 0.5


@dataclass(frozen=True)
class StreamEventSource:
    function_id: str
    event_name: str
    stream_arn: str
    batch_size: int = 100
    starting_position: str = "TRIM_HORIZON"
    maximum_retry_attempts: int = 10
    report_batch_item_failures: bool = False
    bisect_on_error: bool = False
    on_failure_arn: str | None = None
    enabled: bool = True
    filters: tuple[dict[str, Any], ...] = ()  # FilterCriteria patterns; none: every record


def stream_event_sources(template: Template, resolver: Resolver) -> list[StreamEventSource]:
    sources = []
    for function_id, function in template.of_type(*FUNCTION_TYPES).items():
        for event_name, raw in iter_events(function, "DynamoDB"):
            props = resolver.resolve(raw)
            on_failure = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
            retries = int(props.get("MaximumRetryAttempts", -1))
            filters = tuple(
                json.loads(f["Pattern"]) if isinstance(f.get("Pattern"), str) else f.get("Pattern") or {}
                for f in (props.get("FilterCriteria") or {}).get("Filters") or []
            )
            sources.append(
                StreamEventSource(
                    function_id=function_id,
                    event_name=event_name,
                    stream_arn=str(props["Stream"]),
                    batch_size=max(1, min(int(props.get("BatchSize", 100)), 1000)),
                    starting_position=str(props.get("StartingPosition", "TRIM_HORIZON")),
                    maximum_retry_attempts=10 if retries < 0 else retries,  # -1 is "forever"; locally, ten
                    report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
                    bisect_on_error=str(props.get("BisectBatchOnFunctionError", False)).lower() == "true",
                    on_failure_arn=str(on_failure) if on_failure else None,
                    enabled=str(props.get("Enabled", True)).lower() != "false",
                    filters=filters,
                )
            )
    return sources


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as Lambda passes it: epoch-second times, the stream's ARN."""
    data = dict(record.get("dynamodb") or {})
    when = data.get("ApproximateCreationDateTime")
    if isinstance(when, datetime):
        data["ApproximateCreationDateTime"] = when.timestamp()
    return {**record, "dynamodb": data, "eventSourceARN": stream_arn}


def _value_matches(allowed: list[Any], value: Any) -> bool:
    for option in allowed:
        if isinstance(option, dict) and "prefix" in option:
            if isinstance(value, str) and value.startswith(option["prefix"]):
                return True
        elif option == value:
            return True
    return False


def matches(pattern: dict[str, Any], record: dict[str, Any]) -> bool:
    """Whether `record` fits a Lambda filter pattern (the subset the template uses: nested keys,
    lists of exact values, `{"prefix": ...}`)."""
    for key, expected in pattern.items():
        value = record.get(key) if isinstance(record, dict) else None
        if isinstance(expected, dict):
            if not isinstance(value, dict) or not matches(expected, value):
                return False
        elif not _value_matches(expected if isinstance(expected, list) else [expected], value):
            return False
    return True


def first_failure(response: Any, records: list[dict[str, Any]]) -> int | None:
    """Index of the first record a partial-batch response reports (None: all succeeded)."""
    if not isinstance(response, dict) or not response.get("batchItemFailures"):
        return None
    sequence = {r["dynamodb"]["SequenceNumber"]: index for index, r in enumerate(records)}
    positions = []
    for failure in response["batchItemFailures"]:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if identifier not in sequence:
            return 0  # an unusable report fails the whole batch
        positions.append(sequence[identifier])
    return min(positions)


class StreamPoller:
    """One thread following every shard of one stream for one function."""

    def __init__(
        self, source: StreamEventSource, runner: FunctionRunner, endpoint_url: str, *, echo: Callable[[str], None]
    ) -> None:
        self.source = source
        self.runner = runner
        self.endpoint_url = endpoint_url
        self.echo = echo
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # shard id -> the sequence number of the last record this poller is done with
        self.consumed: dict[str, int] = {}

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"stream:{self.source.function_id}.{self.source.event_name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float = 10.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        streams = aws_client("dynamodbstreams", self.endpoint_url)
        iterators: dict[str, str | None] = {}
        described = 0.0
        while not self._stop.is_set():
            try:
                if time.monotonic() - described > DESCRIBE_EVERY_SECONDS:
                    self._discover(streams, iterators)
                    described = time.monotonic()
                busy = False
                for shard_id, iterator in list(iterators.items()):
                    if iterator is None:
                        continue
                    response = streams.get_records(ShardIterator=iterator, Limit=self.source.batch_size)
                    raw = response.get("Records", [])
                    records = [lambda_record(r, self.source.stream_arn) for r in raw]
                    busy = busy or bool(records)
                    if self.source.filters:  # records no filter matches are passed over, as Lambda does
                        records = [r for r in records if any(matches(f, r) for f in self.source.filters)]
                    if records:
                        self._deliver(records)
                    iterators[shard_id] = response.get("NextShardIterator")
                    if raw and not self._stop.is_set():
                        self.consumed[shard_id] = int(raw[-1]["dynamodb"]["SequenceNumber"])
                if not busy:
                    self._stop.wait(POLL_INTERVAL_SECONDS)
            except (ClientError, BotoCoreError) as exc:
                if self._stop.is_set():
                    return
                self.echo(f"[stream] {self.source.function_id}.{self.source.event_name}: {exc}")
                self._stop.wait(1.0)

    def _discover(self, streams: Any, iterators: dict[str, str | None]) -> None:
        description = streams.describe_stream(StreamArn=self.source.stream_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            shard_id = shard["ShardId"]
            if shard_id not in iterators:
                iterators[shard_id] = streams.get_shard_iterator(
                    StreamArn=self.source.stream_arn, ShardId=shard_id, ShardIteratorType=self.source.starting_position
                )["ShardIterator"]

    def _deliver(self, records: list[dict[str, Any]]) -> None:
        pending = records
        attempts = 0
        while pending and not self._stop.is_set():
            try:
                response = self.runner.invoke(self.source.function_id, {"Records": pending})
                failed_at = first_failure(response, pending) if self.source.report_batch_item_failures else None
                error = "a record of the batch failed"
            except InvocationError as exc:
                failed_at, error = 0, f"{exc.error_type}: {exc.error_message}"
            if failed_at is None:
                return
            pending = pending[failed_at:]
            if self.source.bisect_on_error and len(pending) > 1:
                half = len(pending) // 2
                self._deliver(pending[:half])
                self._deliver(pending[half:])
                return
            attempts += 1
            if attempts > self.source.maximum_retry_attempts:
                self._give_up(pending, error)
                return
            self._stop.wait(RETRY_PAUSE_SECONDS)

    def _give_up(self, records: list[dict[str, Any]], error: str) -> None:
        self.echo(f"[stream] {self.source.function_id}: gave up on {len(records)} record(s): {error}")
        if not self.source.on_failure_arn:
            return
        sequence = [r["dynamodb"]["SequenceNumber"] for r in records]
        detail = {
            "requestContext": {"condition": "RetryAttemptsExhausted", "functionArn": self.source.function_id},
            "responseContext": {"functionError": error},
            "DDBStreamBatchInfo": {
                "streamArn": self.source.stream_arn,
                "startSequenceNumber": sequence[0],
                "endSequenceNumber": sequence[-1],
                "batchSize": len(records),
                "approximateArrivalOfFirstRecord": time.time(),
            },
        }
        sqs = aws_client("sqs", self.endpoint_url)
        queue_name = self.source.on_failure_arn.rsplit(":", 1)[1]
        queue_url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(detail))


class StreamPollers(Pollers):
    """Every enabled DynamoDB stream event source of a template."""

    poller_class = StreamPoller

    def consumed_through(self) -> dict[str, int | None]:
        """Per table whose stream is followed: the sequence number up to which every poller following it
        is done (its one shard, as the emulator has), or None while one of them has not read yet."""
        through: dict[str, int | None] = {}
        for poller in self.pollers:
            table = table_of_stream(poller.source.stream_arn)
            done = list(poller.consumed.values())
            mine = min(done) if done else None
            if table in through:
                theirs = through[table]
                through[table] = None if theirs is None or mine is None else min(theirs, mine)
            else:
                through[table] = mine
        return through


def table_of_stream(stream_arn: str) -> str:
    """`arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>` -> `<name>`."""
    return stream_arn.split(":", 5)[5].split("/")[1]
