"""The REQUEST authorizer on moto: every header form, unknown and missing keys."""

from __future__ import annotations

import copy

import pytest

from tests.support import LambdaContext, sample_event


def authorizer_event(headers: dict[str, str]) -> dict:
    event = copy.deepcopy(sample_event("authorizer_request.json"))
    event["headers"] = headers
    event["multiValueHeaders"] = {key: [value] for key, value in headers.items()}
    return event


@pytest.mark.parametrize("header", ["X-Auth-Token", "x-auth-token", "Authorization", "X-API-KEY"])
def test_every_header_form_resolves_the_key(authorizer_fn, world, header):
    admin = world.child_admin
    value = f"Bearer {admin.token}" if header == "Authorization" else admin.token
    policy = authorizer_fn.lambda_handler(authorizer_event({header: value}), LambdaContext())
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert policy["policyDocument"]["Statement"][0]["Resource"][0].endswith("abc123defg/dev/*/*")
    context = policy["context"]
    assert context["account_id"] == admin.account_id
    assert context["user_id"] == admin.user_id
    assert context["priv_level"] == "admin"
    assert context["ancestry"] == ",".join(admin.caller.ancestry)


def test_child_token_carries_its_ancestry_and_operator_scope(authorizer_fn, world):
    child = world.child_user
    policy = authorizer_fn.lambda_handler(authorizer_event({"X-Auth-Token": child.token}), LambdaContext())
    assert policy["context"]["ancestry"] == world.reseller_admin.account_id
    assert policy["context"]["priv_level"] == "user"
    operator = authorizer_fn.lambda_handler(authorizer_event({"X-API-KEY": world.operator.token}), LambdaContext())
    assert operator["context"]["scopes"] == "operator"


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Auth-Token": "sbk_unknown"}, {"Authorization": "Bearer "}, {"Authorization": "Basic dXNlcjpwYXNz"}],
)
def test_missing_or_unknown_key_is_unauthorized(authorizer_fn, world, headers):
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer_fn.lambda_handler(authorizer_event(headers), LambdaContext())
