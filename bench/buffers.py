"""Scheduled delivery and dumps.

1. AWS requests per event, counted on moto, for the same 200 events delivered one webhook each
   (fanout → deliver) and through a buffer file (fanout parks → a tick closes the file → one
   delivery → its events settle); the receiver's HTTP requests per event beside it.
2. Subscription dumps of 10,000 and 100,000 subscriptions: subscriptions per second and the peak
   of memory allocated while dumping (tracemalloc), side by side. DynamoDB answers from the
   partitioned in-memory stub and S3 from an endpoint that keeps only part sizes, so the memory
   measured is the dump's own, not the stored data's.
"""

from __future__ import annotations

import json
import os
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3

ACCOUNT = "6" * 32
EVENTS = 200


class _Calls:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls[f"{model.service_model.service_name}.{model.name}"] += 1

    def total(self) -> int:
        return sum(self.calls.values())


@contextmanager
def _moto() -> Iterator[dict[str, str]]:
    from moto import mock_aws
    from switchboard import aws, wiring

    from tests.support import create_template_resources

    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "ALLOW_PRIVATE_TARGETS": "true",
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    with mock_aws():
        aws.use_session(None)
        names = create_template_resources()
        os.environ.update(names)
        wiring.reset()
        try:
            yield names
        finally:
            aws.use_session(None)
            wiring.reset()


def _drain(queue_url: str) -> Iterator[dict[str, Any]]:
    """What Lambda's poller would hand the function (not counted: the poller is not our code)."""
    sqs = boto3.client("sqs")
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return
        for message in messages:
            yield json.loads(message["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def _requests_per_event(scheduled: bool) -> dict[str, float]:
    from switchboard import aws, wiring
    from switchboard.clock import iso_from_ms
    from switchboard.delivery.buffers import BufferEnvelope
    from switchboard.delivery.models import PublishedEvent, TaskEnvelope
    from switchboard.events.models import DeliveryConfigurationInput, SubscriptionInput
    from switchboard.tenancy import Caller

    from tests.receivers import Receiver

    receiver = Receiver()
    try:
        with _moto() as names:
            accounts = wiring.accounts()
            account = accounts.create_account("Bench")
            owner = Caller(account_id=account.account_id, user_id=account.user_id, priv_level="admin")
            spec: dict[str, Any] = {"del-cfg-nm": "bench", "addr": receiver.script("/hook")}
            if scheduled:
                spec["cron-expression"] = "0 0 0 1 1 *"
            config, _ = wiring.configurations().create(owner, None, DeliveryConfigurationInput.model_validate(spec))
            wiring.subscriptions().create(
                owner, None, "NIS-Events", SubscriptionInput.model_validate({"del-cfg-id": config.id})
            )
            list(_drain(names["BUFFER_QUEUE_URL"]))  # the arm message: set-up, not per event
            counter = _Calls()
            session = boto3.session.Session()
            session.events.register("before-call", counter)
            aws.use_session(session)
            wiring.reset()
            fanout, engine, buffers = wiring.fanout(), wiring.engine(), wiring.buffer_files()
            for n in range(EVENTS):
                fields = {"number": f"+1555{n:07d}", "porting_date": "2026-11-23T10:00:00Z"}
                event = {
                    "account-id": account.account_id,
                    "event-id": f"bench{n:05d}",
                    "topic": "NIS-Events",
                    "evt-tp": "porting_event",
                    "timestamp": iso_from_ms(int(time.time() * 1000) + 1000),
                    "fld-val-list": fields,
                }
                fanout.handle(PublishedEvent.model_validate(event))
            if scheduled:
                buffers.arm(account.account_id, config.id)
                schedule = wiring.buffer_repository().schedule(account.account_id, config.id)
                stored = wiring.cached_configurations().get(account.account_id, config.id)
                assert schedule is not None and stored is not None
                assert buffers.flush(stored, schedule, int(time.time() * 1000) + 1000)
            moved = True
            while moved:
                moved = False
                for body in _drain(names["DELIVERY_QUEUE_URL"]):
                    engine.deliver(TaskEnvelope.model_validate({"task": body}).task)  # type: ignore[arg-type]
                    moved = True
                for body in _drain(names["BUFFER_QUEUE_URL"]):
                    task = BufferEnvelope.model_validate({"task": body}).task
                    if task.kind != "tick":  # the next tick's message: the chain, not per event
                        buffers.handle(task)
                    moved = True
            posts = len(receiver.at("/hook"))
            delivered = sum(len(r.json()) if isinstance(r.json(), list) else 1 for r in receiver.at("/hook"))
            assert delivered == EVENTS, delivered
            return {"aws": counter.total() / EVENTS, "http": posts / EVENTS}
    finally:
        receiver.close()


# ---------------------------------------------------------------- dumps


class _S3Sink:
    """An S3 endpoint for multipart uploads that keeps nothing."""

    def attach(self, session: Any) -> None:
        session.events.register_first("before-send.s3", self._answer)

    def _answer(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        from tests.fakes.dynamo_http import _Raw

        url, method = request.url, request.method
        if method == "POST" and "uploads" in url.split("?", 1)[-1] and "uploadId" not in url:
            body = (
                b"<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
                b"<UploadId>bench-upload</UploadId></InitiateMultipartUploadResult>"
            )
            return AWSResponse(url, 200, {}, _Raw(body))
        if method == "PUT":
            return AWSResponse(url, 200, {"ETag": '"bench"'}, _Raw(b""))
        body = b"<CompleteMultipartUploadResult><ETag>&quot;bench&quot;</ETag></CompleteMultipartUploadResult>"
        return AWSResponse(url, 200, {}, _Raw(body))


class _Notices:
    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish_event(self, account_id: str, topic: str, event_type: str, fields: dict[str, Any], **_: Any) -> None:
        self.published.append(fields)


def _dump_figures(total: int) -> dict[str, float]:
    from switchboard import aws, wiring
    from switchboard.events.dumps import DumpTask, SubscriptionDumps
    from switchboard.events.models import Subscription
    from switchboard.objects import ObjectStore

    from tests.fakes.dynamo_http import DynamoStub

    os.environ.update(
        {
            "EVENTS_TABLE": "events",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    wiring.reset()
    stub, sink = DynamoStub(), _S3Sink()
    session = boto3.session.Session()
    stub.attach(session)
    sink.attach(session)
    aws.use_session(session)
    try:
        stub.put({"pk": f"ACCT#{ACCOUNT}", "sk": "DELCFG#000000001001", "id": "1001", "name": "numbers"})
        for n in range(total):
            sub = Subscription(
                id=str(100_000 + n),
                account_id=ACCOUNT,
                topic="NIS-Events",
                event_type="porting_event",
                delivery_configuration_id="1001",
                match_criteria=f"number = '+1555{n:07d}'",
                index_field="number",
                index_value=f"+1555{n:07d}",
                start_ms=0,
                created_ms=0,
            )
            stub.put({"pk": f"ACCT#{ACCOUNT}", "sk": f"SUB#{sub.id.zfill(12)}", "doc": sub.model_dump_json()})
        notices = _Notices()
        dumps = SubscriptionDumps(
            wiring.events_repository(),
            None,  # type: ignore[arg-type]  # the job needs no caller checks
            None,  # type: ignore[arg-type]
            None,  # type: ignore[arg-type]
            ObjectStore("bench-files"),
            None,  # type: ignore[arg-type]
            notices,
            lambda: int(time.time() * 1000),
            3600,
        )
        task = DumpTask(account_id=ACCOUNT, topic="NIS-Events", reference_id="1", codec="gzip", requested_ms=0)
        start = time.perf_counter()
        count = dumps.run(task)  # the rate, untraced
        elapsed = time.perf_counter() - start
        assert count == total and notices.published[0]["file_size"] > 0
        tracemalloc.start()
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        dumps.run(task)  # the memory, traced (tracing slows it down)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return {"rate": total / elapsed, "peak_mb": (peak - before) / 2**20}
    finally:
        aws.use_session(None)
        wiring.reset()


def report() -> list[str]:
    single, buffered = _requests_per_event(False), _requests_per_event(True)
    small, large = _dump_figures(10_000), _dump_figures(100_000)
    return [
        f"buffered delivery       AWS requests per event {buffered['aws']:.2f} vs one webhook each "
        f"{single['aws']:.2f}  ratio {buffered['aws'] / single['aws']:.2f}  (target <= 2); "
        f"HTTP requests per event {buffered['http']:.3f} vs {single['http']:.3f}",
        f"subscription dump       100,000 subs {large['rate']:8.0f} subs/s, peak {large['peak_mb']:.1f} MiB vs "
        f"10,000 subs {small['rate']:8.0f} subs/s, peak {small['peak_mb']:.1f} MiB  "
        f"memory ratio {large['peak_mb'] / small['peak_mb']:.2f}  (target <= 1.2)",
    ]
