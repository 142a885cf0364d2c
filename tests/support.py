"""Helpers for handler tests: tables from template.yaml, function modules, API Gateway events."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
from switchboard_local import motopatch
from switchboard_local.template import load_yaml

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"

# Environment variable each function reads -> logical id of the table it names.
TABLE_VARIABLES = {
    "ACCOUNTS_TABLE": "AccountsTable",
    "ALERTS_TABLE": "AlertsTable",
    "EVENTS_TABLE": "EventsTable",
    "DELIVERIES_TABLE": "DeliveriesTable",
    "RULES_TABLE": "RulesTable",
    "USAGE_TABLE": "UsageTable",
    "SERVICES_TABLE": "ServicesTable",
}


def template() -> dict[str, Any]:
    """template.yaml, parsed once per process (every handler test's tables come from it); a copy per call."""
    return copy.deepcopy(_parsed_template())


@cache
def _parsed_template() -> dict[str, Any]:
    return load_yaml(ROOT / "template.yaml")


def create_template_tables() -> dict[str, str]:
    """Create every DynamoDB table of the template (keys, GSIs) in the active moto mock."""
    # deliver works a batch on threads: make each in-process request atomic, as DynamoDB's are
    motopatch.serialise_dynamodb()
    client = boto3.client("dynamodb")
    resources = template()["Resources"]
    names = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        props = resource["Properties"]
        spec: dict[str, Any] = {
            "TableName": f"test-{logical_id}",
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if props.get("GlobalSecondaryIndexes"):
            spec["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        client.create_table(**spec)
        names[logical_id] = spec["TableName"]
    return {variable: names[logical] for variable, logical in TABLE_VARIABLES.items() if logical in names}


def create_template_resources() -> dict[str, str]:
    """Tables, the KMS key and the events queue in the active moto mock, as the functions' variables."""
    variables = create_template_tables()
    variables["DATA_KEY_ID"] = boto3.client("kms").create_key(Description="test data key")["KeyMetadata"]["KeyId"]
    variables["EVENTS_QUEUE_URL"] = boto3.client("sqs").create_queue(QueueName="test-events")["QueueUrl"]
    variables["DELIVERY_QUEUE_URL"] = boto3.client("sqs").create_queue(QueueName="test-deliveries")["QueueUrl"]
    variables["BUFFER_QUEUE_URL"] = boto3.client("sqs").create_queue(QueueName="test-buffers")["QueueUrl"]
    variables["DUMP_QUEUE_URL"] = boto3.client("sqs").create_queue(QueueName="test-dumps")["QueueUrl"]
    boto3.client("s3").create_bucket(Bucket="test-files")
    variables["FILES_BUCKET"] = "test-files"
    variables["TELEMETRY_QUEUE_URL"] = boto3.client("sqs").create_queue(
        QueueName="test-telemetry.fifo", Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    variables["USAGE_QUEUE_URL"] = boto3.client("sqs").create_queue(
        QueueName="test-usage.fifo", Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    # One FIFO dead-letter queue stands for each consumer's own (a FIFO one takes any consumer's messages).
    variables["DEAD_LETTER_QUEUE_URL"] = boto3.client("sqs").create_queue(
        QueueName="test-dead-letters.fifo", Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    return variables


def load_function(name: str) -> ModuleType:
    """Import functions/<name>/app.py fresh, under a name of its own (every function has an app.py)."""
    module_name = f"switchboard_function_{name}"
    sys.modules.pop(module_name, None)
    spec = importlib.util.spec_from_file_location(module_name, ROOT / "functions" / name / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def sample_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


class LambdaContext:
    function_name = "test-function"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 29_000


class WorkerContext(LambdaContext):
    """The context of a queue-driven function (deliver, evaluate_rules, fanout): a long time budget."""

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 180_000


def sqs_records(url: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """SQS messages (from ReceiveMessage on `url`) as Lambda's poller hands them to a function, with their
    attributes (FIFO ones included: MessageGroupId, SequenceNumber, ...) when they were asked for."""
    return [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m.get("Attributes", {}),
            "messageAttributes": {},
            "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{url.rsplit('/', 1)[1]}",
            "awsRegion": "us-east-1",
        }
        for m in messages
    ]


def rest_event(
    method: str,
    path: str,
    caller_context: dict[str, str] | None,
    body: Any = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    raw_body: str | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event for `path`, shaped like the sample events."""
    event = copy.deepcopy(sample_event("alerts_get.json"))
    event["httpMethod"] = method
    # The custom domain's form: the path with its API's base path (resolvers strip it); no stage variables.
    event["path"] = path
    event["stageVariables"] = None
    event["requestContext"]["httpMethod"] = method
    event["requestContext"]["path"] = f"/dev{path}"
    if caller_context is not None:
        event["requestContext"]["authorizer"] = {**caller_context, "principalId": caller_context["account_id"]}
    event["queryStringParameters"] = query or None
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
    merged = {**event["headers"], **(headers or {})}
    event["headers"] = merged
    event["multiValueHeaders"] = {k: [v] for k, v in merged.items()}
    if raw_body is not None:
        event["body"] = raw_body
    else:
        event["body"] = None if body is None else json.dumps(body)
    return event


def call(module: ModuleType, event: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """Invoke a function's handler; returns (status, json body, headers)."""
    response = module.lambda_handler(event, LambdaContext())
    headers = dict(response.get("headers") or {})
    for key, values in (response.get("multiValueHeaders") or {}).items():
        headers.setdefault(key, values[-1])
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else {}, headers


def handle_batch(module: ModuleType, url: str, messages: list[dict[str, Any]]) -> None:
    """Hand messages received from `url` to a queue-driven function as Lambda's poller does, require every
    record to succeed, and delete them from the queue (what the poller does after a clean batch)."""
    response = module.lambda_handler({"Records": sqs_records(url, messages)}, WorkerContext())
    failed = {failure["itemIdentifier"] for failure in response.get("batchItemFailures", [])}
    assert not failed, f"{module.__name__} failed on {failed}"
    sqs = boto3.client("sqs")
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
