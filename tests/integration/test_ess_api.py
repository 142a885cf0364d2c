"""The ESS configuration API on moto: seed examples, validation, secrets, index, publishing, tenancy."""

from __future__ import annotations

import json

import boto3
import pytest
from switchboard import wiring

from tests.support import call, load_function, rest_event

CONFIG = {
    "del-cfg-nm": "hhh",
    "del-prtcl-cd": "REST",
    "addr": "https://hooks.example.com/ess",
    "del-fmt-cd": "JSON",
    "throttling": 32,
    "is-active": True,
}


@pytest.fixture
def fns(aws):
    return {
        name: load_function(name) for name in ("ess_catalog", "delivery_configurations", "subscriptions", "publish")
    }


def ess(fn, principal, method, path, body=None, query=None, raw=None):
    return call(fn, rest_event(method, path, principal.context, body=body, query=query, raw_body=raw))


def make_config(fns, principal, **overrides):
    status, body, _ = ess(
        fns["delivery_configurations"], principal, "POST", "/ess/v1/delivery-configurations", {**CONFIG, **overrides}
    )
    assert status == 201, body
    return body


def subscribe(fns, principal, topic="NIS-Events", **body):
    return ess(fns["subscriptions"], principal, "POST", f"/ess/v1/topics/{topic}/subscriptions", body)


# ---------------------------------------------------------------- catalog


def test_catalog_endpoints(fns, world):
    who = world.child_admin
    status, body, _ = ess(fns["ess_catalog"], who, "GET", "/ess/v1/topics")
    assert status == 200 and body["paged-result"] == {"offset": 0, "limit": 1000}
    assert [t["topic-nm"] for t in body["topics"]][:3] == ["ABA-Messages", "Billing-Events", "DevTest-Events"]
    status, body, _ = ess(fns["ess_catalog"], who, "GET", "/ess/v1/topics/NIS-Events/event-types")
    assert [t["id"] for t in body["event-types"]] == ["deactivation_event", "porting_event", "truedisconnect_event"]
    status, body, _ = ess(fns["ess_catalog"], who, "GET", "/ess/v1/event-types/aba_job_completed")
    assert status == 200 and body["validation-type"] == "strict" and body["fields"]["company-id"]["type"] == "Integer"
    status, body, _ = ess(fns["ess_catalog"], who, "GET", "/ess/v1/dictionaries/authentication-types")
    assert {e["code"] for e in body["authentication-types"]} == {"OAUTH", "NONE", "BASIC"}
    for path in ("/ess/v1/dictionaries/colours", "/ess/v1/event-types/nope", "/ess/v1/topics/Nope/event-types"):
        status, body, _ = ess(fns["ess_catalog"], who, "GET", path)
        assert status == 404 and body["error"]["code"] == "NOT_FOUND", path


# ---------------------------------------------------------------- delivery configurations


def test_configuration_round_trip_and_signing_secret(fns, world):
    who = world.child_admin
    created = make_config(fns, who)
    assert created["id"].isdigit() and created["signing-secret"].startswith("whsec_")
    assert {k: created[k] for k in CONFIG} == CONFIG
    fn = fns["delivery_configurations"]
    status, body, _ = ess(fn, who, "GET", f"/ess/v1/delivery-configurations/{created['id']}")
    assert status == 200 and "signing-secret" not in body and body["throttling-unit"] == "MINUTE"
    status, body, _ = ess(
        fn,
        who,
        "PUT",
        f"/ess/v1/delivery-configurations/{created['id']}",
        {**CONFIG, "throttling": 322, "del-cfg-nm": "renamed"},
    )
    assert status == 200 and body["throttling"] == 322 and body["del-cfg-nm"] == "renamed"
    status, body, _ = ess(fn, who, "GET", "/ess/v1/delivery-configurations")
    assert [c["del-cfg-nm"] for c in body["delivery-configurations"]] == ["renamed"]
    # the old name is free again, the new one is taken
    make_config(fns, who, **{"del-cfg-nm": "hhh"})
    status, body, _ = ess(fn, who, "POST", "/ess/v1/delivery-configurations", {**CONFIG, "del-cfg-nm": "renamed"})
    assert status == 409 and body["error"]["code"] == "CONFLICT"
    status, rotated, _ = ess(fn, who, "POST", f"/ess/v1/delivery-configurations/{created['id']}/signing-secret/rotate")
    assert status == 200 and rotated["signing-secret"] != created["signing-secret"]
    config = wiring.configurations().get(who.caller, None, created["id"])
    assert wiring.configurations().signing_secrets(config, 0) == [
        rotated["signing-secret"],
        created["signing-secret"],
    ]


def test_scheduled_configuration_needs_no_address(fns, world):
    body = make_config(
        fns, world.child_admin, **{"addr": None, "cron-expression": "0 15 * * * *", "latest-event-only": True}
    )
    assert body["cron-expression"] == "0 15 * * * *" and body["latest-event-only"] is True


BAD_CONFIGS = [
    ({"del-cfg-nm": ""}, "del-cfg-nm"),
    ({"del-prtcl-cd": "SOAP"}, "del-prtcl-cd"),
    ({"del-fmt-cd": "CSV"}, "del-fmt-cd"),
    ({"addr": "ftp://example.com/x"}, "addr"),
    ({"addr": "https://user:pw@example.com/x"}, "addr"),
    ({"addr": "http://127.0.0.1/hook"}, "addr"),
    ({"addr": "http://10.1.2.3/hook"}, "addr"),
    ({"addr": "http://169.254.169.254/latest/meta-data"}, "addr"),
    ({"addr": "http://[::ffff:192.168.0.1]/x"}, "addr"),
    ({"addr": "https://example.com/" + "x" * 2100}, "addr"),
    ({"throttling": 0}, "throttling"),
    ({"throttling": "fast"}, "throttling"),
    ({"throttling-unit": "HOUR"}, "throttling-unit"),
    ({"cron-expression": "0 15 * * *"}, "cron-expression"),
    ({"cron-expression": "every hour"}, "cron-expression"),
    ({"latest-event-only": "yes"}, "latest-event-only"),
    ({"is-active": "dd"}, "is-active"),
    ({"timeout-seconds": 31}, "timeout-seconds"),
    ({"unknown-field": 1}, "unknown-field"),
]


@pytest.mark.parametrize("change, field", BAD_CONFIGS, ids=[f for _, f in BAD_CONFIGS])
def test_bad_configurations_name_the_field_and_write_nothing(fns, world, aws, change, field):
    status, body, _ = ess(
        fns["delivery_configurations"],
        world.child_admin,
        "POST",
        "/ess/v1/delivery-configurations",
        {**CONFIG, **change},
    )
    assert status == 400, body
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert field in {d["field"] for d in body["error"]["details"]}
    scanned = boto3.client("dynamodb").scan(TableName=aws["EVENTS_TABLE"], Select="COUNT")["Count"]
    assert scanned == 0


def test_bad_json_and_non_object_bodies(fns, world):
    for raw in ('{"del-cfg-nm": ', "[1, 2]", '"text"'):
        status, body, _ = ess(
            fns["delivery_configurations"], world.child_admin, "POST", "/ess/v1/delivery-configurations", raw=raw
        )
        assert status == 400 and body["error"]["code"] == "VALIDATION_ERROR", raw


def test_authentication_is_sealed_and_masked(fns, world, aws):
    who = world.child_admin
    config = make_config(fns, who)
    fn, path = fns["delivery_configurations"], f"/ess/v1/delivery-configurations/{config['id']}/authentication"
    assert ess(fn, who, "GET", path)[1] == {"type": "NONE"}
    basic = {"type": "BASIC", "settings": {"username": "Admin", "password": "adnin"}}
    status, body, _ = ess(fn, who, "PUT", path, basic)
    assert status == 200 and body == {"type": "BASIC", "settings": {"username": "Admin", "password": "********"}}
    stored = json.dumps(boto3.client("dynamodb").scan(TableName=aws["EVENTS_TABLE"])["Items"])
    assert "adnin" not in stored
    status, body, _ = ess(
        fn,
        who,
        "PUT",
        path,
        {
            "type": "OAUTH",
            "settings": {
                "token-url": "https://auth.example.com/token",
                "client-id": "abc",
                "client-secret": "s3cret",
                "scope": "ess",
            },
        },
    )
    assert body["settings"]["client-secret"] == "********" and body["settings"]["client-id"] == "abc"
    status, body, _ = ess(fn, who, "PUT", path, {"type": "BASIC", "settings": {"username": "x"}})
    assert status == 400 and "settings.password" in {d["field"] for d in body["error"]["details"]}
    status, body, _ = ess(fn, who, "PUT", path, {"type": "KERBEROS"})
    assert status == 400


def test_configuration_in_use_cannot_be_deleted(fns, world):
    who = world.child_admin
    config = make_config(fns, who)
    status, sub, _ = subscribe(fns, who, **{"del-cfg-id": config["id"], "evt-tp": "porting_event"})
    assert status == 201
    fn, path = fns["delivery_configurations"], f"/ess/v1/delivery-configurations/{config['id']}"
    status, _body, _ = ess(fn, who, "DELETE", path)
    assert status == 409
    ess(fns["subscriptions"], who, "DELETE", f"/ess/v1/topics/NIS-Events/subscriptions/{sub['id']}")
    assert ess(fn, who, "DELETE", path)[0] == 204
    assert ess(fn, who, "GET", path)[0] == 404


# ---------------------------------------------------------------- subscriptions


def test_subscription_seed_round_trip(fns, world):
    who = world.child_admin
    config = make_config(fns, who)
    status, body, headers = subscribe(
        fns,
        who,
        topic="SCG-Communication-Assistant",
        **{
            "del-cfg-id": int(config["id"]),
            "evt-tp": "communication_application_session_state_change",
            "match-crt": "",
            "start-date": "2017-10-27T17:29:42Z",
            "end-date": None,
        },
    )
    assert status == 201, body
    assert body["del-cfg-id"] == config["id"] and body["topic-nm"] == "SCG-Communication-Assistant"
    assert body["start-date"] == "2017-10-27T17:29:42Z" and "end-date" not in body
    fn, path = fns["subscriptions"], f"/ess/v1/topics/SCG-Communication-Assistant/subscriptions/{body['id']}"
    assert headers["Location"] == path
    status, body, _ = ess(
        fn, who, "PUT", path, {"match-crt": "company-id = 123", "start-date": "2016-09-27T13:08:57Z", "end-date": None}
    )
    assert status == 200 and body["match-crt"] == "company-id = 123"
    assert body["evt-tp"] == "communication_application_session_state_change"
    status, body, _ = ess(fn, who, "GET", "/ess/v1/topic-subscriptions", query={"limit": "10"})
    assert body["paged-result"] == {"offset": 0, "limit": 10}
    [row] = body["topic-subscriptions"]
    assert row["del-cfg-nm"] == "hhh" and row["topic-nm"] == "SCG-Communication-Assistant"
    status, body, _ = ess(fn, who, "GET", "/ess/v1/topics/NIS-Events/subscriptions/" + row["id"])
    assert status == 404  # wrong topic


BAD_SUBSCRIPTIONS = [
    ("Nope", {"evt-tp": "porting_event"}, 404, None),
    ("NIS-Events", {"evt-tp": "message_state_change"}, 400, "evt-tp"),
    ("NIS-Events", {"del-cfg-id": "999999"}, 404, "del-cfg-id"),
    ("NIS-Events", {"del-cfg-id": None}, 400, "del-cfg-id"),
    ("NIS-Events", {"del-cfg-id": "abc"}, 400, "del-cfg-id"),
    ("NIS-Events", {"start-date": "yesterday"}, 400, "start-date"),
    ("NIS-Events", {"start-date": "2020-01-02T00:00:00Z", "end-date": "2020-01-01T00:00:00Z"}, 400, None),
    ("NIS-Events", {"match-crt": "number = "}, 400, "match-crt"),
    ("NIS-Events", {"match-crt": "colour = 'red'"}, 400, "match-crt"),
    ("NIS-Events", {"limit": 5}, 400, "limit"),
]


@pytest.mark.parametrize("topic, change, status_code, field", BAD_SUBSCRIPTIONS)
def test_bad_subscriptions(fns, world, topic, change, status_code, field):
    who = world.child_admin
    config = make_config(fns, who)
    body = {"del-cfg-id": config["id"], "evt-tp": "porting_event", **change}
    status, reply, _ = subscribe(fns, who, topic=topic, **body)
    assert status == status_code, reply
    if field:
        assert field in {d["field"] for d in reply["error"].get("details", [])}, reply
    assert wiring.events_repository().list_subscriptions(who.account_id, 0, 10) == []


def test_syntax_error_names_the_position(fns, world):
    config = make_config(fns, world.child_admin)
    _, reply, _ = subscribe(fns, world.child_admin, **{"del-cfg-id": config["id"], "match-crt": "number = '+1' AND"})
    assert "position" in reply["error"]["details"][0]["reason"]


def test_pinned_number_index_serves_mdn_and_unique_count(fns, world):
    who = world.child_admin
    first, second = make_config(fns, who), make_config(fns, who, **{"del-cfg-nm": "second"})
    for config, number, event in (
        (first, "+12345678901", "porting_event"),
        (second, "+12345678901", None),
        (first, "+19995550000", "deactivation_event"),
    ):
        body = {"del-cfg-id": config["id"], "match-crt": f"number = '{number}'"}
        if event:
            body["evt-tp"] = event
        assert subscribe(fns, who, **body)[0] == 201
    fn = fns["subscriptions"]
    status, body, _ = ess(
        fn,
        who,
        "GET",
        "/ess/v1/topic-subscriptions/mdn",
        query={"topicId": "NIS-Events", "matchingCriteria": "number = '+12345678901'", "limit": "50"},
    )
    assert status == 200 and body["mdn"] == "number = '+12345678901'" and body["topic-name"] == "NIS-Events"
    by_config = {row["delivery-cfg-id"]: row for row in body["subscriptions"]}
    assert by_config[first["id"]] == {
        "delivery-cfg-id": first["id"],
        "delivery-cfg-nm": "hhh",
        "events": ["porting_event"],
    }
    assert by_config[second["id"]]["events"] == ["deactivation_event", "porting_event", "truedisconnect_event"]
    status, body, _ = ess(fn, who, "GET", "/ess/v1/topic-subscriptions/uniqueMdnCount")
    assert body == {"topic-name": "NIS-Events", "activeCount": 2}
    status, body, _ = ess(
        fn,
        who,
        "GET",
        "/ess/v1/topic-subscriptions/mdn",
        query={"topicId": "NIS-Events", "matchingCriteria": "number LIKE '+1%'"},
    )
    assert status == 400
    # deleting one of two subscriptions on a number keeps it counted; deleting the last drops it
    subs = wiring.events_repository().list_subscriptions(who.account_id, 0, 10)
    for sub in subs[:2]:
        ess(fn, who, "DELETE", f"/ess/v1/topics/NIS-Events/subscriptions/{sub.id}")
    assert ess(fn, who, "GET", "/ess/v1/topic-subscriptions/uniqueMdnCount")[1]["activeCount"] == 1


def test_matching_lookup_uses_the_index(fns, world):
    who = world.child_admin
    config = make_config(fns, who)
    for criteria in ("number = '+1'", "number = '+2'", "", "previous_carrier_id = '9'"):
        subscribe(fns, who, **{"del-cfg-id": config["id"], "match-crt": criteria, "start-date": "2020-01-01T00:00:00Z"})
    found = wiring.subscription_matcher().matching(
        who.account_id, "NIS-Events", "porting_event", {"number": "+1", "previous_carrier_id": "9"}, 1_800_000_000_000
    )
    assert sorted(s.match_criteria for s in found) == ["", "number = '+1'", "previous_carrier_id = '9'"]
    before = wiring.subscription_matcher().matching(
        who.account_id, "NIS-Events", "porting_event", {"number": "+1"}, 1_000_000_000_000
    )
    assert before == []  # before start-date


# ---------------------------------------------------------------- publishing

EVENT = {
    "topic": "NIS-Events",
    "evt-tp": "deactivation_event",
    "fld-val-list": {
        "number": "+17805199493",
        "previous_carrier_id": "1025",
        "tracking_id": "1655272074",
        "deactivation_date": "2017-06-03T04:00:00Z",
    },
}


def queued(aws) -> list[dict]:
    response = boto3.client("sqs").receive_message(QueueUrl=aws["EVENTS_QUEUE_URL"], MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in response.get("Messages", [])]


def test_publish_queues_the_event_once(fns, world, aws):
    who = world.child_admin
    status, body, _ = ess(fns["publish"], who, "POST", "/ess/v1/events", EVENT)
    assert status == 202 and len(body["event-id"]) == 22
    status, again, _ = ess(fns["publish"], who, "POST", "/ess/v1/events", {**EVENT, "event-id": "order-42"})
    assert status == 202 and again["event-id"] == "order-42"
    assert ess(fns["publish"], who, "POST", "/ess/v1/events", {**EVENT, "event-id": "order-42"})[1] == again
    messages = queued(aws)
    assert sorted(m["event-id"] for m in messages) == sorted([body["event-id"], "order-42"])
    assert all(m["account-id"] == who.account_id and m["fld-val-list"] == EVENT["fld-val-list"] for m in messages)


BAD_EVENTS = [
    ({"topic": "Nope"}, "topic"),
    ({"evt-tp": "porting"}, "evt-tp"),
    ({"fld-val-list": {"deactivation_date": "2017-06-03T04:00:00Z"}}, "fld-val-list.number"),
    ({"fld-val-list": {**EVENT["fld-val-list"], "colour": "red"}}, "fld-val-list.colour"),
    ({"fld-val-list": {**EVENT["fld-val-list"], "company-id": "12"}}, "fld-val-list.company-id"),
    ({"fld-val-list": {**EVENT["fld-val-list"], "deactivation_date": "June"}}, "fld-val-list.deactivation_date"),
    ({"fld-val-list": {**EVENT["fld-val-list"], "number": 17805199493}}, "fld-val-list.number"),
    ({"fld-val-list": "x"}, "fld-val-list"),
    ({"event-id": "has spaces"}, "event-id"),
    ({"timestamp": "soon"}, "timestamp"),
]


@pytest.mark.parametrize("change, field", BAD_EVENTS, ids=[f for _, f in BAD_EVENTS])
def test_bad_events_are_refused_and_not_queued(fns, world, aws, change, field):
    status, body, _ = ess(fns["publish"], world.child_admin, "POST", "/ess/v1/events", {**EVENT, **change})
    assert status == 400, body
    assert field in {d["field"] for d in body["error"]["details"]}
    assert queued(aws) == []


def test_operator_and_reseller_publish_for_a_named_company(fns, world, aws):
    child = world.child_admin.account_id
    for who in (world.operator, world.reseller_admin):
        assert ess(fns["publish"], who, "POST", "/ess/v1/events", EVENT, query={"company": child})[0] == 202
    status, _body, _ = ess(
        fns["publish"], world.stranger_admin, "POST", "/ess/v1/events", EVENT, query={"company": child}
    )
    assert status == 404
    assert {m["account-id"] for m in queued(aws)} == {child}


# ---------------------------------------------------------------- tenancy


def test_companies_never_see_each_other(fns, world):
    mine, stranger = world.child_admin, world.stranger_admin
    config = make_config(fns, mine)
    _, sub, _ = subscribe(fns, mine, **{"del-cfg-id": config["id"], "match-crt": "number = '+1'"})
    cfg_fn, sub_fn = fns["delivery_configurations"], fns["subscriptions"]
    cfg_path = f"/ess/v1/delivery-configurations/{config['id']}"
    for method, path, fn, body in (
        ("GET", cfg_path, cfg_fn, None),
        ("PUT", cfg_path, cfg_fn, CONFIG),
        ("DELETE", cfg_path, cfg_fn, None),
        ("GET", f"{cfg_path}/authentication", cfg_fn, None),
        ("PUT", f"{cfg_path}/authentication", cfg_fn, {"type": "NONE"}),
        ("POST", f"{cfg_path}/signing-secret/rotate", cfg_fn, None),
        ("GET", f"/ess/v1/topics/NIS-Events/subscriptions/{sub['id']}", sub_fn, None),
        ("PUT", f"/ess/v1/topics/NIS-Events/subscriptions/{sub['id']}", sub_fn, {"match-crt": ""}),
        ("DELETE", f"/ess/v1/topics/NIS-Events/subscriptions/{sub['id']}", sub_fn, None),
    ):
        assert ess(fn, stranger, method, path, body)[0] == 404, (method, path)
    # a stranger's subscription cannot name my configuration
    assert subscribe(fns, stranger, **{"del-cfg-id": config["id"]})[0] == 404
    assert ess(cfg_fn, stranger, "GET", "/ess/v1/delivery-configurations")[1]["delivery-configurations"] == []
    assert ess(sub_fn, stranger, "GET", "/ess/v1/topic-subscriptions")[1]["topic-subscriptions"] == []
    mdn = ess(
        sub_fn,
        stranger,
        "GET",
        "/ess/v1/topic-subscriptions/mdn",
        query={"topicId": "NIS-Events", "matchingCriteria": "number = '+1'"},
    )[1]
    assert mdn["subscriptions"] == []
    assert ess(sub_fn, stranger, "GET", "/ess/v1/topic-subscriptions/uniqueMdnCount")[1]["activeCount"] == 0
    # naming my company does not help a stranger; my reseller may
    assert ess(cfg_fn, stranger, "GET", cfg_path, query={"company": mine.account_id})[0] == 404
    assert ess(cfg_fn, world.reseller_admin, "GET", cfg_path, query={"company": mine.account_id})[0] == 200
    assert (
        ess(cfg_fn, mine, "GET", "/ess/v1/delivery-configurations", query={"company": world.reseller_admin.account_id})[
            0
        ]
        == 404
    )


def test_limits(fns, world, monkeypatch):
    from switchboard.events import repository

    monkeypatch.setattr(repository, "MAX_DELIVERY_CONFIGURATIONS", 2)
    who = world.child_admin
    make_config(fns, who, **{"del-cfg-nm": "a"})
    make_config(fns, who, **{"del-cfg-nm": "b"})
    status, body, _ = ess(
        fns["delivery_configurations"], who, "POST", "/ess/v1/delivery-configurations", {**CONFIG, "del-cfg-nm": "c"}
    )
    assert status == 409 and body["error"]["code"] == "LIMIT_EXCEEDED"
    status, body, _ = ess(fns["subscriptions"], who, "GET", "/ess/v1/topic-subscriptions", query={"limit": "1001"})
    assert status == 400 and body["error"]["details"][0]["field"] == "limit"
