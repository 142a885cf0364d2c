"""Deliver: delivery-queue tasks → throttled, signed, tracked webhook attempts (and the queue's jobs:
releasing deliveries after a reactivation, bulk redelivery)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
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
# The tasks of a batch are handled side by side (one thread each): a slow endpoint holds up its own
# attempt, not the other four.
processor = AsyncBatchProcessor(event_type=EventType.SQS)
# Time an attempt may need at most (30 s timeout, an OAuth token fetch, a throttle wait) before the
# invocation's end; a task that cannot fit goes back on the queue instead of being cut off.
RESERVE_MS = 75_000


def handle(record: SQSRecord, lambda_context: LambdaContext) -> None:
    task = models.TaskEnvelope.model_validate({"task": record.json_body}).task
    if lambda_context.get_remaining_time_in_millis() < RESERVE_MS:
        wiring.delivery_tasks().send(task, 0)
        return
    if isinstance(task, models.DeliverTask):
        handled = wiring.engine().deliver(task)
        metrics.add_metric(name=f"Delivery_{handled.outcome}", unit=MetricUnit.Count, value=1)
        logger.debug(
            "delivery task",
            extra={"delivery": f"{task.event_id}:{task.config_id}", "attempt": task.attempt, "outcome": str(handled)},
        )
    elif isinstance(task, models.ReleaseTask):
        released = wiring.releaser().release(task)
        logger.info("released waiting deliveries", extra={"config_id": task.config_id, "released": released})
    else:
        reopened = wiring.reopener().redeliver(task)
        logger.info("bulk redelivery page", extra={"config_id": task.config_id, "reopened": reopened})


def dead_lettered(_reason: str) -> None:
    metrics.add_metric(name="TasksDeadLettered", unit=MetricUnit.Count, value=1)


def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> None:
    # A task that can never be handled (it does not parse, DynamoDB refuses its item) is dead-lettered at once;
    # anything else is retried (switchboard.queues). An open delivery is re-sent by the sweeper either way.
    queues.releasing(lambda item: handle(item, lambda_context), wiring.dead_letters, dead_lettered)(record)


async def concurrent_record_handler(record: SQSRecord, lambda_context: LambdaContext) -> None:
    await asyncio.to_thread(record_handler, record, lambda_context)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    wiring.engine()  # built once, here, before the batch's threads share it
    return async_process_partial_response(
        event=event, record_handler=concurrent_record_handler, processor=processor, context=context
    )
