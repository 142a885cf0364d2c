"""The AirVantage dialect: replies, lists, query helpers and the error body for every domain error."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from switchboard.dialects import airvantage
from switchboard.errors import (
    CodedError,
    Conflict,
    FeatureDisabled,
    Forbidden,
    InvalidInput,
    LimitExceeded,
    NotFound,
    Unavailable,
)
from switchboard.rules.models import SystemInput
from switchboard.rules.validation import parse_rule

from tests.seed_bodies import RULE_POST as SEED_POST
from tests.support import LambdaContext, rest_event

NOW = 1_500_000_000_000
DAY = 24 * 3600 * 1000


def make_app():
    app = APIGatewayRestResolver()
    airvantage.install(app)

    @app.get("/raise/<kind>")
    def _raise(kind: str):
        errors = {
            "coded": CodedError("alert.rule.too.many", ["50"]),
            "coded404": CodedError("alert.rule.unknown.id", ["abc"], 404),
            "invalid": InvalidInput.single(("emails", 0), "invalid", "Value error, must be an email address"),
            "rule-not-found": NotFound("abc", kind="rule"),
            "not-found": NotFound("xyz", kind="system"),
            "forbidden": Forbidden("not your company"),
            "conflict": Conflict("name taken"),
            "limit": LimitExceeded("too many hooks"),
            "disabled": FeatureDisabled("hooks"),
            "unavailable": Unavailable("dynamodb"),
            "bug": RuntimeError("boom"),
        }
        raise errors[kind]

    @app.get("/query")
    def _query():
        offset, size = airvantage.page(app)
        return airvantage.reply(
            {
                "company": airvantage.company(app),
                "offset": offset,
                "size": size,
                "asc": airvantage.flag(app, "asc", False),
                "state": airvantage.flag(app, "state"),
                "ruleIds": airvantage.id_list(app, "ruleIds"),
            }
        )

    @app.get("/history")
    def _history():
        airvantage.company(app, required=True)
        _offset, size = airvantage.page(app)
        start, end = airvantage.time_range(app, NOW)
        return airvantage.listing([{"from": start, "to": end, "size": size}], with_count=False)

    @app.get("/items")
    def _items():
        return airvantage.listing([1, 2], count=7)

    @app.post("/rules")
    def _create():
        return airvantage.reply(parse_rule(airvantage.json_body(app)).name)

    @app.post("/systems")
    def _system():
        return airvantage.reply(airvantage.body(app, SystemInput).name)

    return app


APP = make_app()


def call(method, path, query=None, body=None, raw_body=None):
    event = rest_event(method, path, None, body=body, query=query, raw_body=raw_body)
    response = APP.resolve(event, LambdaContext())
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else None


@pytest.mark.parametrize(
    ("kind", "status", "body"),
    [
        ("coded", 400, {"error": "alert.rule.too.many", "errorParameters": ["50"]}),
        ("coded404", 404, {"error": "alert.rule.unknown.id", "errorParameters": ["abc"]}),
        ("invalid", 400, {"error": "invalid.parameter", "errorParameters": ["emails.0", "must be an email address"]}),
        ("rule-not-found", 404, {"error": "alert.rule.unknown.id", "errorParameters": ["abc"]}),
        ("not-found", 404, {"error": "not.found", "errorParameters": ["xyz"]}),
        ("forbidden", 403, {"error": "access.denied", "errorParameters": ["not your company"]}),
        ("conflict", 409, {"error": "conflict", "errorParameters": ["name taken"]}),
        ("limit", 400, {"error": "limit.exceeded", "errorParameters": ["too many hooks"]}),
        ("disabled", 403, {"error": "feature.disabled", "errorParameters": ["hooks"]}),
        ("unavailable", 503, {"error": "service.unavailable", "errorParameters": []}),
        ("bug", 500, {"error": "internal.error", "errorParameters": []}),
    ],
)
def test_every_domain_error_has_the_airvantage_error_body(kind, status, body):
    assert call("GET", f"/raise/{kind}") == (status, body)


def test_unknown_route():
    assert call("GET", "/nowhere") == (404, {"error": "not.found", "errorParameters": ["/nowhere"]})


def test_listing_has_items_and_count():
    assert call("GET", "/items") == (200, {"items": [1, 2], "count": 7})


def test_query_defaults():
    status, body = call("GET", "/query")
    assert status == 200
    assert body == {"company": None, "offset": 0, "size": 100, "asc": False, "state": None, "ruleIds": []}


def test_query_values():
    query = {"company": "c1", "offset": "20", "size": "500", "asc": "TRUE", "state": "false", "ruleIds": "a, b,,a"}
    _status, body = call("GET", "/query", query)
    assert body == {"company": "c1", "offset": 20, "size": 500, "asc": True, "state": False, "ruleIds": ["a", "b"]}


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"size": "501"}, "size"),
        ({"size": "0"}, "size"),
        ({"size": "ten"}, "size"),
        ({"offset": "-1"}, "offset"),
        ({"asc": "yes"}, "asc"),
        ({"ruleIds": ",".join(str(n) for n in range(101))}, "ruleIds"),
    ],
)
def test_bad_query_parameters_are_invalid_parameter(query, parameter):
    status, body = call("GET", "/query", query)
    assert status == 400
    assert body["error"] == "invalid.parameter" and body["errorParameters"][0] == parameter


def test_history_requires_company():
    assert call("GET", "/history") == (400, {"error": "missing.company", "errorParameters": []})


def test_history_window_defaults_to_the_last_90_days():
    status, body = call("GET", "/history", {"company": "c1"})
    assert (status, body) == (200, {"items": [{"from": NOW - 90 * DAY, "to": NOW, "size": 100}]})


def test_history_window_from_and_to():
    status, body = call("GET", "/history", {"company": "c1", "from": "1000", "to": "5000"})
    assert (status, body["items"][0]["from"], body["items"][0]["to"]) == (200, 1000, 5000)
    status, body = call("GET", "/history", {"company": "c1", "to": str(100 * DAY)})
    assert (status, body["items"][0]["from"]) == (200, 10 * DAY)


@pytest.mark.parametrize(("start", "end"), [("5000", "1000"), ("1000", "1000")])
def test_from_must_be_lower_than_to(start, end):
    status, body = call("GET", "/history", {"company": "c1", "from": start, "to": end})
    assert (status, body) == (400, {"error": "system.invalid.timerange", "errorParameters": [start, end]})


def test_from_after_now_without_to_is_invalid():
    _status, body = call("GET", "/history", {"company": "c1", "from": str(NOW + 1)})
    assert body["error"] == "system.invalid.timerange"


def test_non_numeric_time_is_invalid_parameter():
    status, body = call("GET", "/history", {"company": "c1", "from": "yesterday"})
    assert (status, body["error"], body["errorParameters"][0]) == (400, "invalid.parameter", "from")


def test_rule_body_errors_are_seed_codes():
    assert call("POST", "/rules", body=SEED_POST) == (200, "Daily usage exceeded")
    status, body = call("POST", "/rules", body={**SEED_POST, "targetType": "DEVICE"})
    assert (status, body) == (
        400,
        {"error": "alert.rule.incorrect.target.type", "errorParameters": ["targetType", "DEVICE"]},
    )
    status, body = call("POST", "/rules", body=[1])
    assert (status, body["error"]) == (400, "alert.rule.invalid.field")


def test_malformed_json_is_invalid_json():
    status, body = call("POST", "/rules", raw_body='{"targetType": ')
    assert status == 400 and body["error"] == "invalid.json" and len(body["errorParameters"]) == 1


def test_huge_body_is_request_too_large():
    status, body = call("POST", "/rules", raw_body="[" + "1," * 600_000 + "1]")
    assert (status, body) == (413, {"error": "request.too.large", "errorParameters": ["1048576"]})


def test_model_body_errors_are_invalid_parameter():
    assert call("POST", "/systems", body={"name": "Truck"}) == (200, "Truck")
    status, body = call("POST", "/systems", body={"name": "Truck", "labels": "x"})
    assert (status, body["error"], body["errorParameters"][0]) == (400, "invalid.parameter", "labels")
    status, body = call("POST", "/systems", body=["x"])
    assert (status, body["errorParameters"][0]) == (400, "body")


def test_reply_and_error_helpers():
    response = airvantage.error(400, "x.y", [5])  # parameters are strings on the wire
    assert response.status_code == 400 and response.body == {"error": "x.y", "errorParameters": ["5"]}
    assert airvantage.reply("success").body == '"success"'  # DELETE's body is the JSON string "success"
