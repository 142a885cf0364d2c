"""The line a dialect logs for an unhandled error carries the request's correlation id (the API Gateway
request id, injected by the function's Logger): the dialects log through child loggers."""

from __future__ import annotations

import io
import json

import pytest

from tests.support import call, load_function, rest_event

CASES = [
    ("alerts", "GET", "/v2/accounts/{account}/alerts"),
    ("subscriptions", "GET", "/ess/v1/topic-subscriptions"),
    ("systems", "GET", "/api/v1/systems"),
    ("subscribers", "GET", "/v1/subscribers"),
]


@pytest.mark.parametrize("function, method, path", CASES, ids=[case[0] for case in CASES])
def test_unhandled_error_is_logged_with_the_correlation_id(aws, world, monkeypatch, function, method, path):
    fn = load_function(function)

    def broken(_app):
        raise RuntimeError("a bug in the code")

    monkeypatch.setattr(fn, "caller", broken)
    who = world.child_admin
    event = rest_event(method, path.format(account=who.account_id), who.context)
    event["requestContext"]["requestId"] = f"req-{function}-0123456789"
    handler = fn.logger.registered_handler
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        status, _, _ = call(fn, event)
    finally:
        handler.setStream(previous)
    assert status == 500
    lines = [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]
    [line] = [line for line in lines if line.get("message") == "unhandled error"]
    assert line["level"] == "ERROR" and "RuntimeError: a bug in the code" in line["exception"]
    assert line["correlation_id"] == f"req-{function}-0123456789"
    assert line["function_request_id"] == "00000000-0000-0000-0000-000000000000"
