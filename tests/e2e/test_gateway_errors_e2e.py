"""What the gateway answers without an operation, through `switchboard local`: an unknown path (404)
and an unknown method on a known path (405 with Allow), in the dialect of the path, with or
without a key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from switchboard_local.runtime import LocalRuntime

from tests.e2e.conftest import World

pytestmark = pytest.mark.e2e

ACCOUNT = "0" * 32

CROSSBAR = (
    "/v2",
    lambda status, code: lambda b: b["status"] == "error" and (b["error"], b["message"]) == (str(status), code),
)
AIRVANTAGE = ("/api", lambda status, code: lambda b: b["error"] == code and isinstance(b["errorParameters"], list))
ESS = ("/ess", lambda status, code: lambda b: b["error"]["code"] == code and b["error"]["message"])

MATRIX: list[tuple[str, str, int, str, Callable[[dict[str, Any]], bool], str | None]] = [
    ("GET", "/v2/accounts/nothing", 404, "crossbar", CROSSBAR[1](404, "not_found"), None),
    ("POST", f"/v2/accounts/{ACCOUNT}/alerts", 405, "crossbar", CROSSBAR[1](405, "invalid_method"), "GET, PUT"),
    ("GET", "/api/v1/nothing", 404, "airvantage", AIRVANTAGE[1](404, "not.found"), None),
    ("PATCH", "/api/v1/systems", 405, "airvantage", AIRVANTAGE[1](405, "method.not.allowed"), "GET, POST"),
    ("GET", "/ess/v1/nothing", 404, "ess", ESS[1](404, "NOT_FOUND"), None),
    ("DELETE", "/ess/v1/topics", 405, "ess", ESS[1](405, "METHOD_NOT_ALLOWED"), "GET"),
    ("GET", "/v1/nothing", 404, "expeto", lambda b: (b["status"], b["error"]) == (404, "Not Found"), None),
    ("DELETE", "/v1/usage", 405, "expeto", lambda b: (b["status"], b["error"]) == (405, "Method Not Allowed"), "POST"),
]


@pytest.mark.parametrize("with_key", [False, True], ids=["no-key", "key"])
@pytest.mark.parametrize(
    ("method", "path", "status", "dialect", "check", "allow"),
    MATRIX,
    # ids from the values alone (no function reprs): pytest-xdist workers must collect the same ids
    ids=[f"{method}-{path}-{status}-{dialect}" for method, path, status, dialect, _check, _allow in MATRIX],
)
def test_gateway_answers_in_the_dialect_of_the_path(
    runtime: LocalRuntime, world: World, method, path, status, dialect, check, allow, with_key
) -> None:
    headers = {"X-Auth-Token": world.stranger.token} if with_key else {}
    for prefix in ("", "/dev"):
        response = requests.request(method, f"{runtime.api_url}{prefix}{path}", headers=headers, timeout=30)
        assert response.status_code == status, (dialect, response.text)
        assert response.headers["Content-Type"].startswith("application/json")
        assert check(response.json()), response.text
        assert response.headers.get("Allow") == allow
