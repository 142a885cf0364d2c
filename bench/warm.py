"""Warm request: GET one alert through the alerts function vs the minimal one-read handler.

Both handlers are imported once (warm), share one stubbed DynamoDB client, and are invoked
in alternating blocks; the median per-invocation time of each side is compared.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

import boto3
from switchboard import aws, wiring

from bench.baselines import minimal_dynamodb_handler as baseline
from tests.fakes.dynamo_http import DynamoStub
from tests.integration.test_sample_events import ACCOUNT, ALERT, USER, sample_alert
from tests.support import LambdaContext, load_function, rest_event


def _setup() -> tuple[Any, DynamoStub, dict[str, Any]]:
    os.environ.update(
        {
            "ALERTS_TABLE": "alerts",
            "ACCOUNTS_TABLE": "accounts",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    wiring.reset()
    aws.reset()
    stub = DynamoStub()
    stub.put({"pk": f"ALERT#{ALERT}", "sk": "ALERT", "doc": sample_alert().model_dump_json()})
    session = boto3.session.Session()
    stub.attach(session)
    # Our code and the baseline draw their clients from this one stubbed session.
    aws.use_session(session)
    baseline.bind(session, "alerts")
    function = load_function("alerts")
    context = {"account_id": ACCOUNT, "user_id": USER, "priv_level": "admin", "scopes": "", "ancestry": ""}
    event = rest_event("GET", f"/v2/accounts/{ACCOUNT}/alerts/{ALERT}", context)
    return function, stub, event


def _time_block(handler: Any, event: dict[str, Any], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        start = time.perf_counter_ns()
        response = handler(event, LambdaContext())
        samples.append((time.perf_counter_ns() - start) / 1e6)
        assert response["statusCode"] == 200, response
    return samples


def measure(blocks: int = 10, per_block: int = 100) -> dict[str, float]:
    function, stub, event = _setup()
    ours, base = [], []
    for _ in range(2):  # warm both
        _time_block(function.lambda_handler, event, 20)
        _time_block(baseline.lambda_handler, event, 20)
    for _ in range(blocks):
        ours += _time_block(function.lambda_handler, event, per_block)
        base += _time_block(baseline.lambda_handler, event, per_block)
    stub.calls.clear()
    _time_block(function.lambda_handler, event, 1)
    reads = len(stub.calls)
    ours_ms, base_ms = statistics.median(ours), statistics.median(base)
    return {"ms": ours_ms, "baseline_ms": base_ms, "ratio": ours_ms / base_ms, "dynamodb_calls": reads}


def report() -> list[str]:
    row = measure()
    return [
        f"warm GET alert          {row['ms']:7.3f} ms vs one-read handler {row['baseline_ms']:7.3f} ms  "
        f"ratio {row['ratio']:.2f}  (target <= 2); DynamoDB calls per GET: {row['dynamodb_calls']}"
    ]
