"""KAZOO Crossbar authentication: /v2/api_auth, /v2/user_auth, /v2/token_auth, /v2/accounts/{ID}/api_key.

Logins answer 201 with the KAZOO envelope whose `auth_token` is a new session token
(docs/authentication.md); the token travels as `X-Auth-Token` (or `?auth_token=`) afterwards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from switchboard.dialects import cors, crossbar, http
from switchboard.dialects.http import caller
from switchboard.errors import InvalidInput
from switchboard.lazy import lazy_import

if TYPE_CHECKING:
    from switchboard import clock, wiring
    from switchboard.accounts import credentials, logins, models
else:
    # The domain (pydantic, boto3, argon2) loads with the first request; see switchboard.lazy.
    wiring = lazy_import("switchboard.wiring")
    clock = lazy_import("switchboard.clock")
    credentials = lazy_import("switchboard.accounts.credentials")
    logins = lazy_import("switchboard.accounts.logins")
    models = lazy_import("switchboard.accounts.models")


logger = Logger()
metrics = Metrics()
app = APIGatewayRestResolver(cors=cors.config(), strip_prefixes=[crossbar.PREFIX])
crossbar.install(app)


def _throttled(exc: logins.TooManyAttempts) -> Response:
    headers = {"Retry-After": str(exc.retry_after_s)}
    return crossbar.error(app, 429, "too_many_requests", {"message": str(exc)}, headers)


def _source_ip() -> str:
    return app.current_event.request_context.identity.source_ip or "unknown"


def _session_token() -> str:
    """The token this request came with (header or `?auth_token=`), when it is a session token."""
    token = http.presented_token(app) or http.query(app, "auth_token") or ""
    if not credentials.is_session_token(token.strip()):
        raise logins.InvalidCredentials()
    return token.strip()


def _login_reply(issued: models.IssuedSession) -> Response:
    account = issued.account
    data: dict[str, Any] = {
        "account_id": account.id,
        "account_name": account.name,
        "apps": [],
        "is_reseller": account.is_reseller,
        "language": "en-us",
        "reseller_id": account.id if account.is_reseller else (account.parent_id or account.id),
        "method": issued.session.method,
        "expires": clock.iso_from_ms(issued.session.expires_ms),
    }
    if issued.session.user_id:
        data["owner_id"] = issued.session.user_id
    return crossbar.ok(app, data, status_code=201, auth_token=issued.token)


@app.put("/api_auth")
def api_auth() -> Response:
    data = crossbar.request_data(app, models.ApiAuthInput)
    try:
        issued = wiring.logins().login_with_account_key(data.api_key, _source_ip())
    except logins.TooManyAttempts as exc:
        return _throttled(exc)
    metrics.add_metric(name="Logins", unit=MetricUnit.Count, value=1)
    return _login_reply(issued)


@app.put("/user_auth")
def user_auth() -> Response:
    data = crossbar.request_data(app, models.UserAuthInput)
    body = http.json_body(app)
    top_method = body.get("method") if isinstance(body, dict) else None
    method = data.method or (top_method if top_method in ("md5", "sha") else None)
    if method is None:
        method = "md5" if len(data.credentials) == 32 else "sha"
    if (method == "md5") != (len(data.credentials) == 32):
        raise InvalidInput.single("credentials", "invalid", f"credentials are not a {method} digest")
    if data.account_name is None and data.account_realm is None and data.phone_number is None:
        raise InvalidInput.single(
            "account_name", "required", "one of account_name, account_realm or phone_number is required"
        )
    # Switchboard accounts have names, not SIP realms or numbers: those find no account (the same 401).
    hint = data.account_name or data.account_realm or data.phone_number or ""
    try:
        issued = wiring.logins().login_with_digest(
            data.credentials, method, hint, _source_ip(), by_name=data.account_name is not None
        )
    except logins.TooManyAttempts as exc:
        return _throttled(exc)
    metrics.add_metric(name="Logins", unit=MetricUnit.Count, value=1)
    return _login_reply(issued)


@app.get("/token_auth")
def inspect_token() -> Response:
    issued = wiring.logins().inspect(_session_token())
    session = issued.session
    data: dict[str, Any] = {
        "account_id": session.account_id,
        "method": session.method,
        "created": clock.iso_from_ms(session.created_ms),
        "expires": clock.iso_from_ms(session.expires_ms),
        "is_reseller": issued.account.is_reseller,
    }
    if session.user_id:
        data["owner_id"] = session.user_id
    return crossbar.ok(app, data)


@app.delete("/token_auth")
def logout() -> Response:
    token = _session_token()
    wiring.logins().revoke(token)
    return crossbar.ok(app, {}, auth_token=None)


@app.get("/accounts/<account_id>/api_key")
def get_api_key(account_id: str) -> Response:
    created = wiring.logins().account_key_created_ms(caller(app), account_id)
    data: dict[str, Any] = {"exists": created is not None}
    if created is not None:
        data["created"] = clock.iso_from_ms(created)
    return crossbar.ok(app, data)


@app.put("/accounts/<account_id>/api_key")
def rotate_api_key(account_id: str) -> Response:
    issued = wiring.logins().rotate_account_key(caller(app), account_id)
    return crossbar.ok(
        app, {"api_key": issued.api_key, "created": clock.iso_from_ms(issued.created_ms)}, status_code=201
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
