"""Expeto notifications (seed 004): /v1/notifications, one notification by hash, marking it consumed,
and every search under /v1/notifications/search."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from switchboard.dialects import cors, expeto
from switchboard.dialects.http import caller
from switchboard.errors import InvalidInput, NotFound
from switchboard.lazy import lazy_import

if TYPE_CHECKING:
    from switchboard import wiring
    from switchboard.usage import models, service
else:
    # The domain (pydantic, boto3) loads with the first request; see switchboard.lazy.
    wiring = lazy_import("switchboard.wiring")
    models = lazy_import("switchboard.usage.models")
    service = lazy_import("switchboard.usage.service")


logger = Logger()
app = APIGatewayRestResolver(cors=cors.config(), strip_prefixes=[expeto.PREFIX])
expeto.install(app)
BASE = "/notifications"
SEARCH_NAMES = (
    "findByHash",
    "findByConsumed",
    "findBySystem",
    "findBySystemAndConsumed",
    "findBySubscriber",
    "findBySubscriberAndConsumed",
    "findByDeepSearch",
)


@app.get(BASE)
def list_notifications() -> Response:
    page, size, ascending = expeto.paging(app)
    notes, total = wiring.usage_notifications().list(caller(app), expeto.account(app), None, {}, ascending, page, size)
    return expeto.collection(app, "notifications", [expeto.notification(n) for n in notes], total, page, size)


@app.get(f"{BASE}/search")
def list_searches() -> Response:
    """The searches as Spring Data REST lists them: templated links naming their parameters."""
    links: dict[str, Any] = {
        name: {
            "href": f"{expeto.PREFIX}{BASE}/search/{name}{{?{','.join(service.SEARCHES[name])},page,size,sort}}",
            "templated": True,
        }
        for name in SEARCH_NAMES
    }
    links["self"] = expeto.link(f"{expeto.PREFIX}{BASE}/search")
    return expeto.reply({"_links": links})


@app.get(f"{BASE}/search/<name>")
def search(name: str) -> Response:
    if name not in SEARCH_NAMES:
        raise NotFound(name, "search")
    params = search_parameters(name)
    page, size, ascending = expeto.paging(app)
    notes, total = wiring.usage_notifications().list(
        caller(app), expeto.account(app), name, params, ascending, page, size
    )
    return expeto.collection(app, "notifications", [expeto.notification(n) for n in notes], total, page, size)


def search_parameters(name: str) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for parameter in service.SEARCHES[name]:
        if parameter == "consumed":
            params["consumed"] = expeto.boolean(app, "consumed")
            continue
        value = expeto.required(app, parameter)
        if parameter == "subscriber" and not re.fullmatch(models.IMSI_PATTERN, value):
            raise InvalidInput.single("subscriber", "pattern", "subscriber must be an IMSI (14 or 15 digits)", value)
        if parameter == "hash" and not service.HASH_PATTERN.fullmatch(value):
            raise InvalidInput.single("hash", "pattern", "hash must be 64 hexadecimal characters", value)
        if parameter in ("system", "query") and len(value) > 128:
            raise InvalidInput.single(parameter, "maxLength", f"{parameter} is at most 128 characters", value)
        params[parameter] = value
    return params


@app.get(f"{BASE}/<hash_>")
def get_notification(hash_: str) -> Response:
    return expeto.reply(expeto.notification(wiring.usage_notifications().get(caller(app), expeto.account(app), hash_)))


@app.patch(f"{BASE}/<hash_>")
def patch_notification(hash_: str) -> Response:
    change = expeto.body(app, models.ConsumedPatch)
    note = wiring.usage_notifications().set_consumed(caller(app), expeto.account(app), hash_, change.consumed)
    return expeto.reply(expeto.notification(note))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
