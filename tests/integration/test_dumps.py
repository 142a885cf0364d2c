"""Subscription dumps on moto, in-process: the referenceId at once, the file written by the dump job
(JSON lines, gzip, zip), the event_file_complete notice delivered by webhook."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from urllib.parse import urlparse

import boto3
import pytest
from switchboard import wiring
from switchboard.events.models import Subscription

from tests.integration.test_buffer_files import BufferPipeline
from tests.receivers import Receiver
from tests.support import load_function


class DumpPipeline(BufferPipeline):
    def __init__(self, names: dict[str, str]) -> None:
        super().__init__(names)
        self.fns["dump_subscriptions"] = load_function("dump_subscriptions")

    def _poll(self, queue_variable: str, fn: str) -> int:
        moved = super()._poll(queue_variable, fn)
        if queue_variable == "EVENTS_QUEUE_URL":
            moved += super()._poll("DUMP_QUEUE_URL", "dump_subscriptions")
        return moved

    def dump(self, principal, topic: str = "NIS-Events", **query):
        return self.api(
            "dump_subscriptions", principal, "GET", f"/ess/v1/topics/{topic}/dump-subscriptions", query=query
        )


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def pipeline(aws, monkeypatch):
    monkeypatch.setenv("ALLOW_PRIVATE_TARGETS", "true")
    wiring.reset()
    return DumpPipeline(aws)


def _load(account_id: str, config_id: str, count: int, topic: str = "NIS-Events", first_id: int = 100_000) -> None:
    wiring.events_repository().bulk_load_subscriptions(
        [
            Subscription(
                id=str(first_id + i),
                account_id=account_id,
                topic=topic,
                event_type="porting_event" if topic == "NIS-Events" else None,
                delivery_configuration_id=config_id,
                match_criteria=f"number = '+1555{i:07d}'",
                index_field="number",
                index_value=f"+1555{i:07d}",
                start_ms=0,
                created_ms=0,
            )
            for i in range(count)
        ]
    )


def _notice_subscription(pipeline, who, address: str) -> dict:
    config = pipeline.config(who, address, name="file-notices")
    body = {"del-cfg-id": config["id"], "evt-tp": "event_file_complete", "match-crt": ""}
    status, created, _ = pipeline.api("subscriptions", who, "POST", "/ess/v1/topics/MSS-Messages/subscriptions", body)
    assert status == 201, created
    return config


def _download(uri: str) -> bytes:
    parsed = urlparse(uri)
    bucket = parsed.netloc.split(".")[0]
    return boto3.client("s3").get_object(Bucket=bucket, Key=parsed.path.lstrip("/"))["Body"].read()


def test_without_a_notice_subscription_the_dump_is_refused_and_says_what_to_create(pipeline, world):
    status, body, _ = pipeline.dump(world.child_admin)
    assert status == 409 and "MSS-Messages" in body["error"]["message"]
    assert "event_file_complete" in body["error"]["message"]


@pytest.mark.parametrize(
    ("query", "field"),
    [({"compression": "maybe"}, "compression"), ({"compression": "true", "compressionType": "rar"}, "compressionType")],
)
def test_bad_compression_values_name_the_field(pipeline, world, receiver, query, field):
    _notice_subscription(pipeline, world.child_admin, receiver.script("/notices"))
    status, body, _ = pipeline.dump(world.child_admin, **query)
    assert status == 400 and body["error"]["details"][0]["field"] == field


def test_an_unknown_topic_is_a_400(pipeline, world, receiver):
    _notice_subscription(pipeline, world.child_admin, receiver.script("/notices"))
    status, body, _ = pipeline.dump(world.child_admin, topic="No-Such-Topic")
    assert status == 400 and body["error"]["details"][0]["field"] == "ID"


@pytest.mark.parametrize("codec", [None, "gzip", "zip"])
def test_the_dump_arrives_as_an_event_file_complete_webhook(pipeline, world, receiver, codec):
    who = world.child_admin
    notices = _notice_subscription(pipeline, who, receiver.script("/notices"))
    target = pipeline.config(who, "https://example.com/numbers", name="numbers")
    _load(who.account_id, target["id"], 1_200)
    _load(who.account_id, target["id"], 30, topic="SCG-Message", first_id=900_000)  # another topic: not dumped
    _load(world.stranger_admin.account_id, "1", 50, first_id=500_000)  # another company: not dumped
    query = {"compression": "true", "compressionType": codec} if codec else {"compression": "false"}
    status, body, _ = pipeline.dump(who, **query)
    assert status == 200 and body["referenceId"].isdigit()
    pipeline.run(until=lambda: receiver.at("/notices"))
    (got,) = receiver.at("/notices")
    notice = got.json()
    assert notice["topic"] == "MSS-Messages" and notice["event"]["evt-tp"] == "event_file_complete"
    fields = notice["event"]["fld-val-list"]
    assert fields["file_id"] == body["referenceId"] and fields["file_status"] == "COMPLETE"
    assert fields["file_retention_time"] > 0 and fields["expire_time"] > fields["creation_time"]
    data = _download(fields["file_uri"])
    assert fields["file_size"] == len(data)
    if codec == "gzip":
        data = gzip.decompress(data)
    elif codec == "zip":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            (name,) = archive.namelist()
            data = archive.read(name)
    rows = [json.loads(line) for line in data.splitlines()]
    assert len(rows) == 1_200 and {row["topic-nm"] for row in rows} == {"NIS-Events"}
    assert {row["id"] for row in rows} == {str(100_000 + i) for i in range(1_200)}
    assert rows[0]["del-cfg-nm"] == "numbers" and rows[0]["match-crt"].startswith("number = ")
    assert notices["id"]  # delivered to the notice configuration


def test_strangers_cannot_dump_for_another_company(pipeline, world, receiver):
    _notice_subscription(pipeline, world.child_admin, receiver.script("/notices"))
    status, body, _ = pipeline.dump(world.stranger_admin, company=world.child_admin.account_id)
    assert status in (403, 404), body


def test_a_large_object_is_uploaded_in_fixed_parts_and_reads_back_whole(aws):
    """The multipart writer behind dumps: several full parts and a short last one, on moto's S3."""
    from switchboard.objects import PART_SIZE, ObjectStore

    store = ObjectStore(aws["FILES_BUCKET"])
    line = b'{"id":"1","match-crt":"number = \'+15550000000\'"}\n'
    lines = (2 * PART_SIZE + PART_SIZE // 3) // len(line) + 1
    with store.writer("subscription-dumps/big.jsonl", "application/x-ndjson") as sink:
        for _ in range(lines):
            sink.write(line)
        assert len(sink._parts) == 2  # two full parts are out; the third goes at the end
    assert sink.size == lines * len(line) == store.size("subscription-dumps/big.jsonl")
    found = store.get("subscription-dumps/big.jsonl")
    assert found is not None and found[0] == line * lines and found[1] == "application/x-ndjson"


def test_a_failed_write_aborts_the_upload_and_leaves_no_object(aws):
    from switchboard.objects import ObjectStore

    store = ObjectStore(aws["FILES_BUCKET"])
    with pytest.raises(RuntimeError), store.writer("subscription-dumps/broken.jsonl", "application/x-ndjson") as sink:
        sink.write(b"{}\n")
        raise RuntimeError("the job died")
    assert store.get("subscription-dumps/broken.jsonl") is None
    assert boto3.client("s3").list_multipart_uploads(Bucket=aws["FILES_BUCKET"]).get("Uploads", []) == []
