"""The fallback for requests no operation takes: its route table matches the template, every known
path has its ANY method, and the answers are in the dialect of the path."""

from __future__ import annotations

import json

import pytest

from tests.support import call, load_function, rest_event
from tools.routes import ROOT, fallback_paths, load_yaml, render, route_table

PREFIXES = ("/v2", "/api", "/ess", "/v1")


def test_the_checked_in_route_table_is_the_templates() -> None:
    assert (ROOT / "functions" / "route_fallback" / "routes.json").read_text() == render()


def test_every_known_path_and_every_other_path_reach_the_fallback() -> None:
    template = load_yaml(ROOT / "template.yaml")
    # every API's own /{proxy+}, under its base path
    assert fallback_paths(template) == {*route_table(template), *(f"{p}/{{proxy+}}" for p in PREFIXES)}


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


def stage_url_event(method: str, path: str, dialect: str) -> dict:
    """The event a dialect's API sends from its stage URL: no base path, the API's `dialect` stage variable."""
    event = rest_event(method, path, None)
    event["stageVariables"] = {"dialect": dialect}
    return event


@pytest.mark.parametrize(
    ("method", "path", "dialect", "status", "allow", "check"),
    [
        (
            "PATCH",
            "/accounts/" + "a" * 32 + "/alerts",
            "crossbar",
            405,
            "GET, PUT",
            lambda b: b["message"] == "invalid_method",
        ),
        ("GET", "/nothing", "crossbar", 404, None, lambda b: b["message"] == "not_found"),
        ("PATCH", "/v1/systems", "airvantage", 405, "GET, POST", lambda b: b["error"] == "method.not.allowed"),
        (
            "GET",
            "/nothing",
            "airvantage",
            404,
            None,
            lambda b: b == {"error": "not.found", "errorParameters": ["/nothing"]},
        ),
        # /v1/topics is ESS's on the ESS API (its stage URL has no /ess), though /v1 is Expeto's base path
        ("DELETE", "/v1/topics", "ess", 405, "GET", lambda b: b["error"]["code"] == "METHOD_NOT_ALLOWED"),
        ("GET", "/v1/nothing", "ess", 404, None, lambda b: b["error"]["code"] == "NOT_FOUND"),
        (
            "DELETE",
            "/usage",
            "expeto",
            405,
            "POST",
            lambda b: (b["error"], b["path"]) == ("Method Not Allowed", "/usage"),
        ),
        ("GET", "/nothing", "expeto", 404, None, lambda b: (b["status"], b["error"]) == (404, "Not Found")),
    ],
)
def test_on_a_stage_url_the_apis_stage_variable_names_the_dialect(
    fallback, method, path, dialect, status, allow, check
):
    answered, body, headers = call(fallback, stage_url_event(method, path, dialect))
    assert (answered, headers.get("Allow")) == (status, allow)
    assert check(body), json.dumps(body)


def test_behind_the_domain_the_stage_variable_and_the_base_path_agree(fallback) -> None:
    status, body, headers = call(fallback, stage_url_event("DELETE", "/ess/v1/topics", "ess"))
    assert (status, headers["Allow"], body["error"]["code"]) == (405, "GET", "METHOD_NOT_ALLOWED")
