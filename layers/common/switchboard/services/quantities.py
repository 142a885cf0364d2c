"""Quantities kept true by the owning tables' streams.

Every insert or removal of a counted item (items.py) in the accounts, ESS or rules table
arrives here as a DynamoDB stream record. One record is one conditional transaction:

- a `SEEN#{record id}` marker (a redelivered record fails it and changes nothing),
- the services document's count, conditional on the version read (a concurrent change of
  the same account makes it read again),
- the audit entry, the day's counters (addition/removal, the resulting quantity),
- `ADD ±1` on each ancestor's cascade count.

The resource write and its stream record are one DynamoDB write: no code path can create a
resource without its record, so the counts cannot drift when a write fails halfway.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from switchboard import clock
from switchboard.accounts.repository import AccountsRepository
from switchboard.errors import Unavailable
from switchboard.services import audit as audit_module
from switchboard.services import invoices as invoice_maths
from switchboard.services.items import Counted, classify
from switchboard.services.models import AuditEntry
from switchboard.services.repository import ServicesRepository
from switchboard.services.service import PlanCache, wire
from switchboard.store.dynamo import TransactionFailed

logger = Logger(child=True)
TRIES = 8


@dataclass(frozen=True)
class CountedChange:
    """One counted resource created (+1) or deleted (-1), from one stream record."""

    record_id: str
    counted: Counted
    delta: int
    at_ms: int
    source: str  # the owning table's kind


def change_from_record(
    table_kind: str, record: dict[str, Any], deserialize: Callable[[Any], Any]
) -> CountedChange | None:
    """The counted change a stream record carries, or None (an update, or an item not counted)."""
    name = record.get("eventName")
    if name not in ("INSERT", "REMOVE"):
        return None
    data = record.get("dynamodb") or {}
    image = data.get("NewImage") if name == "INSERT" else data.get("OldImage")
    keys = {key: deserialize(value) for key, value in (data.get("Keys") or {}).items()}
    item = {key: deserialize(value) for key, value in (image or {}).items()}
    counted = classify(table_kind, {k: str(v) for k, v in keys.items()}, item)
    if counted is None:
        return None
    at = data.get("ApproximateCreationDateTime")
    at_ms = int(float(at) * 1000) if at is not None else clock.now_ms()
    return CountedChange(
        record_id=str(record.get("eventID") or data.get("SequenceNumber")),
        counted=counted,
        delta=1 if name == "INSERT" else -1,
        at_ms=at_ms,
        source=table_kind,
    )


def table_kind_of(event_source_arn: str, kinds: dict[str, str]) -> str | None:
    """Which owning table a stream ARN belongs to (`kinds`: table name → kind)."""
    table = event_source_arn.split(":table/", 1)[-1].split("/stream/", 1)[0]
    return kinds.get(table)


class QuantityKeeper:
    def __init__(self, repository: ServicesRepository, accounts: AccountsRepository, plans: PlanCache) -> None:
        self._repo = repository
        self._accounts = accounts
        self._plans = plans

    def apply(self, change: CountedChange) -> bool:
        """Count one change; False when this record was counted before (a redelivery)."""
        account_id = change.counted.account_id
        category, item = change.counted.category, change.counted.item
        for _ in range(TRIES):
            before = self._repo.get_document(account_id)
            ancestry = before.ancestry
            if ancestry is None:
                account = self._accounts.get_account(account_id)
                ancestry = account.ancestry if account is not None else ()
            old = before.account_quantities.get(category, {}).get(item, 0)
            new = max(old + change.delta, 0)
            quantities = {c: dict(items) for c, items in before.account_quantities.items()}
            quantities.setdefault(category, {})[item] = new
            after = before.model_copy(
                update={"account_quantities": quantities, "version": before.version + 1, "ancestry": tuple(ancestry)}
            )
            added = {(category, item): 1} if change.delta > 0 else {}
            invoice_list = invoice_maths.invoices(after, self._plans.plans_for(after), added)
            authentication, agent = audit_module.system_agent(f"{change.source}_stream")
            entry = AuditEntry(
                id=audit_module.new_audit_id(change.at_ms),
                account_id=account_id,
                created_ms=change.at_ms,
                authentication=authentication,
                agent=agent,
                request={"request_id": change.record_id},
                changes={"quantities": {f"{category}.{item}": {"before": old, "after": new}}},
                invoice=wire(
                    {
                        "recurring": invoice_maths.recurring_total(invoice_list),
                        "today": invoice_maths.today_total(invoice_list),
                    }
                ),
            )
            operations = [
                self._repo.seen_marker(account_id, change.record_id, change.at_ms // 1000),
                self._repo.document_write(before, after),
                self._repo.audit_put(entry),
                self._repo.day_write(
                    account_id,
                    audit_module.day_of(change.at_ms),
                    item,
                    1 if change.delta > 0 else 0,
                    1 if change.delta < 0 else 0,
                    new,
                    clock.gregorian_from_ms(change.at_ms),
                ),
                *(self._repo.cascade_write(ancestor, {(category, item): change.delta}) for ancestor in ancestry),
            ]
            try:
                self._repo.write(operations)
            except TransactionFailed as exc:
                if exc.failed(0):
                    logger.info("stream record counted before", extra={"record_id": change.record_id})
                    return False
                continue  # the document changed since it was read: again
            return True
        raise Unavailable(f"could not count stream record {change.record_id}; the stream retries it")
