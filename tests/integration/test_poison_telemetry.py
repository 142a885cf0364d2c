"""Poison telemetry never blocks a system: values evaluation or DynamoDB cannot hold are refused at ingest
(AirVantage 400, nothing queued); a message forced onto the queue that fails for a permanent reason is
dead-lettered on its first receive with nothing applied, and the system's next point is evaluated at once."""

from __future__ import annotations

import json

import boto3
import pytest
from switchboard import wiring
from switchboard.rules import evaluation

from tests.integration.test_alert_pipeline import Alerts, now_ms, temps


@pytest.fixture
def av(aws, monkeypatch) -> Alerts:
    monkeypatch.setattr(evaluation, "RULE_INDEX_CHECK_S", 0.0)
    monkeypatch.setenv("ALLOW_PRIVATE_TARGETS", "true")
    wiring.reset()
    return Alerts(aws)


POISON_VALUES = [1e126, 1e308, 10**41 + 7, -(10**18) - 1, 1.5e18, 1e-200]


@pytest.mark.parametrize("value", POISON_VALUES, ids=str)
def test_a_value_evaluation_cannot_hold_is_refused_with_400(av: Alerts, world, value) -> None:
    who = world.child_admin
    system = av.system(who)
    status, body, _ = av.post(who, system, temps((now_ms(), value)))
    assert status == 400, body
    assert body["error"] == "invalid.parameter" and body["errorParameters"][0] == "0.room.temp.0.value", body
    assert av.queued() == 0


@pytest.mark.parametrize(
    "raw, code",
    [
        ('[{"room.temp": [{"timestamp": 1, "value": 1e400}]}]', "invalid.json"),
        ('[{"room.temp": [{"timestamp": 1, "value": "\\ud800"}]}]', "invalid.json"),
        ('[{"room.\\udc00": [{"timestamp": 1, "value": 1}]}]', "invalid.json"),
    ],
    ids=["1e400", "surrogate-value", "surrogate-key"],
)
def test_hostile_json_is_a_400_not_a_503(av: Alerts, world, raw: str, code: str) -> None:
    who = world.child_admin
    system = av.system(who)
    status, body, _ = av.post(who, system, raw=raw)
    assert (status, body["error"]) == (400, code), body
    assert av.queued() == 0


def test_the_largest_storable_values_are_accepted_and_evaluated(av: Alerts, world) -> None:
    who = world.child_admin
    system = av.system(who)
    av.rule(who, emails=[])
    ts = now_ms() - 10_000
    av.send(who, system, temps((ts, 1e18), (ts + 1, 10**18 - 1), (ts + 2, -1e-100), (ts + 3, 0.0), (ts + 4, 0.1)))
    av.run()
    # true at 1e18, false at -1e-100: the state changed twice, both recorded
    assert len(av.ok(who, "/api/v3/alerts/history", company=who.account_id)["items"]) == 2


def test_a_poison_message_is_dead_lettered_at_once_and_the_next_point_flows(av: Alerts, world) -> None:
    who = world.child_admin
    system = av.system(who)
    av.rule(who, emails=[])
    ts = now_ms() - 60_000
    # Forced past ingest (as an older ingest or another producer could): 1e126 overflows DynamoDB's numbers.
    poison = {
        "company_id": who.account_id,
        "system_id": system,
        "message_id": "poison-1",
        "points": [{"data_id": "room.temp", "timestamp": ts, "value": 1e126}],
        "received_ms": ts,
    }
    sqs = boto3.client("sqs")
    sqs.send_message(
        QueueUrl=av.names["TELEMETRY_QUEUE_URL"],
        MessageBody=json.dumps(poison),
        MessageGroupId=system,
        MessageDeduplicationId="poison-1",
    )
    av.send(who, system, temps((ts + 1000, 45)))  # the system's next point, behind the poison in its group
    av.run(timeout=10.0)  # fails the test if any receive reports a failure (no retry of the poison)
    dead = sqs.receive_message(
        QueueUrl=av.names["DEAD_LETTER_QUEUE_URL"], MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", [])
    assert len(dead) == 1 and json.loads(dead[0]["Body"])["message_id"] == "poison-1"
    assert "ValidationError" in dead[0]["MessageAttributes"]["failure"]["StringValue"]
    # nothing of the poison applied; the next point raised the rule's one alert at its own time
    alerts = av.ok(who, "/api/v3/alerts/history", company=who.account_id)["items"]
    assert len(alerts) == 1, alerts
    assert [state["state"] for state in av.ok(who, "/api/v2/alertstates", targetId=system)["items"]] == [True]


def test_points_too_big_for_one_queue_message_are_413_not_503(av: Alerts, world) -> None:
    who = world.child_admin
    system = av.system(who)
    ts = now_ms() - 10_000
    big = [{"room.note": [{"timestamp": ts + index, "value": "x" * 4000} for index in range(100)]}]
    status, body, _ = av.post(who, system, big)
    assert (status, body["error"]) == (413, "request.too.large"), body
    assert av.queued() == 0
