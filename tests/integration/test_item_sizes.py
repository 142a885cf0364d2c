"""Bodies under the 1 MiB request limit whose stored item would pass DynamoDB's 400 KB: refused with the
dialect's 4xx naming the field (a ValidationException from DynamoDB used to make them 500s), nothing
written; just under the limit, accepted."""

from __future__ import annotations

import copy

import pytest
from switchboard.alerts.models import MAX_METADATA_BYTES
from switchboard.events.publishing import MAX_FIELDS_BYTES
from switchboard.rules.validation import MAX_RULE_BYTES

from tests.integration.test_null_fields import differences, snapshot
from tests.support import call, load_function, rest_event


def alert(who, metadata_bytes: int):
    data = {
        "title": "t",
        "message": "m",
        "from": [{"type": "account", "value": who.account_id}],
        "to": [{"type": "admins", "value": who.account_id}],
        "metadata": {"blob": "x" * (metadata_bytes - len('{"blob":""}'))},
    }
    return "alerts", "PUT", f"/v2/accounts/{who.account_id}/alerts", {"data": data}


def event(_who, fields_bytes: int):
    fields = {"previous_carrier_id": "1", "tracking_id": "1", "deactivation_date": "2017-06-03T04:00:00Z"}
    fixed = len('{"previous_carrier_id":"1","tracking_id":"1","deactivation_date":"2017-06-03T04:00:00Z","number":""}')
    fields["number"] = "+" + "1" * (fields_bytes - fixed - 1)
    return (
        "publish",
        "POST",
        "/ess/v1/events",
        {"topic": "NIS-Events", "evt-tp": "deactivation_event", "fld-val-list": fields},
    )


def rule(_who, rule_bytes: int):
    condition = {"operator": "EQUALS", "operands": [{"attributeId": {"name": "DATA.room.name"}}, {"valueStr": ""}]}
    body = {"targetType": "SYSTEM", "name": "big", "conditions": [copy.deepcopy(condition) for _ in range(8)]}
    base = len(
        '{"targetType":"SYSTEM","name":"big","stateful":true,"active":true,"emails":[],'
        '"notifMode":"WHEN_STATE_CHANGES","conditions":['
        + ",".join(['{"operator":"EQUALS","operands":[{"attributeId":{"name":"DATA.room.name"}},{"valueStr":""}]}'] * 8)
        + "]}"
    )
    share, rest = divmod(rule_bytes - base, 8)
    for index, item in enumerate(body["conditions"]):
        item["operands"][1]["valueStr"] = "x" * (share + (1 if index < rest else 0))
    return "alert_rules", "POST", "/api/v2/alertrules", body


@pytest.mark.parametrize(
    "build, limit, field",
    [
        (alert, MAX_METADATA_BYTES, "metadata"),
        (event, MAX_FIELDS_BYTES, "fld-val-list"),
        (rule, MAX_RULE_BYTES, "body"),
    ],
    ids=["kazoo-alert-metadata", "ess-event-fields", "av-rule"],
)
def test_a_body_too_big_to_store_is_refused_at_the_limit(aws, world, build, limit, field):
    who = world.child_admin
    function, method, path, body = build(who, limit + 1)
    fn = load_function(function)
    before = snapshot(aws)
    status, reply, _ = call(fn, rest_event(method, path, who.context, body=body))
    assert status == 400, reply
    assert field in str(reply) and str(limit) in str(reply), reply
    assert differences(before, snapshot(aws)) == []
    function, method, path, body = build(who, limit)
    status, reply, _ = call(fn, rest_event(method, path, who.context, body=body))
    assert 200 <= status < 300, reply
