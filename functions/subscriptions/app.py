"""ESS topic subscriptions (seed 003)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from switchboard.dialects import cors, ess, http
from switchboard.dialects.http import caller
from switchboard.lazy import lazy_import

if TYPE_CHECKING:
    from switchboard import wiring
    from switchboard.events import models
else:
    # The domain (pydantic, boto3) loads with the first request; see switchboard.lazy.
    wiring = lazy_import("switchboard.wiring")
    models = lazy_import("switchboard.events.models")


logger = Logger()
app = APIGatewayRestResolver(cors=cors.config(), strip_prefixes=[ess.PREFIX])
ess.install(app)
TOPIC = "/v1/topics/<topic_id>/subscriptions"


@app.post(TOPIC)
def create_subscription(topic_id: str) -> Response:
    data = ess.body(app, models.SubscriptionInput)
    subscription = wiring.subscriptions().create(caller(app), ess.company(app), topic_id, data)
    location = f"/ess/v1/topics/{topic_id}/subscriptions/{subscription.id}"
    return ess.reply(subscription.wire(), 201, {"Location": location})


@app.get(f"{TOPIC}/<sub_id>")
def get_subscription(topic_id: str, sub_id: str) -> Response:
    return ess.reply(wiring.subscriptions().get(caller(app), ess.company(app), topic_id, sub_id).wire())


@app.put(f"{TOPIC}/<sub_id>")
def replace_subscription(topic_id: str, sub_id: str) -> Response:
    data = ess.body(app, models.SubscriptionInput)
    return ess.reply(wiring.subscriptions().replace(caller(app), ess.company(app), topic_id, sub_id, data).wire())


@app.delete(f"{TOPIC}/<sub_id>")
def delete_subscription(topic_id: str, sub_id: str) -> Response:
    wiring.subscriptions().delete(caller(app), ess.company(app), topic_id, sub_id)
    return Response(status_code=204)


@app.get("/v1/topic-subscriptions")
def list_subscriptions() -> Response:
    offset, limit = ess.page(app)
    rows = wiring.subscriptions().list(caller(app), ess.company(app), offset, limit)
    return ess.paged("topic-subscriptions", rows, offset, limit)


@app.get("/v1/topic-subscriptions/mdn")
def subscriptions_for_number() -> Response:
    offset, limit = ess.page(app, default_limit=50)
    topic, criteria = http.required_query(app, "topicId"), http.required_query(app, "matchingCriteria")
    rows = wiring.subscriptions().for_criteria(caller(app), ess.company(app), topic, criteria, limit)
    return ess.paged("subscriptions", rows, offset, limit, **{"mdn": criteria, "topic-name": topic})


@app.get("/v1/topic-subscriptions/uniqueMdnCount")
def unique_number_count() -> Response:
    topic = http.query(app, "topicId") or "NIS-Events"
    count = wiring.subscriptions().unique_numbers(caller(app), ess.company(app), topic)
    return ess.reply({"topic-name": topic, "activeCount": count})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
