"""AirVantage systems, the targets of alert rules: /api/v1/systems (seed 001)."""

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
    from switchboard.rules import models
else:
    # The domain (pydantic, boto3) loads with the first request; see switchboard.lazy.
    wiring = lazy_import("switchboard.wiring")
    models = lazy_import("switchboard.rules.models")


logger = Logger()
app = APIGatewayRestResolver(cors=cors.config(), strip_prefixes=[airvantage.PREFIX])
airvantage.install(app)
BASE = "/v1/systems"


@app.post(BASE)
def create_system() -> Response:
    spec = airvantage.body(app, models.SystemInput)
    return airvantage.reply(wiring.systems().create(caller(app), airvantage.company(app), spec).wire())


@app.get(BASE)
def list_systems() -> Response:
    offset, size = airvantage.page(app)
    systems, count = wiring.systems().list(caller(app), airvantage.company(app), offset, size)
    return airvantage.listing([system.wire() for system in systems], count)


@app.get(f"{BASE}/<uid>")
def get_system(uid: str) -> Response:
    return airvantage.reply(wiring.systems().get(caller(app), airvantage.company(app), uid).wire())


@app.put(f"{BASE}/<uid>")
def replace_system(uid: str) -> Response:
    spec = airvantage.body(app, models.SystemInput)
    return airvantage.reply(wiring.systems().replace(caller(app), airvantage.company(app), uid, spec).wire())


@app.delete(f"{BASE}/<uid>")
def delete_system(uid: str) -> Response:
    wiring.systems().delete(caller(app), airvantage.company(app), uid)
    return Response(status_code=200, body="")  # as AirVantage's v1 deletes: 200, empty body


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
