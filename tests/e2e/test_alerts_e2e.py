"""The KAZOO alerts API end to end: real HTTP against `switchboard local`, keys from the real CLI.

Everything goes through the emulated API Gateway (REQUEST authorizer, gateway responses) into
the AlertsFunction worker and the emulated DynamoDB, as a Crossbar client would see it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from switchboard_local.runtime import LocalRuntime

from tests.e2e.conftest import Principal, RuntimeLog, World, create_account, create_token, too_large
from tests.seed_bodies import crossbar_alert as seed_body

pytestmark = pytest.mark.e2e

STAGE = "dev"  # template.yaml's Stage default: the API answers with and without /dev
TIMEOUT = 30


# ---------------------------------------------------------------- helpers


class Api:
    """A Crossbar client of the running runtime."""

    def __init__(self, rt: LocalRuntime, log: RuntimeLog) -> None:
        self.base = rt.api_url
        self.log = log
        self.http = requests.Session()

    def request(
        self,
        method: str,
        path: str,
        who: Principal | str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        sent = dict(headers or {})
        if who is not None:
            sent["X-Auth-Token"] = who if isinstance(who, str) else who.token
        response = self.http.request(method, self.base + path, headers=sent, timeout=TIMEOUT, **kwargs)
        if response.status_code >= 500:  # never expected: show what the runtime said
            pytest.fail(f"{method} {path} -> {response.status_code} {response.text}\n{self.log.tail()}")
        return response

    def create(self, who: Principal, account_id: str, body: Any = None, *, prefix: str = "") -> dict[str, Any]:
        response = self.request("PUT", f"{prefix}{alerts(account_id)}", who, json=body or seed_body(account_id))
        assert response.status_code == 201, response.text
        return response.json()["data"]

    def ids(self, who: Principal, account_id: str, **params: str) -> list[str]:
        response = self.request("GET", alerts(account_id), who, params={"paginate": "false", **params})
        assert response.status_code == 200, response.text
        return [row["id"] for row in response.json()["data"]]


def alerts(account_id: str, alert_id: str | None = None) -> str:
    return f"/v2/accounts/{account_id}/alerts" + (f"/{alert_id}" if alert_id else "")


def assert_crossbar_error(response: requests.Response, status: int, message: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "error" and body["error"] == str(status) and body["message"] == message, body
    assert response.headers["Content-Type"].startswith("application/json")
    return body


def assert_bad_identifier(response: requests.Response, cause: str) -> None:
    body = assert_crossbar_error(response, 404, "bad_identifier")
    assert body["data"] == {"cause": cause, "message": "bad identifier"}


def alerts_table_items(rt: LocalRuntime) -> int:
    """Every item of the emulated AlertsTable: what a write that should not happen would change."""
    client = boto3.client(
        "dynamodb",
        endpoint_url=rt.emulator_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    table = rt.outputs["AlertsTableName"]
    return client.scan(TableName=table, Select="COUNT", ConsistentRead=True)["Count"]


@pytest.fixture(scope="module")
def api(runtime: LocalRuntime, runtime_log: RuntimeLog) -> Iterator[Api]:
    client = Api(runtime, runtime_log)
    yield client
    client.http.close()


@pytest.fixture
def fresh(runtime: LocalRuntime) -> Principal:
    """A new account of its own (admin key), so exact list contents can be asserted."""
    return create_account(runtime, "Fresh Account")


# ---------------------------------------------------------------- the seed's curl examples


def test_seed_round_trip(api: Api, fresh: Principal) -> None:
    account = fresh.account_id
    # PUT /v2/accounts/{ACCOUNT_ID}/alerts with the seed's body: 201, Location, the envelope.
    body = seed_body(account)
    response = api.request("PUT", alerts(account), fresh, data=json.dumps(body))
    assert response.status_code == 201, response.text
    reply = response.json()
    alert = reply["data"]
    alert_id = alert["id"]
    assert len(alert_id) == 32 and int(alert_id, 16) >= 0
    assert response.headers["Location"] == alerts(account, alert_id)
    assert reply["status"] == "success" and reply["auth_token"] == fresh.token
    assert len(reply["request_id"]) == 32 and response.headers["X-Request-ID"] == reply["request_id"]
    assert reply["revision"].startswith("1-")
    for key in ("title", "message", "from", "to"):
        assert alert[key] == body["data"][key]
    assert alert["level"] == "info" and alert["clearable"] is True and isinstance(alert["created"], int)
    assert None not in alert.values()  # undefined values are omitted, never null

    # GET the list: view rows id / key / value / clearable.
    response = api.request("GET", alerts(account), fresh)
    assert response.status_code == 200, response.text
    listing = response.json()
    assert listing["status"] == "success" and listing["revision"] == "automatic"
    assert listing["auth_token"] == fresh.token and len(listing["request_id"]) == 32
    assert "next_start_key" not in listing
    [row] = listing["data"]
    assert set(row) == {"id", "key", "value", "clearable"}
    assert row["id"] == alert_id and row["key"] == ["admins", account] and row["clearable"] is True
    assert row["value"]["id"] == alert_id and row["value"]["title"] == "Provisioning Error"
    assert row["value"]["message"] == "Error trying to provision device"
    assert row["value"]["from"] == [{"type": "account", "value": account}]

    # GET one.
    response = api.request("GET", alerts(account, alert_id), fresh)
    assert response.status_code == 200, response.text
    one = response.json()
    assert one["status"] == "success" and one["revision"] == reply["revision"]
    assert one["data"] == alert

    # DELETE: 200 with the alert, marked deleted.
    response = api.request("DELETE", alerts(account, alert_id), fresh)
    assert response.status_code == 200, response.text
    deleted = response.json()
    assert deleted["status"] == "success"
    assert deleted["data"]["id"] == alert_id and deleted["data"]["_read_only"] == {"deleted": True}

    # Gone afterwards, from the list and by id, and a second DELETE finds nothing.
    assert api.ids(fresh, account) == []
    assert_bad_identifier(api.request("GET", alerts(account, alert_id), fresh), alert_id)
    assert_bad_identifier(api.request("DELETE", alerts(account, alert_id), fresh), alert_id)


def test_request_id_header_is_echoed(api: Api, fresh: Principal) -> None:
    response = api.request("GET", alerts(fresh.account_id), fresh, headers={"X-Request-ID": "req-42"})
    assert response.status_code == 200
    assert response.json()["request_id"] == "req-42" and response.headers["X-Request-ID"] == "req-42"


def test_everything_also_answers_under_the_stage_prefix(api: Api, fresh: Principal) -> None:
    account, prefix = fresh.account_id, f"/{STAGE}"
    response = api.request("PUT", prefix + alerts(account), fresh, json=seed_body(account))
    assert response.status_code == 201, response.text
    alert_id = response.json()["data"]["id"]
    assert response.headers["Location"] == alerts(account, alert_id)

    response = api.request("GET", prefix + alerts(account), fresh)
    assert response.status_code == 200
    assert [(r["id"], r["key"]) for r in response.json()["data"]] == [(alert_id, ["admins", account])]
    response = api.request("GET", prefix + alerts(account, alert_id), fresh)
    assert response.status_code == 200 and response.json()["data"]["id"] == alert_id
    response = api.request("DELETE", prefix + alerts(account, alert_id), fresh)
    assert response.status_code == 200 and response.json()["data"]["_read_only"] == {"deleted": True}
    assert_bad_identifier(api.request("GET", prefix + alerts(account, alert_id), fresh), alert_id)
    # The unprefixed path sees the same data.
    assert api.ids(fresh, account) == []


# ---------------------------------------------------------------- keys and the authorizer


@pytest.mark.parametrize(
    "header",
    [
        lambda token: {"X-Auth-Token": token},
        lambda token: {"Authorization": f"Bearer {token}"},
        lambda token: {"X-API-KEY": token},
        lambda token: {"x-api-key": token},
        lambda token: {"authorization": f"bearer {token}"},
    ],
    ids=["x-auth-token", "bearer", "x-api-key", "x-api-key-lower", "bearer-lower"],
)
def test_every_token_header_form_works(api: Api, world: World, header: Any) -> None:
    admin = world.stranger
    headers = header(admin.token)
    response = api.request("PUT", alerts(admin.account_id), headers=headers, json=seed_body(admin.account_id))
    assert response.status_code == 201, response.text
    alert_id = response.json()["data"]["id"]
    assert response.json()["auth_token"] == admin.token
    response = api.request("GET", alerts(admin.account_id), headers=headers)
    assert response.status_code == 200 and alert_id in [row["id"] for row in response.json()["data"]]
    response = api.request("DELETE", alerts(admin.account_id, alert_id), headers=headers)
    assert response.status_code == 200 and response.json()["auth_token"] == admin.token


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Auth-Token": "sbk_unknownunknownunknownunknownunknownunknown"},
        {"Authorization": "Bearer sbk_unknownunknownunknownunknownunknownunknown"},
        {"X-API-KEY": "sbk_unknownunknownunknownunknownunknownunknown"},
        {"X-Auth-Token": ""},
        {"Authorization": "Bearer"},
        "valid key in the Basic scheme",
    ],
    ids=["missing", "unknown-x-auth-token", "unknown-bearer", "unknown-x-api-key", "empty", "bearer-no-key", "basic"],
)
def test_missing_or_unknown_key_is_the_templates_401(
    runtime: LocalRuntime, api: Api, world: World, headers: Any
) -> None:
    if headers == "valid key in the Basic scheme":
        headers = {"Authorization": f"Basic {world.stranger.token}"}
    account = world.stranger.account_id
    before = alerts_table_items(runtime)
    for method, path, body in (
        ("GET", alerts(account), None),
        ("PUT", alerts(account), seed_body(account)),
        ("GET", alerts(account, "0" * 32), None),
        ("DELETE", alerts(account, "0" * 32), None),
        ("GET", f"/{STAGE}{alerts(account)}", None),
    ):
        response = api.request(method, path, headers=headers, json=body)
        assert response.status_code == 401, (method, path, response.text)
        # The body is template.yaml's UNAUTHORIZED gateway response, $context.requestId filled in.
        assert response.json() == {
            "status": "error",
            "error": "401",
            "message": "invalid_credentials",
            "data": {"message": "invalid credentials"},
            "request_id": response.headers["x-amzn-RequestId"],
        }
        assert response.headers["x-amzn-ErrorType"] == "UnauthorizedException"
    assert alerts_table_items(runtime) == before


def test_unknown_route_is_a_crossbar_404(api: Api, world: World) -> None:
    admin = world.stranger
    for method, path in (
        ("GET", f"/v2/accounts/{admin.account_id}/nothing"),
        ("GET", "/v2"),  # the KAZOO API's root: no resource there (the host's "/" is under no API: 403)
    ):
        response = api.request(method, path, admin)
        body = assert_crossbar_error(response, 404, "not_found")
        assert body["data"] == {"message": "no such resource"}


def test_unknown_method_on_a_known_path_is_a_crossbar_405(api: Api, world: World) -> None:
    admin = world.stranger
    response = api.request("POST", alerts(admin.account_id), admin)  # the alerts resource has no POST method
    body = assert_crossbar_error(response, 405, "invalid_method")
    assert response.headers["Allow"] == "GET, PUT"
    assert body["data"]["allowed"] == ["GET", "PUT"]


def test_demo_operator_reaches_every_account(runtime: LocalRuntime, api: Api, world: World) -> None:
    assert runtime.demo is not None
    operator = Principal.of(runtime.demo)
    child = world.child
    alert = api.create(operator, child.account_id)
    assert alert["id"] in api.ids(child, child.account_id)
    assert alert["id"] in api.ids(operator, child.account_id)
    response = api.request("DELETE", alerts(child.account_id, alert["id"]), operator)
    assert response.status_code == 200
    assert alert["id"] not in api.ids(child, child.account_id)


# ---------------------------------------------------------------- bad requests write nothing


def _bad(account: str, change: Any) -> bytes:
    body = seed_body(account)
    change(body["data"])
    return json.dumps(body).encode()


BAD_BODIES: list[tuple[str, Any, str, str]] = [
    ("invalid json", lambda a: b'{"data": {"title": ', "json", "invalid"),
    ("not utf-8", lambda a: b'{"data": "\xff\xfe"}', "json", "invalid"),
    ("no data", lambda a: json.dumps(seed_body(a)["data"]).encode(), "data", "required"),
    ("body is a list", lambda a: b"[1, 2]", "data", "required"),
    ("data is a list", lambda a: b'{"data": [1, 2]}', "data", "type"),
    ("empty body", lambda a: b"", "title", "required"),
    ("title not a string", lambda a: _bad(a, lambda d: d.update(title=5)), "title", "type"),
    ("from not a list", lambda a: _bad(a, lambda d: d.update({"from": "account"})), "from", "type"),
    (
        "expiration not an integer",
        lambda a: _bad(a, lambda d: d.update(expiration_date="abc")),
        "expiration_date",
        "type",
    ),
    ("missing message", lambda a: _bad(a, lambda d: d.pop("message")), "message", "required"),
    ("unknown to[].type", lambda a: _bad(a, lambda d: d["to"][0].update(type="everybody")), "to.0.type", "enum"),
    ("unknown from[].type", lambda a: _bad(a, lambda d: d["from"][0].update(type="robot")), "from.0.type", "enum"),
    ("no recipients", lambda a: _bad(a, lambda d: d.update(to=[])), "to", "minItems"),
    (
        "recipient outside the tree",
        lambda a: _bad(a, lambda d: d["to"][0].update(value="f" * 32)),
        "to.0.value",
        "invalid",
    ),
]


@pytest.mark.parametrize("name, raw, field, code", BAD_BODIES, ids=[case[0] for case in BAD_BODIES])
def test_bad_bodies_are_crossbar_validation_errors_and_write_nothing(
    runtime: LocalRuntime, api: Api, world: World, name: str, raw: Any, field: str, code: str
) -> None:
    admin = world.stranger
    account = admin.account_id
    listed, items = api.ids(admin, account), alerts_table_items(runtime)
    response = api.request("PUT", alerts(account), admin, data=raw(account))
    body = assert_crossbar_error(response, 400, "validation error")
    assert code in body["data"][field], body["data"]
    if name == "invalid json":
        assert body["data"]["json"]["invalid"]["target"] == "body"
    if name == "unknown to[].type":
        detail = body["data"]["to.0.type"]["enum"]
        assert detail["value"] == "everybody" and {"admins", "user", "resellers"} <= set(detail["target"])
    assert api.ids(admin, account) == listed
    assert alerts_table_items(runtime) == items


def _nested(depth: int) -> Any:
    return lambda a: (
        json.dumps(seed_body(a))[:-2].encode() + b', "metadata": {"a": ' + b"[" * depth + b"]" * depth + b"}}}"
    )


HOSTILE_JSON = [
    pytest.param(
        lambda a: b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        id="nesting-past-the-recursion-limit",
    ),
    pytest.param(
        lambda a: b'{"data": {"title": ' + b"9" * 5000 + b"}}",
        id="integer-literal-over-4300-digits",
    ),
    pytest.param(
        lambda a: json.dumps(seed_body(a, expiration_date=10**40)).encode(),
        id="expiration-date-beyond-dynamodb-numbers",
    ),
    pytest.param(
        _nested(5000),
        id="metadata-too-deep-to-serialize",
    ),
    pytest.param(
        lambda a: json.dumps(seed_body(a, metadata={"x": float("nan")})).encode(),
        id="nan-is-not-json",
    ),
]


@pytest.mark.parametrize("raw", HOSTILE_JSON)
def test_hostile_json_is_a_4xx_never_a_500(runtime: LocalRuntime, api: Api, world: World, raw: Any) -> None:
    admin = world.stranger
    account = admin.account_id
    items = alerts_table_items(runtime)
    response = api.http.put(
        api.base + alerts(account), data=raw(account), headers={"X-Auth-Token": admin.token}, timeout=TIMEOUT
    )
    assert 400 <= response.status_code < 500, response.text[:300]
    assert response.json()["status"] == "error"
    assert alerts_table_items(runtime) == items


def test_recipients_in_a_strangers_tree_are_refused(runtime: LocalRuntime, api: Api, world: World) -> None:
    child, stranger = world.child, world.stranger
    items = alerts_table_items(runtime)
    for to in (
        {"type": "admins", "value": stranger.account_id},
        {"type": "all", "value": stranger.account_id},
        {"type": "user", "value": stranger.user_id},
        {"type": "resellers", "value": stranger.account_id},
        {"type": "admins", "value": world.reseller.account_id},  # up the tree is only for `resellers`
    ):
        response = api.request("PUT", alerts(child.account_id), child, json=seed_body(child.account_id, [to]))
        body = assert_crossbar_error(response, 400, "validation error")
        assert "invalid" in body["data"]["to.0.value"], to
    assert alerts_table_items(runtime) == items


def test_body_over_one_mib_is_413_and_writes_nothing(runtime: LocalRuntime, api: Api, world: World) -> None:
    admin = world.stranger
    account = admin.account_id
    listed, items = api.ids(admin, account), alerts_table_items(runtime)
    body = seed_body(account, metadata={"blob": "x" * (1024 * 1024)})
    response = api.request("PUT", alerts(account), admin, json=body)
    reply = assert_crossbar_error(response, 413, "payload_too_large")
    assert "1048576" in reply["data"]["message"]
    assert api.ids(admin, account) == listed
    assert alerts_table_items(runtime) == items


def test_body_over_the_gateway_limit_is_the_templates_413(runtime: LocalRuntime, world: World) -> None:
    status, _, body = too_large(runtime, "PUT", alerts(world.stranger.account_id), world.stranger.token, TIMEOUT)
    assert status == 413, body
    assert body["message"] == "request_too_large" and body["error"] == "413" and body["status"] == "error"


@pytest.mark.parametrize("alert_id", ["0" * 32, "f" * 32, "not-an-id", "x" * 200])
def test_unknown_alert_ids_are_bad_identifier(api: Api, world: World, alert_id: str) -> None:
    admin = world.stranger
    for method in ("GET", "DELETE"):
        assert_bad_identifier(api.request(method, alerts(admin.account_id, alert_id), admin), alert_id)


def test_path_account_of_someone_else_is_bad_identifier(runtime: LocalRuntime, api: Api, world: World) -> None:
    stranger, child = world.stranger, world.child
    items = alerts_table_items(runtime)
    for account in (child.account_id, world.reseller.account_id, "0" * 32, "no-such-account"):
        # Someone else's account answers exactly like one that does not exist.
        assert_bad_identifier(api.request("GET", alerts(account), stranger), account)
        assert_bad_identifier(api.request("PUT", alerts(account), stranger, json=seed_body(account)), account)
        assert_bad_identifier(api.request("GET", alerts(account, "0" * 32), stranger), account)
        assert_bad_identifier(api.request("DELETE", alerts(account, "0" * 32), stranger), account)
    assert alerts_table_items(runtime) == items


def test_plain_user_cannot_create(runtime: LocalRuntime, api: Api, world: World) -> None:
    user = world.child_user
    listed, items = api.ids(world.child, user.account_id), alerts_table_items(runtime)
    for to in ({"type": "user", "value": user.user_id}, {"type": "admins", "value": user.account_id}):
        response = api.request("PUT", alerts(user.account_id), user, json=seed_body(user.account_id, [to]))
        assert_crossbar_error(response, 403, "forbidden")
    assert api.ids(world.child, user.account_id) == listed
    assert alerts_table_items(runtime) == items


def test_expired_alerts_are_hidden_although_the_emulator_keeps_them(api: Api, fresh: Principal) -> None:
    # moto never runs TTL: readers filter expired alerts themselves.
    gregorian_now = int(time.time()) + 62_167_219_200
    expired = api.create(fresh, fresh.account_id, seed_body(fresh.account_id, expiration_date=gregorian_now - 60))
    live = api.create(fresh, fresh.account_id, seed_body(fresh.account_id, expiration_date=gregorian_now + 3600))
    assert api.ids(fresh, fresh.account_id) == [live["id"]]
    assert_bad_identifier(api.request("GET", alerts(fresh.account_id, expired["id"]), fresh), expired["id"])


# ---------------------------------------------------------------- tenants and the reseller tree


def test_reseller_tree_and_strangers(runtime: LocalRuntime, api: Api, world: World) -> None:
    reseller, child, stranger = world.reseller, world.child, world.stranger
    child_user, reseller_user = world.child_user, world.reseller_user
    c = child.account_id

    # The reseller's admin acts on its sub-account: alerts to C's admins, to all of C, to C's user.
    to_admins = api.create(reseller, c)["id"]
    to_all = api.create(reseller, c, seed_body(c, [{"type": "all", "value": c}]))["id"]
    to_user = api.create(reseller, c, seed_body(c, [{"type": "user", "value": child_user.user_id}]))["id"]
    # C's own admin creates one too.
    own = api.create(child, c)["id"]
    mine = {to_admins, to_all, to_user, own}

    # Admins of C and of R see every one of them through C.
    assert mine <= set(api.ids(child, c))
    assert mine <= set(api.ids(reseller, c))
    # C's plain user sees only what is addressed to it or to all of C.
    seen = set(api.ids(child_user, c))
    assert {to_all, to_user} <= seen and not seen & {to_admins, own}
    response = api.request("GET", alerts(c), child_user)
    keys = {tuple(row["key"]) for row in response.json()["data"]}
    assert keys <= {("all", c), ("user", child_user.user_id)}
    assert api.request("GET", alerts(c, to_user), child_user).status_code == 200
    assert_bad_identifier(api.request("GET", alerts(c, to_admins), child_user), to_admins)
    assert_bad_identifier(api.request("DELETE", alerts(c, to_admins), child_user), to_admins)

    # A stranger can neither list, read nor delete C's alerts, through C or through its own account.
    for alert_id in mine:
        assert_bad_identifier(api.request("GET", alerts(c, alert_id), stranger), c)
        assert_bad_identifier(api.request("DELETE", alerts(c, alert_id), stranger), c)
        assert_bad_identifier(api.request("GET", alerts(stranger.account_id, alert_id), stranger), alert_id)
        assert_bad_identifier(api.request("DELETE", alerts(stranger.account_id, alert_id), stranger), alert_id)
    assert_bad_identifier(api.request("GET", alerts(c), stranger), c)
    assert not mine & set(api.ids(stranger, stranger.account_id))

    # Never upwards: C's admin cannot reach R's account, nor C's alerts through it.
    r = reseller.account_id
    assert_bad_identifier(api.request("GET", alerts(r), child), r)
    assert_bad_identifier(api.request("PUT", alerts(r), child, json=seed_body(r)), r)
    assert_bad_identifier(api.request("GET", alerts(r, own), child), r)
    assert_bad_identifier(api.request("DELETE", alerts(r, own), child), r)

    # R's own list is R's account: C's alerts are not in it, nor readable by id through it.
    assert not mine & set(api.ids(reseller, r))
    assert_bad_identifier(api.request("GET", alerts(r, own), reseller), own)

    # A plain user of R stays inside R: C is out of reach.
    assert reseller_user.account_id == r
    assert api.request("GET", alerts(r), reseller_user).status_code == 200
    assert_bad_identifier(api.request("GET", alerts(c), reseller_user), c)
    assert_bad_identifier(api.request("PUT", alerts(c), reseller_user, json=seed_body(c)), c)
    assert_bad_identifier(api.request("GET", alerts(c, to_all), reseller_user), c)
    assert_bad_identifier(api.request("DELETE", alerts(c, to_all), reseller_user), c)

    # Nothing above removed anything.
    assert mine <= set(api.ids(child, c))

    # The sub-account notifies its reseller: R's admins see it, C's list does not hold it.
    up = api.create(child, c, seed_body(c, [{"type": "resellers", "value": r}]))["id"]
    assert up in api.ids(reseller, r) and up not in api.ids(child, c)
    response = api.request("GET", alerts(r), reseller)
    assert ["resellers", r] in [row["key"] for row in response.json()["data"] if row["id"] == up]

    # R's admin clears C's alerts; C's admin clears its own.
    for alert_id in (to_admins, to_all, to_user):
        assert api.request("DELETE", alerts(c, alert_id), reseller).status_code == 200
    assert api.request("DELETE", alerts(c, own), child).status_code == 200
    assert not mine & set(api.ids(child, c))
    assert not mine & set(api.ids(child_user, c))


# ---------------------------------------------------------------- pagination


def test_pagination_walks_every_row_once(runtime: LocalRuntime, api: Api) -> None:
    # A tree of its own: P (reseller) -> Q. Q's admin sees Q's alerts and P's `descendants` alerts,
    # so the walk crosses from one visibility key (query) to the next.
    parent = create_account(runtime, "Paging Reseller", reseller=True)
    child = create_account(runtime, "Paging Customer", parent=parent.account_id)
    q = child.account_id
    created = [api.create(child, q)["id"] for _ in range(4)]
    p = parent.account_id
    created.append(api.create(parent, p, seed_body(p, [{"type": "descendants", "value": p}]))["id"])

    seen: list[str] = []
    start_key: str | None = None
    pages = 0
    while True:
        params = {"page_size": "2", **({"start_key": start_key} if start_key else {})}
        response = api.request("GET", alerts(q), child, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["data"]) <= 2 and body["page_size"] == len(body["data"])
        if start_key:
            assert body["start_key"] == start_key
        seen += [row["id"] for row in body["data"]]
        pages += 1
        assert pages <= 10, "paging does not end"
        start_key = body.get("next_start_key")
        if not start_key:
            break
    assert sorted(seen) == sorted(created) and len(seen) == len(set(seen))
    assert pages >= 3

    response = api.request("GET", alerts(q), child, params={"paginate": "false"})
    assert response.status_code == 200
    body = response.json()
    assert sorted(row["id"] for row in body["data"]) == sorted(created)
    assert "next_start_key" not in body

    # The plain users of Q see P's `descendants` alert, and nothing addressed to Q's admins.
    user = create_token(runtime, q)
    assert api.ids(user, q) == [created[-1]]


@pytest.mark.parametrize(
    "params, field",
    [
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "many"}, "page_size"),
        ({"paginate": "maybe"}, "paginate"),
        ({"start_key": "not-a-cursor"}, "start_key"),
        ({"start_key": "eyJrIjo5OSwic2siOm51bGx9"}, "start_key"),  # {"k":99,"sk":null}
    ],
)
def test_bad_paging_parameters(api: Api, world: World, params: dict[str, str], field: str) -> None:
    admin = world.stranger
    response = api.request("GET", alerts(admin.account_id), admin, params=params)
    body = assert_crossbar_error(response, 400, "validation error")
    assert field in body["data"]
