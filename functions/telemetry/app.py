"""AirVantage telemetry ingest: POST /api/v1/systems/{uid}/data → the telemetry queue (202)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
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
metrics = Metrics()
app = APIGatewayRestResolver(cors=cors.config(), strip_prefixes=[airvantage.PREFIX])
airvantage.install(app)


@app.post("/v1/systems/<uid>/data")
def post_data(uid: str) -> Response:
    accepted = wiring.ingest().ingest(caller(app), airvantage.company(app), uid, airvantage.json_body(app))
    metrics.add_metric(name="DataPointsAccepted", unit=MetricUnit.Count, value=accepted)
    return airvantage.reply({"accepted": accepted}, 202)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
