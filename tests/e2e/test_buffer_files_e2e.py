"""Scheduled delivery and subscription dumps end to end on `switchboard local`: cron ticks from the
buffer queue's chains, files in the emulator's S3 bucket, the delivery engine sending them, the
dump job streaming subscriptions to S3 and announcing them by webhook with a presigned URL."""

from __future__ import annotations

import gzip
import json
import random
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from switchboard.events.models import Subscription
from switchboard_local.runtime import LocalRuntime

from tests.e2e.conftest import Principal, RuntimeLog, create_account
from tests.e2e.test_delivery_e2e import Ess, verify_json
from tests.receivers import Receiver, Reply

pytestmark = pytest.mark.e2e

EVERY_2S = "*/2 * * * * *"
NEVER_SOON = "0 0 0 1 1 *"
SINCE_2020 = "2020-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def ess(runtime: LocalRuntime, runtime_log: RuntimeLog) -> Iterator[Ess]:
    client = Ess(runtime, runtime_log)
    yield client
    client.http.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def tenant(runtime: LocalRuntime) -> Principal:
    return create_account(runtime, "Buffer Tenant")


def subscribe_all(ess: Ess, who: Principal, config_id: str) -> None:
    body = {"del-cfg-id": config_id, "evt-tp": "porting_event", "match-crt": "", "start-date": SINCE_2020}
    ess.ok("POST", "/ess/v1/topics/NIS-Events/subscriptions", who, 201, json=body)


def publish(ess: Ess, who: Principal, number: str, timestamp: str) -> str:
    fields = {"number": number, "porting_date": "2026-11-23T10:00:00Z", "tracking_id": timestamp}
    return ess.publish(who, **{"fld-val-list": fields, "timestamp": timestamp})


def files_seen(received: list[Any]) -> list[list[dict[str, Any]]]:
    return [r.json() for r in received if r.headers.get("x-ess-file-id")]


def event_ids(received: list[Any]) -> list[str]:
    ids: list[str] = []
    for request in received:
        body = request.json()
        ids += [n["event-id"] for n in body] if isinstance(body, list) else [body["event-id"]]
    return ids


def test_fifty_events_over_five_keys_make_one_request_per_tick_with_the_newest_of_each(ess, receiver, tenant, world):
    address = receiver.script("/files", Reply(200, "stored"))
    config = ess.config(tenant, address, **{"cron-expression": NEVER_SOON, "latest-event-only": True})
    subscribe_all(ess, tenant, config["id"])
    numbers = [f"+1777000000{k}" for k in range(5)]
    events = [(n, f"2026-11-23T10:00:{s:02d}Z") for n in numbers for s in range(10)]
    random.Random(13).shuffle(events)  # arrival order differs from event time
    newest = {}
    for number, timestamp in events:
        event_id = publish(ess, tenant, number, timestamp)
        if timestamp.endswith(":09Z"):
            newest[number] = event_id
    ess.eventually(
        lambda: len(ess.deliveries(tenant, **{"del-cfg-id": config["id"], "delivery-status": "PENDING"})) == 50,
        "50 deliveries waiting for the schedule",
    )
    assert receiver.at("/files") == []
    # A schedule every two seconds: the 50 waiting go into the first file, collapsed to 5.
    ess.replace_config(tenant, config, **{"cron-expression": EVERY_2S})
    first = ess.wait_received(receiver, "/files", 1)[0]
    body = verify_json(first, config["signing-secret"])
    assert len(body) == 5
    assert {n["event"]["fld-val-list"]["number"]: n["event-id"] for n in body} == newest
    assert {n["event"]["timestamp"] for n in body} == {"2026-11-23T10:00:09Z"}
    # Later periods: 10 more events; each tick's request holds at most one event per key, and the
    # newest of each key is what the last file holding it carries.
    later = {}
    for second in (20, 30):
        for number in numbers:
            later[number] = publish(ess, tenant, number, f"2026-11-23T10:00:{second}Z")

    def newest_sent() -> dict[str, str] | None:
        seen: dict[str, str] = {}
        for file in files_seen(receiver.at("/files"))[1:]:
            seen.update({n["event"]["fld-val-list"]["number"]: n["event-id"] for n in file})
        return seen if seen == later else None

    ess.eventually(newest_sent, "the newest of the later events delivered")
    for file in files_seen(receiver.at("/files"))[1:]:
        assert len({n["event"]["fld-val-list"]["number"] for n in file}) == len(file) <= 5
    count = len(receiver.at("/files"))
    time.sleep(4.5)  # two more ticks with nothing to send: no request
    assert len(receiver.at("/files")) == count
    file_id = first.headers["x-ess-file-id"]

    def delivered() -> dict[str, Any] | None:
        listed = ess.ok("GET", "/ess/v1/event-buffer-files", tenant, params={"del-cfg-id": config["id"]})["files"]
        row = next((f for f in listed if str(f["file-id"]) == file_id), None)
        return row if row and row["file-status"] == "DELIVERED" else None

    row = ess.eventually(delivered, "the first file listed as DELIVERED")
    assert row["del-cfg-nm"] == config["del-cfg-nm"] and row["events"] == 5 and row["closed"] >= row["opened"]
    tracking = ess.wait_status(tenant, f"buffer-file-{file_id}", config["id"], "SUCCESS")
    (attempt,) = tracking["delivery-attempts"]
    assert attempt["status"] == "SUCCESS" and attempt["response-details"] == "stored"
    content = ess.request("GET", f"/ess/v1/event-buffer-files/{file_id}/content", tenant)
    assert content.status_code == 200 and content.json() == body
    for path in (f"/ess/v1/event-buffer-files/{file_id}", f"/ess/v1/event-buffer-files/{file_id}/content"):
        assert ess.request("GET", path, world.stranger).status_code == 404


def test_a_failing_endpoint_retries_the_file(ess, receiver, tenant):
    address = receiver.script("/flaky", Reply(500, "down"), Reply(200, "back"))
    # The three events wait for a schedule that is far off, then a schedule every two seconds takes
    # them all into its first file (published under a running two-second schedule, they may straddle
    # a tick: two files, and the second file's first attempt would arrive before the first's retry).
    config = ess.config(tenant, address, **{"cron-expression": NEVER_SOON})
    subscribe_all(ess, tenant, config["id"])
    published = {publish(ess, tenant, f"+1888000000{k}", f"2026-11-23T11:00:0{k}Z") for k in range(3)}
    ess.eventually(
        lambda: len(ess.deliveries(tenant, **{"del-cfg-id": config["id"], "delivery-status": "PENDING"})) == 3,
        "3 deliveries waiting for the schedule",
    )
    ess.replace_config(tenant, config, **{"cron-expression": EVERY_2S})
    failed, retried = ess.wait_received(receiver, "/flaky", 2)
    assert failed.body == retried.body and failed.headers["webhook-id"] == retried.headers["webhook-id"]
    assert (failed.headers["x-ess-attempt"], retried.headers["x-ess-attempt"]) == ("1", "2")
    assert sorted(event_ids([retried])) == sorted(published)
    file_id = retried.headers["x-ess-file-id"]
    tracking = ess.wait_status(tenant, f"buffer-file-{file_id}", config["id"], "SUCCESS")
    assert [a["status"] for a in tracking["delivery-attempts"]] == ["RETRY", "SUCCESS"]
    time.sleep(3)  # a later tick has nothing to send: one file, two attempts
    assert len(receiver.at("/flaky")) == 2


def test_switching_the_schedule_off_and_on_loses_and_repeats_nothing(ess, receiver, tenant):
    address = receiver.script("/switch", Reply(200))
    config = ess.config(tenant, address, **{"cron-expression": EVERY_2S})
    subscribe_all(ess, tenant, config["id"])
    published: list[str] = []
    clock = iter(range(10_000))

    def some(count: int) -> None:
        for _ in range(count):
            second = next(clock)
            timestamp = f"2026-11-23T12:{second // 60:02d}:{second % 60:02d}Z"
            published.append(publish(ess, tenant, f"+1999{second:07d}", timestamp))

    some(5)
    ess.wait_received(receiver, "/switch", 1)
    some(3)
    ess.replace_config(tenant, config, **{"cron-expression": None, "latest-event-only": False})
    some(4)
    ess.replace_config(tenant, config, **{"cron-expression": EVERY_2S})
    some(3)
    ess.replace_config(tenant, config, **{"cron-expression": None})
    some(2)
    ess.replace_config(tenant, config, **{"cron-expression": EVERY_2S})
    some(3)
    # Generous: a failed invocation is retried by the queue, a lost tick re-armed by the minute's sweep
    # (after the 90 s grace), a half-closed file finished by it.
    ess.eventually(
        lambda: len(event_ids(receiver.at("/switch"))) >= len(published), "every event delivered", timeout=480
    )
    time.sleep(3)  # a duplicate would show up by now
    seen = event_ids(receiver.at("/switch"))
    assert sorted(seen) == sorted(published)
    assert files_seen(receiver.at("/switch"))  # files went out, and single deliveries too
    assert any(not r.headers.get("x-ess-file-id") for r in receiver.at("/switch"))


def test_a_dump_of_ten_thousand_subscriptions_arrives_as_an_event_file_complete_webhook(ess, receiver, tenant, runtime):
    notices = ess.config(tenant, receiver.script("/notices"), **{"del-cfg-nm": f"notices-{time.monotonic_ns()}"})
    body = {"del-cfg-id": notices["id"], "evt-tp": "event_file_complete", "match-crt": ""}
    ess.ok("POST", "/ess/v1/topics/MSS-Messages/subscriptions", tenant, 201, json=body)
    target = ess.config(tenant, "https://example.com/numbers", **{"del-cfg-nm": f"numbers-{time.monotonic_ns()}"})
    table = boto3.resource(
        "dynamodb",
        endpoint_url=runtime.emulator_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    ).Table(runtime.outputs["EventsTableName"])
    expected = set()
    with table.batch_writer() as batch:
        for i in range(10_000):
            sub = Subscription(
                id=str(2_000_000 + i),
                account_id=tenant.account_id,
                topic="NIS-Events",
                event_type="porting_event",
                delivery_configuration_id=target["id"],
                match_criteria=f"number = '+1666{i:07d}'",
                index_field="number",
                index_value=f"+1666{i:07d}",
                start_ms=0,
                created_ms=0,
            )
            key = {"pk": f"ACCT#{tenant.account_id}", "sk": f"SUB#{sub.id.zfill(12)}"}
            batch.put_item(Item={**key, "doc": sub.model_dump_json()})
            expected.add(sub.id)
    answer = ess.ok(
        "GET",
        "/ess/v1/topics/NIS-Events/dump-subscriptions",
        tenant,
        params={"compression": "true", "compressionType": "gzip"},
    )
    (got,) = ess.wait_received(receiver, "/notices", 1, timeout=120)
    notice = verify_json(got, notices["signing-secret"])
    assert notice["topic"] == "MSS-Messages" and notice["event"]["evt-tp"] == "event_file_complete"
    fields = notice["event"]["fld-val-list"]
    assert fields["file_id"] == answer["referenceId"]
    download = requests.get(fields["file_uri"], timeout=60)
    assert download.status_code == 200 and len(download.content) == fields["file_size"]
    rows = [json.loads(line) for line in gzip.decompress(download.content).splitlines()]
    assert {row["id"] for row in rows} == expected and len(rows) == 10_000
