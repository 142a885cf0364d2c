"""The fallback for requests no operation takes: its route table matches the template, every known
path has its ANY method, and the answers are in the dialect of the path."""

from __future__ import annotations

import json

import pytest

from tests.support import call, load_function, rest_event
from tools.routes import ROOT, fallback_paths, load_yaml, render, route_table


def test_the_checked_in_route_table_is_the_templates() -> None:
    assert (ROOT / "functions" / "route_fallback" / "routes.json").read_text() == render()


def test_every_known_path_and_every_other_path_reach_the_fallback() -> None:
    template = load_yaml(ROOT / "template.yaml")
    assert fallback_paths(template) == {*route_table(template), "/{proxy+}"}


@pytest.fixture(scope="module")
def fallback():
    return load_function("route_fallback")


def answer(fallback, method: str, path: str) -> tuple[int, dict, dict]:
    return call(fallback, rest_event(method, path, None))


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/v2/accounts/" + "a" * 32 + "/alerts/" + "b" * 32, "DELETE, GET"),
        ("PATCH", "/v2/accounts/" + "a" * 32 + "/alerts", "GET, PUT"),
        ("GET", "/v2/user_auth", "PUT"),
    ],
)
def test_kazoo_405(fallback, method, path, allow) -> None:
    status, body, headers = answer(fallback, method, path)
    assert (status, headers["Allow"]) == (405, allow)
    assert (body["status"], body["error"], body["message"]) == ("error", "405", "invalid_method")
    assert body["data"]["allowed"] == allow.split(", ")


def test_airvantage_405_prefers_the_literal_path(fallback) -> None:
    status, body, headers = answer(fallback, "DELETE", "/api/v2/alerts/history")
    assert (status, headers["Allow"]) == (405, "GET")
    assert body == {"error": "method.not.allowed", "errorParameters": ["DELETE"]}
    status, _, headers = answer(fallback, "PATCH", "/api/v2/alertrules")
    assert (status, headers["Allow"]) == (405, "DELETE, GET, POST, PUT")


def test_ess_405(fallback) -> None:
    status, body, headers = answer(fallback, "DELETE", "/ess/v1/topics")
    assert (status, headers["Allow"]) == (405, "GET")
    assert body["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_expeto_405(fallback) -> None:
    status, body, headers = answer(fallback, "DELETE", "/v1/usage")
    assert (status, headers["Allow"]) == (405, "POST")
    assert (body["status"], body["error"], body["path"]) == (405, "Method Not Allowed", "/v1/usage")


@pytest.mark.parametrize(
    ("path", "check"),
    [
        ("/v2/nothing/here", lambda b: (b["error"], b["message"]) == ("404", "not_found")),
        ("/api/v1/nothing", lambda b: b == {"error": "not.found", "errorParameters": ["/api/v1/nothing"]}),
        ("/ess/v1/nothing", lambda b: b == {"error": {"code": "NOT_FOUND", "message": "no such resource"}}),
        ("/v1/nothing", lambda b: (b["status"], b["error"], b["path"]) == (404, "Not Found", "/v1/nothing")),
    ],
)
def test_unknown_paths_are_404_in_the_dialect_of_the_path(fallback, path, check) -> None:
    status, body, headers = answer(fallback, "GET", path)
    assert status == 404 and "Allow" not in headers
    assert check(body), json.dumps(body)
