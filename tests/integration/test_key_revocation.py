"""Revoking API keys: `switchboard tokens revoke KEY|KEY_ID` and the Crossbar API
(GET/DELETE /v2/accounts/{id}/api_keys[/{key_id}]); a revoked key is refused by the authorizer within its
cache time (CACHE_SECONDS, the documented bound), measured here."""

from __future__ import annotations

import time

import pytest
from switchboard.accounts.repository import AccountsRepository
from switchboard.accounts.service import AccountService
from switchboard.errors import NotFound

from tests.integration.test_authorizer import authorizer_event
from tests.support import LambdaContext, call, load_function, rest_event


def allowed(authorizer, token: str) -> bool:
    try:
        authorizer.lambda_handler(authorizer_event({"X-Auth-Token": token}), LambdaContext())
    except Exception as exc:
        assert str(exc) == "Unauthorized"
        return False
    return True


def keys_path(account_id: str, key_id: str | None = None) -> str:
    return f"/v2/accounts/{account_id}/api_keys" + (f"/{key_id}" if key_id else "")


def test_tokens_create_prints_a_key_id_and_revoke_takes_the_key_or_its_id(aws, world):
    accounts: AccountService = world.accounts
    issued = accounts.issue_token(world.child_admin.account_id)
    assert issued.key_id and len(issued.key_id) == 16
    assert accounts.resolve(issued.token) is not None
    revoked = accounts.revoke(issued.key_id)
    assert revoked.key_id == issued.key_id and accounts.resolve(issued.token) is None
    other = accounts.issue_token(world.child_admin.account_id)
    accounts.revoke(other.token)
    assert accounts.resolve(other.token) is None
    with pytest.raises(NotFound):
        accounts.revoke(other.key_id or "")
    assert accounts.resolve(world.child_admin.token) is not None  # the others' keys are untouched


def test_the_api_lists_and_revokes_an_accounts_keys_admins_only_strangers_404(aws, world):
    fn = load_function("api_keys")
    child, reseller, stranger = world.child_admin, world.reseller_admin, world.stranger_admin
    status, body, _ = call(fn, rest_event("GET", keys_path(child.account_id), child.context))
    assert status == 200, body
    listed = {key["id"]: key for key in body["data"]}
    mine = child.token
    assert len(listed) == 3  # the admin's and the two users' keys (conftest's world)
    assert all(
        set(key) == {"id", "account_id", "owner_id", "priv_level", "operator", "created"} for key in listed.values()
    )
    assert mine not in str(body)
    user_key = next(key for key in listed.values() if key["owner_id"] == world.child_user.user_id)
    # a plain user may not; a stranger does not see the account; the reseller's admin may
    status, body, _ = call(fn, rest_event("GET", keys_path(child.account_id), world.child_user.context))
    assert status == 403, body
    for method, path in (("GET", keys_path(child.account_id)), ("DELETE", keys_path(child.account_id, user_key["id"]))):
        status, body, _ = call(fn, rest_event(method, path, stranger.context))
        assert status == 404, body
    status, body, _ = call(fn, rest_event("DELETE", keys_path(child.account_id, user_key["id"]), reseller.context))
    assert status == 200 and body["data"]["id"] == user_key["id"], body
    assert world.accounts.resolve(world.child_user.token) is None
    status, body, _ = call(fn, rest_event("DELETE", keys_path(child.account_id, user_key["id"]), reseller.context))
    assert status == 404, body
    # a key of another account named under this one: 404, untouched
    stranger_key = world.accounts.issue_token(stranger.account_id)
    status, body, _ = call(fn, rest_event("DELETE", keys_path(child.account_id, stranger_key.key_id), child.context))
    assert status == 404 and world.accounts.resolve(stranger_key.token) is not None


def test_a_revoked_key_is_refused_within_the_documented_bound(aws, world):
    authorizer = load_function("authorizer")
    accounts = AccountService(AccountsRepository(aws["ACCOUNTS_TABLE"]))
    issued = accounts.issue_token(world.child_admin.account_id)
    assert allowed(authorizer, issued.token)  # resolved and now cached in this container
    accounts.revoke(issued.key_id or "")
    revoked_at = time.monotonic()
    while allowed(authorizer, issued.token):
        assert time.monotonic() - revoked_at < authorizer.CACHE_SECONDS + 2.0, "a revoked key still works"
        time.sleep(0.1)
    took = time.monotonic() - revoked_at
    assert took <= authorizer.CACHE_SECONDS + 0.5, took
    assert authorizer.CACHE_SECONDS <= 5.0  # the bound docs/tenancy.md promises


def _cli(monkeypatch, aws, *argv: str) -> int:
    import argparse

    from switchboard_local import admin

    monkeypatch.setattr(admin, "table_name", lambda stack, output: aws["ACCOUNTS_TABLE"])
    parser = argparse.ArgumentParser()
    admin.register(parser.add_subparsers())
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_the_cli_prints_a_key_id_and_revokes_by_key_or_key_id(monkeypatch, aws, world, capsys):
    import json

    account = world.child_admin.account_id
    assert _cli(monkeypatch, aws, "tokens", "create", "--account", account) == 0
    first = json.loads(capsys.readouterr().out)
    assert _cli(monkeypatch, aws, "tokens", "create", "--account", account) == 0
    second = json.loads(capsys.readouterr().out)
    assert len(first["key_id"]) == 16 and world.accounts.resolve(first["token"]) is not None
    assert _cli(monkeypatch, aws, "tokens", "revoke", first["key_id"]) == 0
    assert json.loads(capsys.readouterr().out)["revoked"] == first["key_id"]
    assert _cli(monkeypatch, aws, "tokens", "revoke", second["token"]) == 0
    assert json.loads(capsys.readouterr().out)["revoked"] == second["key_id"]
    assert world.accounts.resolve(first["token"]) is None and world.accounts.resolve(second["token"]) is None
    assert _cli(monkeypatch, aws, "tokens", "revoke", first["key_id"]) == 1  # already revoked
    assert _cli(monkeypatch, aws, "tokens", "revoke", "nonsense") == 1
    assert world.accounts.resolve(world.child_admin.token) is not None
