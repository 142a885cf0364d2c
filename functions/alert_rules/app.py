"""AirVantage alert rules: /api/v2/alertrules (seed 001)."""

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
    from switchboard.rules import validation
else:
    # The domain (pydantic, boto3) loads with the first request; see switchboard.lazy.
    wiring = lazy_import("switchboard.wiring")
    validation = lazy_import("switchboard.rules.validation")


logger = Logger()
app = APIGatewayRestResolver(cors=cors.config(), strip_prefixes=[airvantage.PREFIX])
airvantage.install(app)
BASE = "/v2/alertrules"


@app.post(BASE)
def create_rule() -> Response:
    spec = validation.parse_rule(airvantage.json_body(app))
    return airvantage.reply(wiring.rules().create(caller(app), airvantage.company(app), spec).wire())


@app.get(BASE)
def list_rules() -> Response:
    # The seed answers a bare JSON array, sorted by name.
    return airvantage.reply([rule.wire() for rule in wiring.rules().list(caller(app), airvantage.company(app))])


@app.put(BASE)
@app.delete(BASE)
def rule_without_id() -> Response:
    raise validation.missing_id()


@app.get(f"{BASE}/<uid>")
def get_rule(uid: str) -> Response:
    return airvantage.reply(wiring.rules().get(caller(app), airvantage.company(app), uid).wire())


@app.put(f"{BASE}/<uid>")
def replace_rule(uid: str) -> Response:
    spec = validation.parse_rule(airvantage.json_body(app))
    return airvantage.reply(wiring.rules().replace(caller(app), airvantage.company(app), uid, spec).wire())


@app.delete(f"{BASE}/<uid>")
def delete_rule(uid: str) -> Response:
    wiring.rules().delete(caller(app), airvantage.company(app), uid)
    return airvantage.reply("success")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
