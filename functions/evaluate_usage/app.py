"""Usage evaluation: usage records (FIFO per account and IMSI) → usage per period, threshold
notifications exactly once per period, each pushed as an ESS event (Usage-Events / threshold_reached)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from switchboard.lazy import lazy_import

if TYPE_CHECKING:
    from switchboard import wiring
    from switchboard.usage import models
else:
    # The domain (pydantic, boto3) loads with the first request; see switchboard.lazy.
    wiring = lazy_import("switchboard.wiring")
    models = lazy_import("switchboard.usage.models")


logger = Logger()
metrics = Metrics()
# FIFO: a failed message fails the rest of its batch too, so an IMSI's usage is never counted out of order.
processor = SqsFifoPartialProcessor()


def evaluate(record: SQSRecord) -> None:
    message = models.UsageMessage.model_validate_json(record.body)
    result = wiring.usage_evaluator().handle(message)
    metrics.add_metric(name="UsageRecordsCounted", unit=MetricUnit.Count, value=result.counted)
    metrics.add_metric(name="UsageRecordsDuplicate", unit=MetricUnit.Count, value=result.duplicates)
    metrics.add_metric(name="UsageNotifications", unit=MetricUnit.Count, value=len(result.notifications))
    logger.debug(
        "usage counted",
        extra={"imsi": message.imsi, "counted": result.counted, "notifications": len(result.notifications)},
    )


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=evaluate, processor=processor, context=context)
