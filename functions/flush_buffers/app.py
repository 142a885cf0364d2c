"""Scheduled delivery: buffer-queue messages (tick chains, schedule changes, settling delivered files)
and, every minute, the safety net that re-arms lost chains and finishes interrupted files."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from switchboard.lazy import lazy_import

if TYPE_CHECKING:
    from switchboard import wiring
    from switchboard.delivery import buffers
else:
    # The domain (pydantic, boto3) loads with the first request; see switchboard.lazy.
    wiring = lazy_import("switchboard.wiring")
    buffers = lazy_import("switchboard.delivery.buffers")


logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)


def handle(record: SQSRecord) -> None:
    task = buffers.BufferEnvelope.model_validate({"task": record.json_body}).task
    outcome = wiring.buffer_files().handle(task)
    metrics.add_metric(name=f"Buffer_{task.kind}_{outcome.split(':')[0]}", unit=MetricUnit.Count, value=1)
    logger.debug("buffer task", extra={"task": task.kind, "config_id": task.config_id, "outcome": outcome})


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Mapping[str, Any]:
    if "Records" in event:
        return process_partial_response(event=event, record_handler=handle, processor=processor, context=context)
    counts = wiring.buffer_files().sweep()  # the every-minute schedule
    for name, value in counts.items():
        metrics.add_metric(name=f"Schedules_{name}", unit=MetricUnit.Count, value=value)
    logger.info("schedule sweep", extra=counts)
    return counts
