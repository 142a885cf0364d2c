"""AirVantage telemetry ingest: POST /api/v1/systems/{uid}/data → the telemetry queue (202)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from switchboard.dialects import airvantage
from switchboard.dialects.http import caller
from switchboard.lazy import lazy_import

pipeline = lazy_import("switchboard.rules.pipeline")

logger = Logger()
metrics = Metrics()
app = APIGatewayRestResolver()
airvantage.install(app)


@app.post("/api/v1/systems/<uid>/data")
def post_data(uid: str) -> Response:
    accepted = pipeline.ingest().ingest(caller(app), airvantage.company(app), uid, airvantage.json_body(app))
    metrics.add_metric(name="DataPointsAccepted", unit="Count", value=accepted)
    return airvantage.reply({"accepted": accepted}, 202)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
