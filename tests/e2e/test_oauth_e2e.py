"""AirVantage OAuth 2 through `switchboard local`, driven by requests-oauthlib: each grant type gets a
token that lists rules; refresh tokens are single-use; /api/oauth/expire revokes; bad requests get
RFC 6749 codes in the AirVantage shape."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from oauthlib.oauth2 import BackendApplicationClient, InvalidGrantError, LegacyApplicationClient
from requests_oauthlib import OAuth2Session
from switchboard_local.runtime import LocalRuntime

from tests.e2e.conftest import Principal, create_account, run_cli

pytestmark = pytest.mark.e2e

PASSWORD = "an airvantage phrase"


@pytest.fixture(autouse=True)
def plain_http(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the local runtime is http on loopback
    yield


@pytest.fixture(scope="module")
def company(runtime: LocalRuntime) -> Principal:
    tenant = create_account(runtime, "OAuth Company")
    run_cli(
        runtime,
        "users",
        "set-password",
        "--account",
        tenant.account_id,
        "--username",
        "fleet",
        "--password",
        PASSWORD,
        "--admin",
    )
    return tenant


@pytest.fixture(scope="module")
def api_client(runtime: LocalRuntime, company: Principal) -> dict[str, str]:
    printed = run_cli(runtime, "oauth-clients", "create", "--account", company.account_id)
    assert printed["account_id"] == company.account_id and len(printed["client_secret"]) == 64
    return printed


def token_url(runtime: LocalRuntime) -> str:
    return f"{runtime.api_url}/api/oauth/token"


def rules(runtime: LocalRuntime, session: requests.Session) -> requests.Response:
    return session.get(f"{runtime.api_url}/api/v2/alertrules", timeout=30)


def test_password_grant_then_refresh(runtime: LocalRuntime, api_client: dict[str, str]) -> None:
    cid, secret = api_client["client_id"], api_client["client_secret"]
    session = OAuth2Session(client=LegacyApplicationClient(client_id=cid))
    token = session.fetch_token(
        token_url(runtime),
        username="fleet",
        password=PASSWORD,
        client_id=cid,
        client_secret=secret,
        include_client_id=True,
    )
    assert token["token_type"].lower() == "bearer" and token["expires_in"] > 0
    assert token["access_token"].startswith("sbs_") and token["refresh_token"]
    assert rules(runtime, session).status_code == 200
    first_refresh = token["refresh_token"]
    renewed = session.refresh_token(token_url(runtime), client_id=cid, client_secret=secret)
    assert renewed["access_token"] != token["access_token"]
    assert rules(runtime, session).status_code == 200
    # a refresh token works once; the session it came with ends when it is used
    with pytest.raises(InvalidGrantError):
        session.refresh_token(token_url(runtime), refresh_token=first_refresh, client_id=cid, client_secret=secret)
    stale = requests.get(
        f"{runtime.api_url}/api/v2/alertrules", headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=30
    )
    assert stale.status_code == 401


def test_client_credentials_grant(runtime: LocalRuntime, api_client: dict[str, str]) -> None:
    session = OAuth2Session(client=BackendApplicationClient(client_id=api_client["client_id"]))
    token = session.fetch_token(
        token_url(runtime), client_id=api_client["client_id"], client_secret=api_client["client_secret"]
    )  # HTTP Basic client authentication
    assert "refresh_token" not in token
    assert rules(runtime, session).status_code == 200


def test_expire_revokes_the_access_token(runtime: LocalRuntime, api_client: dict[str, str]) -> None:
    session = OAuth2Session(client=BackendApplicationClient(client_id=api_client["client_id"]))
    token = session.fetch_token(
        token_url(runtime), client_id=api_client["client_id"], client_secret=api_client["client_secret"]
    )
    expired = requests.get(
        f"{runtime.api_url}/api/oauth/expire", params={"access_token": token["access_token"]}, timeout=30
    )
    assert expired.status_code == 200
    assert rules(runtime, session).status_code == 401


@pytest.mark.parametrize(
    ("form", "content_type", "basic", "status", "error"),
    [
        ({"grant_type": "magic"}, None, True, 400, "unsupported_grant_type"),
        ({}, None, True, 400, "invalid_request"),
        ({"grant_type": "client_credentials"}, "application/json", True, 400, "invalid_request"),
        ({"grant_type": "client_credentials"}, None, False, 401, "invalid_client"),
        (
            {"grant_type": "client_credentials", "client_id": "0" * 32, "client_secret": "x"},
            None,
            False,
            401,
            "invalid_client",
        ),
        ({"grant_type": "password", "username": "fleet", "password": "wrong"}, None, True, 400, "invalid_grant"),
        ({"grant_type": "password", "username": "nobody", "password": PASSWORD}, None, True, 400, "invalid_grant"),
        ({"grant_type": "refresh_token", "refresh_token": "sbs_unknown"}, None, True, 400, "invalid_grant"),
        ({"grant_type": "password", "username": "fleet"}, None, True, 400, "invalid_request"),
    ],
)
def test_bad_token_requests(runtime: LocalRuntime, api_client, form, content_type, basic, status, error) -> None:
    auth = (api_client["client_id"], api_client["client_secret"]) if basic else None
    headers = {"Content-Type": content_type} if content_type else {}
    response = requests.post(token_url(runtime), data=form, auth=auth, headers=headers, timeout=30)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error and isinstance(body["errorParameters"], list)
    assert response.headers["Cache-Control"] == "no-store"
