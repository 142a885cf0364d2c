"""AirVantage OAuth 2: POST /api/oauth/token (form-encoded grants), GET /api/oauth/expire?access_token=.

Grants: `password` (username, password and the API client's id and secret), `client_credentials`
(the client's id and secret, in the form or as HTTP Basic), `refresh_token`. The access token is a
session token (docs/authentication.md); errors carry RFC 6749's codes in the AirVantage shape.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote_plus

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from switchboard.dialects import airvantage, cors, http
from switchboard.lazy import lazy_import

if TYPE_CHECKING:
    from switchboard import wiring
    from switchboard.accounts import logins, models
else:
    # The domain (pydantic, boto3) loads with the first request; see switchboard.lazy.
    wiring = lazy_import("switchboard.wiring")
    logins = lazy_import("switchboard.accounts.logins")
    models = lazy_import("switchboard.accounts.models")


logger = Logger()
metrics = Metrics()
app = APIGatewayRestResolver(cors=cors.config(), strip_prefixes=[airvantage.PREFIX])
airvantage.install(app)

FORM = "application/x-www-form-urlencoded"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _oauth_error(code: str, description: str, status: int = 400, headers: dict[str, str] | None = None) -> Response:
    return airvantage.reply(
        {"error": code, "error_description": description, "errorParameters": [description]},
        status,
        {**NO_STORE, **(headers or {})},
    )


def _form() -> dict[str, str]:
    content_type = (app.current_event.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != FORM:
        raise logins.OAuthError.of("invalid_request", f"the token request must be {FORM}")
    try:
        parsed = parse_qs(http.raw_body(app).decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise logins.OAuthError.of("invalid_request", "the form is not UTF-8") from None
    if any(len(values) > 1 for values in parsed.values()):
        raise logins.OAuthError.of("invalid_request", "a parameter is repeated")
    return {name: values[0] for name, values in parsed.items()}


def _client(form: dict[str, str]) -> tuple[str | None, str | None]:
    """The client's id and secret: HTTP Basic when given, else the form's."""
    header = app.current_event.headers.get("authorization") or ""
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise logins.OAuthError.of("invalid_client", "malformed Basic credentials", 401) from None
        client_id, _, secret = decoded.partition(":")
        return unquote_plus(client_id), unquote_plus(secret)
    return form.get("client_id") or None, form.get("client_secret") or None


def _required(form: dict[str, str], name: str) -> str:
    value = form.get(name)
    if not value:
        raise logins.OAuthError.of("invalid_request", f"{name} is required")
    if len(value) > 1024:
        raise logins.OAuthError.of("invalid_request", f"{name} is too long")
    return value


def _token_reply(issued: models.IssuedSession) -> Response:
    session = issued.session
    body = {
        "access_token": issued.token,
        "token_type": "bearer",
        "expires_in": max(0, (session.expires_ms - session.created_ms) // 1000),
    }
    if issued.refresh_token:
        body["refresh_token"] = issued.refresh_token
    return airvantage.reply(body, 200, NO_STORE)


@app.post("/oauth/token")
def token() -> Response:
    source = app.current_event.request_context.identity.source_ip or "unknown"
    try:
        form = _form()
        grant = _required(form, "grant_type")
        client_id, client_secret = _client(form)
        service = wiring.oauth()
        if grant == "password":
            if not client_id or not client_secret:
                raise logins.OAuthError.of("invalid_client", "client_id and client_secret are required", 401)
            issued = service.password_grant(
                client_id, client_secret, _required(form, "username"), _required(form, "password"), source
            )
        elif grant == "client_credentials":
            if not client_id or not client_secret:
                raise logins.OAuthError.of("invalid_client", "client_id and client_secret are required", 401)
            issued = service.client_credentials_grant(client_id, client_secret, source)
        elif grant == "refresh_token":
            issued = service.refresh_grant(_required(form, "refresh_token"), client_id, client_secret, source)
        else:
            raise logins.OAuthError.of("unsupported_grant_type", f"grant_type {grant[:64]} is not supported")
    except logins.OAuthError as exc:
        return _oauth_error(exc.code, str(exc), exc.status)
    except logins.TooManyAttempts as exc:
        return _oauth_error("too_many_requests", str(exc), 429, {"Retry-After": str(exc.retry_after_s)})
    metrics.add_metric(name="Logins", unit=MetricUnit.Count, value=1)
    return _token_reply(issued)


@app.get("/oauth/expire")
def expire() -> Response:
    access_token = http.query(app, "access_token") or ""
    if not access_token or len(access_token) > 1024:
        return _oauth_error("invalid_request", "access_token is required")
    wiring.oauth().expire(access_token)  # an unknown token is already expired: the same answer
    return airvantage.reply("success")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
