"""Every queue consumer: a permanent failure is dead-lettered at once (and the message deleted), a transient
one is reported to be retried (switchboard.queues)."""

from __future__ import annotations

import json

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError
from switchboard import queues

from tests.support import WorkerContext, load_function, sqs_records


def _receive(url: str) -> list[dict]:
    return (
        boto3.client("sqs")
        .receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["All"])
        .get("Messages", [])
    )


def _dead_letters(aws) -> list[dict]:
    return _receive(aws["DEAD_LETTER_QUEUE_URL"])


@pytest.mark.parametrize(
    "function, variable, body",
    [
        ("deliver", "DELIVERY_QUEUE_URL", '{"kind": "nonsense"}'),
        ("deliver", "DELIVERY_QUEUE_URL", "not json"),
        ("fanout", "EVENTS_QUEUE_URL", '{"event-id": 1}'),
        ("fanout", "EVENTS_QUEUE_URL", "{"),
        ("evaluate_usage", "USAGE_QUEUE_URL", '{"records": "none"}'),
    ],
)
def test_a_message_that_can_never_be_handled_is_dead_lettered_at_once(aws, function, variable, body):
    url = aws[variable]
    fifo = {"MessageGroupId": "g", "MessageDeduplicationId": "d"} if url.endswith(".fifo") else {}
    boto3.client("sqs").send_message(QueueUrl=url, MessageBody=body, **fifo)
    messages = _receive(url)
    fn = load_function(function)
    response = fn.lambda_handler({"Records": sqs_records(url, messages)}, WorkerContext())
    assert response.get("batchItemFailures") == []  # handled: Lambda deletes it, no retry
    dead = _dead_letters(aws)
    assert len(dead) == 1 and dead[0]["Body"] == body
    assert dead[0]["MessageAttributes"]["source-message-id"]["StringValue"] == messages[0]["MessageId"]
    assert dead[0]["MessageAttributes"]["failure"]["StringValue"]


def test_a_transient_failure_is_retried_not_dead_lettered(aws, monkeypatch):
    url = aws["EVENTS_QUEUE_URL"]
    boto3.client("sqs").send_message(QueueUrl=url, MessageBody='{"event-id": "e1"}')
    messages = _receive(url)
    fn = load_function("fanout")
    throttled = ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "Query")

    def failing(_record):
        raise throttled

    monkeypatch.setattr(fn, "fan_out", failing)
    with pytest.raises(BatchProcessingError):  # the whole batch failed: Lambda hands it back to be retried
        fn.lambda_handler({"Records": sqs_records(url, messages)}, WorkerContext())
    assert _dead_letters(aws) == []


@pytest.mark.parametrize(
    "exc, permanent",
    [
        (ValueError("x"), False),
        (RuntimeError("x"), False),
        (queues.PermanentError("x"), True),
        (json.JSONDecodeError("x", "d", 0), True),
        (ArithmeticError("overflow"), True),
        (ClientError({"Error": {"Code": "ValidationException"}}, "PutItem"), True),
        (ClientError({"Error": {"Code": "ThrottlingException"}}, "PutItem"), False),
        (ClientError({"Error": {"Code": "TransactionCanceledException"}}, "TransactWriteItems"), False),
    ],
)
def test_which_failures_are_permanent(exc, permanent):
    assert queues.is_permanent(exc) is permanent
