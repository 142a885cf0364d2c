"""A reseller's service plan catalog: /v2/accounts/{RESELLER_ID}/service_plans[/{PLAN_ID}]."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from switchboard.dialects import cors, crossbar, exact_json
from switchboard.dialects.http import caller
from switchboard.lazy import lazy_import

if TYPE_CHECKING:
    from switchboard import wiring
    from switchboard.services import plans, service
else:
    # The domain (pydantic, boto3) loads with the first request; see switchboard.lazy.
    wiring = lazy_import("switchboard.wiring")
    plans = lazy_import("switchboard.services.plans")
    service = lazy_import("switchboard.services.service")


logger = Logger()
metrics = Metrics()
app = APIGatewayRestResolver(cors=cors.config(), strip_prefixes=[crossbar.PREFIX])
crossbar.install(app)

BASE = "/accounts/<account_id>/service_plans"


def _plan_reply(plan: plans.Plan, status_code: int = 200) -> Response:
    data = service.wire(plan.document())
    if status_code == 201:
        location = f"/v2/accounts/{plan.reseller_id}/service_plans/{plan.id}"
        return crossbar.created(app, data, location=location, revision=str(plan.revision))
    return crossbar.ok(app, data, revision=str(plan.revision))


@app.get(BASE)
def list_plans(account_id: str) -> Response:
    return crossbar.ok(app, wiring.plan_catalog().list(caller(app), account_id))


@app.put(BASE)
def create_plan(account_id: str) -> Response:
    spec = plans.parse_plan(exact_json.envelope(app)["data"])
    return _plan_reply(wiring.plan_catalog().create(caller(app), account_id, spec), 201)


@app.get(f"{BASE}/<plan_id>")
def get_plan(account_id: str, plan_id: str) -> Response:
    return _plan_reply(wiring.plan_catalog().get(caller(app), account_id, plan_id))


@app.post(f"{BASE}/<plan_id>")
def replace_plan(account_id: str, plan_id: str) -> Response:
    spec = plans.parse_plan(exact_json.envelope(app)["data"])
    return _plan_reply(wiring.plan_catalog().replace(caller(app), account_id, plan_id, spec))


@app.delete(f"{BASE}/<plan_id>")
def delete_plan(account_id: str, plan_id: str) -> Response:
    plan = wiring.plan_catalog().delete(caller(app), account_id, plan_id)
    return crossbar.ok(app, {**service.wire(plan.document()), "_read_only": {"deleted": True}})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
