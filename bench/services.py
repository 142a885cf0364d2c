"""KAZOO services on moto: what an audit summary read costs as changes pile up, and what keeping
quantities costs per resource write.

- Audit summary: one account with 10, then 10,000 changes over the same two days and four items (the
  stored footprint the quantities mechanism leaves), `audit_summary` over the range timed side by side;
  DynamoDB requests counted for each.
- Upkeep: twenty systems created through the AirVantage service (the resource writes), then their
  stream records counted; the extra DynamoDB requests the counting makes per create (the account's
  services document already known: an account's very first counted change also reads its ancestry
  once, and a cold plan cache one BatchGetItem).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import boto3

from bench.dynamo_requests import RequestCounter, _moto_tables

ITEMS = (("airvantage", "system"), ("ess", "subscription"), ("users", "user"), ("airvantage", "alert_rule"))
DAYS = 2  # the same days x items rows for both sizes: what a read costs is those rows, not the changes
READS = 200


def _load_changes(account_id: str, count: int, start_ms: int) -> None:
    """The stored footprint of `count` counted changes, exactly what `QuantityKeeper.apply` writes for
    each (its audit entry, its stream marker, the day counters it moves), loaded with batch writes.

    (moto copies every table on each TransactWriteItems to roll back, which makes ten thousand
    transactional applies quadratic in the emulator; the keeper itself is measured below.)"""
    from switchboard import aws, clock, wiring
    from switchboard.services import audit
    from switchboard.services.models import AuditEntry

    repo = wiring.services_repository()
    client = aws.client("dynamodb")
    puts: list[dict[str, Any]] = []
    days: dict[tuple[str, str], dict[str, int]] = {}
    quantities: dict[str, int] = {}
    step_ms = (clock.now_ms() - start_ms) // max(count, 1)  # every change inside [start, now]
    for index in range(count):
        category, item = ITEMS[index % len(ITEMS)]
        delta = 1 if index % 3 else -1  # mostly additions, some removals
        at_ms = start_ms + index * step_ms
        before = quantities.get(item, 0)
        after = quantities[item] = max(before + delta, 0)
        entry = AuditEntry(
            id=audit.new_audit_id(at_ms),
            account_id=account_id,
            created_ms=at_ms,
            authentication={"method": "system"},
            agent={"type": "system", "source": "bench"},
            request={"request_id": f"bench-{index}"},
            changes={"quantities": {f"{category}.{item}": {"before": before, "after": after}}},
            invoice={"recurring": 0, "today": 0},
        )
        puts.append(repo.audit_put(entry)["Put"]["Item"])
        puts.append(repo.seen_marker(account_id, f"bench-{index}", at_ms // 1000)["Put"]["Item"])
        day = days.setdefault((audit.day_of(at_ms), item), {"addition": 0, "removal": 0})
        day["addition" if delta > 0 else "removal"] += 1
        day["quantity"] = after
        day["last_timestamp"] = clock.gregorian_from_ms(at_ms)
    for (day_name, item), counters in days.items():
        puts.append(
            {
                "pk": {"S": f"DAYS#{account_id}"},
                "sk": {"S": f"DAY#{day_name}#{item}"},
                **{name: {"N": str(value)} for name, value in counters.items()},
            }
        )
    table = repo._name
    for first in range(0, len(puts), 25):
        requests = [{"PutRequest": {"Item": item}} for item in puts[first : first + 25]]
        client.batch_write_item(RequestItems={table: requests})


def _summary_figures(changes: int) -> dict[str, float]:
    """Median read time and requests per read of the all-categories audit summary, on the in-memory
    DynamoDB endpoint (tests/fakes/dynamo_http.py: a Query costs its partition, as in DynamoDB; moto's looks at every
    item of the table)."""
    import os

    from switchboard import aws, clock, ids, wiring
    from switchboard.tenancy import Caller

    from tests.fakes.dynamo_http import DynamoStub

    os.environ.update(
        {
            "SERVICES_TABLE": "services",
            "ACCOUNTS_TABLE": "accounts",
            "ALERTS_TABLE": "alerts",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    stub = DynamoStub()
    session = boto3.session.Session()
    stub.attach(session)
    aws.use_session(session)
    wiring.reset()
    try:
        account_id = ids.new_hex_id()
        caller = Caller(account_id=account_id, user_id=ids.new_hex_id(), priv_level="admin")
        start_ms = clock.now_ms() - (DAYS - 1) * 86_400_000
        _load_changes(account_id, changes, start_ms)
        service = wiring.billing()  # the services service without the API-only ports
        created_from = clock.gregorian_from_ms(start_ms)
        created_to = clock.gregorian_from_ms(clock.now_ms())
        service.audit_summary(caller, account_id, created_from, created_to, None)  # warm
        stub.calls.clear()
        timings = []
        for _ in range(READS):
            began = time.perf_counter()
            [rows] = service.audit_summary(caller, account_id, created_from, created_to, None)
            timings.append(time.perf_counter() - began)
        return {
            "ms": statistics.median(timings) * 1000,
            "requests": len(stub.calls) / READS,
            "scans": stub.calls.count("Scan"),
            "rows": sum(len(by_day) for by_day in rows.values()),
            "changes": sum(day["addition"] + day["removal"] for by_day in rows.values() for day in by_day.values()),
        }
    finally:
        aws.use_session(None)
        wiring.reset()


def _upkeep_figures() -> dict[str, float]:
    from switchboard import aws, wiring
    from switchboard.rules.models import SystemInput

    from tests.services_support import StreamPump

    with _moto_tables():
        import os

        names = {key: os.environ[key] for key in ("ACCOUNTS_TABLE", "EVENTS_TABLE", "RULES_TABLE")}

        class _Direct:
            """The quantities handler's one domain call, per record, counted."""

            @staticmethod
            def lambda_handler(event: dict, _context: Any) -> dict:
                from boto3.dynamodb.types import TypeDeserializer
                from switchboard.services.quantities import change_from_record, table_kind_of

                des = TypeDeserializer().deserialize
                for record in event["Records"]:
                    kind = table_kind_of(record["eventSourceARN"], wiring.counted_tables())
                    assert kind is not None
                    change = change_from_record(kind, record, des)
                    if change is not None:
                        wiring.quantity_keeper().apply(change)
                return {"batchItemFailures": []}

        pump = StreamPump(names, _Direct)  # type: ignore[arg-type]
        accounts = wiring.accounts()
        account = accounts.create_account("Upkeep")
        caller = accounts.resolve(account.token)
        assert caller is not None
        pump.pump()  # the account's admin: its services document (and ancestry) is known from now on
        counter = RequestCounter()
        session = boto3.session.Session()
        counter.attach(session)
        aws.use_session(session)
        wiring.reset()
        systems = wiring.systems()
        figures: dict[str, float] = {}
        creates = 20
        for phase in ("warm",):
            count = creates
            counter.calls.clear()
            for index in range(count):
                systems.create(caller, None, SystemInput.model_validate({"name": f"{phase}-{index}"}))
            write = sum(counter.calls.values()) / count
            counter.calls.clear()
            records = pump.records()
            counted = [r for r in records if r["dynamodb"]["Keys"]["sk"]["S"].startswith("SYS#")]
            pump.deliver(records)
            figures[f"{phase}_write"] = write
            figures[f"{phase}_extra"] = sum(counter.calls.values()) / len(counted)
            figures[f"{phase}_calls"] = dict(counter.calls)  # type: ignore[assignment]
        return figures


def report() -> list[str]:
    small, large = _summary_figures(10), _summary_figures(10_000)
    upkeep = _upkeep_figures()
    warm_calls = ", ".join(f"{name} {count / 20:.1f}" for name, count in sorted(upkeep["warm_calls"].items()))  # type: ignore[union-attr]
    return [
        f"audit summary read      10,000 changes {large['ms']:6.2f} ms vs 10 changes {small['ms']:6.2f} ms  "
        f"ratio {large['ms'] / small['ms']:.2f}  (target <= 1.5)",
        f"audit summary read      DynamoDB requests per read {large['requests']:.1f} "
        f"(10 changes: {small['requests']:.1f}), Scan {large['scans']}; "
        f"day rows {large['rows']:.0f} vs {small['rows']:.0f}, "
        f"changes summed {large['changes']:.0f} vs {small['changes']:.0f}",
        f"quantity upkeep         extra DynamoDB requests per create {upkeep['warm_extra']:.1f} ({warm_calls}) "
        f"on top of the resource write's {upkeep['warm_write']:.1f}  (target <= 2)",
    ]
