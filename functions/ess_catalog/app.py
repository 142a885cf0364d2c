"""ESS catalog: topics, event types and dictionaries (seed 003)."""

from __future__ import annotations

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from switchboard.dialects import ess
from switchboard.lazy import lazy_import

services = lazy_import("switchboard.events.services")

logger = Logger()
app = APIGatewayRestResolver()
ess.install(app)


def _event_type_wire(event_type) -> dict:
    return event_type.model_dump(by_alias=True, exclude_none=True)


@app.get("/ess/v1/topics")
def list_topics() -> Response:
    offset, limit = ess.page(app)
    topics = services.catalog().current().topics
    return ess.paged("topics", [t.model_dump(by_alias=True, exclude_none=True) for t in topics[offset:offset + limit]],
                     offset, limit)


@app.get("/ess/v1/topics/<topic_id>/event-types")
def topic_event_types(topic_id: str) -> Response:
    catalog = services.catalog()
    catalog.topic(topic_id)
    return ess.reply({"event-types": [_event_type_wire(t) for t in catalog.current().event_types_of(topic_id)]})


@app.get("/ess/v1/event-types")
def list_event_types() -> Response:
    offset, limit = ess.page(app)
    types = list(services.catalog().current().event_types.values())
    return ess.paged("event-types", [_event_type_wire(t) for t in types[offset:offset + limit]], offset, limit)


@app.get("/ess/v1/event-types/<code>")
def get_event_type(code: str) -> Response:
    return ess.reply(_event_type_wire(services.catalog().event_type(code)))


@app.get("/ess/v1/dictionaries/<code>")
def get_dictionary(code: str) -> Response:
    return ess.reply({code: services.catalog().dictionary(code)})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
