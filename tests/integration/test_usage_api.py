"""Expeto usage notifications on moto, in-process: the subscribers API, POST /v1/usage → the FIFO usage
queue → evaluate_usage → notifications (every search, consumed) and their ESS events on the events queue;
the feature flag, bad input, redelivery and two-tenant isolation."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from switchboard import wiring

from tests.support import call, load_function, rest_event

GIB = 1 << 30
IMSI = "123470101231123"
IMSI2 = "12347010123112"
SEARCHES = (
    "findByHash",
    "findByConsumed",
    "findBySystem",
    "findBySystemAndConsumed",
    "findBySubscriber",
    "findBySubscriberAndConsumed",
    "findByDeepSearch",
)
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class Context:
    function_name = "queue-worker"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:queue-worker"
    aws_request_id = "00000000-0000-0000-0000-000000000003"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 120_000


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class Usage:
    """The usage functions, driven the way API Gateway and Lambda's SQS poller drive them."""

    def __init__(self, aws: dict[str, str]) -> None:
        self.names = aws
        self.notifications = load_function("notifications")
        self.subscribers = load_function("subscribers")
        self.ingest = load_function("usage_ingest")
        self.evaluate = load_function("evaluate_usage")
        self.sqs = boto3.client("sqs")
        self.delivered: list[dict[str, Any]] = []  # usage messages handed to evaluate_usage

    def api(self, fn: Any, who: Any, method: str, path: str, body: Any = None, query=None, raw=None, headers=None):
        return call(fn, rest_event(method, path, who.context, body, query, headers=headers, raw_body=raw))

    def put(self, who, imsi: str, body: dict[str, Any], query=None):
        return self.api(self.subscribers, who, "PUT", f"/v1/subscribers/{imsi}", body, query)

    def post_usage(self, who, records: list[dict[str, Any]], query=None):
        return self.api(self.ingest, who, "POST", "/v1/usage", {"records": records}, query)

    def search(self, who, name: str, **query: str):
        return self.api(self.notifications, who, "GET", f"/v1/notifications/search/{name}", query=query or None)

    def drain(self) -> int:
        """Hand every queued usage message to evaluate_usage (as Lambda's poller does); returns how many."""
        url = self.names["USAGE_QUEUE_URL"]
        handled = 0
        while True:
            got = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])
            messages = got.get("Messages", [])
            if not messages:
                return handled
            self.redeliver(messages)
            for message in messages:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            self.delivered += messages
            handled += len(messages)

    def redeliver(self, messages: list[dict[str, Any]]) -> None:
        url = self.names["USAGE_QUEUE_URL"]
        event = {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": {},
                    "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{url.rsplit('/', 1)[1]}",
                    "awsRegion": "us-east-1",
                }
                for m in messages
            ]
        }
        assert self.evaluate.lambda_handler(event, Context()) == {"batchItemFailures": []}

    def published(self) -> list[dict[str, Any]]:
        """The ESS events queued for fanout (consumed)."""
        url = self.names["EVENTS_QUEUE_URL"]
        bodies = []
        while True:
            got = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
            if not got.get("Messages"):
                return bodies
            for message in got["Messages"]:
                bodies.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def usage(aws, world) -> Usage:
    for principal in (world.child_admin, world.stranger_admin):
        world.accounts.set_feature(principal.account_id, "usage-notifications", True)
    return Usage(aws)


def record(record_id: str, used: int, imsi: str = IMSI, timestamp: str | None = None) -> dict[str, Any]:
    return {"recordId": record_id, "imsi": imsi, "bytes": used, "timestamp": timestamp or now_iso()}


LIMIT = {"system": "fleet-7", "dataLimit": GIB, "dataLimitPeriod": "monthly", "dataLimitCustomDate": 1}


def crossing_all(usage: Usage, who) -> list[dict[str, Any]]:
    """1 GiB monthly; batches at 55 %, then 85 %, then 101 % (90 and 100 in one update)."""
    assert usage.put(who, IMSI, LIMIT)[0] == 201
    for batch in ([record("r1", GIB // 2 + GIB // 20)], [record("r2", GIB * 3 // 10)], [record("r3", GIB // 6)]):
        status, body, _ = usage.post_usage(who, batch)
        assert (status, body) == (202, {"accepted": 1})
        assert usage.drain() == 1
    status, body, _ = usage.api(usage.notifications, who, "GET", "/v1/notifications")
    assert status == 200
    return body["_embedded"]["notifications"]


# ---------------------------------------------------------------- the flow


def test_thresholds_are_notified_once_and_found_by_every_search(usage, world):
    who = world.child_admin
    notes = crossing_all(usage, who)
    assert [n["payload"]["thresholdValue"] for n in notes] == [50, 80, 90, 100]
    first = notes[0]
    # the seed's example, field for field
    assert list(first) == ["issued", "type", "hash", "payload", "consumed", "_links"]
    assert ISO_MS.match(first["issued"]) and first["type"] == "ThresholdReached" and first["consumed"] is False
    assert re.fullmatch(r"[0-9A-F]{64}", first["hash"])
    assert list(first["payload"]) == [
        "imsi",
        "dataLimitPeriod",
        "dataLimitCustomDate",
        "dataLimit",
        "totalUsage",
        "thresholdValue",
    ]
    assert first["payload"] == {
        "imsi": IMSI,
        "dataLimitPeriod": "monthly",
        "dataLimitCustomDate": 1,
        "dataLimit": GIB,
        "totalUsage": GIB // 2 + GIB // 20,
        "thresholdValue": 50,
    }
    assert [n["payload"]["totalUsage"] for n in notes[2:]] == [notes[3]["payload"]["totalUsage"]] * 2
    hashes = [n["hash"] for n in notes]
    # the hash of the reference: imsi|periodStart|thresholdValue|dataLimit
    import hashlib

    start = datetime.now(UTC).strftime("%Y-%m-01T00:00:00.000Z")
    assert hashes[0] == hashlib.sha256(f"{IMSI}|{start}|50|{GIB}".encode()).hexdigest().upper()

    status, one, _ = usage.api(usage.notifications, who, "GET", f"/v1/notifications/{hashes[1]}")
    assert status == 200 and one == notes[1]
    # mark one consumed (the only writable field)
    status, patched, _ = usage.api(
        usage.notifications, who, "PATCH", f"/v1/notifications/{hashes[0]}", {"consumed": True}
    )
    assert status == 200 and patched["consumed"] is True and patched["hash"] == hashes[0]

    def found(name: str, **query: str) -> list[str]:
        status, body, _ = usage.search(who, name, **query)
        assert status == 200, body
        assert body["page"]["totalElements"] == len(body["_embedded"]["notifications"])
        return [n["hash"] for n in body["_embedded"]["notifications"]]

    assert found("findByHash", hash=hashes[2]) == [hashes[2]]
    assert found("findByHash", hash=hashes[2].lower()) == [hashes[2]]
    assert found("findByConsumed", consumed="true") == [hashes[0]]
    assert found("findByConsumed", consumed="false") == hashes[1:]
    assert found("findBySystem", system="fleet-7") == hashes
    assert found("findBySystem", system="fleet-8") == []
    assert found("findBySystemAndConsumed", system="fleet-7", consumed="false") == hashes[1:]
    assert found("findBySubscriber", subscriber=IMSI) == hashes
    assert found("findBySubscriber", subscriber=IMSI2) == []
    assert found("findBySubscriberAndConsumed", subscriber=IMSI, consumed="true") == [hashes[0]]
    assert found("findByDeepSearch", query=IMSI) == hashes
    assert found("findByDeepSearch", query=hashes[3][:10].lower()) == [hashes[3]]
    assert found("findByDeepSearch", query="fleet-7") == hashes
    assert found("findByDeepSearch", query="ThresholdReached") == hashes
    assert found("findByDeepSearch", query="nothing-here") == []
    assert found("findBySubscriber", subscriber=IMSI, sort="issued,desc") == hashes[::-1]

    # paging: Spring's page object and links
    status, body, _ = usage.api(usage.notifications, who, "GET", "/v1/notifications", query={"size": "3", "page": "1"})
    assert body["page"] == {"size": 3, "totalElements": 4, "totalPages": 2, "number": 1}
    assert [n["hash"] for n in body["_embedded"]["notifications"]] == hashes[3:]
    assert body["_links"]["prev"]["href"].endswith("page=0&size=3") and "next" not in body["_links"]
    status, body, _ = usage.api(usage.notifications, who, "GET", "/v1/notifications", query={"page": "9"})
    assert status == 200 and body["_embedded"]["notifications"] == [] and body["page"]["totalElements"] == 4

    # each notification went to ESS as a threshold_reached event, in ascending order
    events = usage.published()
    assert [(e["topic"], e["evt-tp"]) for e in events] == [("Usage-Events", "threshold_reached")] * 4
    fields = [e["fld-val-list"] for e in events]
    assert [f["thresholdValue"] for f in fields] == [50, 80, 90, 100]
    assert {f["imsi"] for f in fields} == {IMSI} and [f["hash"] for f in fields] == hashes


def test_redelivered_messages_and_reposted_batches_change_nothing(usage, world):
    who = world.child_admin
    notes = crossing_all(usage, who)
    usage.published()
    usage.redeliver(usage.delivered)  # every message again
    assert usage.post_usage(who, [record("r1", GIB), record("r2", GIB)])[0] == 202  # re-posted ids
    usage.drain()
    _status, body, _ = usage.api(usage.notifications, who, "GET", "/v1/notifications")
    assert body["_embedded"]["notifications"] == notes
    assert usage.published() == []
    _status, sub, _ = usage.api(usage.subscribers, who, "GET", f"/v1/subscribers/{IMSI}")
    assert sub["totalUsage"] == GIB // 2 + GIB // 20 + GIB * 3 // 10 + GIB // 6


def test_a_crash_before_publishing_is_published_on_redelivery(usage, world, monkeypatch):
    who = world.child_admin
    assert usage.put(who, IMSI, LIMIT)[0] == 201
    usage.post_usage(who, [record("big", GIB)])
    publishing = wiring.publishing()
    calls = []

    def broken(*args, **kwargs):
        calls.append(args)
        raise RuntimeError("crash after the commit")

    monkeypatch.setattr(publishing, "publish_event", broken)
    url = usage.names["USAGE_QUEUE_URL"]
    messages = usage.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    with pytest.raises(BatchProcessingError):  # the whole batch failed: Lambda retries it
        usage.evaluate.lambda_handler(
            {
                "Records": [
                    {
                        "messageId": m["MessageId"],
                        "receiptHandle": m["ReceiptHandle"],
                        "body": m["Body"],
                        "attributes": m.get("Attributes", {}),
                        "messageAttributes": {},
                        "md5OfBody": m["MD5OfBody"],
                        "eventSource": "aws:sqs",
                        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:test-usage.fifo",
                        "awsRegion": "us-east-1",
                    }
                    for m in messages
                ]
            },
            Context(),
        )
    assert calls
    monkeypatch.undo()
    usage.redeliver(messages)
    events = usage.published()
    assert [e["fld-val-list"]["thresholdValue"] for e in events] == [50, 80, 90, 100]
    _status, body, _ = usage.api(usage.notifications, who, "GET", "/v1/notifications")
    assert len(body["_embedded"]["notifications"]) == 4


def test_a_limit_change_rearms_thresholds_above_the_usage(usage, world):
    who = world.child_admin
    usage.put(who, IMSI, {**LIMIT, "thresholds": [50, 100]})
    usage.post_usage(who, [record("a", GIB * 6 // 10)])
    usage.drain()
    status, patched, _ = usage.api(usage.subscribers, who, "PATCH", f"/v1/subscribers/{IMSI}", {"dataLimit": 2 * GIB})
    assert status == 200 and patched["dataLimit"] == 2 * GIB and patched["thresholds"] == [50, 100]
    usage.post_usage(who, [record("b", GIB * 5 // 10)])  # 1.1 GiB of 2 GiB: 50 % again, under the new limit
    usage.drain()
    status, body, _ = usage.search(who, "findBySubscriber", subscriber=IMSI)
    assert [
        (n["payload"]["thresholdValue"], n["payload"]["dataLimit"]) for n in body["_embedded"]["notifications"]
    ] == [
        (50, GIB),
        (50, 2 * GIB),
    ]


def test_usage_without_a_limit_is_counted_and_fires_nothing(usage, world):
    who = world.child_admin
    usage.post_usage(who, [record("x", 5 * GIB, IMSI2)])
    usage.drain()
    assert usage.search(who, "findBySubscriber", subscriber=IMSI2)[1]["_embedded"]["notifications"] == []
    status, sub, _ = usage.put(who, IMSI2, {**LIMIT, "dataLimitPeriod": "absolute", "dataLimitCustomDate": None})
    assert status == 201 and "dataLimitCustomDate" not in sub
    status, sub, _ = usage.api(usage.subscribers, who, "GET", f"/v1/subscribers/{IMSI2}")
    assert sub["totalUsage"] == 5 * GIB and sub["periodStart"] == "1970-01-01T00:00:00.000Z"


# ---------------------------------------------------------------- subscribers


def test_subscriber_lifecycle(usage, world):
    who = world.child_admin
    status, created, headers = usage.put(who, IMSI, {"system": "s1", "dataLimit": 1000, "dataLimitPeriod": "monthly"})
    assert status == 201 and headers["Location"] == f"/v1/subscribers/{IMSI}"
    assert created == {
        "imsi": IMSI,
        "system": "s1",
        "dataLimit": 1000,
        "dataLimitPeriod": "monthly",
        "dataLimitCustomDate": 1,
        "thresholds": [50, 80, 90, 100],
        "_links": {
            "self": {"href": f"/v1/subscribers/{IMSI}"},
            "subscriber": {"href": f"/v1/subscribers/{IMSI}"},
            "notifications": {"href": f"/v1/notifications/search/findBySubscriber?subscriber={IMSI}"},
        },
    }
    body = {
        "system": "s1",
        "dataLimit": 1000,
        "dataLimitPeriod": "monthly",
        "dataLimitCustomDate": None,
        "thresholds": None,
    }
    assert usage.put(who, IMSI, body)[0] == 200  # null for the optional fields: their defaults
    status, got, _ = usage.api(usage.subscribers, who, "GET", f"/v1/subscribers/{IMSI}")
    assert status == 200 and got["totalUsage"] == 0 and ISO_MS.match(got["periodStart"])
    status, patched, _ = usage.api(
        usage.subscribers, who, "PATCH", f"/v1/subscribers/{IMSI}", {"dataLimitCustomDate": 31, "thresholds": [75]}
    )
    assert status == 200 and (patched["dataLimitCustomDate"], patched["thresholds"]) == (31, [75])
    status, patched, _ = usage.api(
        usage.subscribers, who, "PATCH", f"/v1/subscribers/{IMSI}", {"dataLimitPeriod": "absolute", "thresholds": None}
    )
    assert status == 200 and "dataLimitCustomDate" not in patched and patched["thresholds"] == [50, 80, 90, 100]
    usage.put(who, IMSI2, {"system": "s2", "dataLimit": 5, "dataLimitPeriod": "absolute"})
    status, listed, _ = usage.api(usage.subscribers, who, "GET", "/v1/subscribers", query={"size": "1"})
    assert status == 200 and listed["page"] == {"size": 1, "totalElements": 2, "totalPages": 2, "number": 0}
    assert [s["imsi"] for s in listed["_embedded"]["subscribers"]] == [IMSI2]
    assert usage.api(usage.subscribers, who, "DELETE", f"/v1/subscribers/{IMSI}")[0] == 204
    assert usage.api(usage.subscribers, who, "GET", f"/v1/subscribers/{IMSI}")[0] == 404
    assert usage.api(usage.subscribers, who, "DELETE", f"/v1/subscribers/{IMSI}")[0] == 404
    assert usage.api(usage.subscribers, who, "PATCH", f"/v1/subscribers/{IMSI}", {"dataLimit": 3})[0] == 404


# ---------------------------------------------------------------- bad input


def assert_spring_error(response, status: int, path: str, mentions: str = "") -> None:
    code, body, _ = response
    assert code == status, body
    assert set(body) == {"timestamp", "status", "error", "message", "path"}, body
    assert body["status"] == status and body["path"] == path and ISO_MS.match(body["timestamp"])
    assert mentions in body["message"], body


GOOD = {"system": "s1", "dataLimit": 1000, "dataLimitPeriod": "monthly"}


@pytest.mark.parametrize(
    ("imsi", "body", "mentions"),
    [
        ("12345", GOOD, "imsi"),
        ("12345678901234a", GOOD, "imsi"),
        (IMSI, {**GOOD, "dataLimit": -1}, "dataLimit"),
        (IMSI, {**GOOD, "dataLimit": 0}, "dataLimit"),
        (IMSI, {**GOOD, "dataLimit": "1000"}, "dataLimit"),
        (IMSI, {**GOOD, "dataLimit": None}, "dataLimit"),
        (IMSI, {**GOOD, "dataLimitPeriod": "weekly"}, "dataLimitPeriod"),
        (IMSI, {**GOOD, "dataLimitCustomDate": 0}, "dataLimitCustomDate"),
        (IMSI, {**GOOD, "dataLimitCustomDate": 32}, "dataLimitCustomDate"),
        (IMSI, {**GOOD, "dataLimitPeriod": "absolute", "dataLimitCustomDate": 5}, "dataLimitCustomDate"),
        (IMSI, {**GOOD, "thresholds": [50, 50]}, "thresholds"),
        (IMSI, {**GOOD, "thresholds": [0]}, "thresholds"),
        (IMSI, {**GOOD, "thresholds": []}, "thresholds"),
        (IMSI, {**GOOD, "colour": "red"}, "colour"),
        (IMSI, {"dataLimit": 1000, "dataLimitPeriod": "monthly"}, "system"),
        (IMSI, [GOOD], "body"),
    ],
)
def test_bad_subscribers_are_refused(usage, world, imsi, body, mentions):
    who = world.child_admin
    assert_spring_error(usage.put(who, imsi, body), 400, f"/v1/subscribers/{imsi}", mentions)
    assert usage.api(usage.subscribers, who, "GET", "/v1/subscribers")[1]["page"]["totalElements"] == 0


def test_bad_patches_change_nothing(usage, world):
    who = world.child_admin
    usage.put(who, IMSI, GOOD)
    path = f"/v1/subscribers/{IMSI}"
    for body in ({"dataLimit": None}, {"system": None}, {"dataLimitCustomDate": 40}, {"nope": 1}, {"dataLimit": True}):
        assert_spring_error(usage.api(usage.subscribers, who, "PATCH", path, body), 400, path)
    assert_spring_error(usage.api(usage.subscribers, who, "PATCH", path, raw="{nope"), 400, path, "JSON")
    assert usage.api(usage.subscribers, who, "GET", path)[1]["dataLimit"] == 1000


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        ({"records": [record("a", -1)]}, "bytes"),
        ({"records": [record("a", 1, "12")]}, "imsi"),
        ({"records": [record("a", 1, timestamp="2026-01-01T00:00:00")]}, "timestamp"),
        ({"records": [record("a", 1, timestamp="yesterday")]}, "timestamp"),
        ({"records": [{**record("a", 1), "extra": 1}]}, "extra"),
        ({"records": [{**record("a", 1), "recordId": None}]}, "recordId"),
        ({"records": []}, "records"),
        ({"records": [record(str(i), 1) for i in range(1001)]}, "records"),
        ({"records": None}, "records"),
        ({}, "records"),
    ],
)
def test_bad_usage_is_refused_and_nothing_is_queued(usage, world, body, mentions):
    path = "/v1/usage"
    assert_spring_error(usage.api(usage.ingest, world.child_admin, "POST", path, body), 400, path, mentions)
    assert usage.drain() == 0


def test_malformed_json_and_bad_query_parameters(usage, world):
    who = world.child_admin
    assert_spring_error(
        usage.api(usage.ingest, who, "POST", "/v1/usage", raw='{"records": ['), 400, "/v1/usage", "JSON"
    )
    base = "/v1/notifications"
    for query, mentions in (
        ({"page": "-1"}, "page"),
        ({"page": "x"}, "page"),
        ({"size": "0"}, "size"),
        ({"size": "1001"}, "size"),
        ({"sort": "hash"}, "sort"),
        ({"sort": "issued,sideways"}, "sort"),
    ):
        assert_spring_error(usage.api(usage.notifications, who, "GET", base, query=query), 400, base, mentions)
    for name, query, mentions in (
        ("findByConsumed", {}, "consumed"),
        ("findByConsumed", {"consumed": "yes"}, "consumed"),
        ("findBySubscriber", {"subscriber": "abc"}, "subscriber"),
        ("findBySubscriber", {}, "subscriber"),
        ("findByHash", {"hash": "XYZ"}, "hash"),
        ("findBySystem", {"system": "   "}, "system"),
        ("findBySystemAndConsumed", {"system": "s"}, "consumed"),
        ("findBySubscriberAndConsumed", {"subscriber": IMSI, "consumed": "1"}, "consumed"),
        ("findByDeepSearch", {}, "query"),
    ):
        path = f"{base}/search/{name}"
        assert_spring_error(usage.search(who, name, **query), 400, path, mentions)
    assert_spring_error(usage.search(who, "findByColour"), 404, f"{base}/search/findByColour")
    notes = crossing_all(usage, who)
    path = f"{base}/{notes[0]['hash']}"
    for body in ({"consumed": "true"}, {"consumed": None}, {"consumed": 1}, {}, {"consumed": True, "hash": "x"}):
        assert_spring_error(usage.api(usage.notifications, who, "PATCH", path, body), 400, path)
    assert usage.api(usage.notifications, who, "GET", path)[1]["consumed"] is False


def test_the_search_listing_names_every_search(usage, world):
    status, body, _ = usage.api(usage.notifications, world.child_admin, "GET", "/v1/notifications/search")
    assert status == 200 and set(body["_links"]) == {*SEARCHES, "self"}
    assert body["_links"]["findBySubscriber"] == {
        "href": "/v1/notifications/search/findBySubscriber{?subscriber,page,size,sort}",
        "templated": True,
    }


# ---------------------------------------------------------------- feature flag and tenancy


def test_a_disabled_account_gets_403_on_every_path(usage, world):
    who = world.child_admin
    world.accounts.set_feature(who.account_id, "usage-notifications", False)
    hash_ = "A" * 64
    for fn, method, path, body in (
        (usage.notifications, "GET", "/v1/notifications", None),
        (usage.notifications, "GET", "/v1/notifications/search", None),
        (usage.notifications, "GET", f"/v1/notifications/{hash_}", None),
        (usage.notifications, "PATCH", f"/v1/notifications/{hash_}", {"consumed": True}),
        (usage.subscribers, "GET", "/v1/subscribers", None),
        (usage.subscribers, "PUT", f"/v1/subscribers/{IMSI}", GOOD),
        (usage.subscribers, "DELETE", f"/v1/subscribers/{IMSI}", None),
        (usage.ingest, "POST", "/v1/usage", {"records": [record("a", 1)]}),
    ):
        if path.endswith("/search"):
            continue  # the list of searches is static: served to everyone
        assert_spring_error(usage.api(fn, who, method, path, body), 403, path, "usage-notifications")
    for name in SEARCHES:
        query = {"hash": hash_, "consumed": "true", "system": "s", "subscriber": IMSI, "query": "x"}
        path = f"/v1/notifications/search/{name}"
        assert_spring_error(usage.search(who, name, **query), 403, path, "usage-notifications")
    assert usage.drain() == 0


def test_tenants_see_only_their_own(usage, world):
    child, stranger, reseller = world.child_admin, world.stranger_admin, world.reseller_admin
    notes = crossing_all(usage, child)
    hash_ = notes[0]["hash"]
    # the stranger (enabled too) sees nothing of the child's
    assert usage.api(usage.notifications, stranger, "GET", f"/v1/notifications/{hash_}")[0] == 404
    assert usage.api(usage.notifications, stranger, "PATCH", f"/v1/notifications/{hash_}", {"consumed": True})[0] == 404
    assert usage.api(usage.subscribers, stranger, "GET", f"/v1/subscribers/{IMSI}")[0] == 404
    assert usage.api(usage.subscribers, stranger, "DELETE", f"/v1/subscribers/{IMSI}")[0] == 404
    assert usage.api(usage.notifications, stranger, "GET", "/v1/notifications")[1]["page"]["totalElements"] == 0
    for name in SEARCHES:
        query = {"hash": hash_, "consumed": "false", "system": "fleet-7", "subscriber": IMSI, "query": IMSI}
        assert usage.search(stranger, name, **query)[1]["_embedded"]["notifications"] == []
    # the same IMSI in the stranger's account is a subscriber of its own
    assert usage.put(stranger, IMSI, LIMIT)[0] == 201
    assert usage.api(usage.subscribers, child, "GET", f"/v1/subscribers/{IMSI}")[1]["system"] == "fleet-7"
    # nobody acts on an account that is not theirs or below them
    other = {"account": child.account_id}
    assert usage.api(usage.notifications, stranger, "GET", "/v1/notifications", query=other)[0] == 404
    assert usage.api(usage.subscribers, stranger, "PUT", f"/v1/subscribers/{IMSI}", LIMIT, other)[0] == 404
    assert usage.api(usage.ingest, stranger, "POST", "/v1/usage", {"records": [record("z", 1)]}, other)[0] == 404
    up = {"account": world.reseller_admin.account_id}
    assert usage.api(usage.notifications, child, "GET", "/v1/notifications", query=up)[0] == 404
    # the reseller admin acts on its sub-account
    status, body, _ = usage.api(usage.notifications, reseller, "GET", "/v1/notifications", query=other)
    assert status == 200 and [n["hash"] for n in body["_embedded"]["notifications"]] == [n["hash"] for n in notes]
    assert (
        usage.api(usage.notifications, reseller, "PATCH", f"/v1/notifications/{hash_}", {"consumed": True}, other)[0]
        == 200
    )
    # a plain user of the sub-account sees its account's notifications; the reseller's own account is not enabled
    assert usage.api(usage.notifications, world.child_user, "GET", f"/v1/notifications/{hash_}")[1]["consumed"] is True
    assert usage.api(usage.notifications, reseller, "GET", "/v1/notifications")[0] == 403


def test_unknown_hashes_and_paths(usage, world):
    who = world.child_admin
    for hash_ in ("A" * 64, "nothex", "a" * 65):
        path = f"/v1/notifications/{hash_}"
        assert_spring_error(usage.api(usage.notifications, who, "GET", path), 404, path)
        assert_spring_error(usage.api(usage.notifications, who, "PATCH", path, {"consumed": True}), 404, path)


def test_records_far_ahead_or_before_1970_are_refused(usage, world):
    path = "/v1/usage"
    for stamp in ("2999-01-01T00:00:00Z", "1969-12-31T23:59:59Z"):
        body = {"records": [record("a", 1, timestamp=stamp)]}
        assert_spring_error(usage.api(usage.ingest, world.child_admin, "POST", path, body), 400, path, "timestamp")
    assert usage.drain() == 0


def test_a_full_request_of_long_ids_over_many_imsis_is_queued_and_counted(usage, world):
    who = world.child_admin
    imsis = [f"20815000000{n:04d}" for n in range(20)]
    records = [record(f"{n:04d}-" + "x" * 123, 1000 + n, imsis[n % 20]) for n in range(1000)]
    assert usage.post_usage(who, records)[1] == {"accepted": 1000}
    assert usage.drain() == 20
    usage.put(who, imsis[3], {**LIMIT, "dataLimit": 10**12})
    _status, sub, _ = usage.api(usage.subscribers, who, "GET", f"/v1/subscribers/{imsis[3]}")
    assert sub["totalUsage"] == sum(1000 + n for n in range(3, 1000, 20))


def test_one_message_crossing_every_threshold_of_many_periods(usage, world):
    """13 monthly periods x 10 thresholds: more notifications than one transaction holds."""
    who = world.child_admin
    thresholds = list(range(10, 101, 10))
    usage.put(who, IMSI, {**LIMIT, "dataLimit": 100, "thresholds": thresholds})
    now = datetime.now(UTC)
    months = [divmod(now.year * 12 + now.month - 1 - k, 12) for k in range(13)]  # (year, month - 1)
    batch = [record(f"m{k}", 100, timestamp=f"{y:04d}-{m + 1:02d}-15T12:00:00Z") for k, (y, m) in enumerate(months)]
    usage.post_usage(who, batch)
    usage.drain()
    status, body, _ = usage.search(who, "findBySubscriber", subscriber=IMSI, size="1000")
    notes = body["_embedded"]["notifications"]
    assert status == 200 and len(notes) == 13 * 10
    assert len({n["hash"] for n in notes}) == 130
    assert len(usage.published()) == 130


EXAMPLE_IMSIS = iter(f"31015{n:010d}" for n in range(10**6))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.tuples(st.integers(0, 40), st.integers(0, 400)), min_size=1, max_size=12),
    st.randoms(use_true_random=False),
    st.integers(1, 4),
)
def test_the_evaluator_issues_each_threshold_once_whatever_the_order_splitting_and_redelivery(
    usage, world, records, rnd, per_message
):
    """The records (day offset, bytes) in messages of `per_message`, shuffled, one message delivered twice:
    the notifications are exactly the thresholds each period's total reaches."""
    from switchboard.usage import periods
    from switchboard.usage.models import UsageMessage, UsageRecord

    who, imsi = world.child_admin, next(EXAMPLE_IMSIS)
    usage.put(who, imsi, {"system": "p", "dataLimit": 1000, "dataLimitPeriod": "monthly", "dataLimitCustomDate": 31})
    base = int(datetime(2028, 1, 20, 12, tzinfo=UTC).timestamp() * 1000)
    items = [
        UsageRecord(record_id=f"r{i}", bytes=used, timestamp_ms=base + day * 86_400_000)
        for i, (day, used) in enumerate(records)
    ]
    rnd.shuffle(items)
    messages = [
        UsageMessage(account_id=who.account_id, imsi=imsi, records=items[i : i + per_message], received_ms=base)
        for i in range(0, len(items), per_message)
    ]
    messages.append(rnd.choice(messages))  # a redelivery
    for message in messages:
        wiring.usage_evaluator().handle(message)
    totals: dict[str, int] = {}
    for item in items:
        start = periods.period_start(periods.day_of(item.timestamp_ms), "monthly", 31)
        totals[periods.iso_start(start)] = totals.get(periods.iso_start(start), 0) + item.bytes
    expected = sorted((start, t) for start, total in totals.items() for t in (50, 80, 90, 100) if total * 10 >= t * 100)
    notes, count = wiring.usage_notifications().list(
        who.caller, None, "findBySubscriber", {"subscriber": imsi}, True, 0, 100
    )
    assert sorted((n.period_start, n.threshold) for n in notes) == expected and count == len(expected)


def test_a_queue_that_refuses_the_usage_is_a_503_and_nothing_is_queued(usage, world, monkeypatch):
    who = world.child_admin
    ingest = wiring.usage_ingest()
    monkeypatch.setattr(ingest, "_queue_url", usage.names["USAGE_QUEUE_URL"] + "-gone")
    path = "/v1/usage"
    assert_spring_error(usage.post_usage(who, [record("a", 1)]), 503, path, "send it again")
    monkeypatch.undo()
    assert usage.drain() == 0
    assert usage.post_usage(who, [record("a", 1)])[1] == {"accepted": 1}  # sent again: counted once
    assert usage.drain() == 1


def test_a_malformed_imsi_in_the_path_is_a_404_except_for_put(usage, world):
    who = world.child_admin
    for imsi in ("12345", "12345678901234a", "1234567890123456"):
        path = f"/v1/subscribers/{imsi}"
        assert_spring_error(usage.api(usage.subscribers, who, "GET", path), 404, path, "not found")
        assert_spring_error(usage.api(usage.subscribers, who, "PATCH", path, {"dataLimit": 5}), 404, path)
        assert_spring_error(usage.api(usage.subscribers, who, "DELETE", path), 404, path)
        assert_spring_error(usage.put(who, imsi, GOOD), 400, path, "imsi")
