"""The Expeto dialect: Spring's error body for every domain error (and bugs), HAL pages, paging parameters."""

from __future__ import annotations

import json
import re

import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from switchboard import errors
from switchboard.dialects import expeto

from tests.support import LambdaContext, rest_event

CALLER = {"account_id": "a" * 32, "user_id": "", "priv_level": "admin", "scopes": "", "ancestry": ""}
EXPECTED = {
    errors.InvalidInput: (400, "Bad Request"),
    errors.NotFound: (404, "Not Found"),
    errors.Forbidden: (403, "Forbidden"),
    errors.FeatureDisabled: (403, "Forbidden"),
    errors.PayloadTooLarge: (413, "Content Too Large"),
    errors.Conflict: (409, "Conflict"),
    errors.LimitExceeded: (400, "Bad Request"),
    errors.Unavailable: (503, "Service Unavailable"),
    errors.CodedError: (400, "Bad Request"),
    errors.DomainError: (400, "Bad Request"),
}


def instance(kind: type[errors.DomainError]) -> errors.DomainError:
    samples: dict[type, errors.DomainError] = {
        errors.InvalidInput: errors.InvalidInput.single("dataLimit", "minimum", "must be at least 1", -1),
        errors.NotFound: errors.NotFound("123470101231123", "subscriber"),
        errors.Forbidden: errors.Forbidden("not yours"),
        errors.FeatureDisabled: errors.FeatureDisabled("usage-notifications"),
        errors.PayloadTooLarge: errors.PayloadTooLarge(1024),
        errors.CodedError: errors.CodedError("some.code", ["x"]),
    }
    return samples.get(kind) or kind("went wrong")


def all_domain_errors() -> list[type[errors.DomainError]]:
    found, todo = [errors.DomainError], [errors.DomainError]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__ == "switchboard.errors" and sub not in found:
                found.append(sub)
                todo.append(sub)
    return found


def make_app(raised: Exception) -> APIGatewayRestResolver:
    app = APIGatewayRestResolver()
    expeto.install(app)

    @app.get("/v1/raise")
    def _raise():
        raise raised

    return app


def answer(app: APIGatewayRestResolver, path: str = "/v1/raise", query=None) -> tuple[int, dict]:
    response = app.resolve(rest_event("GET", path, CALLER, query=query), LambdaContext())
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.parametrize("kind", all_domain_errors(), ids=lambda kind: kind.__name__)
def test_every_domain_error_has_a_spring_reply(kind):
    assert kind in EXPECTED, f"{kind.__name__} has no expected Expeto reply"
    status, body = answer(make_app(instance(kind)))
    assert (status, body["error"]) == EXPECTED[kind]
    assert set(body) == {"timestamp", "status", "error", "message", "path"}
    assert body["status"] == status and body["path"] == "/v1/raise" and body["message"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["timestamp"])


def test_messages_name_the_problem():
    assert answer(make_app(instance(errors.InvalidInput)))[1]["message"] == "dataLimit: must be at least 1"
    assert "usage-notifications" in answer(make_app(instance(errors.FeatureDisabled)))[1]["message"]
    assert answer(make_app(instance(errors.NotFound)))[1]["message"] == "subscriber 123470101231123 not found"


def test_a_bug_is_a_logged_500_that_tells_nothing(caplog):
    status, body = answer(make_app(KeyError("secret detail")))
    assert status == 500 and body["message"] == "internal error" and "secret" not in json.dumps(body)


def test_unknown_paths_are_spring_404s():
    status, body = answer(make_app(errors.DomainError()), "/v1/nothing")
    assert status == 404 and body["path"] == "/v1/nothing"


def test_pages_and_links():
    app = APIGatewayRestResolver()

    @app.get("/v1/things")
    def _things():
        page, size, ascending = expeto.paging(app)
        assert ascending is False
        return expeto.collection(app, "things", [{"n": 1}], 41, page, size)

    response = app.resolve(
        rest_event("GET", "/v1/things", CALLER, query={"page": "1", "size": "20", "sort": "issued,desc"}),
        LambdaContext(),
    )
    assert response["multiValueHeaders"]["Content-Type"] == ["application/hal+json"]
    body = json.loads(response["body"])
    assert body["page"] == {"size": 20, "totalElements": 41, "totalPages": 3, "number": 1}
    assert body["_embedded"] == {"things": [{"n": 1}]}
    links = {name: link["href"] for name, link in body["_links"].items()}
    assert links == {
        "self": "/v1/things?sort=issued%2Cdesc&page=1&size=20",
        "first": "/v1/things?sort=issued%2Cdesc&page=0&size=20",
        "last": "/v1/things?sort=issued%2Cdesc&page=2&size=20",
        "prev": "/v1/things?sort=issued%2Cdesc&page=0&size=20",
        "next": "/v1/things?sort=issued%2Cdesc&page=2&size=20",
    }
