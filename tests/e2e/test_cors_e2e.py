"""CORS through `switchboard local`, checked header by header with an HTTP client: a preflight from the
allowed browser origin succeeds without a key (it never meets the authorizer), the real request
carries the CORS headers, another origin gets none."""

from __future__ import annotations

import pytest
import requests
from switchboard_local.runtime import LocalRuntime

from tests.e2e.conftest import CONSOLE_ORIGIN, World

pytestmark = pytest.mark.e2e

CLIENT_HEADERS = {"x-auth-token", "x-api-key", "authorization", "content-type", "x-request-id"}


def preflight(runtime: LocalRuntime, path: str, method: str, origin: str = CONSOLE_ORIGIN) -> requests.Response:
    return requests.options(
        f"{runtime.api_url}{path}",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "x-auth-token,content-type,x-request-id",
        },
        timeout=30,
    )


@pytest.mark.parametrize(
    ("path", "method", "methods"),
    [
        ("/v2/accounts/{account}/alerts", "PUT", {"GET", "PUT", "OPTIONS"}),
        ("/v2/user_auth", "PUT", {"PUT", "OPTIONS"}),
        ("/api/v1/systems", "POST", {"GET", "POST", "OPTIONS"}),
        ("/ess/v1/topics", "GET", {"GET", "OPTIONS"}),
    ],
)
def test_preflight_from_the_allowed_origin(runtime: LocalRuntime, world: World, path, method, methods) -> None:
    response = preflight(runtime, path.format(account=world.stranger.account_id), method)
    assert response.status_code == 204, response.text
    assert response.headers["Access-Control-Allow-Origin"] == CONSOLE_ORIGIN
    assert set(response.headers["Access-Control-Allow-Methods"].split(",")) == methods
    allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert allowed >= CLIENT_HEADERS
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert response.headers["Vary"] == "Origin"
    assert response.content == b""


def test_preflight_from_another_origin_gets_no_cors_headers(runtime: LocalRuntime, world: World) -> None:
    response = preflight(runtime, f"/v2/accounts/{world.stranger.account_id}/alerts", "GET", "https://evil.example")
    assert not [name for name in response.headers if name.lower().startswith("access-control-")]


def test_the_real_request_carries_the_cors_headers(runtime: LocalRuntime, world: World) -> None:
    response = requests.get(
        f"{runtime.api_url}/v2/accounts/{world.stranger.account_id}/alerts",
        headers={"Origin": CONSOLE_ORIGIN, "X-Auth-Token": world.stranger.token, "X-Request-ID": "console-1"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.headers["Access-Control-Allow-Origin"] == CONSOLE_ORIGIN
    exposed = {h.strip().lower() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert "x-request-id" in exposed
    assert response.headers["X-Request-ID"] == "console-1"
    # an error the function answers carries them too, so the console can read it
    missing = requests.get(
        f"{runtime.api_url}/v2/accounts/{'0' * 32}/alerts",
        headers={"Origin": CONSOLE_ORIGIN, "X-Auth-Token": world.stranger.token},
        timeout=30,
    )
    assert missing.status_code == 404
    assert missing.headers["Access-Control-Allow-Origin"] == CONSOLE_ORIGIN
    other = requests.get(
        f"{runtime.api_url}/v2/accounts/{world.stranger.account_id}/alerts",
        headers={"Origin": "https://evil.example", "X-Auth-Token": world.stranger.token},
        timeout=30,
    )
    assert "Access-Control-Allow-Origin" not in other.headers


def test_a_method_no_resource_takes_answers_with_cors_headers(runtime: LocalRuntime) -> None:
    response = requests.patch(f"{runtime.api_url}/ess/v1/topics", headers={"Origin": CONSOLE_ORIGIN}, timeout=30)
    assert response.status_code == 405
    assert response.headers["Access-Control-Allow-Origin"] == CONSOLE_ORIGIN
