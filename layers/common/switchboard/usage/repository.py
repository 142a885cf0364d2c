"""The usage table (single-table design; access patterns in docs/usage.md).

pk                          sk        item
SUB#{account}#{imsi}        CONFIG    subscriber (limit)   gsi1: SUBS#{account} / {imsi}
SUB#{account}#{imsi}        USAGE     usage state (day counters, fired thresholds, outbox), versioned
REC#{account}#{imsi}#{id}   REC       a counted usage record id (TTL)
NOTES#{account}             {hash}    notification         gsi1: {account} / issued
                                                            gsi2: {account}#C#{0|1}
                                                            gsi3: {account}#SYS#{system}
                                                            gsi4: {account}#SYS#{system}#C#{0|1}
                                                            gsi5: {account}#IMSI#{imsi}
                                                            gsi6: {account}#IMSI#{imsi}#C#{0|1}

Every notification index shares the sort key `gsisk` = issued (13-digit ms) # period # threshold # hash,
so each search is one query on one partition of one index, newest or oldest first. A hash prefix is a
`begins_with` on the base table's sort key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from switchboard import aws
from switchboard.store import dynamo
from switchboard.usage.models import Notification, Subscriber, UsageRecord
from switchboard.usage.periods import Fired, UsageState

CONFIG = "CONFIG"
USAGE = "USAGE"


def _sub_pk(account_id: str, imsi: str) -> str:
    return f"SUB#{account_id}#{imsi}"


def _notes_pk(account_id: str) -> str:
    return f"NOTES#{account_id}"


def _flag(consumed: bool) -> str:
    return "1" if consumed else "0"


@dataclass(frozen=True)
class Search:
    """One index partition: `index` (gsi1…gsi6, None for the base table by hash prefix) and its key."""

    index: str | None
    key: str
    hash_prefix: str = ""


def by_account(account_id: str, consumed: bool | None = None) -> Search:
    if consumed is None:
        return Search("gsi1", account_id)
    return Search("gsi2", f"{account_id}#C#{_flag(consumed)}")


def by_system(account_id: str, system: str, consumed: bool | None = None) -> Search:
    if consumed is None:
        return Search("gsi3", f"{account_id}#SYS#{system}")
    return Search("gsi4", f"{account_id}#SYS#{system}#C#{_flag(consumed)}")


def by_subscriber(account_id: str, imsi: str, consumed: bool | None = None) -> Search:
    if consumed is None:
        return Search("gsi5", f"{account_id}#IMSI#{imsi}")
    return Search("gsi6", f"{account_id}#IMSI#{imsi}#C#{_flag(consumed)}")


def by_hash_prefix(account_id: str, prefix: str) -> Search:
    return Search(None, _notes_pk(account_id), prefix)


@dataclass
class Usage:
    """The usage item: its state, version (0: not written yet) and the notifications not yet published."""

    state: UsageState = field(default_factory=UsageState)
    version: int = 0
    outbox: set[str] = field(default_factory=set)


class CommitRefused(Exception):
    """The usage commit did not hold: the usage item changed (`stale`), records were counted before,
    or notifications exist already."""

    def __init__(self, stale: bool, records: set[str], hashes: set[str]) -> None:
        super().__init__("usage commit refused")
        self.stale = stale
        self.records = records
        self.hashes = hashes


def _state_json(state: UsageState) -> str:
    return json.dumps(
        {
            "days": state.days,
            "older": state.older,
            "older_than": state.older_than,
            "fired": {start: [f.limit, sorted(f.thresholds)] for start, f in state.fired.items()},
        },
        separators=(",", ":"),
    )


def _state_of(text: str | None) -> UsageState:
    if not text:
        return UsageState()
    data = json.loads(text)
    return UsageState(
        days={day: int(used) for day, used in data["days"].items()},
        older=int(data["older"]),
        older_than=data["older_than"],
        fired={start: Fired(int(limit), set(thresholds)) for start, (limit, thresholds) in data["fired"].items()},
    )


def _subscriber_item(sub: Subscriber) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": _sub_pk(sub.account_id, sub.imsi),
        "sk": CONFIG,
        "gsi1pk": f"SUBS#{sub.account_id}",
        "gsisk": sub.imsi,
        "account_id": sub.account_id,
        "imsi": sub.imsi,
        "system": sub.system,
        "data_limit": sub.data_limit,
        "period": sub.period,
        "thresholds": list(sub.thresholds),
        "updated_ms": sub.updated_ms,
    }
    if sub.custom_day is not None:
        item["custom_day"] = sub.custom_day
    return item


def _subscriber_of(item: dict[str, Any]) -> Subscriber:
    return Subscriber(
        account_id=item["account_id"],
        imsi=item["imsi"],
        system=item["system"],
        data_limit=int(item["data_limit"]),
        period=item["period"],
        custom_day=int(item["custom_day"]) if item.get("custom_day") is not None else None,
        thresholds=tuple(int(t) for t in item["thresholds"]),
        updated_ms=int(item["updated_ms"]),
    )


def _notification_item(note: Notification) -> dict[str, Any]:
    account, flag = note.account_id, _flag(note.consumed)
    item: dict[str, Any] = {
        "pk": _notes_pk(account),
        "sk": note.hash,
        "gsisk": f"{note.issued_ms:013d}#{note.period_start}#{note.threshold:03d}#{note.hash}",
        "gsi1pk": account,
        "gsi2pk": f"{account}#C#{flag}",
        "gsi3pk": f"{account}#SYS#{note.system}",
        "gsi4pk": f"{account}#SYS#{note.system}#C#{flag}",
        "gsi5pk": f"{account}#IMSI#{note.imsi}",
        "gsi6pk": f"{account}#IMSI#{note.imsi}#C#{flag}",
        "account_id": account,
        "hash": note.hash,
        "issued_ms": note.issued_ms,
        "imsi": note.imsi,
        "system": note.system,
        "data_limit": note.data_limit,
        "period": note.period,
        "total_usage": note.total_usage,
        "threshold": note.threshold,
        "period_start": note.period_start,
        "consumed": note.consumed,
        "type": note.type,
    }
    if note.custom_day is not None:
        item["custom_day"] = note.custom_day
    return item


def _notification_of(item: dict[str, Any]) -> Notification:
    return Notification(
        account_id=item["account_id"],
        hash=item["hash"],
        issued_ms=int(item["issued_ms"]),
        imsi=item["imsi"],
        system=item["system"],
        data_limit=int(item["data_limit"]),
        period=item["period"],
        custom_day=int(item["custom_day"]) if item.get("custom_day") is not None else None,
        total_usage=int(item["total_usage"]),
        threshold=int(item["threshold"]),
        period_start=item["period_start"],
        consumed=bool(item["consumed"]),
        type=item["type"],
    )


class UsageRepository:
    def __init__(self, table_name: str, record_retention_s: int) -> None:
        self._table_name = table_name
        self._record_retention_s = record_retention_s

    @property
    def _table(self) -> Any:
        return aws.table(self._table_name)

    # ------------------------------------------------------------ subscribers

    def get_subscriber(self, account_id: str, imsi: str) -> Subscriber | None:
        item = self._table.get_item(Key={"pk": _sub_pk(account_id, imsi), "sk": CONFIG}).get("Item")
        return _subscriber_of(item) if item else None

    def put_subscriber(self, sub: Subscriber) -> bool:
        """Store the subscriber; True when it did not exist before."""
        old = self._table.put_item(Item=_subscriber_item(sub), ReturnValues="ALL_OLD").get("Attributes")
        return not old

    def replace_subscriber(self, sub: Subscriber, expected_updated_ms: int) -> bool:
        """Store the subscriber if it is still as read (a PATCH); False when it changed or went."""
        try:
            self._table.put_item(
                Item=_subscriber_item(sub),
                ConditionExpression="updated_ms = :seen",
                ExpressionAttributeValues={":seen": expected_updated_ms},
            )
        except self._table.meta.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def delete_subscriber(self, account_id: str, imsi: str) -> bool:
        old = self._table.delete_item(Key={"pk": _sub_pk(account_id, imsi), "sk": CONFIG}, ReturnValues="ALL_OLD").get(
            "Attributes"
        )
        return bool(old)

    def list_subscribers(self, account_id: str, offset: int, size: int) -> tuple[list[Subscriber], int]:
        params = {
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :pk",
            "ExpressionAttributeValues": {":pk": f"SUBS#{account_id}"},
        }
        items, total = self._page(params, offset, size)
        return [_subscriber_of(item) for item in items], total

    # ------------------------------------------------------------ usage

    def load(self, account_id: str, imsi: str) -> tuple[Subscriber | None, Usage]:
        """The subscriber and its usage, in one request."""
        pk = _sub_pk(account_id, imsi)
        items = dynamo.batch_get(
            self._table_name, [{"pk": pk, "sk": CONFIG}, {"pk": pk, "sk": USAGE}], ConsistentRead=True
        )
        sub, usage = None, Usage()
        for item in items:
            if item["sk"] == CONFIG:
                sub = _subscriber_of(item)
            else:
                usage = Usage(_state_of(item.get("state")), int(item["version"]), set(item.get("outbox") or ()))
        return sub, usage

    def commit(
        self,
        account_id: str,
        imsi: str,
        version: int,
        state: UsageState,
        records: list[UsageRecord],
        notifications: list[Notification],
        now_s: int,
    ) -> None:
        """One transaction: the new usage state (if still at `version`), each record id (if not counted
        before) and each notification (if not issued before). Raises CommitRefused naming what failed."""
        pk = _sub_pk(account_id, imsi)
        expression = "SET #state = :state, version = :next"
        values: dict[str, Any] = {":state": _state_json(state), ":next": version + 1}
        if notifications:
            expression += " ADD outbox :hashes"
            values[":hashes"] = {note.hash for note in notifications}
        if version:
            condition = "version = :seen"
            values[":seen"] = version
        else:
            condition = "attribute_not_exists(pk)"
        operations = [
            dynamo.update(
                self._table_name,
                {"pk": pk, "sk": USAGE},
                expression,
                values,
                condition,
                names={"#state": "state"},
            )
        ]
        expires = now_s + self._record_retention_s
        operations += [
            dynamo.put(
                self._table_name,
                {"pk": f"REC#{account_id}#{imsi}#{record.record_id}", "sk": "REC", "ttl": expires},
                "attribute_not_exists(pk)",
            )
            for record in records
        ]
        operations += [
            dynamo.put(self._table_name, _notification_item(note), "attribute_not_exists(pk)") for note in notifications
        ]
        try:
            dynamo.transact(operations)
        except dynamo.TransactionFailed as failed:
            first_note = 1 + len(records)
            raise CommitRefused(
                stale=failed.failed(0),
                records={record.record_id for i, record in enumerate(records, 1) if failed.failed(i)},
                hashes={note.hash for i, note in enumerate(notifications, first_note) if failed.failed(i)},
            ) from None

    def clear_outbox(self, account_id: str, imsi: str, hashes: set[str]) -> None:
        self._table.update_item(
            Key={"pk": _sub_pk(account_id, imsi), "sk": USAGE},
            UpdateExpression="DELETE outbox :hashes",
            ExpressionAttributeValues={":hashes": hashes},
        )

    # ------------------------------------------------------------ notifications

    def get_notification(self, account_id: str, hash_: str) -> Notification | None:
        item = self._table.get_item(Key={"pk": _notes_pk(account_id), "sk": hash_}).get("Item")
        return _notification_of(item) if item else None

    def get_notifications(self, account_id: str, hashes: set[str]) -> list[Notification]:
        keys = [{"pk": _notes_pk(account_id), "sk": hash_} for hash_ in sorted(hashes)]
        return [_notification_of(item) for item in dynamo.batch_get(self._table_name, keys, ConsistentRead=True)]

    def set_consumed(self, note: Notification, consumed: bool) -> Notification | None:
        """Mark the notification, moving it between the consumed indexes; None when it is gone."""
        account, flag = note.account_id, _flag(consumed)
        try:
            item = self._table.update_item(
                Key={"pk": _notes_pk(account), "sk": note.hash},
                UpdateExpression="SET #consumed = :c, gsi2pk = :g2, gsi4pk = :g4, gsi6pk = :g6",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#consumed": "consumed"},
                ExpressionAttributeValues={
                    ":c": consumed,
                    ":g2": f"{account}#C#{flag}",
                    ":g4": f"{account}#SYS#{note.system}#C#{flag}",
                    ":g6": f"{account}#IMSI#{note.imsi}#C#{flag}",
                },
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except self._table.meta.client.exceptions.ConditionalCheckFailedException:
            return None
        return _notification_of(item)

    def search(self, searches: list[Search], ascending: bool, offset: int, size: int) -> tuple[list[Notification], int]:
        """A page (`offset` items skipped) of the notifications in the index partitions `searches` name,
        by issue time, and how many they hold. One search pages in its index; several (the deep search)
        are read whole, merged and de-duplicated."""
        if len(searches) == 1:
            items, total = self._page(self._params(searches[0], ascending), offset, size)
            return [_notification_of(item) for item in items], total
        merged: dict[str, dict[str, Any]] = {}
        for search in searches:
            for item in dynamo.query_all(self._table, **self._params(search, ascending)):
                merged[item["hash"]] = item
        ordered = sorted(merged.values(), key=lambda item: str(item["gsisk"]), reverse=not ascending)
        return [_notification_of(item) for item in ordered[offset : offset + size]], len(ordered)

    @staticmethod
    def _params(search: Search, ascending: bool) -> dict[str, Any]:
        if search.index is None:
            return {
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
                "ExpressionAttributeValues": {":pk": search.key, ":prefix": search.hash_prefix},
                "ScanIndexForward": ascending,
            }
        return {
            "IndexName": search.index,
            "KeyConditionExpression": f"{search.index}pk = :pk",
            "ExpressionAttributeValues": {":pk": search.key},
            "ScanIndexForward": ascending,
        }

    def _page(self, params: dict[str, Any], offset: int, size: int) -> tuple[list[dict[str, Any]], int]:
        """Items `offset` to `offset + size` of a query, and how many it matches. Index reads are eventually
        consistent: a notification written between the two reads counts in the total when it is on the page."""
        items = dynamo.query_all(self._table, wanted=offset + size, **params)[offset:]
        total = self._count(params)
        if items:
            total = max(total, offset + len(items))
        return items, total

    def _count(self, params: dict[str, Any]) -> int:
        # Keys only: the count reads the partition's keys, never whole items into memory.
        return sum(len(page) for page in dynamo.query_pages(self._table, ProjectionExpression="pk", **params))
