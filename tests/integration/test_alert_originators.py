"""KAZOO `from` is checked: a caller names only its own account (or one below it) and its own user;
operators may name anyone. Anything else is a 400 validation error on `from`, and nothing is written."""

from __future__ import annotations

from switchboard import ids

from tests.integration.test_alerts_api import alerts_path, item_count, put_alert, seed_alert


def _with_from(account_id: str, originators: list[dict], to: list[dict] | None = None) -> dict:
    body = seed_alert(account_id, to=to)
    body["data"]["from"] = originators
    return body


def test_a_caller_names_its_own_account_a_descendant_and_its_own_user(alerts_fn, world):
    reseller, child = world.reseller_admin, world.child_admin
    own = [{"type": "account", "value": child.account_id}, {"type": "user", "value": child.user_id}]
    status, body, _ = put_alert(alerts_fn, child, child.account_id, _with_from(child.account_id, own))
    assert status == 201, body
    assert body["data"]["from"] == own
    below = [{"type": "account", "value": child.account_id}, {"type": "user", "value": reseller.user_id}]
    status, body, _ = put_alert(alerts_fn, reseller, child.account_id, _with_from(child.account_id, below))
    assert status == 201, body


def test_naming_another_tenant_or_user_is_a_validation_error_on_from(alerts_fn, world, aws):
    child, stranger, reseller = world.child_admin, world.stranger_admin, world.reseller_admin
    before = item_count(aws["ALERTS_TABLE"])
    cases = [
        ([{"type": "account", "value": stranger.account_id}], "from.0.value"),  # another tenant
        ([{"type": "account", "value": reseller.account_id}], "from.0.value"),  # its own reseller (above it)
        ([{"type": "user", "value": world.child_user.user_id}], "from.0.value"),  # a user of its own account
        ([{"type": "user", "value": stranger.user_id}], "from.0.value"),
        ([{"type": "account", "value": ids.new_hex_id()}], "from.0.value"),  # no such account
        ([{"type": "account", "value": child.account_id}, {"type": "user", "value": "x"}], "from.1.value"),
    ]
    for originators, field in cases:
        to = [{"type": "resellers", "value": reseller.account_id}]
        status, body, _ = put_alert(alerts_fn, child, child.account_id, _with_from(child.account_id, originators, to))
        assert status == 400, (originators, body)
        assert body["message"] == "validation error" and field in body["data"], body
        assert body["data"][field]["invalid"]["value"] == originators[-1]["value"]
    assert item_count(aws["ALERTS_TABLE"]) == before


def test_an_operator_may_name_anyone(alerts_fn, world):
    operator, stranger = world.operator, world.stranger_admin
    originators = [{"type": "account", "value": stranger.account_id}, {"type": "user", "value": stranger.user_id}]
    status, body, headers = put_alert(
        alerts_fn, operator, stranger.account_id, _with_from(stranger.account_id, originators)
    )
    assert status == 201, body
    assert headers["Location"].startswith(alerts_path(stranger.account_id))
