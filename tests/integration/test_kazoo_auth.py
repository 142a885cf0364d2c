"""KAZOO logins on moto: account API keys, user credentials (md5, sha1), sessions, throttling."""

from __future__ import annotations

import copy
import hashlib
import re

import pytest
from switchboard import wiring

from tests.support import LambdaContext, call, load_function, rest_event, sample_event


@pytest.fixture
def auth_fn(aws):
    return load_function("kazoo_auth")


def authorize(authorizer_fn, headers: dict[str, str], query: dict[str, str] | None = None) -> dict | None:
    event = copy.deepcopy(sample_event("authorizer_request.json"))
    event["headers"] = headers
    event["multiValueHeaders"] = {key: [value] for key, value in headers.items()}
    event["queryStringParameters"] = query or {}
    try:
        return authorizer_fn.lambda_handler(event, LambdaContext())["context"]
    except Exception as exc:
        assert str(exc) == "Unauthorized"
        return None


def digest(username: str, password: str, method: str = "md5") -> str:
    material = f"{username}:{password}".encode()
    return (hashlib.md5 if method == "md5" else hashlib.sha1)(material).hexdigest()


def login(auth_fn, path: str, data: dict, source: str = "198.51.100.7", **extra) -> tuple[int, dict, dict]:
    event = rest_event("PUT", path, None, body={"data": data, **extra})
    event["requestContext"]["identity"]["sourceIp"] = source
    return call(auth_fn, event)


def rotate_key(auth_fn, principal, account_id: str) -> str:
    status, body, _ = call(auth_fn, rest_event("PUT", f"/v2/accounts/{account_id}/api_key", principal.context))
    assert status == 201, body
    return body["data"]["api_key"]


def test_api_key_login_opens_an_admin_session_the_authorizer_resolves(auth_fn, authorizer_fn, world):
    key = rotate_key(auth_fn, world.child_admin, world.child_admin.account_id)
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    status, body, _ = login(auth_fn, "/v2/api_auth", {"api_key": key})
    assert status == 201, body
    assert body["status"] == "success"
    assert body["auth_token"].startswith("sbs_") and body["auth_token"] != key
    assert body["data"]["account_id"] == world.child_admin.account_id
    assert body["data"]["account_name"] == "Child"
    assert body["data"]["is_reseller"] is False
    assert body["data"]["reseller_id"] == world.reseller_admin.account_id
    context = authorize(authorizer_fn, {"X-Auth-Token": body["auth_token"]})
    assert context is not None
    assert context["account_id"] == world.child_admin.account_id
    assert context["priv_level"] == "admin"
    assert context["ancestry"] == world.reseller_admin.account_id
    # KAZOO clients may also send the token as ?auth_token=
    assert authorize(authorizer_fn, {}, {"auth_token": body["auth_token"]}) is not None


def test_the_key_is_shown_once_and_rotation_retires_the_old_one(auth_fn, world):
    admin = world.child_admin
    status, body, _ = call(auth_fn, rest_event("GET", f"/v2/accounts/{admin.account_id}/api_key", admin.context))
    assert (status, body["data"]) == (200, {"exists": False})
    first = rotate_key(auth_fn, admin, admin.account_id)
    second = rotate_key(auth_fn, admin, admin.account_id)
    status, body, _ = call(auth_fn, rest_event("GET", f"/v2/accounts/{admin.account_id}/api_key", admin.context))
    assert status == 200 and body["data"]["exists"] is True and "api_key" not in body["data"]
    assert login(auth_fn, "/v2/api_auth", {"api_key": first})[0] == 401
    assert login(auth_fn, "/v2/api_auth", {"api_key": second})[0] == 201
    # the reseller's admin may rotate the child's key
    assert rotate_key(auth_fn, world.reseller_admin, admin.account_id)


def test_api_key_tenancy(auth_fn, world):
    child = world.child_admin.account_id
    for principal in (world.stranger_admin, world.child_admin):
        status, body, _ = call(
            auth_fn, rest_event("PUT", f"/v2/accounts/{world.reseller_admin.account_id}/api_key", principal.context)
        )
        assert (status, body["message"]) == (404, "bad_identifier")
    status, body, _ = call(auth_fn, rest_event("GET", f"/v2/accounts/{child}/api_key", world.stranger_admin.context))
    assert status == 404
    status, body, _ = call(auth_fn, rest_event("PUT", f"/v2/accounts/{child}/api_key", world.child_user.context))
    assert (status, body["message"]) == (403, "forbidden")


@pytest.mark.parametrize("method", ["md5", "sha"])
def test_user_login_with_either_digest(auth_fn, authorizer_fn, world, method):
    user = wiring.logins().set_password(world.child_admin.account_id, "Alice", "correct horse battery")
    data = {"credentials": digest("alice", "correct horse battery", method), "account_name": "child"}
    status, body, _ = login(auth_fn, "/v2/user_auth", data, method=method)
    assert status == 201, body
    assert body["data"]["owner_id"] == user.id
    assert body["data"]["method"] == method
    context = authorize(authorizer_fn, {"X-Auth-Token": body["auth_token"]})
    assert context is not None and context["user_id"] == user.id and context["priv_level"] == "user"


def test_wrong_password_unknown_user_and_unknown_account_answer_alike(auth_fn, world):
    wiring.logins().set_password(world.child_admin.account_id, "bob", "the real password")
    attempts = [
        {"credentials": digest("bob", "not the password"), "account_name": "Child"},
        {"credentials": digest("nobody", "the real password"), "account_name": "Child"},
        {"credentials": digest("bob", "the real password"), "account_name": "No Such Account"},
        {"credentials": digest("bob", "the real password"), "account_realm": "child.sip.example.com"},
    ]
    answers = []
    for data in attempts:
        status, body, _ = login(auth_fn, "/v2/user_auth", data)
        answers.append((status, body["error"], body["message"], body["data"]))
    assert answers == [(401, "401", "invalid_credentials", {"message": "invalid credentials"})] * 4


def test_passwords_are_kept_only_as_argon2id_hashes(auth_fn, aws, world):
    import boto3

    wiring.logins().set_password(world.child_admin.account_id, "carol", "a long password")
    items = boto3.resource("dynamodb").Table(aws["ACCOUNTS_TABLE"]).scan()["Items"]
    text = repr(items)
    assert "a long password" not in text
    assert digest("carol", "a long password") not in text
    assert digest("carol", "a long password", "sha") not in text
    hashes = [item["hash"] for item in items if str(item["pk"]).startswith("LOGIN#")]
    assert len(hashes) == 2 and all(h.startswith("$argon2id$") for h in hashes)


def test_logout_revokes_the_session_at_once(auth_fn, authorizer_fn, world):
    wiring.logins().set_password(world.child_admin.account_id, "dave", "password for dave")
    _, body, _ = login(
        auth_fn, "/v2/user_auth", {"credentials": digest("dave", "password for dave"), "account_name": "Child"}
    )
    token = body["auth_token"]
    context = authorize(authorizer_fn, {"X-Auth-Token": token})
    assert context is not None
    status, inspected, _ = call(auth_fn, rest_event("GET", "/v2/token_auth", context, headers={"X-Auth-Token": token}))
    assert status == 200 and inspected["data"]["owner_id"] == context["user_id"]
    assert inspected["auth_token"] == token
    status, _, _ = call(auth_fn, rest_event("DELETE", "/v2/token_auth", context, headers={"X-Auth-Token": token}))
    assert status == 200
    assert authorize(authorizer_fn, {"X-Auth-Token": token}) is None
    status, body, _ = call(auth_fn, rest_event("GET", "/v2/token_auth", context, headers={"X-Auth-Token": token}))
    assert (status, body["message"]) == (401, "invalid_credentials")


def test_sessions_expire(auth_fn, authorizer_fn, world, monkeypatch):
    wiring.logins().set_password(world.child_admin.account_id, "erin", "password for erin")
    _, body, _ = login(
        auth_fn, "/v2/user_auth", {"credentials": digest("erin", "password for erin"), "account_name": "Child"}
    )
    assert authorize(authorizer_fn, {"X-Auth-Token": body["auth_token"]}) is not None
    from switchboard import clock

    later = clock.now_ms() + 3601 * 1000
    monkeypatch.setattr(wiring.logins(), "_now_ms", lambda: later)
    assert authorize(authorizer_fn, {"X-Auth-Token": body["auth_token"]}) is None


def test_a_login_storm_is_throttled_per_account_and_per_source(auth_fn, world, monkeypatch):
    monkeypatch.setenv("LOGIN_FAILURES_PER_ACCOUNT", "3")
    monkeypatch.setenv("LOGIN_FAILURES_PER_SOURCE", "5")
    wiring.reset()
    wiring.logins().set_password(world.child_admin.account_id, "frank", "password for frank")
    good = {"credentials": digest("frank", "password for frank"), "account_name": "Child"}
    bad = {"credentials": digest("frank", "guess"), "account_name": "Child"}
    statuses = [login(auth_fn, "/v2/user_auth", bad, source=f"203.0.113.{n}")[0] for n in range(3)]
    assert statuses == [401, 401, 401]
    status, body, headers = login(auth_fn, "/v2/user_auth", good, source="203.0.113.99")
    assert (status, body["message"]) == (429, "too_many_requests")
    assert int(headers["Retry-After"]) > 0
    # one source trying many accounts is stopped too
    for n in range(5):
        assert login(auth_fn, "/v2/user_auth", {**bad, "account_name": f"acct {n}"}, source="192.0.2.1")[0] == 401
    assert login(auth_fn, "/v2/user_auth", {**bad, "account_name": "Stranger"}, source="192.0.2.1")[0] == 429


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        '{"data": []}',
        '{"data": null}',
        "{}",
        '{"data": {"credentials": "zz", "account_name": "Child"}}',
        '{"data": {"credentials": "' + "a" * 32 + '"}}',
        '{"data": {"credentials": "' + "a" * 32 + '", "account_name": null}}',
        '{"data": {"credentials": "' + "a" * 32 + '", "account_name": "Child", "method": "sha"}}',
        '{"data": {"credentials": "' + "a" * 32 + '", "account_name": "Child", "method": "rot13"}}',
        '{"data": {"credentials": ' + "1" * 40 + ', "account_name": "Child"}}',
    ],
)
def test_malformed_user_auth_is_a_400(auth_fn, world, raw):
    status, body, _ = call(auth_fn, rest_event("PUT", "/v2/user_auth", None, raw_body=raw))
    assert status == 400, body
    assert body["status"] == "error"


@pytest.mark.parametrize("raw", ["[]", '{"data": {}}', '{"data": {"api_key": null}}', '{"data": {"api_key": 7}}'])
def test_malformed_api_auth_is_a_400(auth_fn, world, raw):
    status, body, _ = call(auth_fn, rest_event("PUT", "/v2/api_auth", None, raw_body=raw))
    assert status == 400, body


def test_token_auth_with_a_permanent_key_is_not_a_session(auth_fn, world):
    admin = world.child_admin
    status, _, _ = call(
        auth_fn, rest_event("DELETE", "/v2/token_auth", admin.context, headers={"X-Auth-Token": admin.token})
    )
    assert status == 401
