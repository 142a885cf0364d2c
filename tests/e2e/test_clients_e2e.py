"""Third-party KAZOO clients, unchanged, against `switchboard local`.

`kazoo-sdk` (kazoo.Client) and `pykazoo` (PyKazooClient) log in with an account API key and with
a username and password, then create, list, read and delete alerts through their own request
machinery. When the session is revoked, kazoo-sdk's 401 handling logs in again by itself.
"""

from __future__ import annotations

from typing import Any

import kazoo
import pytest
import requests
from kazoo.request_objects import KazooRequest
from pykazoo.client import PyKazooClient
from switchboard_local.runtime import LocalRuntime

from tests.e2e.conftest import Principal, create_account, run_cli

pytestmark = pytest.mark.e2e

PASSWORD = "a phrase nobody guesses"


def alert_data(account_id: str) -> dict[str, Any]:
    return {
        "title": "Provisioning Error",
        "message": "Error trying to provision device",
        "from": [{"type": "account", "value": account_id}],
        "to": [{"type": "admins", "value": account_id}],
    }


@pytest.fixture(scope="module")
def tenant(runtime: LocalRuntime) -> Principal:
    return create_account(runtime, "Client Tenant")


@pytest.fixture(scope="module")
def api_key(runtime: LocalRuntime, tenant: Principal) -> str:
    response = requests.put(
        f"{runtime.api_url}/v2/accounts/{tenant.account_id}/api_key",
        headers={"X-Auth-Token": tenant.token},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]["api_key"]


@pytest.fixture(scope="module")
def username(runtime: LocalRuntime, tenant: Principal) -> str:
    printed = run_cli(
        runtime,
        "users",
        "set-password",
        "--account",
        tenant.account_id,
        "--username",
        "ops",
        "--password",
        PASSWORD,
        "--admin",
    )
    assert printed["username"] == "ops"
    return "ops"


def sdk_alerts(client: kazoo.Client, account_id: str) -> tuple[dict, dict, dict, dict]:
    """Create, list, read and delete one alert through kazoo-sdk's KazooRequest machinery."""
    collection = "/accounts/{account_id}/alerts"
    created = client._execute_request(
        KazooRequest(collection, method="put"), account_id=account_id, data=alert_data(account_id)
    )
    alert_id = created["data"]["id"]
    listed = client._execute_request(KazooRequest(collection), account_id=account_id)
    one = collection + "/{alert_id}"
    read = client._execute_request(KazooRequest(one), account_id=account_id, alert_id=alert_id)
    deleted = client._execute_request(KazooRequest(one, method="delete"), account_id=account_id, alert_id=alert_id)
    return created, listed, read, deleted


@pytest.mark.parametrize("login", ["api_key", "password"])
def test_kazoo_sdk_logs_in_and_manages_alerts(
    runtime: LocalRuntime, tenant: Principal, api_key: str, username: str, login: str
) -> None:
    base = f"{runtime.api_url}/v2"
    if login == "api_key":
        client = kazoo.Client(api_key=api_key, base_url=base)
    else:
        client = kazoo.Client(username=username, password=PASSWORD, account_name="Client Tenant", base_url=base)
    token = client.authenticate()
    assert token.startswith("sbs_")
    assert client.auth_data["data"]["account_id"] == tenant.account_id
    created, listed, read, deleted = sdk_alerts(client, tenant.account_id)
    assert created["status"] == "success" and created["auth_token"] == token
    assert created["data"]["id"] in [item["id"] for item in listed["data"]]
    assert read["data"]["title"] == "Provisioning Error"
    assert deleted["data"]["_read_only"]["deleted"] is True


def test_kazoo_sdk_logs_in_again_when_its_session_is_revoked(
    runtime: LocalRuntime, tenant: Principal, api_key: str
) -> None:
    client = kazoo.Client(api_key=api_key, base_url=f"{runtime.api_url}/v2")
    first = client.authenticate()
    logout = requests.delete(f"{runtime.api_url}/v2/token_auth", headers={"X-Auth-Token": first}, timeout=30)
    assert logout.status_code == 200, logout.text
    assert (
        requests.get(f"{runtime.api_url}/v2/token_auth", headers={"X-Auth-Token": first}, timeout=30).status_code == 401
    )
    listed = client._execute_request(KazooRequest("/accounts/{account_id}/alerts"), account_id=tenant.account_id)
    assert listed["status"] == "success"
    assert client.auth_token != first and client.auth_token.startswith("sbs_")


def test_kazoo_sdk_wrong_password_is_its_authentication_error(runtime: LocalRuntime, username: str) -> None:
    from kazoo.exceptions import KazooApiAuthenticationError

    client = kazoo.Client(
        username=username, password="wrong", account_name="Client Tenant", base_url=f"{runtime.api_url}/v2"
    )
    with pytest.raises(KazooApiAuthenticationError):
        client.authenticate()


@pytest.mark.parametrize("login", ["api_key", "password"])
def test_pykazoo_logs_in_and_manages_alerts(
    runtime: LocalRuntime, tenant: Principal, api_key: str, username: str, login: str
) -> None:
    client = PyKazooClient(f"{runtime.api_url}/v2")
    if login == "api_key":
        auth = client.authentication.api_auth(api_key)
    else:
        auth = client.authentication.user_auth(username, PASSWORD, "Client Tenant")
    assert auth["auth_token"].startswith("sbs_")
    assert client.authentication.account_id == tenant.account_id
    rest = client._rest_request
    path = f"accounts/{tenant.account_id}/alerts"
    created = rest.put(path, {"data": alert_data(tenant.account_id)})
    alert_id = created["data"]["id"]
    assert alert_id in [item["id"] for item in rest.get(path)["data"]]
    assert rest.get(f"{path}/{alert_id}")["data"]["id"] == alert_id
    assert rest.delete(f"{path}/{alert_id}")["data"]["_read_only"]["deleted"] is True
    # a revoked session is refused (pykazoo raises PermissionError on a 401); a new login works
    rest.delete("token_auth")
    with pytest.raises(PermissionError):
        rest.get(path)
    client.authentication.api_auth(api_key)
    assert rest.get(path)["status"] == "success"


def test_the_session_token_also_works_as_the_auth_token_parameter(
    runtime: LocalRuntime, tenant: Principal, api_key: str
) -> None:
    login = requests.put(f"{runtime.api_url}/v2/api_auth", json={"data": {"api_key": api_key}}, timeout=30)
    assert login.status_code == 201, login.text
    token = login.json()["auth_token"]
    url = f"{runtime.api_url}/v2/accounts/{tenant.account_id}/alerts"
    assert requests.get(url, params={"auth_token": token}, timeout=30).status_code == 200
    assert requests.get(url, params={"auth_token": "sbs_unknown"}, timeout=30).status_code == 401
