"""ESS subscription dumps: GET /topics/{ID}/dump-subscriptions answers with a reference id; the dump
queue's jobs write the file and announce it with an event_file_complete event (MSS-Messages)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from switchboard.dialects import cors, ess, http
from switchboard.dialects.http import caller
from switchboard.lazy import lazy_import

if TYPE_CHECKING:
    from switchboard import wiring
    from switchboard.dialects import validation
    from switchboard.events import dumps
else:
    # The domain (pydantic, boto3) loads with the first request; see switchboard.lazy.
    wiring = lazy_import("switchboard.wiring")
    dumps = lazy_import("switchboard.events.dumps")
    validation = lazy_import("switchboard.dialects.validation")


logger = Logger()
app = APIGatewayRestResolver(cors=cors.config(), strip_prefixes=[ess.PREFIX])
ess.install(app)
processor = BatchProcessor(event_type=EventType.SQS)


@app.get("/v1/topics/<topic_id>/dump-subscriptions")
def dump_subscriptions(topic_id: str) -> Response:
    query = {name: value for name in ("compression", "compressionType") if (value := http.query(app, name)) is not None}
    data = validation.parse(dumps.DumpRequest, query)
    reference = wiring.subscription_dumps().request(caller(app), ess.company(app), topic_id, data)
    return ess.reply({"referenceId": reference})


def run_dump(record: SQSRecord) -> None:
    task = dumps.DumpTask.model_validate(record.json_body)
    count = wiring.subscription_dumps().run(task)
    logger.info("subscriptions dumped", extra={"reference_id": task.reference_id, "subscriptions": count})


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Mapping[str, Any]:
    if "Records" in event:
        return process_partial_response(event=event, record_handler=run_dump, processor=processor, context=context)
    return app.resolve(event, context)
