"""ESS event deliveries: list, summary, tracking, attempt log, handled deliveries, redelivery."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from switchboard.dialects import cors, ess, http
from switchboard.dialects.http import caller
from switchboard.lazy import lazy_import

if TYPE_CHECKING:
    from switchboard import wiring
    from switchboard.delivery import models
    from switchboard.dialects import validation
else:
    # The domain (pydantic, boto3) loads with the first request; see switchboard.lazy.
    wiring = lazy_import("switchboard.wiring")
    models = lazy_import("switchboard.delivery.models")
    validation = lazy_import("switchboard.dialects.validation")


logger = Logger()
app = APIGatewayRestResolver(cors=cors.config(), strip_prefixes=[ess.PREFIX])
ess.install(app)
FILTERS = ("del-cfg-id", "topic", "event-type", "delivery-status", "from", "to")


def _query(names: tuple[str, ...]) -> dict[str, str]:
    return {name: value for name in names if (value := http.query(app, name)) is not None}


def _next_page(path: str, filters: dict[str, str], offset: int, limit: int, more: bool) -> str | None:
    return f"{path}?{urlencode({**filters, 'offset': offset + limit, 'limit': limit})}" if more else None


@app.get("/v1/event-deliveries")
def list_deliveries() -> Response:
    offset, limit = ess.page(app, default_limit=50)
    filters = _query(FILTERS)
    query = validation.parse(models.DeliveryFilter, filters)
    rows, more = wiring.event_deliveries().list(caller(app), ess.company(app), query, offset, limit)
    next_page = _next_page("/ess/v1/event-deliveries", filters, offset, limit, more)
    return ess.paged("event-deliveries", rows, offset, limit, **{"next-page-uri": next_page})


@app.get("/v1/event-deliveries/summary")
def delivery_summary() -> Response:
    window = validation.parse(models.SummaryWindow, _query(("from", "to")))
    return ess.reply(wiring.event_deliveries().summary(caller(app), ess.company(app), window))


@app.get("/v1/event-deliveries/<delivery_id>/tracking")
def delivery_tracking(delivery_id: str) -> Response:
    return ess.reply(wiring.event_deliveries().tracking(caller(app), ess.company(app), delivery_id))


@app.get("/v1/event-delivery-attempts")
def attempt_log() -> Response:
    offset, limit = ess.page(app, default_limit=50)
    filters = _query(("from", "to"))
    window = validation.parse(models.DeliveryFilter, filters)
    rows, more = wiring.event_deliveries().attempt_log(
        caller(app), ess.company(app), window.from_ms, window.to_ms, offset, limit
    )
    next_page = _next_page("/ess/v1/event-delivery-attempts", filters, offset, limit, more)
    return ess.paged("attempts", rows, offset, limit, **{"next-page-uri": next_page})


@app.post("/v1/handled-event-deliveries")
def handled_deliveries() -> Response:
    data = ess.body(app, models.HandledInput)
    updated = wiring.event_deliveries().mark_handled(caller(app), ess.company(app), data)
    return ess.reply({"number-of-updated-event-deliveries": updated})


@app.post("/v1/event-deliveries/<delivery_id>/redeliver")
def redeliver(delivery_id: str) -> Response:
    return ess.reply(wiring.event_deliveries().redeliver(caller(app), ess.company(app), delivery_id), 202)


@app.post("/v1/event-deliveries/redeliver")
def redeliver_bulk() -> Response:
    data = ess.body(app, models.RedeliverInput)
    return ess.reply(wiring.event_deliveries().redeliver_bulk(caller(app), ess.company(app), data), 202)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
