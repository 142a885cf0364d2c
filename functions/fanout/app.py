"""Fanout: published events (events queue) → one delivery per matching delivery configuration."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from switchboard.lazy import lazy_import

if TYPE_CHECKING:
    from switchboard import queues, wiring
    from switchboard.delivery import models
else:
    # The domain (pydantic, boto3) loads with the first request; see switchboard.lazy.
    wiring = lazy_import("switchboard.wiring")
    queues = lazy_import("switchboard.queues")
    models = lazy_import("switchboard.delivery.models")


logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)


def fan_out(record: SQSRecord) -> None:
    event = models.PublishedEvent.model_validate(json.loads(record.body))
    configurations = wiring.fanout().handle(event)
    logger.info("fanned out", extra={"event_id": event.event_id, "deliveries": len(configurations)})
    metrics.add_metric(name="DeliveriesCreated", unit=MetricUnit.Count, value=len(configurations))


def dead_lettered(_reason: str) -> None:
    metrics.add_metric(name="EventsDeadLettered", unit=MetricUnit.Count, value=1)


def record_handler(record: SQSRecord) -> None:
    # A permanent failure is dead-lettered at once, a transient one retried (switchboard.queues).
    queues.releasing(fan_out, wiring.dead_letters, dead_lettered)(record)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
