"""AirVantage alert rule hooks: /api/v1/alerts/rules/{uid}/hooks (seed 001), and the rotation of a hook's
signing secret, POST .../hooks/{hookUid}/secret (docs/rules.md). Codes: switchboard.rules.hooks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from switchboard.dialects import airvantage, cors
from switchboard.dialects.http import caller
from switchboard.lazy import lazy_import

if TYPE_CHECKING:
    from switchboard import wiring
else:
    # The domain (pydantic, boto3) loads with the first request; see switchboard.lazy.
    wiring = lazy_import("switchboard.wiring")


logger = Logger()
app = APIGatewayRestResolver(cors=cors.config(), strip_prefixes=[airvantage.PREFIX])
airvantage.install(app)
BASE = "/v1/alerts/rules/<uid>/hooks"

# The replies that show a hook's signing secret, for the OpenAPI document (tools/openapi.py).
_SECRET = {"type": "string", "pattern": "^whsec_", "description": "Standard Webhooks secret, shown this once"}
_CREATED = {
    "type": "object",
    "required": ["uid", "callback", "signingSecret"],
    "properties": {"uid": {"type": "string"}, "callback": {"type": "string"}, "signingSecret": _SECRET},
}
_ROTATED = {
    "type": "object",
    "required": ["uid", "signingSecret", "previousSecretExpirationDate"],
    "properties": {
        "uid": {"type": "string"},
        "signingSecret": _SECRET,
        "previousSecretExpirationDate": {
            "type": ["integer", "null"],
            "description": "epoch ms until which callbacks also carry the previous secret's signature",
        },
    },
}


def _reply(description: str, schema: dict) -> dict:
    return {200: {"description": description, "content": {"application/json": {"schema": schema}}}}


@app.post(BASE, responses=_reply("The new hook, with its signing secret", _CREATED))
def create_hook(uid: str) -> Response:
    """Add a hook to a rule

    The reply shows the hook's Standard Webhooks signing secret this once (`signingSecret`); callbacks
    carry `webhook-id`, `webhook-timestamp` and `webhook-signature` (docs/rules.md)."""
    data = airvantage.json_body(app)
    return airvantage.reply(wiring.hooks().create(caller(app), airvantage.company(app), uid, data).wire())


@app.get(BASE)
def list_hooks(uid: str) -> Response:
    hooks = wiring.hooks().list(caller(app), airvantage.company(app), uid)
    return airvantage.reply([hook.wire() for hook in hooks])


@app.delete(f"{BASE}/<hook_uid>")
def delete_hook(uid: str, hook_uid: str) -> Response:
    wiring.hooks().delete(caller(app), airvantage.company(app), uid, hook_uid)
    # The seed answers 200 with an empty body (Content-Length: 0).
    return Response(status_code=200, body="")


@app.post(f"{BASE}/<hook_uid>/secret", responses=_reply("The hook's new signing secret", _ROTATED))
def rotate_secret(uid: str, hook_uid: str) -> Response:
    """Rotate a hook's signing secret

    No body (or `{}`). The new secret is shown this once; for 24 hours callbacks carry the previous
    secret's signature beside the new one's (docs/rules.md)."""
    data = airvantage.json_body(app)
    rotated = wiring.hooks().rotate_secret(caller(app), airvantage.company(app), uid, hook_uid, data)
    return airvantage.reply(rotated.wire())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
