"""template.yaml keeps its data and watches every function (what cfn-lint's I3011 and a review ask).

Functions and stateful resources are enumerated from the template, so a resource added later
without its retention policies or its alarms fails here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support import template

STATEFUL_TYPES = (
    "AWS::DynamoDB::Table",
    "AWS::KMS::Key",
    "AWS::SQS::Queue",
    "AWS::Logs::LogGroup",
    "AWS::S3::Bucket",
    "AWS::SecretsManager::Secret",
)


def resources(*types: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template()["Resources"].items() if v["Type"] in types}


def functions() -> list[str]:
    return sorted(resources("AWS::Serverless::Function"))


def references(value: Any) -> set[str]:
    """Logical ids a value refers to (Ref, GetAtt, Sub variables)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref":
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0] if isinstance(inner, list) else inner.split(".")[0])
            else:
                found |= references(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= references(inner)
    return found


def test_the_template_has_stateful_resources_and_functions():
    assert len(resources(*STATEFUL_TYPES)) >= 10
    assert len(functions()) >= 16


@pytest.mark.parametrize("logical_id", sorted(resources(*STATEFUL_TYPES)))
def test_every_stateful_resource_is_retained_on_delete_and_on_replacement(logical_id):
    resource = template()["Resources"][logical_id]
    assert resource.get("DeletionPolicy") == "Retain"
    assert resource.get("UpdateReplacePolicy") == "Retain"


def test_the_key_encrypting_the_retained_tables_is_itself_retained():
    everything = template()["Resources"]
    keys = set()
    for table in resources("AWS::DynamoDB::Table").values():
        sse = table["Properties"].get("SSESpecification") or {}
        keys |= references(sse.get("KMSMasterKeyId"))
    assert keys, "the tables name their KMS key"
    for key in keys:
        assert everything[key]["Type"] == "AWS::KMS::Key"
        assert everything[key]["DeletionPolicy"] == "Retain"
        assert everything[key]["UpdateReplacePolicy"] == "Retain"


def alarms_on(metric: str) -> dict[str, set[str]]:
    """Function logical id -> alarms on that AWS/Lambda metric with its FunctionName dimension."""
    found: dict[str, set[str]] = {}
    for alarm_id, alarm in resources("AWS::CloudWatch::Alarm").items():
        props = alarm["Properties"]
        if props.get("Namespace") != "AWS/Lambda" or props.get("MetricName") != metric:
            continue
        assert props.get("AlarmActions"), f"{alarm_id} notifies no one"
        for dimension in props.get("Dimensions") or []:
            if dimension["Name"] == "FunctionName":
                for function in references(dimension["Value"]):
                    found.setdefault(function, set()).add(alarm_id)
    return found


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_an_alarm_on_every_function(metric):
    covered = alarms_on(metric)
    missing = [f for f in functions() if f not in covered]
    assert not missing, f"functions without an alarm on {metric}: {missing}"


def test_api_errors_and_latency_have_alarms():
    watched = {
        stat["Metric"]["MetricName"] if "Metric" in stat else None
        for alarm in resources("AWS::CloudWatch::Alarm").values()
        for stat in [m.get("MetricStat", {}) for m in alarm["Properties"].get("Metrics") or []]
    }
    watched |= {
        alarm["Properties"].get("MetricName")
        for alarm in resources("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("Namespace") == "AWS/ApiGateway"
    }
    assert {"5XXError", "Latency"} <= watched


def test_api_access_logs_are_json_lines_with_the_request_id():
    apis = resources("AWS::Serverless::Api")
    assert len(apis) == 4  # one per dialect
    for api in apis.values():
        setting = api["Properties"]["AccessLogSetting"]
        assert references(setting["DestinationArn"]) <= set(resources("AWS::Logs::LogGroup"))
        line = json.loads(setting["Format"])
        assert line["requestId"] == "$context.requestId" and line["apiId"] == "$context.apiId"
        assert "$context.status" in line.values()


def test_every_api_has_its_5xx_and_latency_alarm_and_dashboard_line():
    names = {api["Properties"]["Name"]["Fn::Sub"] for api in resources("AWS::Serverless::Api").values()}
    watched: dict[str, set[str]] = {}
    for alarm in resources("AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        stats = [m["MetricStat"]["Metric"] for m in props.get("Metrics") or [] if "MetricStat" in m]
        for metric in [*stats, props] if props.get("Namespace") == "AWS/ApiGateway" else stats:
            for dimension in metric.get("Dimensions") or []:
                if dimension["Name"] == "ApiName":
                    watched.setdefault(dimension["Value"]["Fn::Sub"], set()).add(metric["MetricName"])
    assert {name: {"5XXError", "Latency"} <= watched.get(name, set()) for name in names} == dict.fromkeys(names, True)
    (dashboard,) = resources("AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    for name in names:
        assert f'"ApiName","{name}"' in body


def test_the_dashboard_follows_the_pipeline():
    (dashboard,) = resources("AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]
    body = body["Fn::Sub"] if isinstance(body, dict) else body
    widgets = json.loads(body)["widgets"]
    text = json.dumps(widgets)
    for piece in (
        "${PublishFunction}",
        "${EventsQueue.QueueName}",
        "${FanoutFunction}",
        "${DeliveryQueue.QueueName}",
        "${DeliverFunction}",
        "Delivery_success",
        "Delivery_failed",
    ):
        assert piece in text


def test_deliver_has_reserved_concurrency_and_polls_within_it():
    deliver = template()["Resources"]["DeliverFunction"]["Properties"]
    assert deliver.get("ReservedConcurrentExecutions")
    scaling = deliver["Events"]["DeliveryTasks"]["Properties"]["ScalingConfig"]
    assert scaling["MaximumConcurrency"] == deliver["ReservedConcurrentExecutions"]


def _event_sources(kind: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(function, event, properties) of every function event of one type (DynamoDB, SQS, ...)."""
    return [
        (function_id, event_id, event["Properties"])
        for function_id, function in resources("AWS::Serverless::Function").items()
        for event_id, event in (function["Properties"].get("Events") or {}).items()
        if event["Type"] == kind
    ]


def _alarmed_queues() -> set[str]:
    """The queues an SQS alarm with actions watches."""
    return {
        queue
        for alarm in resources("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("Namespace") == "AWS/SQS" and alarm["Properties"].get("AlarmActions")
        for dimension in alarm["Properties"].get("Dimensions") or []
        if dimension["Name"] == "QueueName"
        for queue in references(dimension["Value"])
    }


def test_every_stream_source_dead_letters_what_keeps_failing_under_an_alarm():
    """A stream record that keeps failing ends on an SQS queue an alarm watches, alone (bisected), after a
    bounded number of retries, instead of blocking its shard for the records' 24 h retention."""
    sources = _event_sources("DynamoDB")
    assert sources, "the template has DynamoDB stream sources"
    queue_alarms = _alarmed_queues()
    queues = resources("AWS::SQS::Queue")
    for function_id, event_id, props in sources:
        where = f"{function_id}.{event_id}"
        assert props.get("BisectBatchOnFunctionError") is True, where
        assert 0 <= int(props.get("MaximumRetryAttempts", -1)) <= 20, where
        assert "ReportBatchItemFailures" in props.get("FunctionResponseTypes", []), where
        on_failure = props["DestinationConfig"]["OnFailure"]
        assert on_failure["Type"] == "SQS", where
        (queue,) = references(on_failure["Destination"])
        assert queue in queues and queue in queue_alarms, where
        function = resources("AWS::Serverless::Function")[function_id]["Properties"]
        # the function releases records that can never be processed to the same queue, at once
        assert references(function["Environment"]["Variables"]["DEAD_LETTER_QUEUE_URL"]) == {queue}, where


def test_the_usage_queue_is_fifo_and_dead_letters_what_keeps_failing_under_an_alarm():
    """Each IMSI's usage is counted in order, one message at a time (FIFO, message group = account and IMSI);
    a message that keeps failing moves to a FIFO dead-letter queue an alarm watches, and a batch reports its
    failed messages, not all of them."""
    (source,) = [props for function_id, _, props in _event_sources("SQS") if function_id == "EvaluateUsageFunction"]
    assert "ReportBatchItemFailures" in source.get("FunctionResponseTypes", [])
    queues = resources("AWS::SQS::Queue")
    (queue,) = references(source["Queue"])
    assert queue == "UsageQueue" and queues[queue]["Properties"]["FifoQueue"] is True
    redrive = queues[queue]["Properties"]["RedrivePolicy"]
    assert 1 <= int(redrive["maxReceiveCount"]) <= 20
    (dead_letters,) = references(redrive["deadLetterTargetArn"])
    assert queues[dead_letters]["Properties"]["FifoQueue"] is True
    alarmed = _alarmed_queues()
    assert dead_letters in alarmed
    function = resources("AWS::Serverless::Function")["EvaluateUsageFunction"]["Properties"]
    # the function releases messages that can never be processed to the same queue, at once
    assert references(function["Environment"]["Variables"]["DEAD_LETTER_QUEUE_URL"]) == {dead_letters}


def test_every_dead_letter_queue_is_watched_by_an_alarm():
    """A message that keeps failing ends in a dead-letter queue; an operator hears of it from an alarm."""
    queues = resources("AWS::SQS::Queue")
    dead_letter_queues = {
        queue
        for props in (q["Properties"] for q in queues.values())
        if "RedrivePolicy" in props
        for queue in references(props["RedrivePolicy"]["deadLetterTargetArn"])
    }
    alarmed = _alarmed_queues()
    assert {"BufferDeadLetterQueue", "DumpDeadLetterQueue"} <= dead_letter_queues
    assert dead_letter_queues - alarmed == set()


@pytest.mark.parametrize("logical_id", sorted(resources("AWS::S3::Bucket")))
def test_every_bucket_is_private_encrypted_with_the_data_key_and_expires_its_objects(logical_id):
    props = template()["Resources"][logical_id]["Properties"]
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    default = rule["ServerSideEncryptionByDefault"]
    assert default["SSEAlgorithm"] == "aws:kms" and references(default["KMSMasterKeyID"]) == {"DataKey"}
    assert all(props["PublicAccessBlockConfiguration"].values()) and len(props["PublicAccessBlockConfiguration"]) == 4
    rules = [r for r in props["LifecycleConfiguration"]["Rules"] if r["Status"] == "Enabled"]
    assert any(references(r.get("ExpirationInDays")) == {"FileRetentionDays"} for r in rules)
    assert any("AbortIncompleteMultipartUpload" in r for r in rules)
