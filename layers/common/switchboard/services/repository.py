"""The services table (single-table design; access patterns in docs/services.md).

    pk               sk                           item
    ACCT#{account}   SERVICES                     services document: plans, overrides, manual (JSON),
                                                  billing_id, `qa:{cat}.{item}` counted here,
                                                  `qc:{cat}.{item}` counted below (cascade), ancestry,
                                                  version (every write is conditional on it)
    ACCT#{account}   LEDGER                       balance, low_balance_threshold, version
    ACCT#{account}   TXN#{created:013d}#{id}      ledger transaction
    ACCT#{account}   TOPUP#{request id}           a top-up request already credited (expires)
    ACCT#{account}   CYCLE#{YYYY-MM}              the billing cycle already debited
    ACCT#{account}   AUDIT#{ms:012x}{random:20x}  audit entry (id `YYYYMM-` + the 32 hex; expires)
    ACCT#{account}   SEEN#{stream event id}       a stream record already counted (expires)
    DAYS#{account}   DAY#{YYYY-MM-DD}#{item}      daily counters of one item (expire with the log); a partition
                                                  of their own, so a summary read touches days x items rows
    RESELLER#{id}    PLAN#{plan id}               service plan of a reseller's catalog
    BILLED           ACCT#{account}               an account with plans (what a billing cycle walks)

No Scan anywhere: every read is a GetItem, a BatchGetItem or a Query inside one partition.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from switchboard import aws
from switchboard.services.models import AuditEntry, ItemOverride, LedgerTransaction, Plan, PlanInput, ServicesDocument
from switchboard.store import cursor, dynamo

SEEN_RETENTION_S = 7 * 86_400  # longer than a stream keeps records (24 h)
TOPUP_RETENTION_S = 7 * 86_400  # how long a retried X-Request-ID is recognised


def _overrides(value: Any) -> dict[str, dict[str, dict[str, Any]]]:
    """Stored overrides back in their input types (DynamoDB returns every number as a Decimal)."""
    return {
        category: {
            name: ItemOverride.model_validate(fields).model_dump(mode="python", exclude_none=True)
            for name, fields in items.items()
        }
        for category, items in (value or {}).items()
    }


def _acct(account_id: str) -> str:
    return f"ACCT#{account_id}"


def services_key(account_id: str) -> dict[str, str]:
    return {"pk": _acct(account_id), "sk": "SERVICES"}


def ledger_key(account_id: str) -> dict[str, str]:
    return {"pk": _acct(account_id), "sk": "LEDGER"}


def audit_sk(hex32: str) -> str:
    return f"AUDIT#{hex32}"


class ServicesRepository:
    def __init__(self, table_name: str, retention_s: int) -> None:
        self._name = table_name
        self.retention_s = retention_s

    @property
    def _table(self) -> Any:
        return aws.table(self._name)

    # ------------------------------------------------------------ services document
    def get_document(self, account_id: str) -> ServicesDocument:
        item = self._table.get_item(Key=services_key(account_id), ConsistentRead=True).get("Item")
        return self.document_from(account_id, item or {})

    @staticmethod
    def document_from(account_id: str, item: dict[str, Any]) -> ServicesDocument:
        own: dict[str, dict[str, int]] = {}
        below: dict[str, dict[str, int]] = {}
        for name, value in item.items():
            for prefix, target in (("qa:", own), ("qc:", below)):
                if name.startswith(prefix) and int(value):
                    category, _, counted = name[len(prefix) :].partition(".")
                    target.setdefault(category, {})[counted] = int(value)
        ancestry = item.get("ancestry")
        return ServicesDocument(
            account_id=account_id,
            plans={
                plan_id: {"vendor_id": str(meta.get("vendor_id", "")), "overrides": _overrides(meta.get("overrides"))}
                for plan_id, meta in (item.get("plans") or {}).items()
            },
            overrides=_overrides(item.get("overrides")),
            manual={
                category: {name: int(count) for name, count in items.items()}
                for category, items in (item.get("manual") or {}).items()
            },
            account_quantities=own,
            cascade_quantities=below,
            billing_id=item.get("billing_id"),
            version=int(item.get("version", 0)),
            ancestry=None if ancestry is None else tuple(ancestry),
        )

    def document_write(self, old: ServicesDocument, new: ServicesDocument) -> dict[str, Any]:
        """The conditional update that turns `old` (as read) into `new`: fails if anyone wrote between."""
        names = {"#v": "version"}
        values: dict[str, Any] = {
            ":v": new.version,
            # native maps: DynamoDB numbers are exact decimals, so amounts round-trip unchanged
            ":plans": new.plans,
            ":ov": new.overrides,
            ":man": new.manual,
        }
        sets = ["#v = :v", "plans = :plans", "overrides = :ov", "manual = :man"]
        removes = []
        if new.billing_id is not None:
            values[":bid"] = new.billing_id
            sets.append("billing_id = :bid")
        if new.ancestry is not None:
            values[":anc"] = list(new.ancestry)
            sets.append("ancestry = :anc")
        counted = {(c, i) for c, items in new.account_quantities.items() for i in items}
        counted |= {(c, i) for c, items in old.account_quantities.items() for i in items}
        for index, (category, item) in enumerate(sorted(counted)):
            names[f"#q{index}"] = f"qa:{category}.{item}"
            count = new.account_quantities.get(category, {}).get(item, 0)
            if count:
                values[f":q{index}"] = count
                sets.append(f"#q{index} = :q{index}")
            else:
                removes.append(f"#q{index}")
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        if old.version == 0:
            condition = "attribute_not_exists(#v)"
        else:
            condition = "#v = :old"
            values[":old"] = old.version
        return dynamo.update(self._name, services_key(new.account_id), expression, values, condition, names)

    def cascade_write(self, ancestor_id: str, moves: dict[tuple[str, str], int]) -> dict[str, Any]:
        """`ADD` each (category, item)'s delta to an ancestor's cascade counts: one operation per ancestor,
        as a transaction may touch an item once."""
        names = {f"#c{index}": f"qc:{category}.{item}" for index, (category, item) in enumerate(moves)}
        values = {f":d{index}": delta for index, delta in enumerate(moves.values())}
        expression = "ADD " + ", ".join(f"#c{index} :d{index}" for index in range(len(moves)))
        return dynamo.update(self._name, services_key(ancestor_id), expression, values, names=names)

    def seen_marker(self, account_id: str, record_id: str, now_s: int) -> dict[str, Any]:
        return dynamo.put(
            self._name,
            {"pk": _acct(account_id), "sk": f"SEEN#{record_id}", "ttl": now_s + SEEN_RETENTION_S},
            condition="attribute_not_exists(pk)",
        )

    def was_seen(self, account_id: str, record_id: str) -> bool:
        key = {"pk": _acct(account_id), "sk": f"SEEN#{record_id}"}
        return "Item" in self._table.get_item(Key=key, ProjectionExpression="pk")

    def billed_marker(self, account_id: str, has_plans: bool) -> dict[str, Any]:
        key = {"pk": "BILLED", "sk": _acct(account_id)}
        if has_plans:
            return dynamo.put(self._name, {**key, "account_id": account_id})
        return dynamo.delete(self._name, key)

    def billed_accounts(self) -> list[str]:
        from boto3.dynamodb.conditions import Key

        items = dynamo.query_all(self._table, KeyConditionExpression=Key("pk").eq("BILLED"))
        return [item["account_id"] for item in items]

    # ------------------------------------------------------------ audit log and daily counters
    def audit_put(self, entry: AuditEntry) -> dict[str, Any]:
        hex32 = entry.id.split("-", 1)[1]
        return dynamo.put(
            self._name,
            {
                "pk": _acct(entry.account_id),
                "sk": audit_sk(hex32),
                "doc": entry.model_dump_json(),
                "ttl": entry.created_ms // 1000 + self.retention_s,
            },
        )

    def day_write(
        self, account_id: str, day: str, item: str, added: int, removed: int, quantity: int, gregorian_s: int
    ) -> dict[str, Any]:
        """ADD the day's additions and removals; SET the quantity and time of the latest change."""
        from datetime import date

        day_end_s = (date.fromisoformat(day) - date(1970, 1, 1)).days * 86_400 + 86_400
        return dynamo.update(
            self._name,
            {"pk": f"DAYS#{account_id}", "sk": f"DAY#{day}#{item}"},
            "ADD addition :a, removal :r SET quantity = :q, last_timestamp = :t, #ttl = :ttl",
            {":a": added, ":r": removed, ":q": quantity, ":t": gregorian_s, ":ttl": day_end_s + self.retention_s},
            names={"#ttl": "ttl"},
        )

    def get_audit(self, account_id: str, hex32: str) -> AuditEntry | None:
        item = self._table.get_item(Key={"pk": _acct(account_id), "sk": audit_sk(hex32)}).get("Item")
        return None if item is None else AuditEntry.model_validate_json(item["doc"])

    def audit_page(
        self, account_id: str, from_ms: int, to_ms: int, size: int | None, start_key: str | None
    ) -> tuple[list[AuditEntry], str | None]:
        """Entries created in [from_ms, to_ms], newest first."""
        from boto3.dynamodb.conditions import Key

        low, high = audit_sk(f"{max(from_ms, 0):012x}"), audit_sk(f"{to_ms:012x}~")
        condition = Key("pk").eq(_acct(account_id)) & Key("sk").between(low, high)
        position = None
        if start_key:
            decoded = cursor.decode(start_key)
            sk = decoded.get("sk")
            if not isinstance(sk, str) or not low <= sk <= high:  # DynamoDB refuses a start outside the range
                from switchboard.errors import InvalidInput

                raise InvalidInput.single("start_key", "invalid", "not a paging key this server issued", start_key)
            position = {"pk": _acct(account_id), "sk": sk}
        if size is None:
            items = dynamo.query_all(self._table, KeyConditionExpression=condition, ScanIndexForward=False)
            last = None
        else:
            items, last = dynamo.query_page(
                self._table, size, position, KeyConditionExpression=condition, ScanIndexForward=False
            )
        entries = [AuditEntry.model_validate_json(item["doc"]) for item in items]
        return entries, (cursor.encode({"sk": last["sk"]}) if last else None)

    def day_counters(self, account_id: str, first_day: str, last_day: str) -> list[dict[str, Any]]:
        """Every item's counters for the days in [first_day, last_day]: days x items rows, however
        many changes those days saw."""
        from boto3.dynamodb.conditions import Key

        condition = Key("pk").eq(f"DAYS#{account_id}") & Key("sk").between(f"DAY#{first_day}#", f"DAY#{last_day}#~")
        return dynamo.query_all(self._table, KeyConditionExpression=condition)

    # ------------------------------------------------------------ plans
    def put_plan(self, plan: Plan, create: bool) -> bool:
        """Write the plan (new, or over an existing one); False when its condition failed."""
        item = {
            "pk": f"RESELLER#{plan.reseller_id}",
            "sk": f"PLAN#{plan.id}",
            "doc": plan.spec.model_dump_json(),
            "revision": plan.revision,
        }
        condition = "attribute_not_exists(pk)" if create else "attribute_exists(pk)"
        try:
            self._table.put_item(Item=item, ConditionExpression=condition)
        except self._table.meta.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def get_plan(self, reseller_id: str, plan_id: str) -> Plan | None:
        item = self._table.get_item(Key={"pk": f"RESELLER#{reseller_id}", "sk": f"PLAN#{plan_id}"}).get("Item")
        return None if item is None else self._plan_from(item)

    def get_plans(self, keys: Iterable[tuple[str, str]]) -> dict[str, Plan]:
        wanted = [{"pk": f"RESELLER#{reseller}", "sk": f"PLAN#{plan_id}"} for reseller, plan_id in set(keys)]
        if not wanted:
            return {}
        items = dynamo.batch_get(self._name, wanted)
        plans = [self._plan_from(item) for item in items]
        return {plan.id: plan for plan in plans}

    def list_plans(self, reseller_id: str) -> list[Plan]:
        from boto3.dynamodb.conditions import Key

        condition = Key("pk").eq(f"RESELLER#{reseller_id}") & Key("sk").begins_with("PLAN#")
        return [self._plan_from(item) for item in dynamo.query_all(self._table, KeyConditionExpression=condition)]

    def delete_plan(self, reseller_id: str, plan_id: str) -> bool:
        try:
            self._table.delete_item(
                Key={"pk": f"RESELLER#{reseller_id}", "sk": f"PLAN#{plan_id}"},
                ConditionExpression="attribute_exists(pk)",
            )
        except self._table.meta.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    @staticmethod
    def _plan_from(item: dict[str, Any]) -> Plan:
        return Plan(
            id=item["sk"].removeprefix("PLAN#"),
            reseller_id=item["pk"].removeprefix("RESELLER#"),
            spec=PlanInput.model_validate_json(item["doc"]),
            revision=int(item.get("revision", 1)),
        )

    # ------------------------------------------------------------ ledger
    def get_ledger(self, account_id: str) -> tuple[Decimal, Decimal, int]:
        """(balance, low balance threshold, version)."""
        item = self._table.get_item(Key=ledger_key(account_id), ConsistentRead=True).get("Item") or {}
        return (
            Decimal(item.get("balance", 0)),
            Decimal(item.get("low_balance_threshold", 0)),
            int(item.get("version", 0)),
        )

    def ledger_write(self, account_id: str, balance: Decimal, threshold: Decimal, old_version: int) -> dict[str, Any]:
        values: dict[str, Any] = {":b": balance, ":t": threshold, ":v": old_version + 1}
        if old_version == 0:
            condition = "attribute_not_exists(version)"
        else:
            condition = "version = :old"
            values[":old"] = old_version
        return dynamo.update(
            self._name,
            ledger_key(account_id),
            "SET balance = :b, low_balance_threshold = :t, version = :v",
            values,
            condition,
        )

    def transaction_put(self, txn: LedgerTransaction) -> dict[str, Any]:
        return dynamo.put(
            self._name,
            {
                "pk": _acct(txn.account_id),
                "sk": f"TXN#{txn.created_ms:013d}#{txn.id}",
                "doc": txn.model_dump_json(),
            },
        )

    def topup_marker(self, account_id: str, request_id: str, txn: LedgerTransaction, now_s: int) -> dict[str, Any]:
        return dynamo.put(
            self._name,
            {
                "pk": _acct(account_id),
                "sk": f"TOPUP#{request_id}",
                "doc": txn.model_dump_json(),
                "ttl": now_s + TOPUP_RETENTION_S,
            },
            condition="attribute_not_exists(pk)",
        )

    def get_topup(self, account_id: str, request_id: str) -> LedgerTransaction | None:
        item = self._table.get_item(
            Key={"pk": _acct(account_id), "sk": f"TOPUP#{request_id}"}, ConsistentRead=True
        ).get("Item")
        return None if item is None else LedgerTransaction.model_validate_json(item["doc"])

    def cycle_marker(self, account_id: str, cycle: str) -> dict[str, Any]:
        return dynamo.put(
            self._name, {"pk": _acct(account_id), "sk": f"CYCLE#{cycle}"}, condition="attribute_not_exists(pk)"
        )

    def recent_transactions(self, account_id: str, limit: int = 10) -> list[LedgerTransaction]:
        from boto3.dynamodb.conditions import Key

        condition = Key("pk").eq(_acct(account_id)) & Key("sk").begins_with("TXN#")
        items, _ = dynamo.query_page(self._table, limit, None, KeyConditionExpression=condition, ScanIndexForward=False)
        return [LedgerTransaction.model_validate_json(item["doc"]) for item in items]

    def write(self, operations: list[dict[str, Any]]) -> None:
        dynamo.transact(operations)
