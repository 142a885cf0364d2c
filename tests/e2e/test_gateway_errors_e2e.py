"""What the gateway answers without an operation, through `switchboard local`, in the dialect of the path:
the four REST APIs (one per dialect) share the port as they share the custom domain, and each answers
with its own gateway responses (template.yaml) or its own route fallback.

The matrix: dialect by case (401 without a key, 401 with a bad key, 404 unknown path, 404 at the API's root,
405 with Allow, 413 over API Gateway's 10 MB). 403 from the authorizer, 429, 502 and 504 cannot be
produced by the local runtime through HTTP cheaply (the authorizer allows every route of a key, there is
no throttling, every function answers): tests/unit/test_local_gateway.py drives those through the same
gateway, and tests/unit/test_template_apis.py checks every gateway response against the dialect's model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from switchboard.dialects import wire
from switchboard_local.runtime import LocalRuntime

from tests.e2e.conftest import World, too_large

pytestmark = pytest.mark.e2e

ACCOUNT = "0" * 32
BAD_KEY = "sbk_NoSuchKey_0123456789abcdefABCDEF0123456789"

Check = Callable[[int, str, dict[str, Any]], bool]


def crossbar(status: int, code: str, body: dict[str, Any]) -> bool:
    wire.CrossbarError.model_validate(body)
    return body["status"] == "error" and (body["error"], body["message"]) == (str(status), code)


def airvantage(status: int, code: str, body: dict[str, Any]) -> bool:
    wire.AirVantageError.model_validate(body)
    return body["error"] == code


def ess(status: int, code: str, body: dict[str, Any]) -> bool:
    wire.EssError.model_validate(body)
    return body["error"]["code"] == code and bool(body["error"]["message"])


def expeto(status: int, code: str, body: dict[str, Any]) -> bool:
    wire.ExpetoError.model_validate(body)
    return (body["status"], body["error"]) == (status, code)


# dialect -> (base path, an operation's path needing a key, its method, a method it lacks + Allow, check)
DIALECTS: dict[str, tuple[str, str, str, tuple[str, str], Check]] = {
    "crossbar": ("/v2", f"/v2/accounts/{ACCOUNT}/alerts", "GET", ("POST", "GET, PUT"), crossbar),
    "airvantage": ("/api", "/api/v1/systems", "GET", ("PATCH", "GET, POST"), airvantage),
    "ess": ("/ess", "/ess/v1/topics", "GET", ("DELETE", "GET"), ess),
    "expeto": ("/v1", "/v1/usage", "POST", ("DELETE", "POST"), expeto),
}
# (dialect, case) -> (status, the dialect's code)
CODES: dict[str, dict[str, tuple[int, str]]] = {
    "crossbar": {
        "no-key": (401, "invalid_credentials"),
        "bad-key": (401, "invalid_credentials"),
        "unknown-path": (404, "not_found"),
        "api-root": (404, "not_found"),
        "method": (405, "invalid_method"),
        "too-large": (413, "request_too_large"),
    },
    "airvantage": {
        "no-key": (401, "unauthorized"),
        "bad-key": (401, "unauthorized"),
        "unknown-path": (404, "not.found"),
        "api-root": (404, "not.found"),
        "method": (405, "method.not.allowed"),
        "too-large": (413, "request.too.large"),
    },
    "ess": {
        "no-key": (401, "UNAUTHORIZED"),
        "bad-key": (401, "UNAUTHORIZED"),
        "unknown-path": (404, "NOT_FOUND"),
        "api-root": (404, "NOT_FOUND"),
        "method": (405, "METHOD_NOT_ALLOWED"),
        "too-large": (413, "PAYLOAD_TOO_LARGE"),
    },
    "expeto": {
        "no-key": (401, "Unauthorized"),
        "bad-key": (401, "Unauthorized"),
        "unknown-path": (404, "Not Found"),
        "api-root": (404, "Not Found"),
        "method": (405, "Method Not Allowed"),
        "too-large": (413, "Payload Too Large"),
    },
}
CASES = ("no-key", "bad-key", "unknown-path", "api-root", "method", "too-large")


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_gateway_answers_in_the_dialect_of_the_path(
    runtime: LocalRuntime, world: World, dialect: str, case: str
) -> None:
    base, operation, method, (other_method, allow), check = DIALECTS[dialect]
    status, code = CODES[dialect][case]
    key = world.stranger.token
    for prefix in ("", "/dev"):  # locally the stage prefix is accepted too
        if case == "too-large":
            answered, headers, body = too_large(runtime, method, prefix + operation, key)
        else:
            headers = {} if case == "no-key" else {"X-Auth-Token": BAD_KEY if case == "bad-key" else key}
            target = {
                "no-key": (method, operation),
                "bad-key": (method, operation),
                "unknown-path": ("GET", f"{base}/nothing/here"),
                "api-root": ("GET", base),
                "method": (other_method, operation),
            }[case]
            response = requests.request(target[0], f"{runtime.api_url}{prefix}{target[1]}", headers=headers, timeout=30)
            answered, headers, body = response.status_code, dict(response.headers), response.json()
            assert response.headers["Content-Type"].startswith("application/json")
        assert answered == status, (dialect, case, body)
        assert check(status, code, body), body
        assert headers.get("Allow") == (allow if case == "method" else None)
        if dialect == "crossbar" and case in ("no-key", "bad-key", "api-root", "too-large"):
            # the gateway's own answers carry API Gateway's request id
            assert body["request_id"] == headers["x-amzn-RequestId"]


@pytest.mark.parametrize("with_key", [False, True], ids=["no-key", "key"])
def test_unknown_paths_and_methods_answer_the_same_with_or_without_a_key(
    runtime: LocalRuntime, world: World, with_key: bool
) -> None:
    headers = {"X-Auth-Token": world.stranger.token} if with_key else {}
    for dialect, (base, operation, _method, (other_method, allow), check) in DIALECTS.items():
        response = requests.request(other_method, f"{runtime.api_url}{operation}", headers=headers, timeout=30)
        assert (response.status_code, response.headers.get("Allow")) == (405, allow), response.text
        assert check(405, CODES[dialect]["method"][1], response.json())
        response = requests.get(f"{runtime.api_url}{base}/nothing", headers=headers, timeout=30)
        assert response.status_code == 404 and check(404, CODES[dialect]["unknown-path"][1], response.json())


def test_ess_paths_need_their_base_path(runtime: LocalRuntime, world: World) -> None:
    # /v1/topics is the ESS API's resource on its own stage URL; on the shared host /v1 is Expeto's
    response = requests.get(f"{runtime.api_url}/v1/topics", headers={"X-Auth-Token": world.stranger.token}, timeout=30)
    assert response.status_code == 404 and expeto(404, "Not Found", response.json())


def test_a_path_under_no_base_path_is_the_domains_403(runtime: LocalRuntime) -> None:
    response = requests.get(f"{runtime.api_url}/nothing/here", timeout=30)
    assert (response.status_code, response.json()) == (403, {"message": "Forbidden"})
