"""Quantities: the owning tables' DynamoDB streams → counted quantities, audit entries, day counters.

A record that can never be counted (it does not parse, or comes from a table not counted here) is
dead-lettered at once and the shard moves on; a failure to count (DynamoDB unavailable, a conflict) is
reported, and Lambda retries it, bisecting the batch, until its OnFailure destination, the same
dead-letter queue, takes it (switchboard.queues)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from switchboard.lazy import lazy_import

if TYPE_CHECKING:
    from switchboard import queues, wiring
    from switchboard.services import quantities
else:
    # The domain (pydantic, boto3) loads with the first record; see switchboard.lazy.
    wiring = lazy_import("switchboard.wiring")
    queues = lazy_import("switchboard.queues")
    quantities = lazy_import("switchboard.services.quantities")


logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
_deserializer: Any = None


def _deserialize(value: Any) -> Any:
    global _deserializer
    if _deserializer is None:
        from boto3.dynamodb.types import TypeDeserializer

        _deserializer = TypeDeserializer()
    return _deserializer.deserialize(value)


def count(record: DynamoDBRecord) -> None:
    kind = quantities.table_kind_of(record.event_source_arn or "", wiring.counted_tables())
    if kind is None:
        raise queues.PermanentError(f"records from {record.event_source_arn} are not counted here (a template bug)")
    try:
        change = quantities.change_from_record(kind, record.raw_event, _deserialize)
    except Exception as exc:  # reading a record is pure: it fails the same way every time
        raise queues.PermanentError(f"the stream record does not parse: {type(exc).__name__}: {exc}") from exc
    if change is None:
        return
    if wiring.quantity_keeper().apply(change):
        metrics.add_metric(name="QuantityChanges", unit=MetricUnit.Count, value=1)


def dead_lettered(_reason: str) -> None:
    metrics.add_metric(name="QuantityRecordsDeadLettered", unit=MetricUnit.Count, value=1)


def record_handler(record: DynamoDBRecord) -> None:
    queues.releasing(count, wiring.dead_letters, dead_lettered, queues.StreamMessage.of)(record)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
