"""Expeto subscribers and their data limits: /v1/subscribers, /v1/subscribers/{imsi}."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from switchboard.dialects import cors, expeto
from switchboard.dialects.http import caller
from switchboard.lazy import lazy_import

if TYPE_CHECKING:
    from switchboard import wiring
    from switchboard.usage import models
else:
    # The domain (pydantic, boto3) loads with the first request; see switchboard.lazy.
    wiring = lazy_import("switchboard.wiring")
    models = lazy_import("switchboard.usage.models")


logger = Logger()
app = APIGatewayRestResolver(cors=cors.config(), strip_prefixes=[expeto.PREFIX])
expeto.install(app)
BASE = "/subscribers"


@app.get(BASE)
def list_subscribers() -> Response:
    page, size = expeto.page_and_size(app)
    views, total = wiring.usage_subscribers().list(caller(app), expeto.account(app), page, size)
    return expeto.collection(app, "subscribers", [expeto.subscriber(view) for view in views], total, page, size)


@app.get(f"{BASE}/<imsi>")
def get_subscriber(imsi: str) -> Response:
    return expeto.reply(expeto.subscriber(wiring.usage_subscribers().get(caller(app), expeto.account(app), imsi)))


@app.put(f"{BASE}/<imsi>")
def put_subscriber(imsi: str) -> Response:
    spec = expeto.body(app, models.SubscriberInput)
    view, created = wiring.usage_subscribers().put(caller(app), expeto.account(app), imsi, spec)
    headers = {"Location": f"{expeto.PREFIX}{BASE}/{imsi}"} if created else None
    return expeto.reply(expeto.subscriber(view), 201 if created else 200, headers)


@app.patch(f"{BASE}/<imsi>")
def patch_subscriber(imsi: str) -> Response:
    changes = expeto.body(app, models.SubscriberPatch).model_dump(exclude_unset=True)
    return expeto.reply(
        expeto.subscriber(wiring.usage_subscribers().patch(caller(app), expeto.account(app), imsi, changes))
    )


@app.delete(f"{BASE}/<imsi>")
def delete_subscriber(imsi: str) -> Response:
    wiring.usage_subscribers().delete(caller(app), expeto.account(app), imsi)
    return expeto.no_content()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
