"""One REST API per dialect (template.yaml): every operation on its dialect's API under the path without
the base path, every API with the same settings and every gateway response in its dialect's error shape,
and one optional custom domain mapping the four base paths."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pydantic import BaseModel
from switchboard.dialects import airvantage, crossbar, ess, expeto, wire

from tools import openapi
from tools.routes import FALLBACK_FUNCTION, ROOT, base_paths, load_yaml, public_path

TEMPLATE = load_yaml(ROOT / "template.yaml")
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
APIS = {"KazooApi": "crossbar", "AirVantageApi": "airvantage", "EssApi": "ess", "ExpetoApi": "expeto"}
PREFIX = {"crossbar": crossbar.PREFIX, "airvantage": airvantage.PREFIX, "ess": ess.PREFIX, "expeto": expeto.PREFIX}
ERROR_MODEL: dict[str, type[BaseModel]] = {
    "crossbar": wire.CrossbarError,
    "airvantage": wire.AirVantageError,
    "ess": wire.EssError,
    "expeto": wire.ExpetoError,
}
RESPONSE_TYPES = {
    "UNAUTHORIZED": 401,
    "ACCESS_DENIED": 403,
    "MISSING_AUTHENTICATION_TOKEN": 404,
    "REQUEST_TOO_LARGE": 413,
    "THROTTLED": 429,
    "QUOTA_EXCEEDED": 429,
    "INTEGRATION_TIMEOUT": 504,
    "INTEGRATION_FAILURE": 504,
    "AUTHORIZER_FAILURE": 500,
    "AUTHORIZER_CONFIGURATION_ERROR": 500,
    "DEFAULT_4XX": 400,
    "DEFAULT_5XX": 502,
}
# what API Gateway puts in for the $context variables the templates use
CONTEXT = {
    "$context.requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    "$context.requestTime": "23/Nov/2026:09:30:00 +0000",
    "$context.path": "/v2/nothing",
}


def routed(path: str, route: str) -> bool:
    pattern = "".join("/[^/]+" if part.startswith("{") else "/" + re.escape(part) for part in route.split("/") if part)
    return re.fullmatch(pattern, path) is not None


def api_events() -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for function_id, resource in RESOURCES.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for name, event in (resource["Properties"].get("Events") or {}).items():
            if event["Type"] == "Api":
                found.append((function_id, name, event["Properties"]))
    return found


def test_four_apis_and_no_other() -> None:
    assert {k for k, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Api"} == set(APIS)


def test_every_operation_is_on_its_dialects_api_under_the_path_without_the_base_path() -> None:
    prefixes = {name: openapi.prefix_of(app) for name, app in openapi.resolvers()}
    documented = {(op.method, op.path) for op in openapi.operations()}
    bases = base_paths(TEMPLATE)
    events = api_events()
    assert len(events) > 190
    for function_id, name, props in events:
        api = props["RestApiId"]["Ref"]
        path = str(props["Path"])
        assert not path.startswith(PREFIX[APIS[api]] + "/"), f"{function_id}.{name}: {path} keeps its base path"
        if function_id == FALLBACK_FUNCTION:
            continue
        folder = RESOURCES[function_id]["Properties"]["CodeUri"].strip("/").split("/")[-1]
        # the function's resolver strips its dialect's prefix: the event is on that dialect's API
        assert bases[api] == prefixes[folder], f"{function_id}.{name} is on {api}"
        # a handler routes it (its route may name a literal segment of the template as a parameter)
        method, public = str(props["Method"]).upper(), public_path(props, bases)
        assert any(m == method and routed(public, p) for m, p in documented), f"{function_id}.{name}"


def test_the_fallback_has_every_apis_unknown_paths() -> None:
    events = (RESOURCES[FALLBACK_FUNCTION]["Properties"]["Events"] or {}).values()
    catch_all = {e["Properties"]["RestApiId"]["Ref"] for e in events if e["Properties"]["Path"] == "/{proxy+}"}
    assert catch_all == set(APIS)


@pytest.mark.parametrize("api", APIS)
def test_every_api_has_the_same_settings_and_names_its_dialect(api: str) -> None:
    props = RESOURCES[api]["Properties"]
    reference = RESOURCES["KazooApi"]["Properties"]
    for setting in ("StageName", "TracingEnabled", "AccessLogSetting", "MethodSettings", "Auth"):
        assert props[setting] == reference[setting], setting
    assert props["Auth"]["DefaultAuthorizer"] == "KeyAuthorizer"
    assert props["Auth"]["AddDefaultAuthorizerToCorsPreflight"] is False
    assert props["MethodSettings"][0]["ThrottlingRateLimit"] > 0
    assert props["Variables"] == {"dialect": APIS[api]}  # the route fallback's dialect on a stage URL
    assert props["Name"] == {"Fn::Sub": f"${{AWS::StackName}}-{api.removesuffix('Api').lower()}"}


@pytest.mark.parametrize("api", APIS)
def test_every_gateway_response_is_in_the_dialect_error_shape(api: str) -> None:
    dialect = APIS[api]
    answers = RESOURCES[api]["Properties"]["GatewayResponses"]
    assert set(RESPONSE_TYPES) <= set(answers)
    for kind, answer in answers.items():
        status = int(answer["StatusCode"])
        assert status == RESPONSE_TYPES.get(kind, status), kind
        text = answer["ResponseTemplates"]["application/json"]
        for variable, value in CONTEXT.items():
            text = text.replace(variable, value)
        body = json.loads(text)
        ERROR_MODEL[dialect].model_validate(body)
        if dialect == "crossbar":
            assert (body["status"], body["error"], body["request_id"]) == (
                "error",
                str(status),
                CONTEXT["$context.requestId"],
            )
        elif dialect == "expeto":
            assert body["status"] == status and body["path"] == CONTEXT["$context.path"]
        elif dialect == "ess":
            assert set(body) == {"error"} and body["error"]["code"].isupper()
        else:
            assert set(body) == {"error", "errorParameters"}


def test_the_gateway_responses_keep_their_first_shapes() -> None:
    # what clients already parse: KAZOO's 401 body and request id, unchanged
    unauthorized = RESOURCES["KazooApi"]["Properties"]["GatewayResponses"]["UNAUTHORIZED"]
    assert json.loads(unauthorized["ResponseTemplates"]["application/json"]) == {
        "status": "error",
        "error": "401",
        "message": "invalid_credentials",
        "data": {"message": "invalid credentials"},
        "request_id": "$context.requestId",
    }


def test_one_optional_custom_domain_maps_the_four_base_paths() -> None:
    assert TEMPLATE["Parameters"]["DomainName"]["Default"] == ""
    assert TEMPLATE["Parameters"]["CertificateArn"]["Default"] == ""
    assert TEMPLATE["Conditions"]["HasDomain"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "DomainName"}, ""]}]}
    (domain_id,) = [k for k, r in RESOURCES.items() if r["Type"] == "AWS::ApiGateway::DomainName"]
    domain = RESOURCES[domain_id]
    assert domain["Condition"] == "HasDomain"
    assert domain["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert domain["Properties"]["SecurityPolicy"] == "TLS_1_2"
    assert domain["Properties"]["RegionalCertificateArn"] == {"Ref": "CertificateArn"}
    mappings = [r for r in RESOURCES.values() if r["Type"] == "AWS::ApiGateway::BasePathMapping"]
    assert all(m["Condition"] == "HasDomain" for m in mappings)
    assert all(m["Properties"]["DomainName"] == {"Ref": domain_id} for m in mappings)
    assert {m["Properties"]["RestApiId"]["Ref"]: m["Properties"]["BasePath"] for m in mappings} == {
        "KazooApi": "v2",
        "AirVantageApi": "api",
        "EssApi": "ess",
        "ExpetoApi": "v1",
    }
    assert base_paths(TEMPLATE) == {api: PREFIX[dialect] for api, dialect in APIS.items()}


def test_outputs_give_the_domain_url_when_set_and_each_stage_url_always() -> None:
    outputs = TEMPLATE["Outputs"]
    assert outputs["ApiUrl"]["Condition"] == "HasDomain"
    for api in APIS:
        output = outputs[f"{api}Url"]
        assert "Condition" not in output
        assert output["Value"]["Fn::Sub"].startswith(f"https://${{{api}}}.execute-api.")
