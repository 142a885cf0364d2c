"""ESS catalog: topics, event types and dictionaries (seed 003)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from switchboard.dialects import cors, ess
from switchboard.lazy import lazy_import

if TYPE_CHECKING:
    from switchboard import wiring
else:
    # The domain (pydantic, boto3) loads with the first request; see switchboard.lazy.
    wiring = lazy_import("switchboard.wiring")


logger = Logger()
app = APIGatewayRestResolver(cors=cors.config(), strip_prefixes=[ess.PREFIX])
ess.install(app)


def _wire(items: list[Any]) -> list[dict[str, Any]]:
    return [item.model_dump(by_alias=True, exclude_none=True) for item in items]


@app.get("/v1/topics")
def list_topics() -> Response:
    offset, limit = ess.page(app)
    return ess.paged("topics", _wire(wiring.catalog().topics_page(offset, limit)), offset, limit)


@app.get("/v1/topics/<topic_id>/event-types")
def topic_event_types(topic_id: str) -> Response:
    return ess.reply({"event-types": _wire(wiring.catalog().event_types_of(topic_id))})


@app.get("/v1/event-types")
def list_event_types() -> Response:
    offset, limit = ess.page(app)
    return ess.paged("event-types", _wire(wiring.catalog().event_types_page(offset, limit)), offset, limit)


@app.get("/v1/event-types/<code>")
def get_event_type(code: str) -> Response:
    return ess.reply(_wire([wiring.catalog().event_type(code)])[0])


@app.get("/v1/dictionaries/<code>")
def get_dictionary(code: str) -> Response:
    return ess.reply({code: wiring.catalog().dictionary(code)})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
