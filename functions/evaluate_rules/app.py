"""Rule evaluation: telemetry (FIFO per system) → states, history, alerts, notifications."""

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
    from switchboard import queues, wiring
    from switchboard.rules import evaluation
else:
    # The domain (pydantic, boto3) loads with the first request; see switchboard.lazy.
    wiring = lazy_import("switchboard.wiring")
    evaluation = lazy_import("switchboard.rules.evaluation")
    queues = lazy_import("switchboard.queues")


logger = Logger()
metrics = Metrics()
# FIFO: a failed message fails the rest of its batch too, so a system's data is never evaluated out of order.
processor = SqsFifoPartialProcessor()


def evaluate(record: SQSRecord) -> None:
    message = evaluation.TelemetryMessage.model_validate_json(record.body)
    result = wiring.evaluator().handle(message)
    metrics.add_metric(name="RuleEvaluations", unit=MetricUnit.Count, value=result.evaluations)
    metrics.add_metric(name="AlertsRaised", unit=MetricUnit.Count, value=len(result.alerts))
    logger.debug(
        "evaluated",
        extra={
            "system": message.system_id,
            "evaluations": result.evaluations,
            "alerts": len(result.alerts),
            "duplicate": result.duplicate,
        },
    )


def dead_lettered(_reason: str) -> None:
    metrics.add_metric(name="TelemetryDeadLettered", unit=MetricUnit.Count, value=1)


def record_handler(record: SQSRecord) -> None:
    # A permanent failure (a message that cannot parse or hold a value evaluation cannot compute with) is
    # dead-lettered at once and the system's next message flows; a transient one is retried (switchboard.queues).
    queues.releasing(evaluate, wiring.dead_letters, dead_lettered)(record)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
