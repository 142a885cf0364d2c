"""Expeto usage ingest: POST /v1/usage → the FIFO usage queue, one message per IMSI (202)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
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
metrics = Metrics()
app = APIGatewayRestResolver(cors=cors.config(), strip_prefixes=[expeto.PREFIX])
expeto.install(app)


@app.post("/usage")
def post_usage() -> Response:
    records = expeto.body(app, models.UsageInput)
    accepted = wiring.usage_ingest().ingest(caller(app), expeto.account(app), records)
    metrics.add_metric(name="UsageRecordsAccepted", unit=MetricUnit.Count, value=accepted)
    return expeto.reply({"accepted": accepted}, 202)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
