"""The local API Gateway serves the template's four REST APIs on one port, as the custom domain does: the
first path segment picks the API by its base-path mapping, the rest matches that API's resources, events
carry the full path and the API's resource, and each API's own gateway responses answer its errors."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from switchboard_local.apigateway import Gateway, Request, base_paths, build_routes
from switchboard_local.functions import FunctionTimeout, InvocationError
from switchboard_local.template import Resolver, Template, physical_resources

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "a" * 32
DIALECT_OF = {"KazooApi": "crossbar", "AirVantageApi": "airvantage", "EssApi": "ess", "ExpetoApi": "expeto"}


@cache
def _function_ids() -> tuple[str, ...]:
    return tuple(Template.load(ROOT / "template.yaml").resources)


@dataclass
class Spec:
    timeout: float


@dataclass
class FakeRunner:
    """Stands in for the function workers: records events, answers 200, or fails as told. The authorizer
    allows the key `good`, refuses `bad` or none (401) and denies `deny` (403)."""

    fail: Exception | None = None
    malformed: bool = False
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    specs: dict[str, Spec] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.specs = {name: Spec(29.0) for name in _function_ids()}

    def invoke(self, function_id: str, event: dict[str, Any], *_args: Any, **_kwargs: Any) -> Any:
        self.events.append((function_id, event))
        if function_id == "AuthorizerFunction":
            key = (event.get("headers") or {}).get("X-Auth-Token")
            if key in (None, "bad"):
                raise InvocationError("Exception", "Unauthorized")
            effect = "Deny" if key == "deny" else "Allow"
            statement = {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}
            return {"principalId": "p", "policyDocument": {"Version": "2012-10-17", "Statement": [statement]}}
        if self.fail is not None:
            raise self.fail
        if self.malformed:
            return {"statusCode": "teapot"}
        return {"statusCode": 200, "body": "{}", "headers": {"Content-Type": "application/json"}}


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(ROOT / "template.yaml")


@pytest.fixture(scope="module")
def routes(template: Template):
    return build_routes(template, Resolver(template, physical_resources(template)))


def gateway(routes, **runner: Any) -> tuple[Gateway, FakeRunner]:
    fake = FakeRunner(**runner)
    return Gateway(routes, fake, echo=lambda _line: None), fake  # type: ignore[arg-type]


def request(method: str, path: str, key: str | None = "good", body: bytes | None = None) -> Request:
    headers = [("Host", "127.0.0.1:3000")] + ([("X-Auth-Token", key)] if key else [])
    return Request(method=method, raw_path=path, query=[], headers=headers, body=body, source_ip="127.0.0.1")


def test_base_paths_come_from_the_mappings_though_their_condition_is_off_locally(template: Template) -> None:
    assert base_paths(template) == {"KazooApi": "v2", "AirVantageApi": "api", "EssApi": "ess", "ExpetoApi": "v1"}
    assert not template.is_active(template.resources["KazooApiMapping"])


@pytest.mark.parametrize(
    ("method", "path", "api", "resource", "function"),
    [
        ("GET", f"/v2/accounts/{ACCOUNT}/alerts", "KazooApi", "/accounts/{account_id}/alerts", "AlertsFunction"),
        ("GET", "/api/v1/systems", "AirVantageApi", "/v1/systems", "SystemsFunction"),
        ("GET", "/ess/v1/topics", "EssApi", "/v1/topics", "EssCatalogFunction"),
        ("POST", "/v1/usage", "ExpetoApi", "/usage", "UsageIngestFunction"),
        # the stage prefix is accepted locally too; the event's path is the same
        ("GET", "/dev/ess/v1/topics", "EssApi", "/v1/topics", "EssCatalogFunction"),
    ],
)
def test_the_first_segment_picks_the_api_and_the_event_carries_the_full_path(
    routes, method, path, api, resource, function
) -> None:
    gw, fake = gateway(routes)
    match = gw.resolve(method, path)
    assert match is not None and (match.route.api.logical_id, match.route.path) == (api, resource)
    response = gw.handle(request(method, path))
    assert response.status == 200
    (authorizer, auth_event), (called, event) = fake.events
    public = path.removeprefix("/dev")
    assert (called, event["resource"], event["path"]) == (function, resource, public)
    assert event["requestContext"]["resourcePath"] == resource and event["requestContext"]["path"] == public
    assert event["stageVariables"] == {"dialect": DIALECT_OF[api]}
    # the method ARN names the path within the API (no base path), as API Gateway's does
    within = "/" + public.split("/", 2)[2]
    assert authorizer == "AuthorizerFunction" and auth_event["methodArn"].endswith(f"/dev/{method}{within}")


def test_an_api_resource_is_not_reachable_without_its_base_path(routes) -> None:
    gw, _ = gateway(routes)
    # /v1/topics is ESS's resource, but /v1 is Expeto's base path: it is Expeto's unknown path
    match = gw.resolve("GET", "/v1/topics")
    assert match is not None and match.route.api.logical_id == "ExpetoApi"
    assert match.route.function_id == "RouteFallbackFunction" and match.params == {"proxy": "topics"}
    assert gw.resolve("GET", f"/accounts/{ACCOUNT}/alerts") is None


CROSSBAR = ("v2", lambda status, b: (b["status"], b["error"]) == ("error", str(status)) and b["request_id"])
AIRVANTAGE = ("api", lambda status, b: isinstance(b["error"], str) and isinstance(b["errorParameters"], list))
ESS = ("ess", lambda status, b: set(b) == {"error"} and b["error"]["code"].isupper() and b["error"]["message"])
EXPETO = ("v1", lambda status, b: (b["status"], b["path"]) == (status, b["path"]) and b["error"] and b["timestamp"])
DIALECTS = {"crossbar": CROSSBAR, "airvantage": AIRVANTAGE, "ess": ESS, "expeto": EXPETO}
PATHS = {"crossbar": f"/accounts/{ACCOUNT}/alerts", "airvantage": "/v1/systems", "ess": "/v1/topics"}
PATHS["expeto"] = "/subscribers"


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(
    ("case", "status", "error_type"),
    [
        ("no key", 401, "UnauthorizedException"),
        ("bad key", 401, "UnauthorizedException"),
        ("denied", 403, "AccessDeniedException"),
        ("lambda error", 502, "InternalServerErrorException"),
        ("malformed reply", 502, "InternalServerErrorException"),
        ("function timeout", 502, "InternalServerErrorException"),
        ("throttled", 429, "TooManyRequestsException"),
        ("quota", 429, "LimitExceededException"),
        ("integration timeout", 504, "InternalServerErrorException"),
        ("authorizer failure", 500, "AuthorizerConfigurationException"),
        ("no mapped resource", 404, "MissingAuthenticationTokenException"),
    ],
)
def test_each_apis_gateway_responses_answer_in_its_dialect(routes, dialect, case, status, error_type) -> None:
    base, check = DIALECTS[dialect]
    path = f"/{base}{PATHS[dialect]}"
    method = "GET"
    runner: dict[str, Any] = {}
    if case == "lambda error":
        runner["fail"] = InvocationError("RuntimeError", "boom")
    elif case == "function timeout":
        runner["fail"] = FunctionTimeout("Sandbox.Timedout", "timed out")
    elif case == "malformed reply":
        runner["malformed"] = True
    gw, _ = gateway(routes, **runner)
    key = {"no key": None, "bad key": "bad", "denied": "deny"}.get(case, "good")
    req = request(method, path, key)
    if case in ("throttled", "quota", "integration timeout", "authorizer failure"):
        # the local runtime has no throttling or quota; the API's configured answer is what API Gateway sends
        kind = {
            "throttled": "THROTTLED",
            "quota": "QUOTA_EXCEEDED",
            "integration timeout": "INTEGRATION_TIMEOUT",
            "authorizer failure": "AUTHORIZER_FAILURE",
        }[case]
        response = gw.gateway_response(gw.api_for(path), kind, req)
    elif case == "no mapped resource":
        # the API's root has no resource ({proxy+} needs a segment): API Gateway's own 404
        response = gw.handle(request("GET", f"/{base}", key))
    else:
        response = gw.handle(req)
    body = json.loads(response.body)
    assert response.status == status, body
    assert dict(response.headers)["x-amzn-ErrorType"] == error_type
    assert check(status, body), body
    if dialect == "crossbar":
        assert body["request_id"] == req.request_id or case == "no mapped resource"


def test_a_path_under_no_base_path_is_the_domains_403(routes) -> None:
    gw, _ = gateway(routes)
    assert gw.api_for("/nothing/here") is None
    response = gw.handle(request("GET", "/nothing/here"))
    assert (response.status, json.loads(response.body)) == (403, {"message": "Forbidden"})


def test_request_too_large_uses_the_api_of_the_path(routes) -> None:
    gw, _ = gateway(routes)
    for base, check in DIALECTS.values():
        path = f"/{base}/anything"
        response = gw.gateway_response(gw.api_for(path), "REQUEST_TOO_LARGE", request("PUT", path))
        assert response.status == 413 and check(413, json.loads(response.body))
