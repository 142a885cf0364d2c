"""ESS figures: subscription lookup with 100 vs 100,000 indexed subscriptions (time ratio on a
partitioned in-memory DynamoDB, requests per lookup counted), and publish validation vs a bare
pydantic model of the same fields."""

from __future__ import annotations

import statistics
import time
from datetime import datetime
from typing import Any

import boto3
from pydantic import BaseModel, ConfigDict, Field

from tests.fakes.dynamo_http import DynamoStub

ACCOUNT = "5" * 32
EVENT_FIELDS = {
    "number": "+17805199493",
    "previous_carrier_id": "1025",
    "tracking_id": "1655272074",
    "deactivation_date": "2017-06-03T04:00:00Z",
}


def _subscriptions(count: int, first_id: int) -> list[Any]:
    from switchboard.events.models import Subscription
    from switchboard.events.subscriptions import index_key

    subs = []
    for n in range(count):
        number = f"+1555{first_id + n:07d}"
        field, value = index_key({"number": number})
        subs.append(
            Subscription(
                id=str(first_id + n),
                account_id=ACCOUNT,
                topic="NIS-Events",
                event_type=None,
                delivery_configuration_id="1001",
                match_criteria=f"number = '{number}'",
                match_tree=["=", "number", number],
                index_field=field,
                index_value=value,
                start_ms=0,
                created_ms=0,
            )
        )
    return subs


def _lookup_figures(total: int, lookups: int = 300) -> dict[str, float]:
    """Median lookup time and requests per lookup with `total` subscriptions of one company."""
    import os

    from switchboard import aws, wiring
    from switchboard.events import matching

    os.environ.update(
        {
            "EVENTS_TABLE": "events",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    wiring.reset()
    stub = DynamoStub()
    session = boto3.session.Session()
    stub.attach(session)
    aws.use_session(session)
    try:
        number = EVENT_FIELDS["number"]
        target = [
            sub.model_copy(
                update={
                    "index_value": number,
                    "match_criteria": f"number = '{number}'",
                    "match_tree": matching.to_json(matching.parse(f"number = '{number}'")),
                }
            )
            for sub in _subscriptions(3, 1)
        ]  # three subscriptions on the event's number...
        # ...among `total`
        wiring.events_repository().bulk_load_subscriptions(target + _subscriptions(total - 3, 10_000))
        finder = wiring.subscription_matcher()
        stub.calls.clear()
        samples = []
        for _ in range(lookups):
            start = time.perf_counter()
            found = finder.matching(ACCOUNT, "NIS-Events", "deactivation_event", EVENT_FIELDS, 1_700_000_000_000)
            samples.append(time.perf_counter() - start)
            assert len(found) == 3, len(found)
        return {
            "ms": statistics.median(samples) * 1000,
            "requests": len(stub.calls) / lookups,
            "scans": stub.calls.count("Scan"),
        }
    finally:
        aws.use_session(None)
        wiring.reset()


class _BareDeactivation(BaseModel):
    """Baseline: the same fields, declared statically, validated by pydantic alone."""

    model_config = ConfigDict(extra="forbid", strict=True)
    number: str
    previous_carrier_id: str | None = None
    previous_carrier_name: str | None = None
    tracking_id: str | None = None
    company_id: int | None = Field(default=None, alias="company-id")
    deactivation_date: datetime


class _BareEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)
    topic: str
    evt_tp: str = Field(alias="evt-tp")
    fields: _BareDeactivation = Field(alias="fld-val-list")


def _validation_figures(rounds: int = 5, per_round: int = 4000) -> dict[str, float]:
    from switchboard.events.catalog import load_catalog
    from switchboard.events.models import PublishInput
    from switchboard.events.publishing import check_fields

    body = {"topic": "NIS-Events", "evt-tp": "deactivation_event", "fld-val-list": EVENT_FIELDS}
    catalog = load_catalog()

    def ours() -> None:
        data = PublishInput.model_validate(body)
        topic = catalog.topic(data.topic)
        assert topic is not None and data.event_type in topic.event_types
        spec = catalog.event_type(data.event_type)
        assert spec is not None and not check_fields(spec, data.fields)

    def bare() -> None:
        # strict mode takes no ISO string for datetime; validate_json is pydantic's own fast path
        _BareEvent.model_validate(
            {
                **body,
                "fld-val-list": {
                    **EVENT_FIELDS,
                    "deactivation_date": datetime.fromisoformat("2017-06-03T04:00:00+00:00"),
                },
            }
        )

    ours_rates, bare_rates = [], []
    for _ in range(rounds):
        for fn, rates in ((bare, bare_rates), (ours, ours_rates)):
            start = time.perf_counter()
            for _ in range(per_round):
                fn()
            rates.append(per_round / (time.perf_counter() - start))
    return {"ours": statistics.median(ours_rates), "bare": statistics.median(bare_rates)}


def report() -> list[str]:
    small, large = _lookup_figures(100), _lookup_figures(100_000)
    ratio = large["ms"] / small["ms"]
    validation = _validation_figures()
    return [
        f"subscription lookup     100,000 subs {large['ms']:6.2f} ms vs 100 subs {small['ms']:6.2f} ms  "
        f"ratio {ratio:.2f}  (target <= 1.5)",
        f"subscription lookup     DynamoDB requests per lookup {large['requests']:.1f} (100: {small['requests']:.1f}), "
        f"Scan {large['scans']}  (target <= 3)",
        f"publish validation      {validation['ours']:8.0f}/s vs bare pydantic model {validation['bare']:8.0f}/s  "
        f"ratio {validation['ours'] / validation['bare']:.2f} (throughput, ours / baseline)",
    ]
