"""The services stream consumer's poison records: a record that can never be counted is dead-lettered at
once and the records after it are counted; a failure that may pass is retried; and the local runtime's
stream poller, like Lambda's, bisects a failing batch so a record that keeps failing ends alone on the
OnFailure destination while the rest flow."""

from __future__ import annotations

import copy
import json
import threading
import time
from typing import Any

import boto3
import pytest
from switchboard import wiring
from switchboard.errors import Unavailable
from switchboard.rules.models import SystemInput
from switchboard.rules.repository import RulesRepository
from switchboard_local import streams
from switchboard_local.emulator import aws_client
from switchboard_local.functions import InvocationError
from switchboard_local.streams import StreamEventSource, StreamPoller

from tests.services_support import StreamPump
from tests.support import LambdaContext, call, load_function, rest_event


@pytest.fixture
def quantities(aws):
    return load_function("services_quantities")


def dead_letters(aws) -> list[dict]:
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(
        QueueUrl=aws["DEAD_LETTER_QUEUE_URL"], MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", [])
    return messages


def systems_counted(principal) -> dict:
    services = load_function("services")
    event = rest_event(
        "GET",
        f"/v2/accounts/{principal.account_id}/services",
        principal.context,
        headers={"X-Auth-Token": principal.token},
    )
    status, body, _ = call(services, event)
    assert status == 200, body
    return body["data"]["quantities"]["account"].get("airvantage", {})


def system_records(aws, quantities, principal, *uids: str) -> list[dict[str, Any]]:
    pump = StreamPump(aws, quantities)
    pump.pump()  # what the fixtures wrote before
    for uid in uids:
        RulesRepository(aws["RULES_TABLE"]).create_system(
            principal.account_id, uid, SystemInput.model_validate({"name": uid})
        )
    records = [r for r in pump.records() if r["dynamodb"]["Keys"]["sk"]["S"].startswith("SYS#")]
    assert len(records) == len(uids)
    return records


def test_a_record_that_cannot_be_counted_is_dead_lettered_and_the_next_ones_counted(quantities, world, aws):
    who = world.child_admin
    first, second, third = system_records(aws, quantities, who, "s1", "s2", "s3")
    poison = copy.deepcopy(second)
    poison["eventID"] = "poison-record"
    poison["dynamodb"]["NewImage"] = {"doc": {"Q": "not a DynamoDB type"}}
    poison["dynamodb"]["SequenceNumber"] = "1" + second["dynamodb"]["SequenceNumber"]
    response = quantities.lambda_handler({"Records": [first, poison, second, third]}, LambdaContext())
    # released, not reported: the shard moves on at once
    assert response == {"batchItemFailures": []}
    (letter,) = dead_letters(aws)
    assert json.loads(letter["Body"]) == poison
    assert letter["MessageAttributes"]["source-message-id"]["StringValue"] == "poison-record"
    assert "does not parse" in letter["MessageAttributes"]["failure"]["StringValue"]
    assert systems_counted(who) == {"system": 3}


def test_a_record_from_a_table_not_counted_is_dead_lettered(quantities, world, aws):
    who = world.child_admin
    (record,) = system_records(aws, quantities, who, "s1")
    stray = {**record, "eventID": "stray", "eventSourceARN": "arn:aws:dynamodb:us-east-1:1:table/other/stream/x"}
    assert quantities.lambda_handler({"Records": [stray, record]}, LambdaContext()) == {"batchItemFailures": []}
    (letter,) = dead_letters(aws)
    assert "not counted here" in letter["MessageAttributes"]["failure"]["StringValue"]
    assert systems_counted(who) == {"system": 1}


def test_a_failure_that_may_pass_is_retried_not_dead_lettered(quantities, world, aws, monkeypatch):
    who = world.child_admin
    first, second = system_records(aws, quantities, who, "s1", "s2")
    keeper = wiring.quantity_keeper()
    apply = keeper.apply

    def unavailable_for_s2(change):
        if change.record_id == second["eventID"]:
            raise Unavailable("the services table is throttling")
        return apply(change)

    monkeypatch.setattr(keeper, "apply", unavailable_for_s2)
    response = quantities.lambda_handler({"Records": [first, second]}, LambdaContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": second["dynamodb"]["SequenceNumber"]}]}
    assert dead_letters(aws) == []
    monkeypatch.setattr(keeper, "apply", apply)
    # Lambda hands the batch back from the reported record: it counts now
    assert quantities.lambda_handler({"Records": [second]}, LambdaContext()) == {"batchItemFailures": []}
    assert systems_counted(who) == {"system": 2}


# ---------------------------------------------------------------- the local runtime's stream poller


class FailingOn:
    """The function under the poller: every batch holding `poison` fails (a function error, as a crash
    or a timeout would); any other batch succeeds and is recorded."""

    def __init__(self, poison: str) -> None:
        self.poison = poison
        self.succeeded: list[str] = []
        self.invocations = 0
        self._lock = threading.Lock()

    def invoke(self, function_id: str, event: Any, request_id: str | None = None, timeout: float | None = None) -> Any:
        keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]
        with self._lock:
            self.invocations += 1
            if self.poison in keys:
                raise InvocationError("RuntimeError", f"cannot process {self.poison}")
            self.succeeded += keys
        return {"batchItemFailures": []}


def test_the_local_poller_bisects_and_dead_letters_a_record_that_keeps_failing(emulator, monkeypatch):
    monkeypatch.setattr(streams, "RETRY_PAUSE_SECONDS", 0.0)
    dynamodb = aws_client("dynamodb", emulator.url)
    table = dynamodb.create_table(
        TableName="poison-table",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    sqs = aws_client("sqs", emulator.url)
    queue_url = sqs.create_queue(QueueName="poison-dlq")["QueueUrl"]
    keys = [f"item-{index}" for index in range(9)]
    for key in keys:
        dynamodb.put_item(TableName="poison-table", Item={"pk": {"S": key}})
    function = FailingOn("item-3")
    source = StreamEventSource(
        function_id="CounterFunction",
        event_name="Stream",
        stream_arn=table["LatestStreamArn"],
        batch_size=100,
        maximum_retry_attempts=2,
        report_batch_item_failures=True,
        bisect_on_error=True,
        on_failure_arn="arn:aws:sqs:us-east-1:123456789012:poison-dlq",
    )
    poller = StreamPoller(source, function, emulator.url, echo=lambda _line: None)  # type: ignore[arg-type]
    poller.start()
    try:
        deadline = time.monotonic() + 30
        letters: list[dict] = []
        while time.monotonic() < deadline and not (letters and len(function.succeeded) == len(keys) - 1):
            letters += sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0).get("Messages", [])
            time.sleep(0.1)
    finally:
        poller.stop()
        poller.join()
    # every other record was processed once, in order; the poison one alone went to the destination
    assert function.succeeded == [key for key in keys if key != "item-3"]
    (letter,) = letters
    detail = json.loads(letter["Body"])
    batch = detail["DDBStreamBatchInfo"]
    assert batch["batchSize"] == 1 and batch["startSequenceNumber"] == batch["endSequenceNumber"]
    assert detail["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert "cannot process item-3" in detail["responseContext"]["functionError"]
    records = aws_client("dynamodbstreams", emulator.url)
    shard = records.describe_stream(StreamArn=table["LatestStreamArn"])["StreamDescription"]["Shards"][0]
    iterator = records.get_shard_iterator(
        StreamArn=table["LatestStreamArn"], ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    by_sequence = {
        r["dynamodb"]["SequenceNumber"]: r["dynamodb"]["Keys"]["pk"]["S"]
        for r in records.get_records(ShardIterator=iterator)["Records"]
    }
    assert by_sequence[batch["startSequenceNumber"]] == "item-3"
