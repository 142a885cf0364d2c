"""REQUEST authorizer for every dialect: resolves an API key or a session token to the caller.

The key may arrive as `X-Auth-Token` (Crossbar), `Authorization: Bearer` (AirVantage, ESS,
Expeto), `X-API-KEY` (Expeto) or the `auth_token` query parameter (Crossbar). Session tokens
(from a login, docs/authentication.md) are read on every request, never cached, so a revoked or
expired session stops working at once. An unknown or missing key is a 401 from API Gateway; a known
one is allowed on every route, with the caller's identity in the context. Routes decide what
the caller may touch.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from switchboard.accounts.credentials import is_session_token
from switchboard.accounts.keys import hash_token
from switchboard.lazy import lazy_import

if TYPE_CHECKING:
    from switchboard import wiring
else:
    # The domain (pydantic, boto3) loads with the first request; see switchboard.lazy.
    wiring = lazy_import("switchboard.wiring")


logger = Logger()

# API Gateway cannot cache a REQUEST authorizer whose key may sit in one of three headers,
# so a warm container remembers resolved keys briefly (keys are never re-bound, only revoked).
# This is the revocation bound: a revoked key is refused at most CACHE_SECONDS after its item is
# deleted (docs/tenancy.md), at the cost of one GetItem per key per container every CACHE_SECONDS.
CACHE_SECONDS = 5.0
_resolved: dict[str, tuple[float, dict[str, str]]] = {}


def presented_key(event: APIGatewayAuthorizerRequestEvent) -> str | None:
    headers = event.headers  # case-insensitive
    bearer = headers.get("authorization") or ""
    if bearer[:7].lower() == "bearer " and bearer[7:].strip():
        return bearer[7:].strip()
    for header in ("x-auth-token", "x-api-key"):
        value = (headers.get(header) or "").strip()
        if value:
            return value
    query = (event.query_string_parameters or {}).get("auth_token") or ""
    return query.strip() or None


def resolve(token: str) -> dict[str, str] | None:
    """The authorizer context for a key, or None for an unknown key."""
    if is_session_token(token):
        session = wiring.logins().resolve(token)
        return session.to_context() if session else None
    digest = hash_token(token)
    cached = _resolved.get(digest)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    caller = wiring.accounts().resolve(token)
    if caller is None:
        return None
    context = caller.to_context()
    _resolved[digest] = (time.monotonic() + CACHE_SECONDS, context)
    return context


@logger.inject_lambda_context
@event_source(data_class=APIGatewayAuthorizerRequestEvent)
def lambda_handler(event: APIGatewayAuthorizerRequestEvent, context: LambdaContext) -> dict:
    token = presented_key(event)
    identity = resolve(token) if token else None
    if identity is None:
        logger.info("rejected request", reason="missing key" if token is None else "unknown key")
        raise Exception("Unauthorized")  # API Gateway's way to answer 401
    arn = event.parsed_arn
    response = APIGatewayAuthorizerResponse(
        principal_id=identity["user_id"] or identity["account_id"],
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context=identity,
    )
    response.allow_all_routes()
    return response.asdict()
