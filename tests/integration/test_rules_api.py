"""The AirVantage alert rule, system and hook APIs on moto: seed examples, every error code over HTTP, the
50-rule quota, systems paging, hooks and their sealed passwords, tenancy for every endpoint, bad input."""

from __future__ import annotations

import base64
import copy
import json
import time

import boto3
import pytest
from switchboard import secrets, wiring
from switchboard.rules.repository import HookRecord, name_key

from tests.seed_bodies import RULE_POST as SEED_RULE
from tests.seed_bodies import RULE_PUT as SEED_PUT
from tests.support import call, load_function, rest_event

RULES = "/api/v2/alertrules"
SYSTEMS = "/api/v1/systems"

SYSTEM = {"name": "Boiler 12", "labels": ["north"], "commStatus": "OK", "gateway": {"imei": "352099001761481"}}


@pytest.fixture
def fns(aws):
    return {name: load_function(name) for name in ("alert_rules", "systems", "alert_hooks")}


def av(fn, principal, method, path, body=None, query=None, raw=None):
    return call(fn, rest_event(method, path, principal.context, body=body, query=query, raw_body=raw))


def rule(fns, principal, method, path=RULES, body=None, query=None, raw=None):
    return av(fns["alert_rules"], principal, method, path, body, query, raw)


def make_rule(fns, principal, query=None, **overrides):
    status, body, _ = rule(fns, principal, "POST", body={**SEED_RULE, **overrides}, query=query)
    assert status == 200, body
    return body


def hooks_path(rule_id, hook_uid=None):
    return f"/api/v1/alerts/rules/{rule_id}/hooks" + (f"/{hook_uid}" if hook_uid else "")


def shown(hook: dict) -> dict:
    """A hook as lists show it: its creation reply without the signing secret (shown once)."""
    assert hook["signingSecret"].startswith("whsec_")
    return {key: value for key, value in hook.items() if key != "signingSecret"}


def secret_path(rule_id, hook_uid):
    return hooks_path(rule_id, hook_uid) + "/secret"


def hook_items(aws) -> dict[str, dict]:
    items = boto3.client("dynamodb").scan(TableName=aws["RULES_TABLE"])["Items"]
    return {item["uid"]["S"]: item for item in items if item["sk"]["S"].startswith("HOOK#")}


def item_count(aws) -> int:
    return boto3.client("dynamodb").scan(TableName=aws["RULES_TABLE"], Select="COUNT")["Count"]


def rule_items(aws) -> int:
    items = boto3.client("dynamodb").scan(TableName=aws["RULES_TABLE"])["Items"]
    return sum(1 for item in items if item["sk"]["S"].startswith("RULE#"))


# ---------------------------------------------------------------- rules: the seed's examples


def test_seed_rule_round_trip(fns, world):
    who = world.child_admin
    created = make_rule(fns, who)
    assert len(created["id"]) == 32 and int(created["id"], 16) >= 0
    assert {key: created[key] for key in SEED_RULE} == SEED_RULE
    assert created["stateful"] is True and created["notifMode"] == "WHEN_STATE_CHANGES"
    assert "companyId" not in created and "createdMs" not in created

    status, body, _ = rule(fns, who, "GET", f"{RULES}/{created['id']}")
    assert status == 200 and body == created

    status, body, _ = rule(fns, who, "PUT", f"{RULES}/{created['id']}", SEED_PUT)
    assert status == 200
    assert body == {"id": created["id"], **SEED_PUT, "stateful": True, "notifMode": "WHEN_STATE_CHANGES"}
    assert rule(fns, who, "GET", f"{RULES}/{created['id']}")[1] == body

    status, body, headers = rule(fns, who, "DELETE", f"{RULES}/{created['id']}")
    assert status == 200 and body == "success" and headers["Content-Type"] == "application/json"
    status, body, _ = rule(fns, who, "GET", f"{RULES}/{created['id']}")
    assert status == 404 and body == {"error": "alert.rule.unknown.id", "errorParameters": [created["id"]]}


def test_put_replaces_every_field(fns, world):
    who = world.child_admin
    created = make_rule(fns, who, stateful=False, notifMode="EVERY_TIME", emails=["a@b.co"], message="m")
    replaced = {key: value for key, value in SEED_PUT.items() if key not in ("message", "emails")}
    status, body, _ = rule(fns, who, "PUT", f"{RULES}/{created['id']}", replaced)
    assert status == 200
    # fields left out of a PUT take their defaults: the rule is replaced, not merged
    assert body["stateful"] is True and body["notifMode"] == "WHEN_STATE_CHANGES"
    assert body["emails"] == [] and "message" not in body


def test_list_is_a_bare_array_sorted_by_name(fns, world):
    who = world.child_admin
    status, body, _ = rule(fns, who, "GET")
    assert status == 200 and body == []
    for name in ("Zeta", "alpha", "Beta", "Alpha"):
        make_rule(fns, who, name=name)
    status, body, _ = rule(fns, who, "GET")
    assert status == 200 and isinstance(body, list)
    assert [item["name"] for item in body] == ["Alpha", "Beta", "Zeta", "alpha"]
    assert all(set(item) >= {"id", "targetType", "conditions"} for item in body)


def test_company_parameter_selects_the_company(fns, world):
    reseller, child = world.reseller_admin, world.child_admin
    made = make_rule(fns, reseller, query={"company": child.account_id}, name="for the child")
    assert [item["id"] for item in rule(fns, child, "GET")[1]] == [made["id"]]
    assert rule(fns, reseller, "GET")[1] == []
    assert rule(fns, reseller, "GET", query={"company": child.account_id})[1][0]["id"] == made["id"]
    # the child's own id as company is the child itself
    assert rule(fns, child, "GET", query={"company": child.account_id})[1][0]["id"] == made["id"]


# ---------------------------------------------------------------- rules: quota


def test_fifty_rules_per_company(fns, world, aws):
    who = world.child_admin
    for index in range(50):
        make_rule(fns, who, name=f"rule {index:02d}")
    status, body, _ = rule(fns, who, "POST", body={**SEED_RULE, "name": "one too many"})
    assert status == 400 and body == {"error": "alert.rule.too.many", "errorParameters": ["50"]}
    assert rule_items(aws) == 50
    assert len(rule(fns, who, "GET")[1]) == 50
    # another company has its own quota; a deletion frees a place
    make_rule(fns, world.stranger_admin)
    first = rule(fns, who, "GET")[1][0]["id"]
    assert rule(fns, who, "DELETE", f"{RULES}/{first}")[0] == 200
    make_rule(fns, who, name="fits again")
    assert rule(fns, who, "POST", body=SEED_RULE)[1]["error"] == "alert.rule.too.many"


# ---------------------------------------------------------------- rules: every error code over HTTP


def _condition(operator, *operands):
    return {"conditions": [{"operator": operator, "operands": list(operands)}]}


ATTR = {"attributeId": {"name": "DATA.room.temp"}}
POS = {"attributeId": {"name": "DATA._LON_LAT"}}
SQUARE = "POLYGON((0 0, 10 0, 10 10, 0 10, 0 0))"

BAD_RULES = [
    ("missing operator", _condition(None, ATTR), "alert.rule.missing.operator", ["conditions.0.operator"]),
    ("blank operator", _condition("", ATTR), "alert.rule.missing.operator", ["conditions.0.operator"]),
    (
        "two operand kinds",
        _condition("EQUALS", ATTR, {"valueStr": "a", "valueNum": 1}),
        "alert.rule.multiple.operand.type",
        ["conditions.0.operands.1"],
    ),
    (
        "no operand kind",
        _condition("EQUALS", ATTR, {}),
        "alert.rule.multiple.operand.type",
        ["conditions.0.operands.1"],
    ),
    (
        "operand count",
        _condition("GREATER_THAN", ATTR),
        "alert.rule.invalid.number.of.operands",
        ["conditions.0.operands", "GREATER_THAN", "2"],
    ),
    (
        "operand type",
        _condition("GREATER_THAN", ATTR, {"valueStr": "hot"}),
        "alert.rule.invalid.operand.type",
        ["conditions.0.operands.1", "GREATER_THAN"],
    ),
    ("bad wkt", _condition("GEO_WITHIN", POS, {"valueStr": "POLYGON((0 0, 1 1"}), "alert.rule.geo.invalid.wkt", None),
    (
        "geo attribute",
        _condition("GEO_WITHIN", ATTR, {"valueStr": SQUARE}),
        "alert.rule.geo.bad.attribute.id",
        ["conditions.0.operands.0.attributeId.name", "DATA.room.temp"],
    ),
    (
        "unknown function",
        _condition("GREATER_THAN", {"attributeId": {"name": "AGG.room.temp/D"}, "function": "AVG"}, {"valueNum": 1}),
        "alert.rule.invalid.function",
        ["conditions.0.operands.0.function", "AVG"],
    ),
    (
        "first operand not attribute",
        _condition("EQUALS", {"valueStr": "a"}, ATTR),
        "alert.rule.missing.attr.operand",
        ["conditions.0.operands.0"],
    ),
    (
        "eleven conditions",
        {"conditions": [{"operator": "EXISTS", "operands": [ATTR]}] * 11},
        "alert.rule.condition.too.many",
        ["10"],
    ),
    ("no target type", {"targetType": None}, "alert.rule.incorrect.target.type", ["targetType"]),
    ("bad target type", {"targetType": "GATEWAY"}, "alert.rule.incorrect.target.type", ["targetType", "GATEWAY"]),
    (
        "voice daily",
        _condition(
            "GREATER_THAN", {"attributeId": {"name": "AGG.VOICE_IN_DURATION/D"}, "function": "SUM"}, {"valueNum": 60}
        ),
        "alert.rule.bad.voice.agg.usage",
        ["conditions.0.operands.0.attributeId.name", "AGG.VOICE_IN_DURATION/D"],
    ),
    (
        "unknown operator",
        _condition("BETWEEN", ATTR),
        "alert.rule.unknown.operator",
        ["conditions.0.operator", "BETWEEN"],
    ),
    (
        "unknown attribute",
        _condition("EXISTS", {"attributeId": {"name": "room.temp"}}),
        "alert.rule.unknown.attribute",
        ["conditions.0.operands.0.attributeId.name", "room.temp"],
    ),
    ("wrong type", {"active": "yes"}, "alert.rule.invalid.field", None),
    ("name wrong type", {"name": 12}, "alert.rule.invalid.field", None),
    ("unknown field", {"colour": "red"}, "alert.rule.invalid.field", None),
    ("bad email", {"emails": ["not an email"]}, "alert.rule.invalid.field", None),
    ("valueNum string", _condition("GREATER_THAN", ATTR, {"valueNum": "38"}), "alert.rule.invalid.field", None),
    ("no conditions", {"conditions": []}, "alert.rule.invalid.field", None),
]


@pytest.mark.parametrize(
    "change, code, parameters", [case[1:] for case in BAD_RULES], ids=[case[0] for case in BAD_RULES]
)
def test_bad_rules_get_the_seed_code_and_write_nothing(fns, world, aws, change, code, parameters):
    who = world.child_admin
    body = {**SEED_RULE, **change}
    if body.get("targetType") is None:
        body.pop("targetType")
    status, reply, _ = rule(fns, who, "POST", body=body)
    assert status == 400, reply
    assert set(reply) == {"error", "errorParameters"}
    assert reply["error"] == code
    assert all(isinstance(item, str) for item in reply["errorParameters"])
    if parameters is not None:
        assert reply["errorParameters"] == parameters
    assert item_count(aws) == 0
    # the same body on PUT gets the same code and changes nothing
    existing = make_rule(fns, who)
    status, reply, _ = rule(fns, who, "PUT", f"{RULES}/{existing['id']}", body)
    assert status == 400 and reply["error"] == code
    assert rule(fns, who, "GET", f"{RULES}/{existing['id']}")[1] == existing


@pytest.mark.parametrize("raw", ['{"name": ', "[1, 2]", '"text"', "12", "null", "", '{"name": NaN}'])
def test_bad_json_is_a_400_never_a_500(fns, world, aws, raw):
    who = world.child_admin
    status, body, _ = rule(fns, who, "POST", raw=raw)
    assert status == 400, body
    assert body["error"] in ("invalid.json", "alert.rule.invalid.field")
    assert item_count(aws) == 0


def test_missing_and_unknown_ids(fns, world):
    who = world.child_admin
    for method in ("PUT", "DELETE"):
        status, body, _ = rule(fns, who, method, RULES, SEED_RULE if method == "PUT" else None)
        assert status == 400 and body == {"error": "alert.rule.missing.id", "errorParameters": []}, method
        status, body, _ = rule(fns, who, method, f"{RULES}/%20", SEED_RULE if method == "PUT" else None)
        assert status in (400, 404), method
    status, body, _ = rule(fns, who, "GET", f"{RULES}/ ")
    assert status == 400 and body["error"] == "alert.rule.missing.id"
    unknown = "0f3919fd1ac0403ab9e70ae2c3729a21"
    for method, payload in (("GET", None), ("PUT", SEED_PUT), ("DELETE", None)):
        status, body, _ = rule(fns, who, method, f"{RULES}/{unknown}", payload)
        assert status == 404 and body == {"error": "alert.rule.unknown.id", "errorParameters": [unknown]}, method
        status, body, _ = rule(fns, who, method, f"{RULES}/not-an-id", payload)
        assert status == 404 and body == {"error": "alert.rule.unknown.id", "errorParameters": ["not-an-id"]}


def test_bad_company_parameter(fns, world):
    status, body, _ = rule(fns, world.child_admin, "GET", query={"company": "nope"})
    assert status == 404 and body == {"error": "not.found", "errorParameters": ["nope"]}


# ---------------------------------------------------------------- rules: tenancy


def test_rule_tenancy(fns, world, aws):
    mine, stranger, reseller = world.child_admin, world.stranger_admin, world.reseller_admin
    made = make_rule(fns, mine)
    path = f"{RULES}/{made['id']}"
    # a stranger sees nothing of mine, by id or by naming my company
    assert rule(fns, stranger, "GET")[1] == []
    for method, payload in (("GET", None), ("PUT", SEED_PUT), ("DELETE", None)):
        status, body, _ = rule(fns, stranger, method, path, payload)
        assert status == 404 and body["error"] == "alert.rule.unknown.id", method
        status, body, _ = rule(fns, stranger, method, path, payload, query={"company": mine.account_id})
        assert status == 404 and body == {"error": "not.found", "errorParameters": [mine.account_id]}, method
    for method in ("GET", "POST"):
        status, body, _ = rule(fns, stranger, method, body=SEED_RULE, query={"company": mine.account_id})
        assert status == 404 and body["error"] == "not.found", method
    # a customer cannot reach its reseller
    make_rule(fns, reseller, name="reseller's")
    status, body, _ = rule(fns, mine, "GET", query={"company": reseller.account_id})
    assert status == 404 and body["error"] == "not.found"
    status, body, _ = rule(fns, mine, "POST", body=SEED_RULE, query={"company": reseller.account_id})
    assert status == 404
    # a plain user of the child cannot act on the reseller either, but on its own company
    assert rule(fns, world.child_user, "GET")[1][0]["id"] == made["id"]
    # the reseller admin reaches its customer for every verb
    query = {"company": mine.account_id}
    assert rule(fns, reseller, "GET", path, query=query)[1] == made
    assert rule(fns, reseller, "PUT", path, SEED_PUT, query=query)[1]["name"] == SEED_PUT["name"]
    assert rule(fns, reseller, "DELETE", path, query=query)[1] == "success"
    # but not with its own scope (the rule is the customer's)
    assert rule(fns, mine, "GET", path)[0] == 404
    assert rule_items(aws) == 1  # only the reseller's own rule is left


# ---------------------------------------------------------------- systems


def system_call(fns, principal, method, path=SYSTEMS, body=None, query=None, raw=None):
    return av(fns["systems"], principal, method, path, body, query, raw)


def make_system(fns, principal, query=None, **overrides):
    status, body, _ = system_call(fns, principal, "POST", body={**SYSTEM, **overrides}, query=query)
    assert status == 200, body
    return body


def test_system_crud(fns, world):
    who = world.child_admin
    created = make_system(fns, who)
    assert len(created["uid"]) == 32 and next(iter(created)) == "uid"
    assert created == {"uid": created["uid"], **SYSTEM, "company": who.account_id}
    path = f"{SYSTEMS}/{created['uid']}"
    assert system_call(fns, who, "GET", path)[1] == created
    replacement = {"name": "Boiler 12b", "labels": [], "heartbeat": {"period": 60, "errorSLA": 120}}
    status, body, _ = system_call(fns, who, "PUT", path, replacement)
    assert status == 200
    assert body == {"uid": created["uid"], **replacement, "company": who.account_id}  # commStatus, gateway gone
    assert system_call(fns, who, "GET", path)[1] == body
    status, body, _ = system_call(fns, who, "DELETE", path)
    assert status == 200 and body == {}
    status, body, _ = system_call(fns, who, "GET", path)
    assert status == 404 and body == {"error": "not.found", "errorParameters": [created["uid"]]}
    for method, payload in (("PUT", SYSTEM), ("DELETE", None)):
        status, body, _ = system_call(fns, who, method, path, payload)
        assert status == 404 and body["error"] == "not.found", method
    assert system_call(fns, who, "GET", f"{SYSTEMS}/nope")[0] == 404
    assert system_call(fns, who, "GET")[1] == {"items": [], "count": 0}


def test_systems_are_listed_by_name_with_paging(fns, world):
    who = world.child_admin
    names = ["delta", "Alpha", "charlie", "bravo", "a b", "a", "Echo"]
    for name in names:
        make_system(fns, who, name=name)
    status, body, _ = system_call(fns, who, "GET")
    assert status == 200 and body["count"] == 7
    assert [item["name"] for item in body["items"]] == sorted(names)
    status, body, _ = system_call(fns, who, "GET", query={"offset": "2", "size": "3"})
    assert [item["name"] for item in body["items"]] == sorted(names)[2:5] and body["count"] == 7
    status, body, _ = system_call(fns, who, "GET", query={"offset": "6", "size": "3"})
    assert [item["name"] for item in body["items"]] == sorted(names)[6:] and body["count"] == 7
    status, body, _ = system_call(fns, who, "GET", query={"offset": "50"})
    assert body == {"items": [], "count": 7}
    # a rename moves the system in the order
    first = system_call(fns, who, "GET", query={"size": "1"})[1]["items"][0]
    system_call(fns, who, "PUT", f"{SYSTEMS}/{first['uid']}", {"name": "zulu"})
    assert system_call(fns, who, "GET")[1]["items"][-1]["uid"] == first["uid"]
    for query in ({"offset": "-1"}, {"size": "0"}, {"size": "501"}, {"size": "ten"}):
        status, body, _ = system_call(fns, who, "GET", query=query)
        assert status == 400 and body["error"] == "invalid.parameter", query


def test_same_names_sort_by_uid_and_long_names_fit_the_key(fns, world):
    who = world.child_admin
    uids = sorted(make_system(fns, who, name="twin")["uid"] for _ in range(3))
    assert [item["uid"] for item in system_call(fns, who, "GET")[1]["items"]] == uids
    long_name = "é" * 255
    assert make_system(fns, who, name=long_name)["name"] == long_name
    assert len(name_key(long_name, uids[0]).encode()) <= 1024


BAD_SYSTEMS = [
    ({"name": ""}, "name"),
    ({"name": 12}, "name"),
    ({"labels": "north"}, "labels"),
    ({"heartbeat": {"period": 0}}, "heartbeat.period"),
    ({"gateway": {"imei": 352099001761481}}, "gateway.imei"),
    ({"colour": "red"}, "colour"),
]


@pytest.mark.parametrize("change, field", BAD_SYSTEMS, ids=[field for _, field in BAD_SYSTEMS])
def test_bad_systems(fns, world, aws, change, field):
    status, body, _ = system_call(fns, world.child_admin, "POST", body={**SYSTEM, **change})
    assert status == 400, body
    assert body["error"] == "invalid.parameter" and body["errorParameters"][0] == field
    assert item_count(aws) == 0
    for raw in ('{"name": ', "[]", ""):
        status, body, _ = system_call(fns, world.child_admin, "POST", raw=raw)
        assert status == 400 and body["error"] in ("invalid.json", "invalid.parameter"), raw
    assert item_count(aws) == 0


def test_system_tenancy(fns, world):
    mine, stranger, reseller = world.child_admin, world.stranger_admin, world.reseller_admin
    made = make_system(fns, mine)
    path = f"{SYSTEMS}/{made['uid']}"
    assert system_call(fns, stranger, "GET")[1] == {"items": [], "count": 0}
    for method, payload in (("GET", None), ("PUT", SYSTEM), ("DELETE", None)):
        assert system_call(fns, stranger, method, path, payload)[0] == 404, method
        status, body, _ = system_call(fns, stranger, method, path, payload, query={"company": mine.account_id})
        assert status == 404 and body["errorParameters"] == [mine.account_id], method
    for method in ("GET", "POST"):
        assert system_call(fns, stranger, method, body=SYSTEM, query={"company": mine.account_id})[0] == 404
        assert system_call(fns, mine, method, body=SYSTEM, query={"company": reseller.account_id})[0] == 404
    query = {"company": mine.account_id}
    assert system_call(fns, reseller, "GET", query=query)[1]["items"] == [made]
    assert system_call(fns, reseller, "GET", path, query=query)[1] == made
    assert system_call(fns, reseller, "PUT", path, {"name": "renamed"}, query=query)[1]["name"] == "renamed"
    created = make_system(fns, reseller, query=query, name="by reseller")
    assert created["company"] == mine.account_id
    assert system_call(fns, reseller, "DELETE", path, query=query)[0] == 200
    assert [item["uid"] for item in system_call(fns, mine, "GET")[1]["items"]] == [created["uid"]]
    assert system_call(fns, reseller, "GET")[1]["count"] == 0


# ---------------------------------------------------------------- hooks


def hook_call(fns, principal, method, path, body=None, query=None, raw=None):
    return av(fns["alert_hooks"], principal, method, path, body, query, raw)


def test_hook_crud(fns, world):
    who = world.child_admin
    made = make_rule(fns, who)
    path = hooks_path(made["id"])
    assert hook_call(fns, who, "GET", path) == (200, [], {"Content-Type": "application/json"})
    status, first, _ = hook_call(fns, who, "POST", path, {"callback": "http://www.mysite.com/callback"})
    assert status == 200 and shown(first) == {"uid": first["uid"], "callback": "http://www.mysite.com/callback"}
    assert len(first["uid"]) == 32
    status, second, _ = hook_call(fns, who, "POST", path, {"callback": "https://www.myothersite.com/callback?x=1"})
    assert status == 200
    first, second = shown(first), shown(second)
    status, body, _ = hook_call(fns, who, "GET", path)
    assert status == 200 and sorted(body, key=str) == sorted([first, second], key=str)
    response = fns["alert_hooks"].lambda_handler(
        rest_event("DELETE", hooks_path(made["id"], first["uid"]), who.context), _context()
    )
    assert response["statusCode"] == 200 and response["body"] == ""
    assert hook_call(fns, who, "GET", path)[1] == [second]
    status, body, _ = hook_call(fns, who, "DELETE", hooks_path(made["id"], first["uid"]))
    assert status == 404 and body == {"error": "notification.endpoint.unknown.id", "errorParameters": [first["uid"]]}
    status, body, _ = hook_call(fns, who, "DELETE", hooks_path(made["id"], "zzz"))
    assert status == 404 and body["error"] == "notification.endpoint.unknown.id"


def _context():
    from tests.support import LambdaContext

    return LambdaContext()


def test_hook_passwords_are_sealed_and_masked(fns, world, aws):
    who = world.child_admin
    made = make_rule(fns, who)
    path = hooks_path(made["id"])
    status, body, _ = hook_call(fns, who, "POST", path, {"callback": "https://bob:s3cr3t-pw@hooks.example.com/x"})
    assert status == 200 and body["callback"] == "https://bob:********@hooks.example.com/x"
    status, listed, _ = hook_call(fns, who, "POST", path, {"callback": "http://alice@hooks.example.com:8080/y"})
    assert listed["callback"] == "http://alice@hooks.example.com:8080/y"  # no password, nothing to mask
    stored = json.dumps(boto3.client("dynamodb").scan(TableName=aws["RULES_TABLE"])["Items"])
    assert "s3cr3t-pw" not in stored
    assert "s3cr3t-pw" not in json.dumps(hook_call(fns, who, "GET", path)[1])
    # what the delivery of the rule's alerts calls: the whole callback, password unsealed
    callbacks = {hook.uid: hook.callback for hook in wiring.hooks().callbacks(who.account_id, made["id"])}
    assert callbacks[body["uid"]] == "https://bob:s3cr3t-pw@hooks.example.com/x"
    assert callbacks[listed["uid"]] == "http://alice@hooks.example.com:8080/y"


BAD_HOOKS = [
    ({}, "notification.endpoint.missing.uri", ["callback"]),
    ({"callback": None}, "notification.endpoint.missing.uri", ["callback"]),
    ({"callback": "  "}, "notification.endpoint.missing.uri", ["callback"]),
    ({"callback": 12}, "notification.endpoint.invalid.uri", ["callback", "must be a string"]),
    ({"callback": "www.mysite.com/callback"}, "notification.endpoint.invalid.uri", None),
    ({"callback": "http://"}, "notification.endpoint.invalid.uri", None),
    ({"callback": "http://host:99999/x"}, "notification.endpoint.invalid.uri", None),
    ({"callback": "http://ho st/x"}, "notification.endpoint.invalid.uri", None),
    ({"callback": "https://example.com/" + "x" * 2100}, "notification.endpoint.invalid.uri", None),
    ({"callback": "ftp://files.example.com/in"}, "notification.endpoint.unsupported.protocol", ["callback", "ftp"]),
    ({"callback": "mailto:someone@example.com"}, "notification.endpoint.invalid.uri", None),
    ({"callback": "ws://example.com/socket"}, "notification.endpoint.unsupported.protocol", ["callback", "ws"]),
    ({"callback": "http://127.0.0.1/hook"}, "notification.endpoint.forbidden.target", None),
    ({"callback": "http://user:pw@10.1.2.3/hook"}, "notification.endpoint.forbidden.target", None),
    ({"callback": "http://169.254.169.254/latest/meta-data"}, "notification.endpoint.forbidden.target", None),
    ({"callback": "http://localhost:8080/x"}, "notification.endpoint.forbidden.target", None),
    ({"callback": "http://[::1]/x"}, "notification.endpoint.forbidden.target", None),
    ({"callback": "http://example.com/x", "secret": "x"}, "invalid.parameter", ["secret", None]),
]


@pytest.mark.parametrize("body, code, parameters", BAD_HOOKS, ids=[str(case[0])[:60] for case in BAD_HOOKS])
def test_bad_hooks(fns, world, aws, body, code, parameters):
    who = world.child_admin
    made = make_rule(fns, who)
    before = item_count(aws)
    status, reply, _ = hook_call(fns, who, "POST", hooks_path(made["id"]), body)
    assert status == 400, reply
    assert reply["error"] == code
    if parameters is not None:
        assert [p for p, want in zip(reply["errorParameters"], parameters, strict=True) if want is not None] == [
            want for want in parameters if want is not None
        ]
    assert "pw@" not in json.dumps(reply)
    assert item_count(aws) == before


def test_bad_hook_bodies(fns, world, aws):
    who = world.child_admin
    made = make_rule(fns, who)
    before = item_count(aws)
    for raw in ('{"callback": ', "[1]", '"http://example.com"', ""):
        status, body, _ = hook_call(fns, who, "POST", hooks_path(made["id"]), raw=raw)
        assert status == 400 and body["error"] in ("invalid.json", "invalid.parameter"), raw
    assert item_count(aws) == before


def test_private_targets_when_allowed(fns, world, monkeypatch):

    monkeypatch.setenv("ALLOW_PRIVATE_TARGETS", "true")
    wiring.reset()
    try:
        who = world.child_admin
        made = make_rule(fns, who)
        status, body, _ = hook_call(fns, who, "POST", hooks_path(made["id"]), {"callback": "http://127.0.0.1:9/x"})
        assert status == 200 and body["callback"] == "http://127.0.0.1:9/x"
    finally:
        monkeypatch.delenv("ALLOW_PRIVATE_TARGETS")
        wiring.reset()


def test_unknown_rule_for_hooks(fns, world):
    who = world.child_admin
    unknown = "edcda0dce0fb47948d03fbec5350c18e"
    for method, path, payload in (
        ("POST", hooks_path(unknown), {"callback": "http://www.mysite.com/callback"}),
        ("GET", hooks_path(unknown), None),
        ("DELETE", hooks_path(unknown, "4693044f8abc4b078d9fd65a9a3e45d9"), None),
        ("GET", hooks_path("not-a-rule"), None),
    ):
        status, body, _ = hook_call(fns, who, method, path, payload)
        assert status == 404 and body["error"] == "alert.rule.unknown", (method, path)
        assert body["errorParameters"] == [path.split("/")[5]]


def test_hooks_per_rule_are_limited(fns, world, aws):
    who = world.child_admin
    made = make_rule(fns, who)
    path = hooks_path(made["id"])
    for index in range(20):
        assert hook_call(fns, who, "POST", path, {"callback": f"https://example.com/{index}"})[0] == 200
    before = item_count(aws)
    status, body, _ = hook_call(fns, who, "POST", path, {"callback": "https://example.com/21"})
    assert status == 400 and body == {"error": "notification.endpoint.too.many", "errorParameters": ["20"]}
    assert item_count(aws) == before
    # deleting the rule deletes its twenty hooks with it, in one go
    assert rule(fns, who, "DELETE", f"{RULES}/{made['id']}")[1] == "success"
    assert rule_items(aws) == 0
    items = boto3.client("dynamodb").scan(TableName=aws["RULES_TABLE"])["Items"]
    assert [item["sk"]["S"] for item in items] == ["STATS"]
    assert hook_call(fns, who, "GET", path)[0] == 404


def test_rule_deletion_takes_its_hooks(fns, world, aws):
    who = world.child_admin
    keep, drop = make_rule(fns, who, name="keep"), make_rule(fns, who, name="drop")
    kept = shown(hook_call(fns, who, "POST", hooks_path(keep["id"]), {"callback": "https://a.example.com/"})[1])
    hook_call(fns, who, "POST", hooks_path(drop["id"]), {"callback": "https://b:pw@b.example.com/"})
    assert rule(fns, who, "DELETE", f"{RULES}/{drop['id']}")[0] == 200
    assert hook_call(fns, who, "GET", hooks_path(keep["id"]))[1] == [kept]
    items = boto3.client("dynamodb").scan(TableName=aws["RULES_TABLE"])["Items"]
    assert sorted(item["sk"]["S"].split("#")[0] for item in items) == ["HOOK", "RULE", "STATS"]
    # a new rule never sees a deleted rule's hooks
    assert hook_call(fns, who, "GET", hooks_path(drop["id"]))[0] == 404


def test_replacing_a_rule_keeps_its_hooks(fns, world):
    who = world.child_admin
    made = make_rule(fns, who)
    hook = shown(hook_call(fns, who, "POST", hooks_path(made["id"]), {"callback": "https://a.example.com/"})[1])
    assert rule(fns, who, "PUT", f"{RULES}/{made['id']}", SEED_PUT)[0] == 200
    assert hook_call(fns, who, "GET", hooks_path(made["id"]))[1] == [hook]
    assert hook_call(fns, who, "POST", hooks_path(made["id"]), {"callback": "https://b.example.com/"})[0] == 200
    hook_call(fns, who, "DELETE", hooks_path(made["id"], hook["uid"]))
    assert rule(fns, who, "DELETE", f"{RULES}/{made['id']}")[0] == 200


def test_hook_tenancy(fns, world, aws):
    mine, stranger, reseller = world.child_admin, world.stranger_admin, world.reseller_admin
    made = make_rule(fns, mine)
    hook = shown(hook_call(fns, mine, "POST", hooks_path(made["id"]), {"callback": "https://a.example.com/"})[1])
    before = item_count(aws)
    calls = (
        ("POST", hooks_path(made["id"]), {"callback": "https://evil.example.com/"}),
        ("GET", hooks_path(made["id"]), None),
        ("POST", secret_path(made["id"], hook["uid"]), None),
        ("DELETE", hooks_path(made["id"], hook["uid"]), None),
    )
    for method, path, payload in calls:
        status, body, _ = hook_call(fns, stranger, method, path, payload)
        assert status == 404 and body["error"] == "alert.rule.unknown", method
        status, body, _ = hook_call(fns, stranger, method, path, payload, query={"company": mine.account_id})
        assert status == 404 and body == {"error": "not.found", "errorParameters": [mine.account_id]}, method
        # the reseller's own scope does not hold the customer's rule
        assert hook_call(fns, reseller, method, path, payload)[0] == 404, method
    # a customer cannot name its reseller
    reseller_rule = make_rule(fns, reseller)
    status, body, _ = hook_call(
        fns, mine, "GET", hooks_path(reseller_rule["id"]), query={"company": reseller.account_id}
    )
    assert status == 404 and body["error"] == "not.found"
    assert item_count(aws) == before + 2  # the reseller's rule and its STATS
    query = {"company": mine.account_id}
    assert hook_call(fns, reseller, "GET", hooks_path(made["id"]), query=query)[1] == [hook]
    added = shown(
        hook_call(fns, reseller, "POST", hooks_path(made["id"]), {"callback": "https://r.example.com/"}, query=query)[1]
    )
    assert hook_call(fns, reseller, "DELETE", hooks_path(made["id"], hook["uid"]), query=query)[0] == 200
    assert hook_call(fns, mine, "GET", hooks_path(made["id"]))[1] == [added]


# ---------------------------------------------------------------- hook signing secrets


def test_hook_signing_secret_is_shown_once_and_sealed(fns, world, aws):
    who = world.child_admin
    made = make_rule(fns, who)
    status, hook, _ = hook_call(fns, who, "POST", hooks_path(made["id"]), {"callback": "https://a.example.com/"})
    assert status == 200 and set(hook) == {"uid", "callback", "signingSecret"}
    secret = hook["signingSecret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    # never read back: not in lists, not in plaintext at rest
    assert hook_call(fns, who, "GET", hooks_path(made["id"]))[1] == [shown(hook)]
    table = json.dumps(boto3.client("dynamodb").scan(TableName=aws["RULES_TABLE"])["Items"])
    assert secret not in table and secret.removeprefix("whsec_") not in table
    (target,) = wiring.hooks().callbacks(who.account_id, made["id"])
    assert target.signing is not None and target.signing.previous is None
    assert secrets.unseal(target.signing.sealed, who.account_id, secrets.SIGNING_SECRET_PURPOSE) == secret
    # every hook has its own secret
    other = hook_call(fns, who, "POST", hooks_path(made["id"]), {"callback": "https://b.example.com/"})[1]
    assert other["signingSecret"] != secret


def test_rotating_a_hook_secret(fns, world, aws):
    who = world.child_admin
    made = make_rule(fns, who)
    hook = hook_call(fns, who, "POST", hooks_path(made["id"]), {"callback": "https://a.example.com/"})[1]
    before = time.time_ns() // 1_000_000
    status, rotated, _ = hook_call(fns, who, "POST", secret_path(made["id"], hook["uid"]))
    assert status == 200 and set(rotated) == {"uid", "signingSecret", "previousSecretExpirationDate"}
    assert rotated["uid"] == hook["uid"] and rotated["signingSecret"].startswith("whsec_")
    assert rotated["signingSecret"] != hook["signingSecret"]
    day = 24 * 3600 * 1000
    assert before + day <= rotated["previousSecretExpirationDate"] <= time.time_ns() // 1_000_000 + day
    # an empty JSON object is no parameter either; the previous secret is then the one just shown
    again = hook_call(fns, who, "POST", secret_path(made["id"], hook["uid"]), {})[1]
    (target,) = wiring.hooks().callbacks(who.account_id, made["id"])
    assert target.signing is not None
    unseal = lambda sealed: secrets.unseal(sealed, who.account_id, secrets.SIGNING_SECRET_PURPOSE)  # noqa: E731
    assert unseal(target.signing.sealed) == again["signingSecret"]
    assert target.signing.previous is not None and unseal(target.signing.previous) == rotated["signingSecret"]
    # the list still shows the hook as the seed does
    assert hook_call(fns, who, "GET", hooks_path(made["id"]))[1] == [shown(hook)]
    # a reseller may rotate its customer's hook
    query = {"company": who.account_id}
    status, body, _ = hook_call(fns, world.reseller_admin, "POST", secret_path(made["id"], hook["uid"]), query=query)
    assert status == 200 and body["signingSecret"].startswith("whsec_")


def test_bad_rotations_change_nothing(fns, world, aws):
    who = world.child_admin
    made = make_rule(fns, who)
    hook = hook_call(fns, who, "POST", hooks_path(made["id"]), {"callback": "https://a.example.com/"})[1]
    before = hook_items(aws)
    path = secret_path(made["id"], hook["uid"])
    for payload, raw, code, parameters in (
        (
            {"secret": "whsec_bXlvd24="},
            None,
            "invalid.parameter",
            ["secret", "unknown field; a rotation takes no parameters"],
        ),
        (None, "[]", "invalid.parameter", ["body", "a rotation takes no body (or an empty JSON object)"]),
        (None, '"x"', "invalid.parameter", ["body", "a rotation takes no body (or an empty JSON object)"]),
        (None, "{nope", "invalid.json", None),
    ):
        status, body, _ = hook_call(fns, who, "POST", path, payload, raw=raw)
        assert status == 400 and body["error"] == code, (payload, raw, body)
        if parameters is not None:
            assert body["errorParameters"] == parameters
    for bad_path, code, parameter in (
        (
            secret_path(made["id"], "4693044f8abc4b078d9fd65a9a3e45d9"),
            "notification.endpoint.unknown.id",
            "4693044f8abc4b078d9fd65a9a3e45d9",
        ),
        (secret_path(made["id"], "zzz"), "notification.endpoint.unknown.id", "zzz"),
        (
            secret_path("edcda0dce0fb47948d03fbec5350c18e", hook["uid"]),
            "alert.rule.unknown",
            "edcda0dce0fb47948d03fbec5350c18e",
        ),
    ):
        status, body, _ = hook_call(fns, who, "POST", bad_path)
        assert status == 404 and body == {"error": code, "errorParameters": [parameter]}
    # a hook of another rule of the same company is not this rule's hook
    other_rule = make_rule(fns, who, name="other")
    status, body, _ = hook_call(fns, who, "POST", secret_path(other_rule["id"], hook["uid"]))
    assert status == 404 and body["error"] == "notification.endpoint.unknown.id"
    assert hook_items(aws) == before


def test_strangers_cannot_rotate_a_hook_secret(fns, world, aws):
    mine, stranger = world.child_admin, world.stranger_admin
    made = make_rule(fns, mine)
    hook = hook_call(fns, mine, "POST", hooks_path(made["id"]), {"callback": "https://a.example.com/"})[1]
    before = hook_items(aws)
    path = secret_path(made["id"], hook["uid"])
    status, body, _ = hook_call(fns, stranger, "POST", path)
    assert status == 404 and body == {"error": "alert.rule.unknown", "errorParameters": [made["id"]]}
    status, body, _ = hook_call(fns, stranger, "POST", path, query={"company": mine.account_id})
    assert status == 404 and body == {"error": "not.found", "errorParameters": [mine.account_id]}
    assert hook_items(aws) == before


def test_a_hook_made_before_signing_gets_its_secret_on_rotation(fns, world, aws):
    who = world.child_admin
    made = make_rule(fns, who)
    legacy = HookRecord(
        uid="0123456789abcdef0123456789abcdef",
        company_id=who.account_id,
        rule_id=made["id"],
        callback="https://old.example.com/cb",
        created_ms=1,
    )
    wiring.rules_repository().add_hook(legacy)
    assert "sealed_signing_secret" not in hook_items(aws)[legacy.uid]
    listed = {"uid": legacy.uid, "callback": "https://old.example.com/cb"}
    assert hook_call(fns, who, "GET", hooks_path(made["id"]))[1] == [listed]
    (target,) = wiring.hooks().callbacks(who.account_id, made["id"])
    assert target.signing is None  # unsigned for its receiver until rotated
    status, rotated, _ = hook_call(fns, who, "POST", secret_path(made["id"], legacy.uid))
    # nothing to keep for 24 h: no receiver was ever shown a secret for it
    assert status == 200 and rotated["previousSecretExpirationDate"] is None
    (target,) = wiring.hooks().callbacks(who.account_id, made["id"])
    assert target.signing is not None and target.signing.previous is None
    assert (
        secrets.unseal(target.signing.sealed, who.account_id, secrets.SIGNING_SECRET_PURPOSE)
        == rotated["signingSecret"]
    )
    assert hook_call(fns, who, "GET", hooks_path(made["id"]))[1] == [listed]


# ---------------------------------------------------------------- the repository's counters stay right


def test_counters_follow_creations_and_deletions(fns, world):
    who = world.child_admin
    repo = wiring.rules_repository()
    made = [make_rule(fns, who, name=f"r{index}") for index in range(3)]
    version = repo.rules_version(who.account_id)
    rule(fns, who, "PUT", f"{RULES}/{made[0]['id']}", SEED_PUT)
    assert repo.rules_version(who.account_id) == version + 1
    rule(fns, who, "DELETE", f"{RULES}/{made[1]['id']}")
    assert repo.rules_version(who.account_id) == version + 2
    rule(fns, who, "DELETE", f"{RULES}/{made[1]['id']}")  # unknown: nothing moves
    assert repo.rules_version(who.account_id) == version + 2
    systems = [make_system(fns, who, name=f"s{index}") for index in range(3)]
    system_call(fns, who, "DELETE", f"{SYSTEMS}/{systems[0]['uid']}")
    system_call(fns, who, "DELETE", f"{SYSTEMS}/{systems[0]['uid']}")
    assert system_call(fns, who, "GET")[1]["count"] == 2
    assert [r.id for r in wiring.rules().company_rules(who.account_id)] == [
        r["id"] for r in sorted([made[0] | {"name": SEED_PUT["name"]}, made[2]], key=lambda r: r["name"])
    ]


def test_stored_rule_keeps_json_numbers(fns, world):
    who = world.child_admin
    body = copy.deepcopy(SEED_RULE)
    body["conditions"][0]["operands"][1]["valueNum"] = 1024.5
    made = make_rule(fns, who, **{"conditions": body["conditions"]})
    got = rule(fns, who, "GET", f"{RULES}/{made['id']}")[1]
    assert got["conditions"][0]["operands"][1]["valueNum"] == 1024.5
    big = make_rule(fns, who, conditions=[{"operator": "GREATER_THAN", "operands": [ATTR, {"valueNum": 10**20}]}])
    assert rule(fns, who, "GET", f"{RULES}/{big['id']}")[1]["conditions"][0]["operands"][1]["valueNum"] == 10**20


# ---------------------------------------------------------------- races the conditions close


def test_the_quota_is_the_counter_in_the_transaction(fns, world, aws):
    """The 50-rule check is the STATS condition of the write, not a count read before it."""
    who = world.child_admin
    make_rule(fns, who)
    boto3.client("dynamodb").update_item(
        TableName=aws["RULES_TABLE"],
        Key={"pk": {"S": f"CO#{who.account_id}"}, "sk": {"S": "STATS"}},
        UpdateExpression="SET #r = :n",
        ExpressionAttributeNames={"#r": "rules"},
        ExpressionAttributeValues={":n": {"N": "50"}},
    )  # as if 49 others were being created right now
    status, body, _ = rule(fns, who, "POST", body=SEED_RULE)
    assert status == 400 and body["error"] == "alert.rule.too.many"
    assert rule_items(aws) == 1


def test_a_hook_added_while_its_rule_is_deleted_goes_too(fns, world, aws, monkeypatch):
    from switchboard.rules.repository import HookRecord, RulesRepository

    who = world.child_admin
    made = make_rule(fns, who)
    hook_call(fns, who, "POST", hooks_path(made["id"]), {"callback": "https://a.example.com/"})
    repo = wiring.rules_repository()
    original = RulesRepository._query
    calls = []

    def racing_query(self, pk, prefix):
        items = list(original(self, pk, prefix))
        if prefix.startswith("HOOK#") and not calls:
            calls.append(prefix)  # another request adds a hook after the hooks were read
            repo.add_hook(
                HookRecord(
                    uid="f" * 32,
                    company_id=who.account_id,
                    rule_id=made["id"],
                    callback="https://late.example.com/",
                    created_ms=1,
                )
            )
        return iter(items)

    monkeypatch.setattr(RulesRepository, "_query", racing_query)
    assert rule(fns, who, "DELETE", f"{RULES}/{made['id']}")[1] == "success"
    items = boto3.client("dynamodb").scan(TableName=aws["RULES_TABLE"])["Items"]
    assert [item["sk"]["S"] for item in items] == ["STATS"]  # no orphan hook


def test_a_hook_on_a_rule_deleted_meanwhile_is_refused(fns, world, aws):
    from switchboard.rules.repository import HookRecord

    who = world.child_admin
    made = make_rule(fns, who)
    rule(fns, who, "DELETE", f"{RULES}/{made['id']}")
    with pytest.raises(Exception) as caught:
        wiring.rules_repository().add_hook(
            HookRecord(
                uid="e" * 32,
                company_id=who.account_id,
                rule_id=made["id"],
                callback="https://a.example.com/",
                created_ms=1,
            )
        )
    assert getattr(caught.value, "code", None) == "alert.rule.unknown"
    items = boto3.client("dynamodb").scan(TableName=aws["RULES_TABLE"])["Items"]
    assert [item["sk"]["S"] for item in items] == ["STATS"]


def test_concurrent_transactions_answer_503(fns, world, monkeypatch):
    """The store's one conflict policy: a transaction that keeps colliding is retried, then Unavailable."""
    from switchboard import aws
    from switchboard.store import dynamo

    client = aws.client("dynamodb")
    tries = []

    def clash(**_request):
        tries.append(1)
        raise client.exceptions.TransactionCanceledException(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                "CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}],
            },
            "TransactWriteItems",
        )

    monkeypatch.setattr(client, "transact_write_items", clash)
    monkeypatch.setattr(dynamo, "_backoff", lambda attempt: None)
    status, body, _ = rule(fns, world.child_admin, "POST", body=SEED_RULE)
    assert status == 503 and body == {"error": "service.unavailable", "errorParameters": []}
    assert len(tries) == 6
