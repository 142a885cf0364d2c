"""The delivery pipeline on moto, in-process: publish → fanout → deliver → the ESS read and act
APIs, against real HTTP receivers on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path

import boto3
import pytest
from standardwebhooks import Webhook
from switchboard import config, wiring

from tests.receivers import Reply, token_endpoint
from tests.seed_bodies import PORTING_EVENT as EVENT
from tests.support import call, handle_batch, load_function, rest_event


class Pipeline:
    """The functions of the pipeline, driven the way Lambda's SQS pollers drive them."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.fns = {
            name: load_function(name)
            for name in (
                "delivery_configurations",
                "subscriptions",
                "publish",
                "fanout",
                "deliver",
                "delivery_sweeper",
                "event_deliveries",
            )
        }
        self.sqs = boto3.client("sqs")

    def api(self, fn: str, principal, method: str, path: str, body=None, query=None):
        return call(self.fns[fn], rest_event(method, path, principal.context, body=body, query=query))

    def ess(self, principal, method: str, path: str, body=None, query=None):
        return self.api("event_deliveries", principal, method, path, body, query)

    def config(self, principal, address: str, **extra) -> dict:
        body = {
            "del-cfg-nm": extra.pop("name", f"cfg-{time.monotonic_ns()}"),
            "addr": address,
            "del-fmt-cd": "JSON",
            "is-active": True,
            "retry-schedule": [0, 0],
            **extra,
        }
        status, created, _ = self.api(
            "delivery_configurations", principal, "POST", "/ess/v1/delivery-configurations", body
        )
        assert status == 201, created
        return created

    def subscribe(
        self, principal, config_id: str, criteria: str = "number = '+12345678901'", topic: str = "NIS-Events", **extra
    ) -> dict:
        body = {"del-cfg-id": config_id, "evt-tp": "porting_event", "match-crt": criteria, **extra}
        status, created, _ = self.api("subscriptions", principal, "POST", f"/ess/v1/topics/{topic}/subscriptions", body)
        assert status == 201, created
        return created

    def publish(self, principal, event: dict | None = None, **changes) -> str:
        status, body, _ = self.api("publish", principal, "POST", "/ess/v1/events", {**(event or EVENT), **changes})
        assert status == 202, body
        return body["event-id"]

    def _poll(self, queue_variable: str, fn: str) -> int:
        url = self.names[queue_variable]
        messages = self.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=30
        ).get("Messages", [])
        if not messages:
            return 0
        handle_batch(self.fns[fn], url, messages)
        return len(messages)

    def run(self, until=None, timeout: float = 15.0) -> None:
        """Pump both queues until `until()` holds (or, without it, until both stay empty a moment)."""
        deadline = time.monotonic() + timeout
        idle_since = None
        while time.monotonic() < deadline:
            moved = self._poll("EVENTS_QUEUE_URL", "fanout") + self._poll("DELIVERY_QUEUE_URL", "deliver")
            if until is not None and until():
                return
            if moved:
                idle_since = None
            elif until is None:
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since > 0.6:
                    return
            time.sleep(0.02 if moved else 0.1)
        if until is not None:
            raise AssertionError("the pipeline did not reach the expected state in time")

    def tracking(self, principal, event_id: str, config_id: str) -> dict:
        status, body, _ = self.ess(principal, "GET", f"/ess/v1/event-deliveries/{event_id}:{config_id}/tracking")
        assert status == 200, body
        return body

    def status_of(self, principal, event_id: str, config_id: str) -> str:
        return self.tracking(principal, event_id, config_id)["delivery-status"]


@pytest.fixture
def pipeline(aws, monkeypatch):
    monkeypatch.setenv("ALLOW_PRIVATE_TARGETS", "true")
    wiring.reset()
    wiring.reset()
    return Pipeline(aws)


def _verify(received, secret: str) -> dict:
    headers = {k: v for k, v in received.headers.items() if k.startswith("webhook-")}
    return Webhook(secret).verify(received.body, headers)


def _signature_matches(received, secret: str) -> bool:
    """The standardwebhooks library's own signature, for a body that is not JSON (XML)."""
    from datetime import UTC, datetime

    expected = Webhook(secret).sign(
        received.headers["webhook-id"],
        datetime.fromtimestamp(int(received.headers["webhook-timestamp"]), tz=UTC),
        received.body.decode(),
    )
    return expected in received.headers["webhook-signature"].split(" ")


# ---------------------------------------------------------------- the happy path


def test_event_reaches_its_subscriber_with_ess_headers_and_a_valid_signature(pipeline, receiver, world):
    who = world.child_admin
    config = pipeline.config(who, receiver.script("/hook", Reply(200, "Hello World")))
    pipeline.subscribe(who, config["id"])
    event_id = pipeline.publish(who)
    pipeline.run(until=lambda: receiver.at("/hook"))
    (got,) = receiver.wait_for("/hook", 1)
    body = got.json()
    assert body["topic"] == "NIS-Events" and body["attempt"] == 1 and body["event-id"] == event_id
    assert body["event"]["evt-tp"] == "porting_event" and body["event"]["fld-val-list"] == EVENT["fld-val-list"]
    assert got.headers["content-type"] == "application/json; charset=UTF-8"
    assert got.headers["x-ess-event-key"] == "+12345678901,"
    assert got.headers["x-ess-event-timestamp"] == body["event"]["timestamp"]
    assert got.headers["webhook-id"] == f"{event_id}:{config['id']}"
    assert _verify(got, config["signing-secret"]) == body
    pipeline.run()
    tracking = pipeline.tracking(who, event_id, config["id"])
    assert tracking["delivery-status"] == "SUCCESS"
    (attempt,) = tracking["delivery-attempts"]
    assert attempt["attempt-number"] == 1 and attempt["status"] == "SUCCESS"
    assert attempt["response-status"] == 200 and attempt["response-details"] == "Hello World"
    _, listed, _ = pipeline.ess(who, "GET", "/ess/v1/event-deliveries")
    (row,) = listed["event-deliveries"]
    assert row["event-id"] == event_id and row["del-cfg-id"] == int(config["id"])
    assert row["delivery-status"] == "SUCCESS"
    assert row["delivery-point"] == config["addr"] and json.loads(row["event-body"]) == EVENT["fld-val-list"]
    assert row["del-cfg-nm"] == config["del-cfg-nm"]


def test_xml_format(pipeline, receiver, world):
    who = world.child_admin
    config = pipeline.config(who, receiver.script("/xml"), **{"del-fmt-cd": "XML"})
    pipeline.subscribe(who, config["id"])
    pipeline.publish(who)
    pipeline.run(until=lambda: receiver.at("/xml"))
    (got,) = receiver.at("/xml")
    assert got.headers["content-type"] == "application/xml; charset=UTF-8"
    assert got.body.startswith(b"<?xml") and b"<event-notification" in got.body
    assert b"<number>+12345678901</number>" in got.body
    assert _signature_matches(got, config["signing-secret"])


def _xml_recipe():
    """docs/delivery.md's "Verifying XML bodies" code, run as written (so the doc cannot drift)."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "delivery.md").read_text()
    section = text.split("### Verifying XML bodies", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(code, "docs/delivery.md", "exec"), namespace)
    return namespace["verify_xml"]


def test_the_documented_xml_recipe_verifies_a_real_xml_delivery(pipeline, receiver, world):
    verify_xml = _xml_recipe()
    who = world.child_admin
    config = pipeline.config(who, receiver.script("/xml-recipe"), **{"del-fmt-cd": "XML"})
    pipeline.subscribe(who, config["id"])
    pipeline.publish(who)
    pipeline.run(until=lambda: receiver.at("/xml-recipe"))
    (got,) = receiver.at("/xml-recipe")
    assert got.headers["content-type"] == "application/xml; charset=UTF-8"
    # the library's verify() parses the body as JSON once the signature holds; json_parse=False skips that
    with pytest.raises(json.JSONDecodeError):
        _verify(got, config["signing-secret"])
    assert Webhook(config["signing-secret"]).verify(got.body, got.headers, json_parse=False) is None
    tree = verify_xml(config["signing-secret"], got.headers, got.body)
    assert tree.tag == "event-notification" and tree.findtext(".//number") == "+12345678901"
    # a changed byte, another secret or a stale timestamp fail
    with pytest.raises(ValueError, match="signature"):
        verify_xml(config["signing-secret"], got.headers, got.body.replace(b"+12345678901", b"+12345678902"))
    with pytest.raises(ValueError, match="signature"):
        verify_xml("whsec_" + base64.b64encode(b"k" * 32).decode(), got.headers, got.body)
    stale = {**got.headers, "webhook-timestamp": str(int(got.headers["webhook-timestamp"]) - 3600)}
    with pytest.raises(ValueError, match="timestamp"):
        verify_xml(config["signing-secret"], stale, got.body)

    # after a rotation the delivery carries two signatures: the old and the new secret each verify it
    status, rotated, _ = pipeline.api(
        "delivery_configurations", who, "POST", f"/ess/v1/delivery-configurations/{config['id']}/signing-secret/rotate"
    )
    assert status == 200, rotated
    wiring.cached_configurations().forget(who.account_id, config["id"])
    pipeline.publish(who)
    pipeline.run(until=lambda: len(receiver.at("/xml-recipe")) == 2)
    second = receiver.at("/xml-recipe")[1]
    assert len(second.headers["webhook-signature"].split()) == 2
    for secret in (config["signing-secret"], rotated["signing-secret"]):
        assert verify_xml(secret, second.headers, second.body).findtext(".//number") == "+12345678901"


def test_one_delivery_per_configuration_even_with_two_matching_subscriptions_and_a_redelivered_event(
    pipeline, receiver, world
):
    who = world.child_admin
    config = pipeline.config(who, receiver.script("/once"))
    pipeline.subscribe(who, config["id"])
    pipeline.subscribe(who, config["id"], criteria="")  # matches everything too
    event_id = pipeline.publish(who)
    message = pipeline.sqs.receive_message(QueueUrl=pipeline.names["EVENTS_QUEUE_URL"])["Messages"][0]
    # the events queue delivers the same message twice (at-least-once)
    pipeline.sqs.send_message(QueueUrl=pipeline.names["EVENTS_QUEUE_URL"], MessageBody=message["Body"])
    pipeline.sqs.change_message_visibility(
        QueueUrl=pipeline.names["EVENTS_QUEUE_URL"], ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    pipeline.run()
    assert len(receiver.at("/once")) == 1
    assert len(pipeline.tracking(who, event_id, config["id"])["delivery-attempts"]) == 1


def test_events_outside_the_subscription_window_or_criteria_are_not_delivered(pipeline, receiver, world):
    who = world.child_admin
    config = pipeline.config(who, receiver.script("/window"))
    pipeline.subscribe(who, config["id"], start_date="2030-01-01T00:00:00Z")
    pipeline.subscribe(who, config["id"], criteria="number = '+19999999999'")
    pipeline.publish(who)
    pipeline.run()
    assert receiver.at("/window") == []
    _, listed, _ = pipeline.ess(who, "GET", "/ess/v1/event-deliveries")
    assert listed["event-deliveries"] == []


# ---------------------------------------------------------------- retries and failures


def test_retry_then_success_keeps_the_event_id_and_counts_attempts(pipeline, receiver, world):
    who = world.child_admin
    url = receiver.script("/flaky", Reply(500, "boom"), Reply(503, "busy"), Reply(200, "fine"))
    config = pipeline.config(who, url, **{"retry-schedule": [0, 0, 0]})
    pipeline.subscribe(who, config["id"])
    event_id = pipeline.publish(who)
    pipeline.run(until=lambda: len(receiver.at("/flaky")) >= 3)
    pipeline.run()
    bodies = [r.json() for r in receiver.at("/flaky")]
    assert [b["attempt"] for b in bodies] == [1, 2, 3] and {b["event-id"] for b in bodies} == {event_id}
    tracking = pipeline.tracking(who, event_id, config["id"])
    assert tracking["delivery-status"] == "SUCCESS"
    assert [(a["status"], a["response-status"]) for a in tracking["delivery-attempts"]] == [
        ("RETRY", 500),
        ("RETRY", 503),
        ("SUCCESS", 200),
    ]


def test_client_errors_fail_at_once_and_an_exhausted_schedule_fails(pipeline, receiver, world):
    who = world.child_admin
    bad = pipeline.config(who, receiver.script("/bad", Reply(400, "nope")))
    down = pipeline.config(who, receiver.script("/down", Reply(500)), **{"retry-schedule": [0, 0]})
    pipeline.subscribe(who, bad["id"])
    pipeline.subscribe(who, down["id"])
    event_id = pipeline.publish(who)
    pipeline.run()
    assert len(receiver.at("/bad")) == 1 and len(receiver.at("/down")) == 3
    assert pipeline.status_of(who, event_id, bad["id"]) == "FAILED"
    tracking = pipeline.tracking(who, event_id, down["id"])
    assert tracking["delivery-status"] == "FAILED" and len(tracking["delivery-attempts"]) == 3
    status, summary, _ = pipeline.ess(
        who,
        "GET",
        "/ess/v1/event-deliveries/summary",
        query={"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"},
    )
    assert status == 200
    totals = {c["del-cfg-nm"]: (c["pending"], c["retry"], c["failed"]) for c in summary["delivery-configurations"]}
    assert totals == {bad["del-cfg-nm"]: (0, 0, 1), down["del-cfg-nm"]: (0, 0, 1)}
    (topic,) = summary["delivery-configurations"][0]["topics"]
    assert topic["topic-nm"] == "NIS-Events" and topic["event-types"][0]["id"] == "porting_event"


def test_retry_after_is_honoured(pipeline, receiver, world):
    who = world.child_admin
    config = pipeline.config(
        who,
        receiver.script("/slow-down", Reply(429, "later", {"Retry-After": "2"}), Reply()),
        **{"retry-schedule": [0]},
    )
    pipeline.subscribe(who, config["id"])
    event_id = pipeline.publish(who)
    pipeline.run(until=lambda: len(receiver.at("/slow-down")) >= 2, timeout=20)
    first, second = receiver.at("/slow-down")
    assert second.at - first.at >= 1.9
    first_attempt = pipeline.tracking(who, event_id, config["id"])["delivery-attempts"][0]
    assert first_attempt["status"] == "RETRY" and "next-attempt-timestamp" in first_attempt


def test_gone_fails_and_deactivates_the_configuration_with_an_alert(pipeline, receiver, world, alerts_fn):
    who = world.child_admin
    config = pipeline.config(who, receiver.script("/gone", Reply(410, "gone")))
    pipeline.subscribe(who, config["id"])
    event_id = pipeline.publish(who)
    pipeline.run()
    assert pipeline.status_of(who, event_id, config["id"]) == "FAILED"
    _, current, _ = pipeline.api(
        "delivery_configurations", who, "GET", f"/ess/v1/delivery-configurations/{config['id']}"
    )
    assert current["is-active"] is False
    status, alerts, _ = call(alerts_fn, rest_event("GET", f"/v2/accounts/{who.account_id}/alerts", who.context))
    assert status == 200 and len(alerts["data"]) == 1
    alert_id = alerts["data"][0]["id"]
    status, alert, _ = call(
        alerts_fn, rest_event("GET", f"/v2/accounts/{who.account_id}/alerts/{alert_id}", who.context)
    )
    assert alert["data"]["category"] == "delivery_configuration_disabled" and alert["data"]["clearable"] is False
    status, _, _ = call(
        alerts_fn, rest_event("DELETE", f"/v2/accounts/{who.account_id}/alerts/{alert_id}", who.context)
    )
    assert status == 403  # not clearable until reactivated


def test_inactive_configuration_holds_deliveries_until_reactivated(pipeline, receiver, world, alerts_fn):
    who = world.child_admin
    config = pipeline.config(who, receiver.script("/later"), **{"is-active": False})
    pipeline.subscribe(who, config["id"])
    event_id = pipeline.publish(who)
    pipeline.run()
    assert receiver.at("/later") == []
    _, listed, _ = pipeline.ess(who, "GET", "/ess/v1/event-deliveries", query={"delivery-status": "PENDING"})
    (row,) = listed["event-deliveries"]
    assert row["delivery-status"] == "PENDING" and row["waiting-for"] == "reactivation"
    spec = {k: v for k, v in config.items() if k not in ("id", "signing-secret")}
    status, body, _ = pipeline.api(
        "delivery_configurations",
        who,
        "PUT",
        f"/ess/v1/delivery-configurations/{config['id']}",
        {**spec, "is-active": True},
    )
    assert status == 200, body
    pipeline.run(until=lambda: receiver.at("/later"))
    pipeline.run()
    assert pipeline.status_of(who, event_id, config["id"]) == "SUCCESS"
    assert receiver.at("/later")[0].json()["attempt"] == 1


def test_configuration_failing_for_the_window_is_deactivated_and_its_admins_alerted(
    pipeline, receiver, world, alerts_fn, monkeypatch
):
    monkeypatch.setenv("ENDPOINT_FAILURE_WINDOW_SECONDS", "1")
    wiring.reset()
    who = world.child_admin
    config = pipeline.config(who, receiver.script("/broken", Reply(500)), **{"retry-schedule": [1, 1, 1, 1]})
    pipeline.subscribe(who, config["id"])
    event_id = pipeline.publish(who)

    def disabled() -> bool:
        _, current, _ = pipeline.api(
            "delivery_configurations", who, "GET", f"/ess/v1/delivery-configurations/{config['id']}"
        )
        return current["is-active"] is False

    pipeline.run(until=disabled, timeout=20)
    _, alerts, _ = call(alerts_fn, rest_event("GET", f"/v2/accounts/{who.account_id}/alerts", who.context))
    assert len(alerts["data"]) == 1
    # the delivery waits (PENDING/RETRY, parked) instead of burning its attempts
    pipeline.run()
    assert pipeline.status_of(who, event_id, config["id"]) in ("RETRY", "PENDING")
    # reactivated: the alert goes, the endpoint now answers and the delivery completes
    receiver.script("/broken", Reply(200))
    spec = {k: v for k, v in config.items() if k not in ("id", "signing-secret")}
    pipeline.api("delivery_configurations", who, "PUT", f"/ess/v1/delivery-configurations/{config['id']}", spec)
    pipeline.run(until=lambda: pipeline.status_of(who, event_id, config["id"]) == "SUCCESS", timeout=20)
    _, alerts, _ = call(alerts_fn, rest_event("GET", f"/v2/accounts/{who.account_id}/alerts", who.context))
    assert alerts["data"] == []


# ---------------------------------------------------------------- endpoint authentication


def test_basic_authentication(pipeline, receiver, world):
    who = world.child_admin
    config = pipeline.config(who, receiver.script("/basic"))
    status, body, _ = pipeline.api(
        "delivery_configurations",
        who,
        "PUT",
        f"/ess/v1/delivery-configurations/{config['id']}/authentication",
        {"type": "BASIC", "settings": {"username": "ess", "password": "s3cret"}},
    )
    assert status == 200, body
    pipeline.subscribe(who, config["id"])
    pipeline.publish(who)
    pipeline.run(until=lambda: receiver.at("/basic"))
    assert receiver.at("/basic")[0].headers["authorization"] == "Basic ZXNzOnMzY3JldA=="


def test_oauth_token_is_cached_and_refreshed_once_on_401(pipeline, receiver, world):
    who = world.child_admin
    token_url = receiver.decide("/token", token_endpoint("client", "secret"))
    seen: list[str] = []

    def protected(request):
        seen.append(request.headers.get("authorization", ""))
        # the first token is "revoked": the endpoint accepts only tokens issued after it
        return Reply(200) if request.headers.get("authorization") != "Bearer tok-1-1" else Reply(401)

    config = pipeline.config(who, receiver.decide("/protected", protected))
    status, body, _ = pipeline.api(
        "delivery_configurations",
        who,
        "PUT",
        f"/ess/v1/delivery-configurations/{config['id']}/authentication",
        {"type": "OAUTH", "settings": {"token-url": token_url, "client-id": "client", "client-secret": "secret"}},
    )
    assert status == 200, body
    pipeline.subscribe(who, config["id"])
    first = pipeline.publish(who)
    second = pipeline.publish(who)
    pipeline.run()
    # The two attempts may go out side by side with the first token; either way each is refused once at
    # most, and they share one refreshed token.
    assert seen.count("Bearer tok-1-2") == 2 and seen.count("Bearer tok-1-1") in (1, 2)
    assert seen[0] == "Bearer tok-1-1" and len(seen) == 2 + seen.count("Bearer tok-1-1")
    assert len(receiver.at("/token")) == 2  # one token, one refresh
    for event_id in (first, second):
        tracking = pipeline.tracking(who, event_id, config["id"])
        assert tracking["delivery-status"] == "SUCCESS" and len(tracking["delivery-attempts"]) == 1


# ---------------------------------------------------------------- SSRF at send time


def test_private_targets_are_refused_at_send_time(pipeline, receiver, world, monkeypatch):
    who = world.child_admin
    config = pipeline.config(who, receiver.script("/internal"))
    pipeline.subscribe(who, config["id"])
    monkeypatch.setenv("ALLOW_PRIVATE_TARGETS", "false")  # the deliver function of a real deployment
    wiring.reset()
    event_id = pipeline.publish(who)
    pipeline.run()
    assert receiver.at("/internal") == []
    (attempt,) = pipeline.tracking(who, event_id, config["id"])["delivery-attempts"]
    assert attempt["status"] == "FAILED" and attempt["error-class"] == "blocked"
    assert "loopback" in attempt["response-details"]


def test_the_summary_without_a_window_counts_the_last_thirty_days(pipeline, receiver, world):
    """The seed calls /event-deliveries/summary bare: `to` is now, `from` 30 days before it."""
    who = world.child_admin
    config = pipeline.config(who, receiver.script("/bare-summary", Reply(500)), **{"retry-schedule": [60]})
    pipeline.subscribe(who, config["id"])
    pipeline.publish(who)
    pipeline.run(until=lambda: receiver.at("/bare-summary"))
    pipeline.run()
    status, summary, _ = pipeline.ess(who, "GET", "/ess/v1/event-deliveries/summary")
    assert status == 200, summary
    (row,) = summary["delivery-configurations"]
    assert (row["del-cfg-nm"], row["retry"]) == (config["del-cfg-nm"], 1)
    old = {"to": "2020-01-31T00:00:00Z"}  # `from` is then 30 days before that: nothing of today
    _, summary, _ = pipeline.ess(who, "GET", "/ess/v1/event-deliveries/summary", query=old)
    assert summary["delivery-configurations"] == []


# ---------------------------------------------------------------- act APIs


def test_handled_deliveries_leave_the_counts_and_are_not_retried(pipeline, receiver, world):
    who = world.child_admin
    config = pipeline.config(who, receiver.script("/retrying", Reply(500)), **{"retry-schedule": [5]})
    pipeline.subscribe(who, config["id"])
    event_id = pipeline.publish(who)
    pipeline.run(until=lambda: receiver.at("/retrying"))
    pipeline.run()
    window = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}
    _, summary, _ = pipeline.ess(who, "GET", "/ess/v1/event-deliveries/summary", query=window)
    assert summary["delivery-configurations"][0]["retry"] == 1
    status, body, _ = pipeline.ess(
        who,
        "POST",
        "/ess/v1/handled-event-deliveries",
        {
            "event-id": event_id,
            "topic": "NIS-Events",
            "del-cfg-nm": config["del-cfg-nm"],
            "timestamp": "[1970-01-01T00:00:00-]",
        },
    )
    assert status == 200 and body == {"number-of-updated-event-deliveries": 1}
    status, body, _ = pipeline.ess(who, "POST", "/ess/v1/handled-event-deliveries", {"event-id": event_id})
    assert body == {"number-of-updated-event-deliveries": 0}  # already handled
    _, summary, _ = pipeline.ess(who, "GET", "/ess/v1/event-deliveries/summary", query=window)
    assert summary["delivery-configurations"][0]["retry"] == 0
    time.sleep(5.5)
    pipeline.run()
    assert len(receiver.at("/retrying")) == 1


def test_redeliver_one_and_in_bulk(pipeline, receiver, world):
    who = world.child_admin
    config = pipeline.config(who, receiver.script("/again", Reply(400), Reply(400), Reply(200)))
    pipeline.subscribe(who, config["id"])
    first, second = pipeline.publish(who), pipeline.publish(who)
    pipeline.run()
    assert {pipeline.status_of(who, e, config["id"]) for e in (first, second)} == {"FAILED"}
    status, body, _ = pipeline.ess(who, "POST", f"/ess/v1/event-deliveries/{first}:{config['id']}/redeliver")
    assert status == 202 and body["delivery-status"] == "PENDING"
    pipeline.run()
    assert pipeline.status_of(who, first, config["id"]) == "SUCCESS"
    assert (
        receiver.at("/again")[-1].json() | {"attempt": None} == receiver.at("/again")[0].json() | {"attempt": None}
        or receiver.at("/again")[-1].json()["event-id"] == first
    )
    status, body, _ = pipeline.ess(
        who,
        "POST",
        "/ess/v1/event-deliveries/redeliver",
        {
            "del-cfg-id": config["id"],
            "from": "2000-01-01T00:00:00Z",
            "to": "2100-01-01T00:00:00Z",
            "delivery-status": "FAILED",
        },
    )
    assert status == 202 and body["status"] == "ACCEPTED"
    pipeline.run()
    assert pipeline.status_of(who, second, config["id"]) == "SUCCESS"
    tracking = pipeline.tracking(who, second, config["id"])
    assert [a["attempt-number"] for a in tracking["delivery-attempts"]] == [1, 2]
    # redelivering a delivery that is pending is refused
    status, body, _ = pipeline.ess(who, "POST", f"/ess/v1/event-deliveries/{second}:{config['id']}/redeliver")
    assert status == 202
    status, body, _ = pipeline.ess(who, "POST", f"/ess/v1/event-deliveries/{second}:{config['id']}/redeliver")
    assert status == 409 and body["error"]["code"] == "CONFLICT"


def test_attempt_log_lists_every_attempt(pipeline, receiver, world):
    who = world.child_admin
    config = pipeline.config(
        who, receiver.script("/log", Reply(500, "oops"), Reply(200, "Hello World")), **{"retry-schedule": [0]}
    )
    pipeline.subscribe(who, config["id"])
    event_id = pipeline.publish(who)
    pipeline.run()
    status, body, _ = pipeline.ess(who, "GET", "/ess/v1/event-delivery-attempts", query={"limit": "1"})
    assert status == 200 and len(body["attempts"]) == 1 and body["next-page-uri"].endswith("offset=1&limit=1")
    status, body, _ = pipeline.ess(who, "GET", "/ess/v1/event-delivery-attempts")
    rows = body["attempts"]
    assert [(r["attempt-number"], r["attempt-result"], r["attempt-http-response-status"]) for r in rows] == [
        (1, "RETRY", 500),
        (2, "SUCCESS", 200),
    ]
    assert all(
        r["event-id"] == event_id and r["delivery-status"] == "SUCCESS" and r["del-addr"] == config["addr"]
        for r in rows
    )
    assert rows[1]["attempt-http-response-body"] == "Hello World"


def test_held_retries_wake_through_the_sweeper(pipeline, receiver, world):
    """A retry further off than SQS can delay is held in the table and re-queued once due."""
    from switchboard.delivery.engine import Engine
    from switchboard.delivery.jobs import Reopener

    who = world.child_admin
    config = pipeline.config(who, receiver.script("/held", Reply(503), Reply(200)), **{"retry-schedule": [3600]})
    pipeline.subscribe(who, config["id"])
    event_id = pipeline.publish(who)
    pipeline.run()
    assert pipeline.status_of(who, event_id, config["id"]) == "RETRY"
    queued = pipeline.sqs.get_queue_attributes(QueueUrl=pipeline.names["DELIVERY_QUEUE_URL"], AttributeNames=["All"])[
        "Attributes"
    ]
    assert queued["ApproximateNumberOfMessagesDelayed"] == "0"  # held in the table, not on the queue
    later = lambda: int(time.time() * 1000) + 4400 * 1000  # noqa: E731 - past 3600 s + 20 % jitter
    store, tasks = wiring.deliveries_repository(), wiring.delivery_tasks()
    reopener = Reopener(store, tasks, later, 300)
    assert reopener.sweep() == 1
    engine = wiring.engine()
    shifted = Engine(
        store,
        wiring.cached_configurations(),
        tasks,
        engine._sender,
        wiring.notices(),
        engine._settings,
        clock=later,
    )
    message = pipeline.sqs.receive_message(QueueUrl=pipeline.names["DELIVERY_QUEUE_URL"])["Messages"][0]
    from switchboard.delivery.models import TaskEnvelope

    assert str(shifted.deliver(TaskEnvelope.model_validate({"task": json.loads(message["Body"])}).task)) == "success"
    assert pipeline.status_of(who, event_id, config["id"]) == "SUCCESS"


# ---------------------------------------------------------------- tenancy and bad input


def test_tenancy(pipeline, receiver, world):
    who = world.child_admin
    config = pipeline.config(who, receiver.script("/t"))
    pipeline.subscribe(who, config["id"])
    event_id = pipeline.publish(who)
    pipeline.run()
    delivery = f"/ess/v1/event-deliveries/{event_id}:{config['id']}"
    window = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}
    for stranger in (world.stranger_admin, world.child_user2):
        if stranger is world.child_user2:
            continue  # plain users of the same account see their account's deliveries
        assert pipeline.ess(stranger, "GET", f"{delivery}/tracking")[0] == 404
        assert pipeline.ess(stranger, "POST", f"{delivery}/redeliver")[0] == 404
        assert pipeline.ess(stranger, "GET", "/ess/v1/event-deliveries")[1]["event-deliveries"] == []
        assert pipeline.ess(stranger, "GET", "/ess/v1/event-delivery-attempts")[1]["attempts"] == []
        assert pipeline.ess(stranger, "GET", "/ess/v1/event-deliveries/summary", query=window)[1] == {
            "delivery-configurations": []
        }
        assert (
            pipeline.ess(stranger, "POST", "/ess/v1/handled-event-deliveries", {"event-id": event_id})[1][
                "number-of-updated-event-deliveries"
            ]
            == 0
        )
        status, body, _ = pipeline.ess(
            stranger, "POST", "/ess/v1/event-deliveries/redeliver", {"del-cfg-id": config["id"], **window}
        )
        assert status == 404
        for company in (who.account_id,):
            assert pipeline.ess(stranger, "GET", "/ess/v1/event-deliveries", query={"company": company})[0] == 404
    # the reseller reaches its customer's deliveries with ?company=
    status, body, _ = pipeline.ess(
        world.reseller_admin, "GET", "/ess/v1/event-deliveries", query={"company": who.account_id}
    )
    assert status == 200 and [r["event-id"] for r in body["event-deliveries"]] == [event_id]
    # the customer cannot reach its reseller
    assert (
        pipeline.ess(who, "GET", "/ess/v1/event-deliveries", query={"company": world.reseller_admin.account_id})[0]
        == 404
    )
    assert pipeline.ess(world.child_user, "GET", f"{delivery}/tracking")[0] == 200


@pytest.mark.parametrize(
    ("method", "path", "body", "query"),
    [
        ("GET", "/ess/v1/event-deliveries", None, {"delivery-status": "DONE"}),
        ("GET", "/ess/v1/event-deliveries", None, {"from": "yesterday"}),
        ("GET", "/ess/v1/event-deliveries", None, {"del-cfg-id": "abc"}),
        ("GET", "/ess/v1/event-deliveries", None, {"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}),
        ("GET", "/ess/v1/event-deliveries", None, {"limit": "0"}),
        ("GET", "/ess/v1/event-deliveries/summary", None, {"from": "yesterday"}),
        ("GET", "/ess/v1/event-deliveries/summary", None, {"to": "never"}),
        ("GET", "/ess/v1/event-delivery-attempts", None, {"offset": "-1"}),
        ("POST", "/ess/v1/handled-event-deliveries", {}, None),
        ("POST", "/ess/v1/handled-event-deliveries", {"event-id": "x", "timestamp": "[soon-]"}, None),
        ("POST", "/ess/v1/handled-event-deliveries", {"event-id": "x", "colour": "red"}, None),
        (
            "POST",
            "/ess/v1/event-deliveries/redeliver",
            {"del-cfg-id": "1", "from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
            None,
        ),
        (
            "POST",
            "/ess/v1/event-deliveries/redeliver",
            {
                "del-cfg-id": "1",
                "from": "2026-01-01T00:00:00Z",
                "to": "2026-01-02T00:00:00Z",
                "delivery-status": "LOST",
            },
            None,
        ),
        ("POST", "/ess/v1/event-deliveries/redeliver", [], None),
    ],
)
def test_bad_input_is_a_400(pipeline, world, method, path, body, query):
    status, reply, _ = pipeline.ess(world.child_admin, method, path, body, query)
    assert status == 400, reply
    assert reply["error"]["code"] == "VALIDATION_ERROR"


def test_far_future_windows_are_answered(pipeline, world):
    for query in ({"from": "2026-01-01T00:00:00Z", "to": "9999-12-31T00:00:00Z"}, {"to": "3000-01-01T00:00:00Z"}):
        status, body, _ = pipeline.ess(world.child_admin, "GET", "/ess/v1/event-deliveries", query=query)
        assert status == 200 and body["event-deliveries"] == [], body
    status, _, _ = pipeline.ess(
        world.child_admin,
        "GET",
        "/ess/v1/event-delivery-attempts",
        query={"from": "2286-11-20T17:46:00Z", "to": "9999-01-01T00:00:00Z"},
    )
    assert status == 200


def test_unknown_deliveries_are_404(pipeline, world):
    for wire_id in ("nope:1", "nope", "x:y", ":1", "a" * 80 + ":1"):
        status, body, _ = pipeline.ess(world.child_admin, "GET", f"/ess/v1/event-deliveries/{wire_id}/tracking")
        assert status == 404 and body["error"]["code"] == "NOT_FOUND", wire_id
    status, body, _ = pipeline.ess(world.child_admin, "POST", "/ess/v1/event-deliveries/nope:1/redeliver")
    assert status == 404


def test_environment_is_restored():
    assert os.environ.get("ENDPOINT_FAILURE_WINDOW_SECONDS") is None


# ---------------------------------------------------------------- configurations AirVantage rules use


def _managed_delivery(pipeline, principal, spec: dict, fields: dict, event_id: str) -> str:
    """A delivery on a managed configuration, as the rule evaluator creates them."""
    from switchboard.delivery.models import DeliverTask, Delivery
    from switchboard.events.models import DeliveryConfigurationInput

    config = wiring.configurations().create_managed(
        principal.account_id, DeliveryConfigurationInput.model_validate(spec)
    )
    now = int(time.time() * 1000)
    delivery = Delivery(
        account_id=principal.account_id,
        event_id=event_id,
        config_id=config.id,
        topic="AirVantage-Alerts",
        event_type="event.alert.rule.triggered",
        event_timestamp="2026-11-23T10:00:00.000Z",
        fields=fields,
        created_ms=now,
        updated_ms=now,
        due_ms=now,
    )
    assert wiring.deliveries_repository().create(delivery, wake_ms=now + 300_000)
    wiring.delivery_tasks().send(
        DeliverTask(account_id=principal.account_id, event_id=event_id, config_id=config.id, attempt=1)
    )
    return config.id


def test_airvantage_hook_body_and_redirects_count_as_delivered(pipeline, receiver, world):
    who = world.child_admin
    content = {
        "alert.uid": "f04a77e306de463e919ec39c387fa016",
        "rule.uid": "7316ee643b17473381b61b8ac0afa824",
        "target.uid": "da687e2c39d54bc391633fa9c8d4c0da",
    }
    url = receiver.script("/callback", Reply(302, "moved", {"Location": "http://127.0.0.1:1/elsewhere"}))
    config_id = _managed_delivery(
        pipeline,
        who,
        {"del-cfg-nm": "hook-1", "addr": url, "del-fmt-cd": "AIRVANTAGE"},
        content,
        "f04a77e306de463e919ec39c387fa016",
    )
    pipeline.run()
    (got,) = receiver.at("/callback")
    assert got.json() == {"name": "event.alert.rule.triggered", "date": 1795428000000, "content": content}
    assert pipeline.status_of(who, "f04a77e306de463e919ec39c387fa016", config_id) == "SUCCESS"


def test_rule_emails_go_through_ses_and_are_tracked(pipeline, world):
    who = world.child_admin
    ses = boto3.client("ses")
    ses.verify_email_identity(EmailAddress=config.load(config.EngineSettings).alert_email_sender)
    before = ses.get_send_quota()["SentLast24Hours"]
    config_id = _managed_delivery(
        pipeline,
        who,
        {"del-cfg-nm": "rule-emails", "del-prtcl-cd": "EMAIL", "addr": "mailto:ops@example.com,noc@example.com"},
        {"subject": "Temperature exceeded", "text": "room.temp is 45"},
        "a1" * 16,
    )
    pipeline.run()
    tracking = pipeline.tracking(who, "a1" * 16, config_id)
    assert tracking["delivery-status"] == "SUCCESS"
    assert tracking["delivery-attempts"][0]["response-details"].startswith("MessageId ")
    assert ses.get_send_quota()["SentLast24Hours"] == before + 2  # one message, two recipients


def test_ses_rejection_fails_the_email_delivery(pipeline, world):
    who = world.child_admin  # the sender identity is not verified here: SES rejects the message
    config_id = _managed_delivery(
        pipeline,
        who,
        {"del-cfg-nm": "rule-emails-2", "del-prtcl-cd": "EMAIL", "addr": "mailto:ops@example.com"},
        {"subject": "s", "text": "t"},
        "b2" * 16,
    )
    pipeline.run()
    (attempt,) = pipeline.tracking(who, "b2" * 16, config_id)["delivery-attempts"]
    assert attempt["status"] == "FAILED" and "SES" in attempt["response-details"]


def test_ess_cannot_make_or_delete_managed_configurations(pipeline, receiver, world):
    who = world.child_admin
    for extra in ({"del-prtcl-cd": "EMAIL", "addr": "mailto:a@example.com"}, {"del-fmt-cd": "AIRVANTAGE"}):
        status, body, _ = pipeline.api(
            "delivery_configurations",
            who,
            "POST",
            "/ess/v1/delivery-configurations",
            {"del-cfg-nm": "sneaky", "addr": receiver.url + "/x", **extra},
        )
        assert status == 400 and body["error"]["code"] == "VALIDATION_ERROR", body
    config_id = _managed_delivery(
        pipeline,
        who,
        {"del-cfg-nm": "hook-2", "addr": receiver.url + "/y", "del-fmt-cd": "AIRVANTAGE"},
        {"alert.uid": "x"},
        "c3" * 16,
    )
    status, body, _ = pipeline.api(
        "delivery_configurations", who, "DELETE", f"/ess/v1/delivery-configurations/{config_id}"
    )
    assert status == 403
    status, current, _ = pipeline.api(
        "delivery_configurations", who, "GET", f"/ess/v1/delivery-configurations/{config_id}"
    )
    spec = {k: v for k, v in current.items() if k != "id"}
    status, body, _ = pipeline.api(
        "delivery_configurations",
        who,
        "PUT",
        f"/ess/v1/delivery-configurations/{config_id}",
        {**spec, "del-fmt-cd": "JSON"},
    )
    assert status == 400
    status, body, _ = pipeline.api(
        "delivery_configurations",
        who,
        "PUT",
        f"/ess/v1/delivery-configurations/{config_id}",
        {**spec, "is-active": False},
    )
    assert status == 200 and body["is-active"] is False  # reactivating a hook's endpoint goes the same way


def test_scheduled_configurations_collect_deliveries_until_they_deliver_in_real_time(pipeline, receiver, world):
    who = world.child_admin
    config = pipeline.config(who, receiver.script("/cron"), **{"cron-expression": "0 0 * * * *"})
    pipeline.subscribe(who, config["id"])
    event_id = pipeline.publish(who)
    pipeline.run()
    assert receiver.at("/cron") == []
    _, listed, _ = pipeline.ess(who, "GET", "/ess/v1/event-deliveries")
    (row,) = listed["event-deliveries"]
    assert row["delivery-status"] == "PENDING" and row["waiting-for"] == "schedule"
    spec = {
        k: v for k, v in config.items() if k not in ("id", "signing-secret", "cron-expression", "latest-event-only")
    }
    status, body, _ = pipeline.api(
        "delivery_configurations", who, "PUT", f"/ess/v1/delivery-configurations/{config['id']}", spec
    )
    assert status == 200, body
    pipeline.run(until=lambda: receiver.at("/cron"))
    pipeline.run()
    assert pipeline.status_of(who, event_id, config["id"]) == "SUCCESS"
