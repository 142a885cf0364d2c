"""The local runtime (`switchboard local`) against a fixture template of tiny functions.

The e2e tests share one runtime (module scope): API Gateway emulation with a REQUEST
authorizer, an SQS event source with partial batch failures and a DLQ, schedules on an
accelerated clock, stack outputs. The unit tests at the top need no servers.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key
from switchboard_local.apigateway import evaluate_policy
from switchboard_local.emulator import aws_client
from switchboard_local.functions import InvocationError
from switchboard_local.runtime import LocalRuntime
from switchboard_local.scheduler import ScheduleError, accelerated_clock, parse_expression
from switchboard_local.stack import default_stack_name, stack_outputs
from switchboard_local.template import Resolver, Template, TemplateError, physical_resources

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "runtime"
TEMPLATE = FIXTURE / "template.yaml"
STACK = "fixture-local"


# --------------------------------------------------------------------------- unit: template


@pytest.fixture
def resolver() -> Resolver:
    template = Template.load(TEMPLATE, stack_name=STACK)
    return Resolver(template, physical_resources(template, emulator_url="http://127.0.0.1:4566"))


def test_short_tags_load_as_long_form_intrinsics() -> None:
    data = Template.load(TEMPLATE).data
    queue = data["Resources"]["WorkQueue"]["Properties"]["RedrivePolicy"]
    assert queue["deadLetterTargetArn"] == {"Fn::GetAtt": ["WorkDLQ", "Arn"]}
    assert data["Conditions"]["IsProd"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}


def test_refs_resolve_to_local_physical_ids(resolver: Resolver) -> None:
    assert resolver.resolve({"Ref": "RunsTable"}) == f"{STACK}-RunsTable"
    assert resolver.resolve({"Ref": "WorkQueue"}) == f"http://127.0.0.1:4566/123456789012/{STACK}-WorkQueue"
    assert (
        resolver.resolve({"Fn::GetAtt": ["WorkQueue", "Arn"]})
        == f"arn:aws:sqs:us-east-1:123456789012:{STACK}-WorkQueue"
    )
    assert resolver.resolve({"Fn::GetAtt": ["OrdersQueue", "QueueName"]}) == f"{STACK}-OrdersQueue.fifo"
    assert resolver.resolve({"Ref": "EchoFunction"}) == f"{STACK}-EchoFunction"
    assert resolver.resolve({"Fn::GetAtt": "EchoFunction.Arn"}).endswith(f":function:{STACK}-EchoFunction")
    assert resolver.resolve({"Ref": "FixtureLayer"}).endswith(f":layer:{STACK}-fixture:1")
    assert resolver.resolve({"Ref": "AWS::AccountId"}) == "123456789012"
    assert resolver.resolve({"Ref": "Stage"}) == "test"


def test_sub_join_select_split_if(resolver: Resolver) -> None:
    assert resolver.resolve({"Fn::Sub": "${AWS::StackName}/${Stage}/${RunsTable}/${WorkDLQ.Arn}"}) == (
        f"{STACK}/test/{STACK}-RunsTable/arn:aws:sqs:us-east-1:123456789012:{STACK}-WorkDLQ"
    )
    assert resolver.resolve({"Fn::Sub": ["${A}-${!Literal}", {"A": {"Ref": "Stage"}}]}) == "test-${Literal}"
    assert resolver.resolve({"Fn::Join": ["-", ["a", {"Ref": "Stage"}]]}) == "a-test"
    assert resolver.resolve({"Fn::Select": [1, {"Fn::Split": [",", "x,y,z"]}]}) == "y"
    assert resolver.resolve({"Fn::If": ["IsProd", "p", "d"]}) == "d"
    assert resolver.resolve({"k": {"Fn::If": ["IsProd", "p", {"Ref": "AWS::NoValue"}]}, "j": 1}) == {"j": 1}
    assert resolver.resolve({"Fn::Or": [{"Fn::Equals": ["a", "b"]}, {"Fn::Not": [{"Condition": "IsProd"}]}]})


def test_globals_merge_and_conditions() -> None:
    template = Template.load(TEMPLATE, parameter_overrides={"Stage": "prod"})
    echo = template.resources["EchoFunction"]["Properties"]
    assert echo["Timeout"] == 10 and echo["Layers"] == [{"Ref": "FixtureLayer"}]
    assert set(echo["Environment"]["Variables"]) >= {"STAGE", "RUNS_TABLE", "ALLOW_PRIVATE_TARGETS"}
    assert "ProdOnlyBucket" in template.of_type("AWS::S3::Bucket")
    assert "ProdOnlyBucket" not in Template.load(TEMPLATE).of_type("AWS::S3::Bucket")


def test_bad_parameter_overrides_are_rejected() -> None:
    with pytest.raises(TemplateError, match="not one of"):
        Template.load(TEMPLATE, parameter_overrides={"Stage": "nope"})
    with pytest.raises(TemplateError, match="not declared"):
        Template.load(TEMPLATE, parameter_overrides={"Typo": "x"})


# --------------------------------------------------------------------------- unit: policies, schedules


def test_policy_evaluation_wildcards_and_explicit_deny() -> None:
    arn = "arn:aws:execute-api:us-east-1:123456789012:abc123/test/GET/items/1"
    allow_all = {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:*:*:abc123/*"}
    deny_items = {"Effect": "Deny", "Action": "execute-api:*", "Resource": ["arn:*:abc123/test/GET/items/?"]}
    assert evaluate_policy({"Statement": [allow_all]}, arn) == "allow"
    assert evaluate_policy({"Statement": [allow_all, deny_items]}, arn) == "deny"
    assert evaluate_policy({"Statement": [deny_items]}, arn + "0") == "implicit"
    other = {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:*:abc123/test/POST/*"}
    assert evaluate_policy({"Statement": other}, arn) == "implicit"


def test_schedule_expressions() -> None:
    after = datetime(2026, 11, 23, 9, 47, 30, tzinfo=UTC)  # a Monday
    assert parse_expression("cron(0/15 * * * ? *)").next_after(after, after) == datetime(
        2026, 11, 23, 10, 0, tzinfo=UTC
    )
    assert parse_expression("cron(0 9 ? * MON-FRI *)").next_after(after, after).day == 24
    assert parse_expression("cron(15 10 ? * 6L *)").next_after(after, after).day == 27  # last Friday
    assert parse_expression("cron(0 0 L * ? *)").next_after(after, after).day == 30
    paris = parse_expression("cron(0 9 * * ? *)", "Europe/Paris").next_after(after, after)
    assert paris == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    rate = parse_expression("rate(5 minutes)")
    assert rate.next_after(after, after) == datetime(2026, 11, 23, 9, 52, 30, tzinfo=UTC)
    for bad in ("rate(1 minutes)", "cron(0 10 * * * *)", "cron(0 10 * *)", "cron(L 10 * * ? *)", "every day"):
        with pytest.raises(ScheduleError):
            parse_expression(bad)


def test_default_stack_name(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SWITCHBOARD_STACK", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    (tmp_path / "samconfig.toml").write_text('version = 0.1\n[default.global.parameters]\nstack_name = "sb-dev"\n')
    assert default_stack_name(tmp_path) == "sb-dev"
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    assert default_stack_name(tmp_path) == "switchboard-local"
    monkeypatch.setenv("SWITCHBOARD_STACK", "explicit")
    assert default_stack_name(tmp_path) == "explicit"


# --------------------------------------------------------------------------- e2e: the running runtime


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check: Callable[[], Any], timeout: float = 20.0, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    with LocalRuntime(
        TEMPLATE,
        port=free_port(),
        emulator_port=free_port(),
        stack_name=STACK,
        schedule_tick=0.05,
        schedule_clock=accelerated_clock(60),  # rate(1 minute) fires every second
        echo=lambda line: None,
    ) as rt:
        yield rt


def http(
    rt: LocalRuntime, method: str, path: str, *, token: str | None = "good", body: bytes | None = None
) -> tuple[int, Message, bytes]:
    headers = {"X-Auth-Token": token} if token else {}
    request = urllib.request.Request(rt.api_url + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def table(rt: LocalRuntime) -> Any:
    import boto3

    resource = boto3.resource(
        "dynamodb",
        endpoint_url=rt.emulator_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return resource.Table(f"{STACK}-RunsTable")


def items(rt: LocalRuntime, pk: str) -> list[dict[str, Any]]:
    return table(rt).query(KeyConditionExpression=Key("pk").eq(pk), ConsistentRead=True)["Items"]


@pytest.mark.e2e
def test_get_reaches_the_handler_with_api_gateway_event(runtime: LocalRuntime) -> None:
    status, headers, raw = http(runtime, "GET", "/items/abc?x=1&x=2&y=z%20z")
    assert status == 200, raw
    body = json.loads(raw)
    event = body["event"]
    assert event["resource"] == "/items/{item_id}"
    assert event["path"] == "/items/abc"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"item_id": "abc"}
    assert event["queryStringParameters"] == {"x": "2", "y": "z z"}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": ["z z"]}
    assert event["headers"]["X-Auth-Token"] == "good"
    assert event["multiValueHeaders"]["X-Auth-Token"] == ["good"]
    assert event["body"] is None and event["isBase64Encoded"] is False
    assert event["stageVariables"] is None
    ctx = event["requestContext"]
    assert ctx["stage"] == "test" and ctx["path"] == "/test/items/abc"
    assert ctx["resourcePath"] == "/items/{item_id}" and ctx["httpMethod"] == "GET"
    assert ctx["accountId"] == "123456789012" and len(ctx["apiId"]) == 10
    assert ctx["requestId"] == headers["x-amzn-RequestId"]
    assert ctx["identity"]["sourceIp"] == "127.0.0.1"
    assert isinstance(ctx["requestTimeEpoch"], int)
    # The authorizer's context, stringified as API Gateway does, plus principalId.
    authorizer = ctx["authorizer"]
    assert authorizer["principalId"] == "user-1"
    assert (authorizer["tier"], authorizer["level"], authorizer["admin"]) == ("gold", "3", "true")
    assert isinstance(authorizer["integrationLatency"], int)
    # Response headers: `headers` and `multiValueHeaders` merged.
    assert headers["X-Single"] == "one" and headers.get_all("X-Multi") == ["a", "b"]


@pytest.mark.e2e
def test_function_runs_like_lambda(runtime: LocalRuntime) -> None:
    body = json.loads(http(runtime, "GET", "/items/env")[2])
    env = body["env"]
    assert body["layer"] == "fixture-layer"
    assert body["sys_path_head"][0] == str(FIXTURE / "functions" / "echo")
    assert body["cwd"] == str(FIXTURE / "functions" / "echo")
    assert env["STAGE"] == "test" and env["RUNS_TABLE"] == f"{STACK}-RunsTable"
    assert env["ALLOW_PRIVATE_TARGETS"] == "true"  # the local default
    assert env["MODE"] == "development"
    assert env["API_URL"] == runtime.api_url
    assert env["QUEUE_URL"] == f"{runtime.emulator_url}/123456789012/{STACK}-WorkQueue"
    assert env["KEY_ID"] == runtime.physical["FixtureKey"].ref and not env["KEY_ID"].startswith("alias/")
    assert env["AWS_ENDPOINT_URL"] == runtime.emulator_url
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == f"{STACK}-EchoFunction"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["_HANDLER"] == "app.handler" and env["AWS_SAM_LOCAL"] == "true"
    assert "AWS_SESSION_TOKEN" not in env  # nothing of the developer's AWS setup leaks in
    assert body["context"]["function_name"] == f"{STACK}-EchoFunction"
    assert body["context"]["memory_limit_in_mb"] == "256"
    assert 0 < body["context"]["remaining_ms"] <= 10_000


@pytest.mark.e2e
def test_stage_prefix_and_proxy_path_with_binary_body(runtime: LocalRuntime) -> None:
    status, _, raw = http(runtime, "GET", "/test/items/abc")
    assert status == 200 and json.loads(raw)["event"]["path"] == "/items/abc"
    status, _, raw = http(runtime, "POST", "/files/a/b.bin", body=b"\xff\x00binary")
    event = json.loads(raw)["event"]
    assert status == 200
    assert event["resource"] == "/files/{proxy+}" and event["pathParameters"] == {"proxy": "a/b.bin"}
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\xff\x00binary"
    event = json.loads(http(runtime, "PUT", "/files/x", body=b'{"a": 1}')[2])["event"]
    assert event["body"] == '{"a": 1}' and event["isBase64Encoded"] is False


@pytest.mark.e2e
def test_missing_token_is_401_with_the_template_gateway_response(runtime: LocalRuntime) -> None:
    status, headers, raw = http(runtime, "GET", "/items/abc", token=None)
    assert status == 401
    assert json.loads(raw) == {"error": "unauthorized", "request_id": headers["x-amzn-RequestId"]}


@pytest.mark.e2e
def test_deny_policy_is_403_and_authorizer_errors_are_500(runtime: LocalRuntime) -> None:
    status, headers, raw = http(runtime, "GET", "/items/abc", token="bad")
    assert status == 403 and headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert "explicit deny" in raw.decode()
    # The same Deny statement does not cover other resources: the Allow wins there.
    assert http(runtime, "GET", "/files/abc", token="bad")[0] == 200
    status, _, raw = http(runtime, "GET", "/items/abc", token="broken")
    assert status == 500 and json.loads(raw) == {"message": None}


@pytest.mark.e2e
def test_public_route_skips_the_authorizer(runtime: LocalRuntime) -> None:
    status, _, raw = http(runtime, "GET", "/public", token=None)
    assert status == 200
    assert "authorizer" not in json.loads(raw)["event"]["requestContext"]


@pytest.mark.e2e
def test_unknown_route_uses_the_template_gateway_response(runtime: LocalRuntime) -> None:
    for method, path in (("GET", "/nowhere"), ("DELETE", "/items/abc"), ("GET", "/files")):
        status, headers, raw = http(runtime, method, path)
        assert status == 404, (method, path)
        assert headers["X-Fixture"] == "not-found"
        assert json.loads(raw) == {"error": "not_found", "request_id": headers["x-amzn-RequestId"]}


@pytest.mark.e2e
def test_handler_errors_timeouts_and_malformed_responses_are_502(runtime: LocalRuntime) -> None:
    for path in ("/items/explode", "/items/malformed", "/slow"):
        status, _, raw = http(runtime, "GET", path)
        assert status == 502, path
        assert json.loads(raw) == {"message": "Internal server error"}
    assert http(runtime, "GET", "/items/fine")[0] == 200  # a fresh worker replaced nothing needed


@pytest.mark.e2e
def test_request_over_10_mb_is_413(runtime: LocalRuntime) -> None:
    with socket.create_connection(("127.0.0.1", runtime.api.port), timeout=10) as sock:  # type: ignore[union-attr]
        sock.sendall(b"POST /files/big HTTP/1.1\r\nHost: x\r\nX-Auth-Token: good\r\nContent-Length: 10485761\r\n\r\n")
        response = sock.recv(4096).decode()
    assert response.startswith("HTTP/1.1 413")


@pytest.mark.e2e
def test_direct_invocation_and_errors(runtime: LocalRuntime) -> None:
    result = runtime.invoke("EchoFunction", {"pathParameters": {"item_id": "direct"}})
    assert result["statusCode"] == 200
    with pytest.raises(InvocationError) as failure:
        runtime.invoke("EchoFunction", {"pathParameters": {"item_id": "explode"}})
    assert failure.value.error_type == "RuntimeError"
    assert failure.value.error_message == "exploded on purpose"
    with pytest.raises(InvocationError) as timeout:
        runtime.invoke("SlowFunction", {})
    assert timeout.value.error_type == "Sandbox.Timedout"


@pytest.mark.e2e
def test_sqs_partial_batch_failure_and_dlq(runtime: LocalRuntime) -> None:
    sqs = aws_client("sqs", runtime.emulator_url)
    queue_url = runtime.outputs["WorkQueueUrl"]
    dlq_url = sqs.get_queue_url(QueueName=f"{STACK}-WorkDLQ")["QueueUrl"]
    bodies = ["ok-1", "ok-2", "fail", "ok-3", "ok-4"]
    for body in bodies:
        sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=body,
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "test"}},
        )

    # The failing message is received twice (maxReceiveCount 2), then moto moves it to the DLQ.
    dead = wait_for(lambda: sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1).get("Messages"), timeout=30)
    assert [m["Body"] for m in dead] == ["fail"]

    deliveries = items(runtime, "sqs")
    by_body: dict[str, list[int]] = {}
    for item in deliveries:
        by_body.setdefault(item["body"], []).append(int(item["sk"].rsplit("#", 1)[1]))
    assert by_body.pop("fail") == [1, 2]
    # The successful ones were deleted after their first delivery, never redelivered.
    assert by_body == {body: [1] for body in bodies if body != "fail"}
    record = json.loads(deliveries[0]["record"])
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == f"arn:aws:sqs:us-east-1:123456789012:{STACK}-WorkQueue"
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "test",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert {"messageId", "receiptHandle", "body", "attributes", "md5OfBody", "awsRegion"} <= set(record)
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


@pytest.mark.e2e
def test_schedules_fire(runtime: LocalRuntime) -> None:
    def events() -> list[dict[str, Any]]:
        return [json.loads(item["event"]) for item in items(runtime, "schedule")]

    def both_kinds() -> list[dict[str, Any]] | None:
        found = events()
        has_rule = any(e.get("detail-type") == "Scheduled Event" for e in found)
        has_v2 = any(e.get("kind") == "v2" for e in found)
        return found if has_rule and has_v2 else None

    found = wait_for(both_kinds, timeout=20)
    rule = next(e for e in found if e.get("detail-type") == "Scheduled Event")
    assert rule["source"] == "aws.events" and rule["detail"] == {} and rule["account"] == "123456789012"
    assert rule["resources"] == [f"arn:aws:events:us-east-1:123456789012:rule/{STACK}-TickFunctionEveryMinute"]
    v2 = next(e for e in found if e.get("kind") == "v2")
    assert v2["at"].endswith("Z") and not v2["at"].startswith("<")
    assert not any(e.get("kind") in ("disabled", "nightly") for e in found)


@pytest.mark.e2e
def test_stack_outputs_are_registered(runtime: LocalRuntime) -> None:
    import boto3

    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
    outputs = stack_outputs(STACK, session=session, endpoint_url=runtime.emulator_url, region_name="us-east-1")
    assert outputs == runtime.outputs
    assert outputs["ApiUrl"] == runtime.api_url
    assert outputs["RunsTableName"] == f"{STACK}-RunsTable"
    assert outputs["OrdersQueueName"] == f"{STACK}-OrdersQueue.fifo"
    assert outputs["KeyArn"].startswith("arn:aws:kms:us-east-1:123456789012:key/")
    assert "ProdBucketName" not in outputs
    ddb = aws_client("dynamodb", runtime.emulator_url)
    assert ddb.describe_time_to_live(TableName=f"{STACK}-RunsTable")["TimeToLiveDescription"]["AttributeName"] == "ttl"


@pytest.mark.e2e
def test_switchboard_invoke_cli(runtime: LocalRuntime) -> None:
    pytest.importorskip("switchboard_local.admin")  # the CLI registers the admin commands
    env = {**os.environ, "AWS_ENDPOINT_URL": runtime.emulator_url}
    command = [
        sys.executable,
        "-m",
        "switchboard_local",
        "invoke",
        "EchoFunction",
        "--template",
        str(TEMPLATE),
        "--stack-name",
        STACK,
    ]
    done = subprocess.run(
        [*command, "--event", str(FIXTURE / "events" / "echo.json")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    body = json.loads(json.loads(done.stdout)["body"])
    assert body["event"]["pathParameters"] == {"item_id": "from-cli"}
    assert body["env"]["KEY_ID"] == runtime.physical["FixtureKey"].ref  # found through the running emulator
    failed = subprocess.run(
        [*command, "--event", str(FIXTURE / "events" / "explode.json")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert failed.returncode == 1
    error = json.loads(failed.stdout)
    assert (error["errorType"], error["errorMessage"]) == ("RuntimeError", "exploded on purpose")
    assert "[EchoFunction] [ERROR] RuntimeError" in failed.stderr


@pytest.mark.e2e
def test_stop_leaves_no_worker_processes() -> None:
    rt = LocalRuntime(TEMPLATE, port=0, emulator_port=0, stack_name="fixture-stop", echo=lambda line: None)
    with rt:
        assert rt.invoke("EchoFunction", {})["statusCode"] == 200
        pids = rt.worker_pids()
        api_port = rt.api.port  # type: ignore[union-attr]
        assert pids
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", api_port), timeout=1):
        pass
