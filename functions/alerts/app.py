"""KAZOO Crossbar alerts: /v2/accounts/{ACCOUNT_ID}/alerts (seed 000)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from switchboard.dialects import cors, crossbar
from switchboard.dialects.http import caller
from switchboard.lazy import lazy_import

if TYPE_CHECKING:
    from switchboard import wiring
    from switchboard.alerts import models
else:
    # The domain (pydantic, boto3) loads with the first request; see switchboard.lazy.
    wiring = lazy_import("switchboard.wiring")
    models = lazy_import("switchboard.alerts.models")


logger = Logger()
metrics = Metrics()
app = APIGatewayRestResolver(cors=cors.config(), strip_prefixes=[crossbar.PREFIX])
crossbar.install(app)


@app.get("/accounts/<account_id>/alerts")
def list_alerts(account_id: str) -> Response:
    page = wiring.alerts().list_for(caller(app), account_id, crossbar.page_request(app))
    return crossbar.page(app, page)


@app.put("/accounts/<account_id>/alerts")
def create_alert(account_id: str) -> Response:
    data = crossbar.request_data(app, models.AlertInput)
    alert = wiring.alerts().create(caller(app), account_id, data)
    metrics.add_metric(name="AlertsCreated", unit=MetricUnit.Count, value=1)
    return crossbar.created(
        app, alert.document(), location=f"/v2/accounts/{account_id}/alerts/{alert.id}", revision=alert.revision
    )


@app.get("/accounts/<account_id>/alerts/<alert_id>")
def get_alert(account_id: str, alert_id: str) -> Response:
    alert = wiring.alerts().get(caller(app), account_id, alert_id)
    return crossbar.ok(app, alert.document(), revision=alert.revision)


@app.delete("/accounts/<account_id>/alerts/<alert_id>")
def delete_alert(account_id: str, alert_id: str) -> Response:
    alert = wiring.alerts().clear(caller(app), account_id, alert_id)
    return crossbar.ok(app, {**alert.document(), "_read_only": {"deleted": True}}, revision=alert.revision)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
