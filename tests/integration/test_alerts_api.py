"""The Crossbar alerts API on moto: seed examples, visibility, paging, errors, tenancy."""

from __future__ import annotations

import boto3
import pytest
from switchboard import clock, wiring

from tests.seed_bodies import crossbar_alert as seed_alert
from tests.support import call, rest_event


def alerts_path(account_id: str, alert_id: str | None = None) -> str:
    return f"/v2/accounts/{account_id}/alerts" + (f"/{alert_id}" if alert_id else "")


def put_alert(fn, principal, account_id, body):
    return call(
        fn,
        rest_event(
            "PUT", alerts_path(account_id), principal.context, body=body, headers={"X-Auth-Token": principal.token}
        ),
    )


def list_ids(fn, principal, account_id, query=None) -> list[str]:
    status, body, _ = call(fn, rest_event("GET", alerts_path(account_id), principal.context, query=query))
    assert status == 200, body
    return [row["id"] for row in body["data"]]


def item_count(table: str) -> int:
    return boto3.client("dynamodb").scan(TableName=table, Select="COUNT")["Count"]


# ---------------------------------------------------------------- seed round trip


def test_seed_create_list_get_delete_round_trip(alerts_fn, world):
    admin = world.child_admin
    status, body, headers = put_alert(alerts_fn, admin, admin.account_id, seed_alert(admin.account_id))
    assert status == 201
    alert = body["data"]
    assert body["status"] == "success" and body["auth_token"] == admin.token
    assert headers["Location"] == alerts_path(admin.account_id, alert["id"])
    assert alert["title"] == "Provisioning Error" and alert["level"] == "info"
    assert alert["to"] == [{"type": "admins", "value": admin.account_id}]
    assert len(body["request_id"]) == 32 and headers["X-Request-ID"] == body["request_id"]

    status, body, _ = call(alerts_fn, rest_event("GET", alerts_path(admin.account_id), admin.context))
    assert status == 200 and body["revision"] == "automatic"
    [row] = body["data"]
    assert row["id"] == alert["id"]
    assert row["key"] == ["admins", admin.account_id]
    assert row["clearable"] is True
    assert row["value"]["title"] == "Provisioning Error"
    assert row["value"]["from"] == [{"type": "account", "value": admin.account_id}]
    assert "to" not in row["value"] and "next_start_key" not in body

    status, body, _ = call(alerts_fn, rest_event("GET", alerts_path(admin.account_id, alert["id"]), admin.context))
    assert status == 200 and body["data"]["id"] == alert["id"] and body["revision"].startswith("1-")

    status, body, _ = call(alerts_fn, rest_event("DELETE", alerts_path(admin.account_id, alert["id"]), admin.context))
    assert status == 200
    assert body["data"]["_read_only"] == {"deleted": True} and body["data"]["id"] == alert["id"]
    assert list_ids(alerts_fn, admin, admin.account_id) == []
    status, body, _ = call(alerts_fn, rest_event("GET", alerts_path(admin.account_id, alert["id"]), admin.context))
    assert status == 404 and body["message"] == "bad_identifier" and body["data"]["cause"] == alert["id"]


def test_request_id_header_is_echoed(alerts_fn, world):
    admin = world.child_admin
    event = rest_event("GET", alerts_path(admin.account_id), admin.context, headers={"X-Request-ID": "req-42"})
    _, body, headers = call(alerts_fn, event)
    assert body["request_id"] == "req-42" and headers["X-Request-ID"] == "req-42"


# ---------------------------------------------------------------- visibility


def test_plain_user_sees_own_and_all_alerts_but_not_admins(alerts_fn, world):
    admin, user, other = world.child_admin, world.child_user, world.child_user2
    account = admin.account_id
    _, to_admins, _ = put_alert(alerts_fn, admin, account, seed_alert(account))
    _, to_user, _ = put_alert(alerts_fn, admin, account, seed_alert(account, [{"type": "user", "value": user.user_id}]))
    _, to_all, _ = put_alert(alerts_fn, admin, account, seed_alert(account, [{"type": "all", "value": account}]))

    assert set(list_ids(alerts_fn, user, account)) == {to_user["data"]["id"], to_all["data"]["id"]}
    assert set(list_ids(alerts_fn, other, account)) == {to_all["data"]["id"]}
    assert set(list_ids(alerts_fn, admin, account)) == {
        to_admins["data"]["id"],
        to_user["data"]["id"],
        to_all["data"]["id"],
    }
    # a plain user cannot open an alert addressed to the admins
    status, _, _ = call(alerts_fn, rest_event("GET", alerts_path(account, to_admins["data"]["id"]), user.context))
    assert status == 404


def test_plain_user_cannot_create_alerts(alerts_fn, world):
    user = world.child_user
    status, body, _ = put_alert(alerts_fn, user, user.account_id, seed_alert(user.account_id))
    assert status == 403 and body["message"] == "forbidden"


def test_reseller_admins_and_ancestors(alerts_fn, world):
    reseller, child = world.reseller_admin, world.child_admin
    # the sub-account notifies its reseller
    _, to_reseller, _ = put_alert(
        alerts_fn,
        child,
        child.account_id,
        seed_alert(child.account_id, [{"type": "resellers", "value": reseller.account_id}]),
    )
    assert to_reseller["data"]["id"] in list_ids(alerts_fn, reseller, reseller.account_id)
    assert to_reseller["data"]["id"] not in list_ids(alerts_fn, child, child.account_id)
    # the reseller acts on its sub-account and sees what the sub-account's admins see
    _, to_child, _ = put_alert(alerts_fn, reseller, child.account_id, seed_alert(child.account_id))
    assert list_ids(alerts_fn, reseller, child.account_id) == [to_child["data"]["id"]]
    assert list_ids(alerts_fn, child, child.account_id) == [to_child["data"]["id"]]
    # descendants: every user of every sub-account
    _, to_tree, _ = put_alert(
        alerts_fn,
        reseller,
        reseller.account_id,
        seed_alert(reseller.account_id, [{"type": "descendants", "value": reseller.account_id}]),
    )
    assert to_tree["data"]["id"] in list_ids(alerts_fn, world.child_user, child.account_id)


def test_recipients_outside_the_tree_are_refused_and_nothing_written(alerts_fn, world, aws):
    child, stranger = world.child_admin, world.stranger_admin
    before = item_count(aws["ALERTS_TABLE"])
    for to in (
        [{"type": "admins", "value": stranger.account_id}],
        [{"type": "user", "value": stranger.user_id}],
        [{"type": "resellers", "value": stranger.account_id}],
        [{"type": "admins", "value": "not-an-id"}],
    ):
        status, body, _ = put_alert(alerts_fn, child, child.account_id, seed_alert(child.account_id, to))
        assert status == 400, to
        assert "invalid" in body["data"]["to.0.value"]
    assert item_count(aws["ALERTS_TABLE"]) == before


def test_expired_alerts_are_hidden(alerts_fn, world):
    admin = world.child_admin
    past = clock.gregorian_from_ms(clock.now_ms()) - 60
    future = clock.gregorian_from_ms(clock.now_ms()) + 3600
    _, expired, _ = put_alert(alerts_fn, admin, admin.account_id, seed_alert(admin.account_id, expiration_date=past))
    _, live, _ = put_alert(alerts_fn, admin, admin.account_id, seed_alert(admin.account_id, expiration_date=future))
    assert list_ids(alerts_fn, admin, admin.account_id) == [live["data"]["id"]]
    status, _, _ = call(
        alerts_fn, rest_event("GET", alerts_path(admin.account_id, expired["data"]["id"]), admin.context)
    )
    assert status == 404


# ---------------------------------------------------------------- paging


def test_paging_walks_every_visibility_key_without_repeats(alerts_fn, world):
    reseller, user = world.reseller_admin, world.child_user
    account = user.account_id
    expected = set()
    for _ in range(3):
        _, body, _ = put_alert(alerts_fn, reseller, account, seed_alert(account, [{"type": "all", "value": account}]))
        expected.add(body["data"]["id"])
    for _ in range(2):
        _, body, _ = put_alert(
            alerts_fn, reseller, account, seed_alert(account, [{"type": "user", "value": user.user_id}])
        )
        expected.add(body["data"]["id"])
    for _ in range(2):
        _, body, _ = put_alert(
            alerts_fn,
            reseller,
            reseller.account_id,
            seed_alert(reseller.account_id, [{"type": "descendants", "value": reseller.account_id}]),
        )
        expected.add(body["data"]["id"])

    seen, start_key, pages = [], None, 0
    while True:
        query = {"page_size": "2", **({"start_key": start_key} if start_key else {})}
        status, body, _ = call(alerts_fn, rest_event("GET", alerts_path(account), user.context, query=query))
        assert status == 200 and body["page_size"] == len(body["data"]) <= 2
        seen += [row["id"] for row in body["data"]]
        pages += 1
        start_key = body.get("next_start_key")
        if not start_key:
            break
    assert sorted(seen) == sorted(expected) and pages >= 4
    assert sorted(list_ids(alerts_fn, user, account, {"paginate": "false"})) == sorted(expected)


@pytest.mark.parametrize(
    "query, field",
    [
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "ten"}, "page_size"),
        ({"start_key": "garbage!"}, "start_key"),
        ({"start_key": "eyJrIjo5LCJzayI6bnVsbH0"}, "start_key"),  # {"k":9,"sk":null}: out of range
        ({"paginate": "maybe"}, "paginate"),
    ],
)
def test_bad_paging_parameters(alerts_fn, world, query, field):
    admin = world.child_admin
    status, body, _ = call(alerts_fn, rest_event("GET", alerts_path(admin.account_id), admin.context, query=query))
    assert status == 400 and body["message"] == "validation error" and field in body["data"]


# ---------------------------------------------------------------- system alerts, switch


def test_system_alerts_are_not_clearable(alerts_fn, world):
    admin = world.child_admin
    alert = wiring.alerts().raise_system_alert(
        admin.account_id, "Low balance", "Balance below $5", category="low_balance"
    )
    [row] = [r for r in call(alerts_fn, rest_event("GET", alerts_path(admin.account_id), admin.context))[1]["data"]]
    assert row["clearable"] is False
    status, body, _ = call(alerts_fn, rest_event("DELETE", alerts_path(admin.account_id, alert.id), admin.context))
    assert status == 403 and "cannot be cleared" in body["data"]["message"]
    assert wiring.alerts().retire_system_alerts(admin.account_id, "low_balance") == 1
    assert list_ids(alerts_fn, admin, admin.account_id) == []


def test_retiring_system_alerts_reads_every_page(alerts_fn, world, monkeypatch):
    # Pages of two markers stand in for DynamoDB's 1 MB pages: every page is read, not only the first.
    admin = world.child_admin
    for n in range(5):
        wiring.alerts().raise_system_alert(
            admin.account_id, f"Low balance {n}", "Balance below $5", category="low_balance"
        )
    table = wiring.alerts()._alerts._table
    query = table.query
    monkeypatch.setattr(table, "query", lambda **params: query(**{**params, "Limit": 2}))
    assert wiring.alerts().retire_system_alerts(admin.account_id, "low_balance") == 5
    monkeypatch.undo()
    assert list_ids(alerts_fn, admin, admin.account_id) == []


def test_disabled_alert_system_refuses_creation(alerts_fn, world, monkeypatch, aws):

    monkeypatch.setenv("ALERTS_ENABLED", "false")
    wiring.reset()
    admin = world.child_admin
    status, body, _ = put_alert(alerts_fn, admin, admin.account_id, seed_alert(admin.account_id))
    assert status == 400 and body["message"] == "disabled"
    assert wiring.alerts().raise_system_alert(admin.account_id, "t", "m", category="c") is None
    assert item_count(aws["ALERTS_TABLE"]) == 0


# ---------------------------------------------------------------- bad input

BAD_BODIES = [
    ("invalid json", '{"data": {"title": ', "json", "invalid"),
    ("no data", '{"title": "x"}', "data", "required"),
    ("data not an object", '{"data": [1, 2]}', "data", "type"),
    ("body not an object", "[1, 2]", "data", "required"),
    ("wrong type", None, "title", "type"),
    ("unknown enum", None, "to.0.type", "enum"),
    ("missing field", None, "message", "required"),
]


@pytest.mark.parametrize("name, raw, field, code", BAD_BODIES, ids=[case[0] for case in BAD_BODIES])
def test_bad_bodies_get_crossbar_validation_errors_and_write_nothing(alerts_fn, world, aws, name, raw, field, code):
    admin = world.child_admin
    body = seed_alert(admin.account_id)
    if name == "wrong type":
        body["data"]["title"] = ["not", "a", "string"]
    elif name == "unknown enum":
        body["data"]["to"][0]["type"] = "everybody"
    elif name == "missing field":
        del body["data"]["message"]
    event = rest_event("PUT", alerts_path(admin.account_id), admin.context, body=body, raw_body=raw)
    status, reply, _ = call(alerts_fn, event)
    assert status == 400, reply
    assert reply["status"] == "error" and reply["error"] == "400" and reply["message"] == "validation error"
    assert code in reply["data"][field]
    assert item_count(aws["ALERTS_TABLE"]) == 0


def test_oversized_body_is_refused(alerts_fn, world, aws):
    admin = world.child_admin
    body = seed_alert(admin.account_id, category="x")
    body["data"]["metadata"] = {"blob": "x" * (1024 * 1024)}
    status, reply, _ = call(alerts_fn, rest_event("PUT", alerts_path(admin.account_id), admin.context, body=body))
    assert status == 413 and reply["status"] == "error"
    assert item_count(aws["ALERTS_TABLE"]) == 0


def test_empty_body_means_empty_data(alerts_fn, world):
    admin = world.child_admin
    status, reply, _ = call(alerts_fn, rest_event("PUT", alerts_path(admin.account_id), admin.context, raw_body=""))
    assert status == 400 and {"title", "message", "from", "to"} <= set(reply["data"])


@pytest.mark.parametrize("alert_id", ["0" * 32, "not-hex", "x" * 200])
def test_unknown_alert_ids_are_404(alerts_fn, world, alert_id):
    admin = world.child_admin
    for method in ("GET", "DELETE"):
        status, body, _ = call(alerts_fn, rest_event(method, alerts_path(admin.account_id, alert_id), admin.context))
        assert status == 404 and body["message"] == "bad_identifier"


# ---------------------------------------------------------------- tenancy


def test_tenants_never_reach_each_other(alerts_fn, world, aws):
    child, stranger, reseller = world.child_admin, world.stranger_admin, world.reseller_admin
    _, body, _ = put_alert(alerts_fn, child, child.account_id, seed_alert(child.account_id))
    alert_id = body["data"]["id"]
    count = item_count(aws["ALERTS_TABLE"])

    for outsider, path_account in (
        (stranger, child.account_id),  # a stranger through my account
        (child, reseller.account_id),  # a sub-account through its reseller
        (stranger, stranger.account_id),
    ):  # a stranger through its own account
        status, reply, _ = call(alerts_fn, rest_event("GET", alerts_path(path_account), outsider.context))
        assert status == 404 or alert_id not in [row["id"] for row in reply["data"]]
        for method in ("GET", "DELETE"):
            status, reply, _ = call(
                alerts_fn, rest_event(method, alerts_path(path_account, alert_id), outsider.context)
            )
            assert status == 404, (outsider, path_account, method)
    status, reply, _ = put_alert(alerts_fn, stranger, child.account_id, seed_alert(child.account_id))
    assert status == 404 and reply["data"]["cause"] == child.account_id
    assert item_count(aws["ALERTS_TABLE"]) == count
    # a plain user of the reseller cannot reach the sub-account either
    reseller_user = world.accounts.issue_token(reseller.account_id)
    caller = world.accounts.resolve(reseller_user.token)
    status, _, _ = call(alerts_fn, rest_event("GET", alerts_path(child.account_id), caller.to_context()))
    assert status == 404


def test_operator_reaches_every_account(alerts_fn, world):
    child, operator = world.child_admin, world.operator
    _, body, _ = put_alert(alerts_fn, operator, child.account_id, seed_alert(child.account_id))
    assert body["data"]["id"] in list_ids(alerts_fn, child, child.account_id)
    assert list_ids(alerts_fn, operator, child.account_id) == [body["data"]["id"]]


def test_plain_user_clears_only_personal_alerts(alerts_fn, world):
    admin, user = world.child_admin, world.child_user
    account = admin.account_id
    _, shared, _ = put_alert(alerts_fn, admin, account, seed_alert(account, [{"type": "all", "value": account}]))
    _, mine, _ = put_alert(alerts_fn, admin, account, seed_alert(account, [{"type": "user", "value": user.user_id}]))
    status, body, _ = call(alerts_fn, rest_event("DELETE", alerts_path(account, shared["data"]["id"]), user.context))
    assert status == 403 and body["message"] == "forbidden"
    status, _, _ = call(alerts_fn, rest_event("DELETE", alerts_path(account, mine["data"]["id"]), user.context))
    assert status == 200
    assert list_ids(alerts_fn, admin, account) == [shared["data"]["id"]]
