"""Delivery models: the event key, the handled-deliveries time range, API filters, delivery ids."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from switchboard.delivery.event_deliveries import split_delivery_id
from switchboard.delivery.models import (
    DeliveryFilter,
    HandledInput,
    RedeliverInput,
    Status,
    TaskEnvelope,
    event_key,
    timestamp_range,
)
from switchboard.errors import NotFound
from switchboard.events.models import parse_time


def test_event_key_prefers_the_number_then_identifier_fields():
    assert event_key({"number": "+1", "carrier_id": "7"}) == ["number"]
    assert event_key({"message_id": "m", "body": "x", "call_id": "c"}) == ["message_id", "call_id"]
    assert event_key({"body": "x"}) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[1970-01-01T00:00:00-]", (0, None)),
        ("[-2026-01-01T00:00:00Z]", (None, parse_time("2026-01-01T00:00:00Z"))),
        (
            "[2026-01-01T00:00:00Z-2026-02-01T00:00:00Z]",
            (parse_time("2026-01-01T00:00:00Z"), parse_time("2026-02-01T00:00:00Z")),
        ),
        ("[2026-01-01-2026-02-01]", (parse_time("2026-01-01"), parse_time("2026-02-01"))),
        ("2026-01-01T00:00:00Z", (parse_time("2026-01-01T00:00:00Z"),) * 2),
        ("[-]", (None, None)),
    ],
)
def test_timestamp_ranges(text, expected):
    assert timestamp_range(text) == expected


@pytest.mark.parametrize("text", ["[soon-]", "[2026-13-01-]", "yesterday", "[2026-01-01T00:00:00Z"])
def test_bad_timestamp_ranges(text):
    with pytest.raises(ValueError):
        timestamp_range(text)
    with pytest.raises(ValidationError):
        HandledInput.model_validate({"event-id": "e", "timestamp": text})


def test_delivery_filter_parses_status_and_window():
    query = DeliveryFilter.model_validate({"delivery-status": "RETRY", "from": "2026-01-01T00:00:00Z"})
    assert query.status is Status.RETRY and query.from_ms == parse_time("2026-01-01T00:00:00Z") and query.to_ms is None
    for bad in (
        {"delivery-status": "retry"},
        {"del-cfg-id": "12a"},
        {"to": "2026-01-01T00:00:00Z", "from": "2026-01-02T00:00:00Z"},
    ):
        with pytest.raises(ValidationError):
            DeliveryFilter.model_validate(bad)


def test_redeliver_input_defaults_to_failed_and_takes_a_list():
    window = {"from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z"}
    assert RedeliverInput.model_validate({"del-cfg-id": 1001, **window}).statuses() == [Status.FAILED]
    both = RedeliverInput.model_validate({"del-cfg-id": "1001", **window, "delivery-status": ["FAILED", "SUCCESS"]})
    assert both.config_id == "1001" and both.statuses() == [Status.FAILED, Status.SUCCESS]


def test_task_envelope_dispatches_on_kind():
    task = TaskEnvelope.model_validate(
        {"task": {"kind": "deliver", "account_id": "a", "event_id": "e", "config_id": "1", "attempt": 2}}
    ).task
    assert task.kind == "deliver" and task.attempt == 2
    with pytest.raises(ValidationError):
        TaskEnvelope.model_validate({"task": {"kind": "explode"}})


def test_delivery_ids():
    assert split_delivery_id("d0qgWF8ERLGn_7JJOGhqNQ:1266") == ("d0qgWF8ERLGn_7JJOGhqNQ", "1266")
    assert split_delivery_id("a:b:1") == ("a:b", "1")
    for bad in ("nope", ":1", "x:", "x:1a", "x:" + "1" * 13, "e" * 65 + ":1"):
        with pytest.raises(NotFound):
            split_delivery_id(bad)
