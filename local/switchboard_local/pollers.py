"""SQS event sources driven like Lambda's pollers.

A poller long-polls its queue, gathers a batch (BatchSize, MaximumBatchingWindowInSeconds),
invokes the function with Lambda's SQS event and deletes what succeeded. Failed messages
are left alone: they become visible again after the queue's visibility timeout, and the
queue's own redrive policy (moto implements it on receive) moves them to the DLQ after
maxReceiveCount receives.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .emulator import aws_client
from .functions import FunctionRunner, InvocationError
from .template import FUNCTION_TYPES, REGION, Resolver, Template, iter_events

log = logging.getLogger(__name__)

MAX_RECEIVE = 10  # SQS's per-call maximum
POLL_WAIT_SECONDS = 1  # short long-polls, so stop() never waits long


LOCAL_POLLERS = 4


@dataclass(frozen=True)
class SqsEventSource:
    function_id: str
    event_name: str
    queue_arn: str
    batch_size: int = 10
    batching_window: float = 0.0
    report_batch_item_failures: bool = False
    enabled: bool = True
    concurrency: int = 1

    @property
    def queue_name(self) -> str:
        return self.queue_arn.rsplit(":", 1)[1]


def sqs_event_sources(template: Template, resolver: Resolver) -> list[SqsEventSource]:
    sources = []
    for function_id, function in template.of_type(*FUNCTION_TYPES).items():
        for event_name, raw in iter_events(function, "SQS"):
            props = resolver.resolve(raw)
            if props.get("FilterCriteria"):
                log.warning(
                    "%s.%s: FilterCriteria is not emulated; every message is delivered", function_id, event_name
                )
            scaling = props.get("ScalingConfig") or {}
            sources.append(
                SqsEventSource(
                    function_id=function_id,
                    event_name=event_name,
                    queue_arn=str(props["Queue"]),
                    batch_size=int(props.get("BatchSize", 10)),
                    batching_window=float(props.get("MaximumBatchingWindowInSeconds", 0)),
                    report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
                    enabled=str(props.get("Enabled", True)).lower() != "false",
                    # Lambda scales pollers with the backlog (five at first); locally up to four, as
                    # ScalingConfig caps them. (moto's queues are made safe for this in motopatch.)
                    concurrency=max(1, min(int(scaling.get("MaximumConcurrency", LOCAL_POLLERS)), LOCAL_POLLERS)),
                )
            )
    return sources


def lambda_message_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """SQS API message attributes -> the shape Lambda puts in the event record."""
    out = {}
    for name, attr in attributes.items():
        value: dict[str, Any] = {}
        if "StringValue" in attr:
            value["stringValue"] = attr["StringValue"]
        if "BinaryValue" in attr:
            value["binaryValue"] = base64.b64encode(attr["BinaryValue"]).decode()
        value["stringListValues"] = list(attr.get("StringListValues") or [])
        value["binaryListValues"] = [base64.b64encode(v).decode() for v in attr.get("BinaryListValues") or []]
        value["dataType"] = attr["DataType"]
        out[name] = value
    return out


def sqs_record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    record = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": lambda_message_attributes(message.get("MessageAttributes") or {}),
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def failed_message_ids(response: Any, batch_ids: list[str]) -> set[str]:
    """Which records of a successful invocation failed, by Lambda's partial-batch rules.

    An unusable report (an id that is missing or not in the batch) fails the whole batch.
    """
    if not isinstance(response, dict) or not response.get("batchItemFailures"):
        return set()
    failures = response["batchItemFailures"]
    if not isinstance(failures, list):
        return set(batch_ids)
    ids = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or identifier not in batch_ids:
            return set(batch_ids)
        ids.add(identifier)
    return ids


class SqsPoller:
    """The pollers of one event source (one thread per unit of concurrency)."""

    def __init__(
        self,
        source: SqsEventSource,
        runner: FunctionRunner,
        endpoint_url: str,
        *,
        echo: Callable[[str], None] = print,
    ) -> None:
        self.source = source
        self.runner = runner
        self.endpoint_url = endpoint_url
        self.echo = echo
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for index in range(self.source.concurrency):
            thread = threading.Thread(
                target=self._run, name=f"sqs:{self.source.function_id}.{self.source.event_name}:{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float = 10.0) -> None:
        for thread in self._threads:
            thread.join(timeout)

    def _run(self) -> None:
        sqs = aws_client("sqs", self.endpoint_url)
        queue_url = None
        while not self._stop.is_set():
            try:
                if queue_url is None:
                    queue_url = sqs.get_queue_url(QueueName=self.source.queue_name)["QueueUrl"]
                batch = self._receive_batch(sqs, queue_url)
                if batch:
                    self._process(sqs, queue_url, batch)
            except (ClientError, BotoCoreError) as exc:
                if self._stop.is_set():
                    return
                self.echo(f"[sqs] {self.source.queue_name}: {exc}")
                self._stop.wait(1.0)

    def _receive_batch(self, sqs: Any, queue_url: str) -> list[dict[str, Any]]:
        """Up to BatchSize messages: wait for the first, then fill for up to the batching window."""
        batch: list[dict[str, Any]] = []
        deadline = None
        while len(batch) < self.source.batch_size and not self._stop.is_set():
            wait = POLL_WAIT_SECONDS
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                wait = min(wait, max(int(remaining), 0))
            messages = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=min(MAX_RECEIVE, self.source.batch_size - len(batch)),
                WaitTimeSeconds=wait,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            batch.extend(messages)
            if not batch:
                continue  # nothing yet: keep long-polling
            if deadline is None:
                if self.source.batching_window <= 0:
                    break
                deadline = time.monotonic() + self.source.batching_window
            elif not messages and wait == 0:
                self._stop.wait(0.05)  # under a second of window left: poll without waiting
        return batch

    def _process(self, sqs: Any, queue_url: str, batch: list[dict[str, Any]]) -> None:
        event = {"Records": [sqs_record(m, self.source.queue_arn) for m in batch]}
        ids = [m["MessageId"] for m in batch]
        try:
            response = self.runner.invoke(self.source.function_id, event)
        except InvocationError as exc:
            if not self._stop.is_set():
                self.echo(
                    f"[sqs] {self.source.function_id} failed on {len(batch)} message(s) from "
                    f"{self.source.queue_name}: {exc.error_type}: {exc.error_message}"
                )
            return  # nothing deleted: the whole batch is retried after the visibility timeout
        failed = failed_message_ids(response, ids) if self.source.report_batch_item_failures else set()
        done = [m for m in batch if m["MessageId"] not in failed]
        for start in range(0, len(done), MAX_RECEIVE):
            chunk = done[start : start + MAX_RECEIVE]
            result = sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
            for failure in result.get("Failed", []):
                self.echo(f"[sqs] could not delete a message from {self.source.queue_name}: {failure}")
        if failed:
            self.echo(
                f"[sqs] {self.source.function_id}: {len(failed)} of {len(batch)} message(s) failed; "
                "they return after the visibility timeout"
            )


class Pollers:
    """Every enabled SQS event source of a template."""

    poller_class: Any = SqsPoller  # a subclass names another kind of poller (streams.StreamPollers)

    def __init__(
        self,
        sources: list[Any],  # SqsEventSource here; a subclass's own kind of source
        runner: FunctionRunner,
        endpoint_url: str,
        *,
        echo: Callable[[str], None] = print,
    ) -> None:
        self.pollers = [self.poller_class(s, runner, endpoint_url, echo=echo) for s in sources if s.enabled]

    def start(self) -> None:
        for poller in self.pollers:
            poller.start()

    def stop(self) -> None:
        for poller in self.pollers:
            poller.stop()
        for poller in self.pollers:
            poller.join()
