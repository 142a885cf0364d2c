"""ESS publishing: POST /ess/v1/events."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from switchboard.dialects import cors, ess
from switchboard.dialects.http import caller
from switchboard.lazy import lazy_import

if TYPE_CHECKING:
    from switchboard import wiring
    from switchboard.events import models
else:
    # The domain (pydantic, boto3) loads with the first request; see switchboard.lazy.
    wiring = lazy_import("switchboard.wiring")
    models = lazy_import("switchboard.events.models")


# An event is stored as one DynamoDB item: a body past the item limit cannot be stored (413, before parsing).
MAX_EVENT_BODY_BYTES = 400_000

logger = Logger()
metrics = Metrics()
app = APIGatewayRestResolver(cors=cors.config(), strip_prefixes=[ess.PREFIX])
ess.install(app)


@app.post("/v1/events")
def publish_event() -> Response:
    data = ess.body(app, models.PublishInput, max_bytes=MAX_EVENT_BODY_BYTES)
    event = wiring.publishing().publish(caller(app), ess.company(app), data)
    metrics.add_metric(name="EventsPublished", unit=MetricUnit.Count, value=1)
    return ess.reply({"event-id": event.id}, 202)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
