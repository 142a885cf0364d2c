"""Usage notification figures, each side by side in this run, on moto in-process:

1. Usage records counted per second by the evaluator (`Evaluator.handle`, one SQS message per record and
   per 10 records, no threshold crossed) next to a baseline loop doing the least DynamoDB work a record
   needs (one UpdateItem adding its bytes to a counter: no record-id check, no thresholds), blocks of the
   two alternating, medians of the block rates. The ratio is what exactly-once counting and threshold
   evaluation cost over a bare counter on the same emulator; moto makes it look worse than DynamoDB
   would: its TransactWriteItems deep-copies the tables it may roll back, so a transaction costs there
   what it never costs on DynamoDB (where one costs two writes per item).
2. DynamoDB requests per record when no threshold is crossed (target <= 2), counted by botocore events.
3. `findBySubscriber` for one subscriber's 4 notifications with 100 vs N notifications of other
   subscribers in the same account (N = 100,000 by default, about 80 s to load into moto on a 2-core
   machine; SWITCHBOARD_BENCH_USAGE_OTHERS sets another N):
   DynamoDB requests and items read per search on both sides, whose ratios are DynamoDB's cost, and the
   emulator's time ratio for information (moto keeps an index as a list it filters per query, so its time
   grows with the table where DynamoDB's does not). The other notifications are written with
   BatchWriteItem in the repository's item shape (`_notification_item`).
"""

from __future__ import annotations

import os
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

ACCOUNT = "a" * 32
IMSI = "208150000000001"
BLOCKS = 8
RECORDS_PER_BLOCK = 100
OTHERS_SMALL = 100
OTHERS_LARGE = int(os.environ.get("SWITCHBOARD_BENCH_USAGE_OTHERS", "100000"))
SEARCHES = 30


@contextmanager
def _moto() -> Iterator[dict[str, str]]:
    import boto3
    from moto import mock_aws
    from switchboard import aws, wiring

    from tests.support import create_template_resources

    os.environ.update(
        {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    with mock_aws():
        aws.use_session(boto3.session.Session())
        names = create_template_resources()
        os.environ.update(names)
        wiring.reset()
        try:
            yield names
        finally:
            aws.use_session(None)
            wiring.reset()


class _Requests:
    """DynamoDB requests made through the layer's session, by operation."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.items_read = 0

    def before(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def after(self, http_response: Any, parsed: Any, model: Any, **_: Any) -> None:
        if model.name in ("Query", "Scan"):
            self.items_read += int(parsed.get("ScannedCount", 0))

    @property
    def total(self) -> int:
        return sum(self.calls.values())


@contextmanager
def _counted() -> Iterator[_Requests]:
    """Count the requests of the layer's clients: they are drawn afresh from a session with the hooks
    (a client copies its session's hooks when it is made)."""
    import boto3
    from switchboard import aws

    counter = _Requests()
    session = boto3.session.Session()
    session.events.register("before-call.dynamodb", counter.before)
    session.events.register("after-call.dynamodb", counter.after)
    aws.use_session(session)
    try:
        yield counter
    finally:
        aws.use_session(boto3.session.Session())


def _subscriber(imsi: str, limit: int) -> None:
    from switchboard import clock, wiring
    from switchboard.usage.models import Subscriber, SubscriberInput

    spec = SubscriberInput(system="bench", dataLimit=limit, dataLimitPeriod="monthly", dataLimitCustomDate=1)
    wiring.usage_repository().put_subscriber(Subscriber.of(ACCOUNT, imsi, spec, clock.now_ms()))


def _messages(prefix: str, count: int, per_message: int) -> list[Any]:
    from switchboard.usage.models import UsageMessage, UsageRecord

    now = int(time.time() * 1000)
    return [
        UsageMessage(
            account_id=ACCOUNT,
            imsi=IMSI,
            records=[
                UsageRecord(record_id=f"{prefix}-{m}-{r}", bytes=1000, timestamp_ms=now) for r in range(per_message)
            ],
            received_ms=now,
        )
        for m in range(count // per_message)
    ]


def _baseline(table: Any, count: int) -> None:
    for _ in range(count):
        table.update_item(
            Key={"pk": f"BASE#{ACCOUNT}#{IMSI}", "sk": "USAGE"},
            UpdateExpression="ADD used :b",
            ExpressionAttributeValues={":b": 1000},
        )


def _throughput() -> list[str]:
    from switchboard import aws, wiring

    with _moto() as names:
        _subscriber(IMSI, 1 << 60)  # a limit no bench record comes near: no threshold crossed
        evaluator = wiring.usage_evaluator()
        table = aws.table(names["USAGE_TABLE"])
        rates: dict[str, list[float]] = {"baseline": [], "one": [], "ten": []}
        for block in range(BLOCKS):
            start = time.perf_counter()
            _baseline(table, RECORDS_PER_BLOCK)
            rates["baseline"].append(RECORDS_PER_BLOCK / (time.perf_counter() - start))
            for key, per_message in (("one", 1), ("ten", 10)):
                messages = _messages(f"{key}{block}", RECORDS_PER_BLOCK, per_message)
                start = time.perf_counter()
                for message in messages:
                    evaluator.handle(message)
                rates[key].append(RECORDS_PER_BLOCK / (time.perf_counter() - start))
        with _counted() as one:
            for message in _messages("count1", 50, 1):
                evaluator.handle(message)
        with _counted() as ten:
            for message in _messages("count10", 50, 10):
                evaluator.handle(message)
    base = statistics.median(rates["baseline"])
    one_rate, ten_rate = statistics.median(rates["one"]), statistics.median(rates["ten"])
    return [
        f"usage evaluation: baseline (one UpdateItem ADD per record) {base:,.0f} records/s on moto",
        f"usage evaluation: 1 record/message {one_rate:,.0f} records/s = {one_rate / base:.2f} x baseline; "
        f"10 records/message {ten_rate:,.0f} records/s = {ten_rate / base:.2f} x baseline",
        f"usage DynamoDB requests per record, no threshold crossed: 1 record/message {one.total / 50:.2f} "
        f"({dict(one.calls)}); 10 records/message {ten.total / 50:.2f} ({dict(ten.calls)}) (target <= 2)",
    ]


def _load_others(table_name: str, count: int, start: int) -> None:
    from switchboard import aws
    from switchboard.usage.models import Notification
    from switchboard.usage.repository import _notification_item

    now = int(time.time() * 1000)
    with aws.table(table_name).batch_writer() as batch:
        for n in range(start, start + count):
            imsi = f"3101500{n:08d}"  # not IMSI's prefix
            batch.put_item(
                Item=_notification_item(
                    Notification(
                        account_id=ACCOUNT,
                        hash=f"{n:064X}",
                        issued_ms=now,
                        imsi=imsi,
                        system="bench",
                        data_limit=1 << 30,
                        period="monthly",
                        custom_day=1,
                        total_usage=1 << 29,
                        threshold=50,
                        period_start="2026-11-01T00:00:00.000Z",
                    )
                )
            )


def _search_cost(service: Any, caller: Any) -> tuple[float, float, float, int]:
    """(seconds, requests, items read) per findBySubscriber of IMSI, and the notifications found."""
    found = 0
    with _counted() as counter:
        start = time.perf_counter()
        for _ in range(SEARCHES):
            notes, total = service.list(caller, None, "findBySubscriber", {"subscriber": IMSI}, True, 0, 20)
            found = len(notes) if total == len(notes) else -1
        elapsed = time.perf_counter() - start
    return elapsed / SEARCHES, counter.total / SEARCHES, counter.items_read / SEARCHES, found


def _find_by_subscriber() -> list[str]:
    from switchboard import wiring
    from switchboard.accounts.models import Account
    from switchboard.tenancy import Caller

    with _moto() as names:
        repo = wiring.accounts()
        repo._repo.put_account(Account(id=ACCOUNT, name="bench", created_ms=1))
        repo.set_feature(ACCOUNT, "usage-notifications", True)
        _subscriber(IMSI, 1000)
        from switchboard.usage.models import UsageMessage, UsageRecord

        now = int(time.time() * 1000)
        wiring.usage_evaluator().handle(
            UsageMessage(
                account_id=ACCOUNT,
                imsi=IMSI,
                records=[UsageRecord(record_id="x", bytes=1000, timestamp_ms=now)],
                received_ms=now,
            )
        )
        caller = Caller(account_id=ACCOUNT, priv_level="admin")
        service = wiring.usage_notifications()
        _load_others(names["USAGE_TABLE"], OTHERS_SMALL, 0)
        small = _search_cost(service, caller)
        loading = time.perf_counter()
        _load_others(names["USAGE_TABLE"], OTHERS_LARGE - OTHERS_SMALL, OTHERS_SMALL)
        loading = time.perf_counter() - loading
        large = _search_cost(service, caller)
    assert small[3] == large[3] == 4, (small, large)
    return [
        f"findBySubscriber (4 found), {OTHERS_SMALL:,} vs {OTHERS_LARGE:,} other subscribers' notifications: "
        f"DynamoDB requests {small[1]:.0f} vs {large[1]:.0f} (ratio {large[1] / small[1]:.2f}), "
        f"items read {small[2]:.0f} vs {large[2]:.0f} (ratio {large[2] / max(small[2], 1):.2f}; target <= 1.5)",
        f"findBySubscriber on moto: {small[0] * 1000:.1f} ms vs {large[0] * 1000:.1f} ms "
        f"(ratio {large[0] / small[0]:.2f}; moto filters an index's whole list per query; "
        f"{OTHERS_LARGE - OTHERS_SMALL:,} items loaded in {loading:.0f} s)",
    ]


def report() -> list[str]:
    return _throughput() + _find_by_subscriber()


if __name__ == "__main__":
    for line in report():
        print(line, flush=True)
