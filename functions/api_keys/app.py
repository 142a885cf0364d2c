"""KAZOO Crossbar API keys of an account: GET /v2/accounts/{account_id}/api_keys lists them (never the
secrets), DELETE /v2/accounts/{account_id}/api_keys/{key_id} revokes one (refused everywhere within the
authorizer's cache time, docs/tenancy.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from switchboard.dialects import cors, crossbar
from switchboard.dialects.http import caller
from switchboard.lazy import lazy_import

if TYPE_CHECKING:
    from switchboard import tenancy, wiring
    from switchboard.accounts.models import ApiKey
else:
    # The domain (pydantic, boto3) loads with the first request; see switchboard.lazy.
    wiring = lazy_import("switchboard.wiring")
    tenancy = lazy_import("switchboard.tenancy")


logger = Logger()
app = APIGatewayRestResolver(cors=cors.config(), strip_prefixes=[crossbar.PREFIX])
crossbar.install(app)


def view(key: ApiKey) -> dict[str, Any]:
    """A key as Crossbar shows it: its id, whose it is, what it may do; never the secret or its hash."""
    return {
        "id": key.key_id,
        "account_id": key.account_id,
        "owner_id": key.user_id,
        "priv_level": key.priv_level,
        "operator": tenancy.OPERATOR_SCOPE in key.scopes,
        "created": key.created_ms // 1000,
    }


@app.get("/accounts/<account_id>/api_keys")
def list_keys(account_id: str) -> Response:
    keys = wiring.accounts().list_keys(caller(app), account_id)
    return crossbar.ok(app, [view(key) for key in keys])


@app.delete("/accounts/<account_id>/api_keys/<key_id>")
def revoke_key(account_id: str, key_id: str) -> Response:
    key = wiring.accounts().revoke_key(caller(app), account_id, key_id)
    logger.info("api key revoked", extra={"account_id": key.account_id, "key_id": key.key_id})
    return crossbar.ok(app, view(key))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
