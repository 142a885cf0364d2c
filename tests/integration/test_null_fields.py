"""`null` for any field of any request body is never a 5xx: every PUT/PATCH/POST body of every endpoint, one
field at a time, answers 2xx or 4xx, and a 4xx writes nothing (no table item, no queued message).

The fields are those of each endpoint's pydantic input model (by wire alias, nested models included), so a
new optional field is covered without editing this file, plus every key and list element of an example body
(the seed examples where there is one), which covers bodies read without a model (hooks, telemetry) and
nested settings typed loosely (authentication settings)."""

from __future__ import annotations

import copy
import json
import re
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from pydantic import BaseModel
from switchboard.alerts.models import AlertInput
from switchboard.delivery.models import HandledInput, RedeliverInput
from switchboard.events.models import AuthenticationInput, DeliveryConfigurationInput, PublishInput, SubscriptionInput
from switchboard.rules.models import AlertRuleInput, SystemInput
from switchboard.services.models import BillingInput, PlanInput
from switchboard.usage.models import SubscriberInput, SubscriberPatch, UsageInput

from tests.integration.conftest import Principal, _principal
from tests.support import call, load_function, rest_event, sample_event

JsonPath = tuple[str | int, ...]
Setup = dict[str, str]


def seed_body(name: str) -> Any:
    return json.loads(sample_event(name)["body"])


# ---------------------------------------------------------------- what each endpoint needs before the call


def make(fn: Any, who: Principal, method: str, path: str, body: Any, id_key: str) -> str:
    status, reply, _ = call(fn, rest_event(method, path, who.context, body=body))
    assert status in (200, 201, 202), (path, reply)
    return str(reply[id_key])


CONFIG = {
    **seed_body("delivery_configuration_create.json"),
    "throttling-unit": "MINUTE",
    "timeout-seconds": 10,
    "retry-schedule": [60, 300],
    "latest-event-only": False,
}
SYSTEM = {
    **seed_body("systems_create.json"),
    "state": "READY",
    "activityState": "OK",
    "lifeCycleState": "DEPLOYED",
    "offerId": "offer-1",
    "heartbeat": {"state": "OK", "period": 60, "errorSLA": 120, "warningSLA": 90},
    "gateway": {"imei": "352099001761481", "macAddress": "00:11:22:33:44:55", "serialNumber": "SN-1"},
    "subscription": {"id": "sub-1"},
}
RULE = {**seed_body("alert_rules_create.json"), "stateful": True, "notifMode": "WHEN_STATE_CHANGES"}


def config_id(fns: dict[str, Any], who: Principal, index: int) -> str:
    body = {**CONFIG, "del-cfg-nm": f"prerequisite-{index}"}
    return make(fns["delivery_configurations"], who, "POST", "/ess/v1/delivery-configurations", body, "id")


def subscription_id(fns: dict[str, Any], who: Principal, index: int) -> str:
    body = {**seed_body("subscription_create.json"), "del-cfg-id": config_id(fns, who, index)}
    return make(fns["subscriptions"], who, "POST", "/ess/v1/topics/NIS-Events/subscriptions", body, "id")


def system_uid(fns: dict[str, Any], who: Principal, _index: int) -> str:
    return make(fns["systems"], who, "POST", "/api/v1/systems", SYSTEM, "uid")


def rule_id(fns: dict[str, Any], who: Principal, _index: int) -> str:
    return make(fns["alert_rules"], who, "POST", "/api/v2/alertrules", RULE, "id")


PLAN = json.loads((Path(__file__).resolve().parents[2] / "docs" / "plans" / "ess_basic.json").read_text())


def plan_id(fns: dict[str, Any], who: Principal, index: int) -> str:
    """A plan of the caller's (reseller's) catalog."""
    body = {"data": {**PLAN, "name": f"plan {index}"}}
    status, reply, _ = call(
        fns["service_plans"],
        rest_event("PUT", f"/v2/accounts/{who.account_id}/service_plans", who.context, body=body),
    )
    assert status == 201, reply
    return str(reply["data"]["id"])


def hook_uid(fns: dict[str, Any], who: Principal, index: int) -> str:
    """`{rule}/hooks/{hook}`: a hook of a new rule."""
    rule = rule_id(fns, who, index)
    body = seed_body("alert_hooks_create.json")
    return f"{rule}/hooks/" + make(fns["alert_hooks"], who, "POST", f"/api/v1/alerts/rules/{rule}/hooks", body, "uid")


IMSI = "123470101231123"
SUBSCRIBER = {"system": "fleet-7", "dataLimit": 1 << 30, "dataLimitPeriod": "monthly", "dataLimitCustomDate": 1}


def subscriber_imsi(fns: dict[str, Any], who: Principal, _index: int) -> str:
    status, reply, _ = call(
        fns["subscribers"], rest_event("PUT", f"/v1/subscribers/{IMSI}", who.context, body=SUBSCRIBER)
    )
    assert status in (200, 201), reply
    return IMSI


def sub_account(_fns: dict[str, Any], who: Principal, index: int) -> str:
    """A sub-account of the caller's (reseller's) account: whose services the reseller manages."""
    from switchboard import wiring

    return wiring.accounts().create_account(f"sub-account {index}", parent_id=who.account_id).account_id


def sub_account_and_plan(fns: dict[str, Any], who: Principal, index: int) -> str:
    """`{sub-account}/services/{plan}`: the path of assigning one of the caller's plans to a sub-account."""
    return f"{sub_account(fns, who, index)}/services/{plan_id(fns, who, index)}"


@dataclass(frozen=True)
class Endpoint:
    function: str
    method: str
    path: str  # with {account} and {id} (what `needs` made)
    body: Callable[[Principal, int, str], Any]  # (caller, case number, id) -> a valid body
    models: tuple[type[BaseModel], ...] = ()  # input models, applied at `model_root` of the body
    model_root: JsonPath = ()
    needs: Callable[[dict[str, Any], Principal, int], str] | None = None
    reseller: bool = False  # the caller's account is a reseller (what `needs` made is below it)
    route: str | None = None  # the template's path, where `path` does not show it ({id} holding more)
    features: tuple[str, ...] = ()  # account features the route needs turned on


def caller_for(world: Any, endpoint: Endpoint, name: str) -> Principal:
    """A new account of its own (a reseller where the route needs one, with the features it needs) and its admin."""
    who = _principal(world.accounts, world.accounts.create_account(name, is_reseller=endpoint.reseller))
    for feature in endpoint.features:
        world.accounts.set_feature(who.account_id, feature, True)
    return who


def alert_body(who: Principal, _index: int, _made: str) -> Any:
    data = seed_body("alerts_create.json")["data"]
    data["from"][0]["value"] = data["to"][0]["value"] = who.account_id
    data.update({"category": "provisioning", "level": "warning", "metadata": {"device": "x"}, "expiration_date": 1})
    data["expiration_date"] = 64_000_000_000
    return {"data": data}


def config_body(_who: Principal, index: int, _made: str) -> Any:
    return {**CONFIG, "del-cfg-nm": f"config-{index}"}


def subscription_body(_who: Principal, _index: int, made: str) -> Any:
    return {**seed_body("subscription_create.json"), "del-cfg-id": made}


def subscription_put_body(_who: Principal, _index: int, _made: str) -> Any:
    # moves the subscription to a number of its own (the configuration stays: del-cfg-id left out)
    body = {**seed_body("subscription_create.json"), "match-crt": "number = '+15550000002'"}
    del body["del-cfg-id"]
    return body


def publish_body(_who: Principal, index: int, _made: str) -> Any:
    return {**seed_body("publish_event.json"), "event-id": f"null-fields-{index}", "timestamp": "2026-01-01T00:00:00Z"}


def handled_body(_who: Principal, _index: int, _made: str) -> Any:
    return {
        "event-id": "abcdefghijklmnopqrstuv",
        "topic": "NIS-Events",
        "event-type": "deactivation_event",
        "del-cfg-nm": "porting-webhook",
        "timestamp": "[2026-01-01T00:00:00Z-]",
    }


def redeliver_body(_who: Principal, _index: int, made: str) -> Any:
    return {
        "del-cfg-id": made,
        "from": "2026-01-01T00:00:00Z",
        "to": "2026-01-02T00:00:00Z",
        "delivery-status": ["FAILED"],
    }


def telemetry_body(_who: Principal, _index: int, _made: str) -> Any:
    return seed_body("telemetry_post_data.json")


def constant(value: Any) -> Callable[[Principal, int, str], Any]:
    return lambda _who, _index, _made: copy.deepcopy(value)


BASIC = {"type": "BASIC", "settings": {"username": "user", "password": "secret"}}
OAUTH = {
    "type": "OAUTH",
    "settings": {
        "token-url": "https://auth.example.com/token",
        "client-id": "client",
        "client-secret": "secret",
        "scope": "events",
    },
}

ENDPOINTS: dict[str, Endpoint] = {
    "kazoo-alerts-put": Endpoint(
        "alerts", "PUT", "/v2/accounts/{account}/alerts", alert_body, (AlertInput,), ("data",)
    ),
    "ess-configurations-post": Endpoint(
        "delivery_configurations", "POST", "/ess/v1/delivery-configurations", config_body, (DeliveryConfigurationInput,)
    ),
    "ess-configurations-put": Endpoint(
        "delivery_configurations",
        "PUT",
        "/ess/v1/delivery-configurations/{id}",
        config_body,
        (DeliveryConfigurationInput,),
        needs=config_id,
    ),
    "ess-authentication-basic-put": Endpoint(
        "delivery_configurations",
        "PUT",
        "/ess/v1/delivery-configurations/{id}/authentication",
        constant(BASIC),
        (AuthenticationInput,),
        needs=config_id,
    ),
    "ess-authentication-oauth-put": Endpoint(
        "delivery_configurations",
        "PUT",
        "/ess/v1/delivery-configurations/{id}/authentication",
        constant(OAUTH),
        (AuthenticationInput,),
        needs=config_id,
    ),
    "ess-subscriptions-post": Endpoint(
        "subscriptions",
        "POST",
        "/ess/v1/topics/NIS-Events/subscriptions",
        subscription_body,
        (SubscriptionInput,),
        needs=config_id,
    ),
    "ess-subscriptions-put": Endpoint(
        "subscriptions",
        "PUT",
        "/ess/v1/topics/NIS-Events/subscriptions/{id}",
        subscription_put_body,
        (SubscriptionInput,),
        needs=subscription_id,
    ),
    "ess-events-post": Endpoint("publish", "POST", "/ess/v1/events", publish_body, (PublishInput,)),
    "ess-handled-deliveries-post": Endpoint(
        "event_deliveries", "POST", "/ess/v1/handled-event-deliveries", handled_body, (HandledInput,)
    ),
    "ess-redeliver-post": Endpoint(
        "event_deliveries",
        "POST",
        "/ess/v1/event-deliveries/redeliver",
        redeliver_body,
        (RedeliverInput,),
        needs=config_id,
    ),
    "av-alertrules-post": Endpoint("alert_rules", "POST", "/api/v2/alertrules", constant(RULE), (AlertRuleInput,)),
    "av-alertrules-put": Endpoint(
        "alert_rules", "PUT", "/api/v2/alertrules/{id}", constant(RULE), (AlertRuleInput,), needs=rule_id
    ),
    "av-hooks-post": Endpoint(
        "alert_hooks",
        "POST",
        "/api/v1/alerts/rules/{id}/hooks",
        constant(seed_body("alert_hooks_create.json")),
        needs=rule_id,
    ),
    "av-systems-post": Endpoint("systems", "POST", "/api/v1/systems", constant(SYSTEM), (SystemInput,)),
    "av-systems-put": Endpoint(
        "systems", "PUT", "/api/v1/systems/{id}", constant(SYSTEM), (SystemInput,), needs=system_uid
    ),
    "av-telemetry-post": Endpoint("telemetry", "POST", "/api/v1/systems/{id}/data", telemetry_body, needs=system_uid),
    "av-hooks-secret-post": Endpoint(
        "alert_hooks",
        "POST",
        "/api/v1/alerts/rules/{id}/secret",
        constant({}),
        needs=hook_uid,
        route="/api/v1/alerts/rules/{uid}/hooks/{hook_uid}/secret",
    ),
    "expeto-subscribers-put": Endpoint(
        "subscribers",
        "PUT",
        f"/v1/subscribers/{IMSI}",
        constant({**SUBSCRIBER, "thresholds": [50, 80]}),
        (SubscriberInput,),
        features=("usage-notifications",),
    ),
    "expeto-subscribers-patch": Endpoint(
        "subscribers",
        "PATCH",
        "/v1/subscribers/{id}",
        constant({"dataLimit": 2 << 30, "thresholds": [90]}),
        (SubscriberPatch,),
        needs=subscriber_imsi,
        features=("usage-notifications",),
    ),
    "expeto-usage-post": Endpoint(
        "usage_ingest",
        "POST",
        "/v1/usage",
        constant({"records": [{"recordId": "r-1", "imsi": IMSI, "bytes": 1024, "timestamp": "2026-01-01T00:00:00Z"}]}),
        (UsageInput,),
        features=("usage-notifications",),
    ),
    # KAZOO services (seed 002): a reseller managing its sub-account, and its own plan catalog
    "kazoo-services-post": Endpoint(
        "services",
        "POST",
        "/v2/accounts/{id}/services",
        constant({"data": {"billing_id": "acme-42", "low_balance_threshold": "10"}}),
        (BillingInput,),
        ("data",),
        needs=sub_account,
        reseller=True,
    ),
    **{
        f"kazoo-services-{resource}-{method.lower()}": Endpoint(
            "services",
            method,
            f"/v2/accounts/{{id}}/services/{resource}",
            constant({"data": data}),
            needs=sub_account,
            reseller=True,
        )
        for resource, data in (
            ("manual", {"phone": {"did": 3}}),
            ("overrides", {"ess": {"subscription": {"rate": "1.25", "minimum": 1}}}),
        )
        for method in ("POST", "PATCH")
    },
    "kazoo-services-quote-post": Endpoint(
        "services",
        "POST",
        "/v2/accounts/{id}/services/quote",
        constant({"data": {"billing_id": "acme-42"}}),
        (BillingInput,),
        ("data",),
        needs=sub_account,
        reseller=True,
    ),
    "kazoo-services-topup-post": Endpoint(
        "services",
        "POST",
        "/v2/accounts/{account}/services/topup",
        constant({"data": {"amount": "5.25"}}),
    ),
    **{
        f"kazoo-services-{action}-post": Endpoint(
            "services",
            "POST",
            f"/v2/accounts/{{id}}/services/{action}",
            constant({"data": {}}),
            needs=sub_account,
            reseller=True,
        )
        for action in ("reconciliation", "synchronization")
    },
    "kazoo-services-plan-post": Endpoint(
        "services",
        "POST",
        "/v2/accounts/{id}",
        constant({"data": {}}),
        needs=sub_account_and_plan,
        reseller=True,
        route="/v2/accounts/{account_id}/services/{plan_id}",
    ),
    "kazoo-service-plans-put": Endpoint(
        "service_plans",
        "PUT",
        "/v2/accounts/{account}/service_plans",
        lambda _who, index, _made: {"data": {**PLAN, "name": f"plan {index}"}},
        (PlanInput,),
        ("data",),
        reseller=True,
    ),
    "kazoo-service-plans-post": Endpoint(
        "service_plans",
        "POST",
        "/v2/accounts/{account}/service_plans/{id}",
        lambda _who, index, _made: {"data": {**PLAN, "name": f"plan {index} again"}},
        (PlanInput,),
        ("data",),
        needs=plan_id,
        reseller=True,
    ),
}
FUNCTIONS = ("alerts", "delivery_configurations", "subscriptions", "publish", "event_deliveries")
FUNCTIONS += ("alert_rules", "alert_hooks", "systems", "telemetry", "services", "service_plans")
FUNCTIONS += ("subscribers", "usage_ingest")

# Routes whose body is not JSON read by the handler, or whose refusals write by design.
NOT_COVERED = {
    ("alert_rules", "PUT", "/api/v2/alertrules"): "no rule id: refused before any body is read",
    ("delivery_configurations", "POST", "/ess/v1/delivery-configurations/{config_id}/signing-secret/rotate"): (
        "reads no body"
    ),
    ("event_deliveries", "POST", "/ess/v1/event-deliveries/{delivery_id}/redeliver"): "reads no body",
    ("kazoo_auth", "PUT", "/v2/accounts/{account_id}/api_key"): "reads no body",
    (
        "kazoo_auth",
        "PUT",
        "/v2/api_auth",
    ): "a refused login is recorded (rate limits, audit): tests/integration/test_kazoo_auth.py",
    (
        "kazoo_auth",
        "PUT",
        "/v2/user_auth",
    ): "a refused login is recorded (rate limits, audit): tests/integration/test_kazoo_auth.py",
    ("oauth", "POST", "/api/oauth/token"): "form-encoded, not JSON (and refused logins are recorded)",
    ("notifications", "PATCH", "/v1/notifications/{hash}"): "needs a notification made by usage evaluation",
}


# ---------------------------------------------------------------- which fields


def nested_models(annotation: Any) -> Iterator[type[BaseModel]]:
    """The pydantic models inside an annotation (`X | None`, `list[X]`, `dict[str, X]`...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    if typing.get_origin(annotation) is typing.Annotated:
        yield from nested_models(typing.get_args(annotation)[0])
        return
    for argument in typing.get_args(annotation):
        yield from nested_models(argument)


def is_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (list, tuple):
        return True
    if origin in (typing.Union, types.UnionType, typing.Annotated):
        return any(is_list(argument) for argument in typing.get_args(annotation))
    return False


def model_paths(model: type[BaseModel], prefix: JsonPath, body: Any) -> Iterator[JsonPath]:
    """Every field of `model` (by alias), and of the models nested in it where the body has them or can
    hold them (a nested object the body leaves out is sent as `{field: null}`)."""
    for name, info in model.model_fields.items():
        key = info.alias or name
        path = (*prefix, key)
        yield path
        value = body.get(key) if isinstance(body, dict) else None
        for nested in nested_models(info.annotation):
            if is_list(info.annotation):
                if isinstance(value, list) and value and isinstance(value[0], dict):
                    yield from model_paths(nested, (*path, 0), value[0])
            else:
                yield from model_paths(nested, path, value if isinstance(value, dict) else {})


def body_paths(body: Any, prefix: JsonPath = ()) -> Iterator[JsonPath]:
    """Every key and list element of an example body."""
    if isinstance(body, dict):
        for key, value in body.items():
            yield (*prefix, key)
            yield from body_paths(value, (*prefix, key))
    elif isinstance(body, list):
        for index, value in enumerate(body):
            yield (*prefix, index)
            yield from body_paths(value, (*prefix, index))


def null_paths(endpoint: Endpoint, body: Any) -> list[JsonPath]:
    paths: dict[JsonPath, None] = {(): None}  # () stands for the whole body
    paths.update(dict.fromkeys(body_paths(body)))
    root = body
    for part in endpoint.model_root:
        root = root[part]
    for model in endpoint.models:
        paths.update(dict.fromkeys(model_paths(model, endpoint.model_root, root)))
    return list(paths)


def with_null(body: Any, path: JsonPath) -> Any:
    if not path:
        return None
    changed = copy.deepcopy(body)
    target = changed
    for part in path[:-1]:
        if isinstance(target, dict):
            if not isinstance(target.get(part), dict | list):
                target[part] = {}
            target = target[part]
        else:
            target = target[part]
    target[path[-1]] = None
    return changed


# ---------------------------------------------------------------- what a call wrote


def snapshot(names: dict[str, str]) -> dict[str, Any]:
    dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
    state: dict[str, Any] = {}
    for variable, name in names.items():
        if variable.endswith("_TABLE"):
            items = []
            for page in dynamodb.get_paginator("scan").paginate(TableName=name):
                items += page["Items"]
            state[variable] = sorted(json.dumps(item, sort_keys=True) for item in items)
        elif variable.endswith("_QUEUE_URL"):
            attributes = sqs.get_queue_attributes(QueueUrl=name, AttributeNames=["All"])["Attributes"]
            state[variable] = {
                key: attributes.get(key)
                for key in ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
            }
    return state


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    changed = []
    for key in before:
        if isinstance(before[key], list):
            added = sorted(set(after[key]) - set(before[key]))
            removed = sorted(set(before[key]) - set(after[key]))
            if added or removed:
                changed.append(f"{key}: +{added[:2]} -{removed[:2]}")
        elif before[key] != after[key]:
            changed.append(f"{key}: {before[key]} -> {after[key]}")
    return changed


def _body_routes() -> set[tuple[str, str, str]]:
    """(function folder, method, public path) of every API operation of the template that may carry a body."""
    from tests.support import template
    from tools.routes import base_paths, public_path

    routes = set()
    bases = base_paths(template())
    for resource in template()["Resources"].values():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        function = str(resource["Properties"].get("CodeUri", "")).rstrip("/").rsplit("/", 1)[-1]
        for event in (resource["Properties"].get("Events") or {}).values():
            method = str(event["Properties"].get("Method", "")).upper() if event["Type"] == "Api" else ""
            if method in ("POST", "PUT", "PATCH"):
                routes.add((function, method, public_path(event["Properties"], bases)))
    return routes


def _route_of(endpoint: Endpoint) -> str:
    return endpoint.route or endpoint.path.replace("{account}", "{account_id}")


def _matches(template_path: str, path: str) -> bool:
    pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template_path))
    return re.fullmatch(pattern, re.sub(r"\{[^}]+\}", "x", path)) is not None


def test_every_route_with_a_json_body_is_covered():
    """A new POST/PUT/PATCH route takes a place in ENDPOINTS (so the null-field and hostile-JSON tests reach
    it), or in NOT_COVERED with the reason."""
    missing = []
    for function, method, path in sorted(_body_routes()):
        if (function, method, path) in NOT_COVERED:
            continue
        if not any(
            e.function == function and e.method == method and _matches(path, _route_of(e)) for e in ENDPOINTS.values()
        ):
            missing.append(f"{method} {path} ({function})")
    assert not missing, "routes with a body no test sends hostile JSON to:\n" + "\n".join(missing)
    assert set(NOT_COVERED) <= _body_routes(), "NOT_COVERED names a route the template does not have"


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_null_in_any_field_is_never_a_server_error(aws, world, name):
    endpoint = ENDPOINTS[name]
    fns = {function: load_function(function) for function in FUNCTIONS}
    fn = fns[endpoint.function]
    template_who = world.child_admin
    example = endpoint.body(template_who, 0, "1")
    paths = null_paths(endpoint, example)
    assert len(paths) > 1 or example == {}  # a body of fields, or none at all (`{}`, or null: the one case)
    problems = []
    for index, path in enumerate([None, *paths]):
        # each case in a company of its own, so that one case's writes cannot decide another's answer
        who = caller_for(world, endpoint, f"{name} {index}")
        made = endpoint.needs(fns, who, index) if endpoint.needs else ""
        valid = endpoint.body(who, index, made)
        body = valid if path is None else with_null(valid, path)
        before = snapshot(aws)
        status, reply, _ = call(
            fn,
            rest_event(
                endpoint.method,
                endpoint.path.format(account=who.account_id, id=made),
                who.context,
                raw_body=json.dumps(body),
            ),
        )
        if path is None:  # the valid body: what the cases below change one field of
            assert 200 <= status < 300, (name, reply)
            continue
        label = ".".join(str(part) for part in path) or "(body)"
        if status >= 500:
            problems.append(f"{label} = null: {status} {reply}")
        elif status >= 400:
            changes = differences(before, snapshot(aws))
            if changes:
                problems.append(f"{label} = null: {status}, but it wrote {changes}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "change",
    [
        {"evt-tp": "message_state_change"},  # not an event type of the topic
        {"del-cfg-id": "999999"},  # no such configuration
        {"match-crt": "colour = 'red'"},  # not a field of the topic
        {"start-date": "2020-01-02T00:00:00Z", "end-date": "2020-01-01T00:00:00Z"},
    ],
)
def test_a_refused_subscription_draws_no_id(aws, world, change):
    """Checks that need the catalog or the configuration run before the id sequence moves."""
    fns = {function: load_function(function) for function in ("delivery_configurations", "subscriptions")}
    who = world.child_admin
    body = {**seed_body("subscription_create.json"), "del-cfg-id": config_id(fns, who, 0), **change}
    before = snapshot(aws)
    status, reply, _ = call(
        fns["subscriptions"], rest_event("POST", "/ess/v1/topics/NIS-Events/subscriptions", who.context, body=body)
    )
    assert 400 <= status < 500, reply
    assert differences(before, snapshot(aws)) == []
