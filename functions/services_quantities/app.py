"""Quantities: the owning tables' DynamoDB streams → counted quantities, audit entries, day counters."""

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
    from switchboard import wiring
    from switchboard.services import quantities
else:
    # The domain (pydantic, boto3) loads with the first record; see switchboard.lazy.
    wiring = lazy_import("switchboard.wiring")
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
        raise ValueError(f"records from {record.event_source_arn} are not counted here (a template bug)")
    change = quantities.change_from_record(kind, record.raw_event, _deserialize)
    if change is None:
        return
    if wiring.quantity_keeper().apply(change):
        metrics.add_metric(name="QuantityChanges", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=count, processor=processor, context=context)
