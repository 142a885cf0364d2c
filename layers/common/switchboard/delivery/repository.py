"""The deliveries table (access patterns in docs/delivery.md).

    pk                          sk                              item
    DLV#{acct}#{event}          D#{cfg:012}                     delivery (status, attempts, lease, the event)
    DLV#{acct}#{event}          A#{cfg:012}#{n:04}              attempt n of that delivery
    SUM#{acct}                  {yyyymmddhh}#{cfg:012}#{topic}#{type}#{shard}   pending/retry/failed counters
    THR#{acct}#{cfg}            GCRA                            throttle state (theoretical arrival time)
    HEALTH#{acct}#{cfg}         HEALTH                          failing since / last success (auto-disable)

    index  partition                  sort                               what for
    gsi1   ACCT#{acct}                {created:013}#{event}#{cfg}        deliveries of an account by time
    gsi1   ATT#{acct}                 {attempted:013}#{event}#{cfg}#{n}  attempts of an account by time
    gsi2   CFG#{acct}#{cfg}           {created:013}#{event}              deliveries of a configuration
    gsi3   STATUS#{acct}#{status}     {created:013}#{event}#{cfg}        deliveries in one status
    gsi4   WAKE#{shard}               {wake:013}#{acct}#{event}#{cfg}    when the sweeper must look at it
    gsi4   PARK#{acct}#{cfg}          {created:013}#{event}              waiting for reactivation / schedule

Every open delivery is in the WAKE index: a held retry at its due time, any other at its due time
plus a grace period, so a task lost to a crash is re-sent by the sweeper. Summary counters are
sharded (a hot counter would make the transactions that move them conflict) and bucketed by the
hour the delivery was created; counters move in the same transaction as the status they count.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import json
import operator
import random
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from switchboard import aws
from switchboard.delivery.models import COUNTED_STATUSES, Attempt, Delivery, Status, is_file_delivery
from switchboard.store import dynamo

SUMMARY_SHARDS = 4
WAKE_SHARDS = 16
_DESERIALIZER: Any = None


def _pad(config_id: str) -> str:
    return config_id.zfill(12)


def _ms(value: int) -> str:
    # 13 digits reach the year 2286; a query bound beyond that is clamped so key ranges stay ordered.
    return f"{min(max(value, 0), 10**13 - 1):013d}"


def hour_bucket(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%Y%m%d%H")


def delivery_key(account_id: str, event_id: str, config_id: str) -> dict[str, str]:
    return {"pk": f"DLV#{account_id}#{event_id}", "sk": f"D#{_pad(config_id)}"}


def wake_partition(event_id: str, config_id: str) -> str:
    return f"WAKE#{zlib.crc32(f'{event_id}:{config_id}'.encode()) % WAKE_SHARDS}"


def _deserialize(item: dict[str, Any]) -> dict[str, Any]:
    global _DESERIALIZER
    if _DESERIALIZER is None:
        from boto3.dynamodb.types import TypeDeserializer

        _DESERIALIZER = TypeDeserializer()
    return {key: _DESERIALIZER.deserialize(value) for key, value in item.items()}


class ConfigurationChanged(Exception):
    """A delivery configuration changed between reading it and writing what it decided."""


@dataclass(frozen=True)
class Claim:
    """The result of trying to take a delivery for one attempt."""

    delivery: Delivery | None  # the delivery when it was claimed, or as it stood when refused
    claimed: bool
    reason: str = ""  # when refused: missing, final, handled, parked, filed, stale, ahead, not_due, leased
    lease_until_ms: int = 0


class DeliveriesRepository:
    def __init__(self, table_name: str, retention_s: int) -> None:
        self._name = table_name
        self._retention_s = retention_s

    @property
    def _table(self) -> Any:
        return aws.table(self._name)

    def _ttl(self, from_ms: int) -> int:
        return from_ms // 1000 + self._retention_s

    # ------------------------------------------------------------ items
    def _delivery_item(self, delivery: Delivery, wake_ms: int | None) -> dict[str, Any]:
        acct, event, cfg = delivery.account_id, delivery.event_id, delivery.config_id
        created = _ms(delivery.created_ms)
        item: dict[str, Any] = {
            **delivery_key(acct, event, cfg),
            "account_id": acct,
            "event_id": event,
            "config_id": cfg,
            "topic": delivery.topic,
            "event_type": delivery.event_type,
            "event_timestamp": delivery.event_timestamp,
            "fields": json.dumps(delivery.fields, separators=(",", ":"), ensure_ascii=False),
            "status": delivery.status.value,
            "attempts": delivery.attempts,
            "handled": delivery.handled,
            "created_ms": delivery.created_ms,
            "updated_ms": delivery.updated_ms,
            "due_ms": delivery.due_ms,
            "gsi1pk": f"ACCT#{acct}",
            "gsi1sk": f"{created}#{event}#{cfg}",
            "gsi2pk": f"CFG#{acct}#{cfg}",
            "gsi2sk": f"{created}#{event}",
            "gsi3pk": f"STATUS#{acct}#{delivery.status.value}",
            "gsi3sk": f"{created}#{event}#{cfg}",
            "ttl": self._ttl(delivery.created_ms),
        }
        if delivery.file_id is not None:
            item["file_id"] = delivery.file_id
        if delivery.parked:
            item.update(parked=delivery.parked, gsi4pk=f"PARK#{acct}#{cfg}", gsi4sk=f"{created}#{event}")
        elif wake_ms is not None:
            item.update(gsi4pk=wake_partition(event, cfg), gsi4sk=f"{_ms(wake_ms)}#{acct}#{event}#{cfg}")
        return item

    @staticmethod
    def _delivery_from(item: dict[str, Any]) -> Delivery:
        return Delivery(
            account_id=item["account_id"],
            event_id=item["event_id"],
            config_id=item["config_id"],
            topic=item["topic"],
            event_type=item["event_type"],
            event_timestamp=item["event_timestamp"],
            fields=json.loads(item["fields"]),
            status=Status(item["status"]),
            attempts=int(item["attempts"]),
            created_ms=int(item["created_ms"]),
            updated_ms=int(item["updated_ms"]),
            due_ms=int(item["due_ms"]),
            handled=bool(item.get("handled")),
            parked=item.get("parked"),
            last_address=item.get("last_address"),
            file_id=int(item["file_id"]) if item.get("file_id") is not None else None,
            deferrals=int(item.get("deferrals", 0)),
            deferred_reason=item.get("deferred_reason"),
        )

    def _attempt_item(self, attempt: Attempt) -> dict[str, Any]:
        acct, event, cfg = attempt.account_id, attempt.event_id, attempt.config_id
        return {
            "pk": f"DLV#{acct}#{event}",
            "sk": f"A#{_pad(cfg)}#{attempt.number:04d}",
            "gsi1pk": f"ATT#{acct}",
            "gsi1sk": f"{_ms(attempt.attempted_ms)}#{event}#{cfg}#{attempt.number:04d}",
            "doc": attempt.model_dump_json(),
            "ttl": self._ttl(attempt.attempted_ms),
        }

    def _counter_ops(self, delivery: Delivery, old: Status | None, new: Status | None) -> list[dict[str, Any]]:
        """± one on the summary counters a status change moves (none when neither status is counted)."""
        if is_file_delivery(delivery.event_id):
            return []  # a file's own delivery: its events are counted, not the file
        deltas: dict[str, int] = {}
        if old in COUNTED_STATUSES:
            deltas[old.value.lower()] = -1
        if new in COUNTED_STATUSES:
            deltas[new.value.lower()] = deltas.get(new.value.lower(), 0) + 1
        deltas = {name: delta for name, delta in deltas.items() if delta}
        if not deltas:
            return []
        shard = zlib.crc32(delivery.event_id.encode()) % SUMMARY_SHARDS
        key = {
            "pk": f"SUM#{delivery.account_id}",
            "sk": f"{hour_bucket(delivery.created_ms)}#{_pad(delivery.config_id)}#{delivery.topic}#"
            f"{delivery.event_type}#{shard}",
        }
        names = {f"#{name}": name for name in deltas}
        values: dict[str, Any] = {f":{name}": delta for name, delta in deltas.items()}
        values.update(
            {
                ":cfg": delivery.config_id,
                ":topic": delivery.topic,
                ":type": delivery.event_type,
                ":ttl": self._ttl(delivery.created_ms) + 3600,
            }
        )
        expression = (
            "ADD "
            + ", ".join(f"#{name} :{name}" for name in deltas)
            + " SET config_id = :cfg, topic = :topic, event_type = :type, #ttl = :ttl"
        )
        names["#ttl"] = "ttl"
        return [dynamo.update(self._name, key, expression, values, names=names)]

    # ------------------------------------------------------------ fanout
    def create(self, delivery: Delivery, wake_ms: int | None, config_check: dict[str, Any] | None = None) -> bool:
        """Store a new delivery (and count it); False when it exists already (a redelivered event).
        With `config_check` (parking for a schedule) the configuration must still be as it was read,
        else `ConfigurationChanged`: the caller reads it again and decides afresh."""
        operations = [
            dynamo.put(self._name, self._delivery_item(delivery, wake_ms), condition="attribute_not_exists(pk)"),
            *self._counter_ops(delivery, None, delivery.status),
        ]
        if config_check is not None:
            operations.append(config_check)
        try:
            dynamo.transact(operations)
        except dynamo.TransactionFailed as exc:
            if exc.failed(0):
                return False
            if config_check is not None and exc.failed(len(operations) - 1):
                raise ConfigurationChanged(delivery.config_id) from None
            raise
        return True

    # ------------------------------------------------------------ deliver
    def claim(
        self, account_id: str, event_id: str, config_id: str, attempt: int, owner: str, now_ms: int, lease_ms: int
    ) -> Claim:
        """Take the delivery for attempt `attempt` until `now + lease` (one conditional write).

        Refused unless the delivery is open, not handled, not parked, due, not leased by someone
        else, and `attempt` is exactly its next attempt. The refusal says why, from the item as
        it stood (returned by the failed condition itself: no second read)."""
        lease_until = now_ms + lease_ms
        try:
            response = self._table.update_item(
                Key=delivery_key(account_id, event_id, config_id),
                UpdateExpression="SET lease_owner = :owner, lease_until = :until",
                ConditionExpression=(
                    "attribute_exists(pk) AND #s IN (:pending, :retry) AND handled = :no "
                    "AND attribute_not_exists(parked) AND attribute_not_exists(file_id) "
                    "AND attempts = :previous AND due_ms <= :now "
                    "AND (attribute_not_exists(lease_until) OR lease_until < :now)"
                ),
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":owner": owner,
                    ":until": lease_until,
                    ":pending": "PENDING",
                    ":retry": "RETRY",
                    ":no": False,
                    ":previous": attempt - 1,
                    ":now": now_ms,
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except aws.client("dynamodb").exceptions.ConditionalCheckFailedException as exc:
            old = exc.response.get("Item")
            if not old:
                return Claim(None, False, "missing")
            item = _deserialize(old)
            return self._refusal(self._delivery_from(item), int(item.get("lease_until", 0)), attempt, now_ms)
        return Claim(self._delivery_from(response["Attributes"]), True, lease_until_ms=lease_until)

    @staticmethod
    def _refusal(delivery: Delivery, lease_until: int, attempt: int, now_ms: int) -> Claim:
        if delivery.status not in (Status.PENDING, Status.RETRY):
            reason = "final"
        elif delivery.handled:
            reason = "handled"
        elif delivery.parked:
            reason = "parked"
        elif delivery.file_id is not None:
            reason = "filed"  # its event went out in a buffer file
        elif delivery.attempts >= attempt:
            reason = "stale"
        elif delivery.attempts < attempt - 1:
            reason = "ahead"
        elif delivery.due_ms > now_ms:
            reason = "not_due"
        else:
            reason = "leased"
        return Claim(delivery, False, reason, lease_until)

    def record(
        self, delivery: Delivery, attempt: Attempt, status: Status, due_ms: int, wake_ms: int | None, owner: str
    ) -> bool:
        """Attempt `attempt.number` happened: store it, move the status and its counters, release the
        lease, and set when the sweeper must look again (`wake_ms`; None for a final status). False
        when the lease was lost meanwhile (another worker took over)."""
        acct, event, cfg = delivery.account_id, delivery.event_id, delivery.config_id
        names = {"#s": "status"}
        values: dict[str, Any] = {
            ":s": status.value,
            ":n": attempt.number,
            ":due": due_ms,
            ":updated": attempt.attempted_ms,
            ":gsi3": f"STATUS#{acct}#{status.value}",
            ":owner": owner,
            ":previous": attempt.number - 1,
        }
        assignments = ["#s = :s", "attempts = :n", "due_ms = :due", "updated_ms = :updated", "gsi3pk = :gsi3"]
        if attempt.address:
            assignments.append("last_address = :addr")
            values[":addr"] = attempt.address
        removals = ["lease_owner", "lease_until"]
        if wake_ms is None:
            removals += ["gsi4pk", "gsi4sk"]
        else:
            assignments += ["gsi4pk = :wake_pk", "gsi4sk = :wake_sk"]
            values.update({":wake_pk": wake_partition(event, cfg), ":wake_sk": f"{_ms(wake_ms)}#{acct}#{event}#{cfg}"})
        operations = [
            dynamo.update(
                self._name,
                delivery_key(acct, event, cfg),
                f"SET {', '.join(assignments)} REMOVE {', '.join(removals)}",
                values,
                condition="lease_owner = :owner AND attempts = :previous",
                names=names,
            ),
            dynamo.put(self._name, self._attempt_item(attempt)),
            *self._counter_ops(delivery, delivery.status, status),
        ]
        try:
            dynamo.transact(operations)
        except dynamo.TransactionFailed:
            return False
        return True

    def park(self, delivery: Delivery, reason: str, config_check: dict[str, Any] | None) -> bool:
        """Hold an open delivery until its configuration is reactivated (or its schedule runs).

        `config_check` is a ConditionCheck on the configuration's version as the worker read it: a
        reactivation in between fails the park (and the worker reads the configuration again), so a
        delivery can never be parked after the release that should have freed it."""
        acct, event, cfg = delivery.account_id, delivery.event_id, delivery.config_id
        operations = [
            dynamo.update(
                self._name,
                delivery_key(acct, event, cfg),
                "SET parked = :reason, gsi4pk = :park, gsi4sk = :sk REMOVE lease_owner, lease_until",
                {
                    ":reason": reason,
                    ":park": f"PARK#{acct}#{cfg}",
                    ":sk": f"{_ms(delivery.created_ms)}#{event}",
                    ":pending": "PENDING",
                    ":retry": "RETRY",
                    ":previous": delivery.attempts,
                },
                condition="#s IN (:pending, :retry) AND attempts = :previous AND attribute_not_exists(parked)",
                names={"#s": "status"},
            )
        ]
        if config_check is not None:
            operations.append(config_check)
        try:
            dynamo.transact(operations)
        except dynamo.TransactionFailed:
            return False
        return True

    def parked(
        self, account_id: str, config_id: str, cursor: dict[str, Any] | None, limit: int = 100
    ) -> tuple[list[Delivery], dict[str, Any] | None]:
        return self._page("gsi4", "gsi4pk", f"PARK#{account_id}#{config_id}", cursor, limit)

    def unpark(self, delivery: Delivery, now_ms: int, wake_ms: int) -> bool:
        acct, event, cfg = delivery.account_id, delivery.event_id, delivery.config_id
        try:
            self._table.update_item(
                Key=delivery_key(acct, event, cfg),
                UpdateExpression="SET due_ms = :now, gsi4pk = :wake_pk, gsi4sk = :wake_sk REMOVE parked",
                ConditionExpression="attribute_exists(parked)",
                ExpressionAttributeValues={
                    ":now": now_ms,
                    ":wake_pk": wake_partition(event, cfg),
                    ":wake_sk": f"{_ms(wake_ms)}#{acct}#{event}#{cfg}",
                },
            )
        except aws.client("dynamodb").exceptions.ConditionalCheckFailedException:
            return False
        return True

    # ------------------------------------------------------------ sweeper
    def overdue(self, shard: int, now_ms: int, limit: int = 200) -> list[Delivery]:
        from boto3.dynamodb.conditions import Key

        response = self._table.query(
            IndexName="gsi4",
            Limit=limit,
            KeyConditionExpression=Key("gsi4pk").eq(f"WAKE#{shard}") & Key("gsi4sk").lt(f"{_ms(now_ms + 1)}"),
        )
        return [self._delivery_from(item) for item in response["Items"]]

    def snooze(self, delivery: Delivery, wake_ms: int) -> bool:
        """Move an overdue delivery's wake time on (its task was just sent again)."""
        acct, event, cfg = delivery.account_id, delivery.event_id, delivery.config_id
        try:
            self._table.update_item(
                Key=delivery_key(acct, event, cfg),
                UpdateExpression="SET gsi4sk = :wake_sk",
                ConditionExpression="attempts = :seen AND attribute_exists(gsi4pk) AND attribute_not_exists(parked)",
                ExpressionAttributeValues={
                    ":wake_sk": f"{_ms(wake_ms)}#{acct}#{event}#{cfg}",
                    ":seen": delivery.attempts,
                },
            )
        except aws.client("dynamodb").exceptions.ConditionalCheckFailedException:
            return False
        return True

    # ------------------------------------------------------------ throttle and health
    def swap_tat(self, account_id: str, config_id: str, expected: int | None, new: int) -> int | None:
        """Compare-and-set the throttle's theoretical arrival time. None when set; otherwise the value
        another worker had written (the caller decides again from it)."""
        condition = "attribute_not_exists(tat)" if expected is None else "tat = :expected"
        values: dict[str, Any] = {":new": new}
        if expected is not None:
            values[":expected"] = expected
        try:
            self._table.update_item(
                Key={"pk": f"THR#{account_id}#{config_id}", "sk": "GCRA"},
                UpdateExpression="SET tat = :new",
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except aws.client("dynamodb").exceptions.ConditionalCheckFailedException as exc:
            old = _deserialize(exc.response.get("Item") or {})
            if "tat" not in old:  # the item is gone (expected a value that is not there): start afresh
                return 0 if expected is None else self.swap_tat(account_id, config_id, None, new)
            return int(old["tat"])
        return None

    # ------------------------------------------------------------ slow slots (engine fairness)
    def take_slot(self, scope: str, cap: int, token: str, until_ms: int, now_ms: int) -> int | None:
        """Lease one of `scope`'s `cap` slow slots until `until_ms`: a slot that is free or whose lease has
        run out. Each try is one conditional write; a refused one returns the item, which names the
        slots worth trying next (so contention costs a write per free slot, not a read per try). The
        slot's index, or None when all are held."""
        tried: set[int] = set()
        index = random.randrange(cap)
        while True:
            tried.add(index)
            until, owner = f"u{index}", f"t{index}"
            try:
                self._table.update_item(
                    Key={"pk": f"SLOW#{scope}", "sk": "SLOTS"},
                    UpdateExpression="SET #u = :until, #t = :token",
                    ConditionExpression="attribute_not_exists(#u) OR #u < :now",
                    ExpressionAttributeNames={"#u": until, "#t": owner},
                    ExpressionAttributeValues={":until": until_ms, ":token": token, ":now": now_ms},
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                return index
            except self._table.meta.client.exceptions.ConditionalCheckFailedException as exc:
                item = _deserialize(exc.response.get("Item") or {})
            free = [i for i in range(cap) if i not in tried and int(item.get(f"u{i}", 0)) < now_ms]
            if not free:
                return None
            index = free[0]

    def free_slot(self, scope: str, index: int, token: str) -> None:
        """Give a slot back (only if this token still holds it: a lease that ran out may be someone else's)."""
        # A refused condition: the lease ran out and the slot went to another attempt.
        with contextlib.suppress(self._table.meta.client.exceptions.ConditionalCheckFailedException):
            self._table.update_item(
                Key={"pk": f"SLOW#{scope}", "sk": "SLOTS"},
                UpdateExpression="REMOVE #u, #t",
                ConditionExpression="#t = :token",
                ExpressionAttributeNames={"#u": f"u{index}", "#t": f"t{index}"},
                ExpressionAttributeValues={":token": token},
            )

    def release_claim(self, delivery: Delivery, owner: str, now_ms: int, reason: str) -> bool:
        """Drop this worker's lease without an attempt (deferred), noting why on the delivery."""
        try:
            self._table.update_item(
                Key=delivery_key(delivery.account_id, delivery.event_id, delivery.config_id),
                UpdateExpression=(
                    "REMOVE lease_owner, lease_until SET deferrals = if_not_exists(deferrals, :zero) + :one, "
                    "deferred_reason = :reason, deferred_ms = :now"
                ),
                ConditionExpression="lease_owner = :owner",
                ExpressionAttributeValues={
                    ":owner": owner,
                    ":zero": 0,
                    ":one": 1,
                    ":reason": reason[:500],
                    ":now": now_ms,
                },
            )
        except self._table.meta.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release_lease(self, delivery: Delivery, owner: str) -> bool:
        """Drop this worker's lease and nothing else (it claimed the delivery for work it did not do)."""
        try:
            self._table.update_item(
                Key=delivery_key(delivery.account_id, delivery.event_id, delivery.config_id),
                UpdateExpression="REMOVE lease_owner, lease_until",
                ConditionExpression="lease_owner = :owner",
                ExpressionAttributeValues={":owner": owner},
            )
        except self._table.meta.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def note_failure(self, account_id: str, config_id: str, now_ms: int, transport: bool) -> tuple[int, int, int]:
        """(failing since, last success, consecutive transport failures) after one more failed attempt;
        a transport failure (no answer) adds to the count, any other failure sets it back to zero."""
        response = self._table.update_item(
            Key={"pk": f"HEALTH#{account_id}#{config_id}", "sk": "HEALTH"},
            UpdateExpression=(
                "SET failing_since = if_not_exists(failing_since, :now) ADD transport_failures :one"
                if transport
                else "SET failing_since = if_not_exists(failing_since, :now), transport_failures = :zero"
            ),
            ExpressionAttributeValues={":now": now_ms, ":one": 1} if transport else {":now": now_ms, ":zero": 0},
            ReturnValues="ALL_NEW",
        )
        item = response["Attributes"]
        return int(item["failing_since"]), int(item.get("last_success", 0)), int(item.get("transport_failures", 0))

    def note_success(self, account_id: str, config_id: str, now_ms: int) -> None:
        self._table.update_item(
            Key={"pk": f"HEALTH#{account_id}#{config_id}", "sk": "HEALTH"},
            UpdateExpression="SET last_success = :now REMOVE failing_since, transport_failures",
            ExpressionAttributeValues={":now": now_ms},
        )

    def reset_health(self, account_id: str, config_id: str) -> None:
        self._table.delete_item(Key={"pk": f"HEALTH#{account_id}#{config_id}", "sk": "HEALTH"})

    # ------------------------------------------------------------ API reads
    def get(self, account_id: str, event_id: str, config_id: str) -> Delivery | None:
        item = self._table.get_item(Key=delivery_key(account_id, event_id, config_id)).get("Item")
        return self._delivery_from(item) if item else None

    def of_event(self, account_id: str, event_id: str) -> list[Delivery]:
        return [self._delivery_from(item) for item in self._query_all(f"DLV#{account_id}#{event_id}", "D#")]

    def attempts(self, account_id: str, event_id: str, config_id: str) -> list[Attempt]:
        items = self._query_all(f"DLV#{account_id}#{event_id}", f"A#{_pad(config_id)}#")
        return [Attempt.model_validate_json(item["doc"]) for item in items]

    def list(
        self,
        account_id: str,
        config_id: str | None,
        status: Status | None,
        from_ms: int | None,
        to_ms: int | None,
        topic: str | None,
        event_type: str | None,
        offset: int,
        limit: int,
    ) -> tuple[builtins.list[Delivery], bool]:
        """Deliveries oldest first (by creation), through the narrowest index; topic and event type
        (and status when a configuration is named) filter within it. Returns (page, more)."""
        if config_id is not None:
            index, partition = "gsi2", f"CFG#{account_id}#{config_id}"
        elif status is not None:
            index, partition = "gsi3", f"STATUS#{account_id}#{status.value}"
        else:
            index, partition = "gsi1", f"ACCT#{account_id}"
        filters: dict[str, Any] = {"topic": topic, "event_type": event_type}
        if index == "gsi2" and status is not None:
            filters["status"] = status.value
        rows = self._window(index, partition, from_ms, to_ms, filters, offset + limit + 1)
        return [self._delivery_from(item) for item in rows[offset : offset + limit]], len(rows) > offset + limit

    def redeliverable(
        self,
        account_id: str,
        config_id: str,
        from_ms: int,
        to_ms: int,
        statuses: builtins.list[Status],
        cursor: dict[str, Any] | None,
        limit: int = 100,
    ) -> tuple[builtins.list[Delivery], dict[str, Any] | None]:
        from boto3.dynamodb.conditions import Attr, Key

        params: dict[str, Any] = {
            "IndexName": "gsi2",
            "Limit": limit,
            "KeyConditionExpression": Key("gsi2pk").eq(f"CFG#{account_id}#{config_id}")
            & Key("gsi2sk").between(_ms(from_ms), _ms(to_ms)),
            "FilterExpression": Attr("status").is_in([s.value for s in statuses]),
        }
        items, last = dynamo.query_page(self._table, params.pop("Limit"), cursor, **params)
        return [self._delivery_from(item) for item in items], last

    def attempt_log(
        self, account_id: str, from_ms: int | None, to_ms: int | None, offset: int, limit: int
    ) -> tuple[builtins.list[Attempt], bool]:
        rows = self._window("gsi1", f"ATT#{account_id}", from_ms, to_ms, {}, offset + limit + 1)
        attempts = [Attempt.model_validate_json(item["doc"]) for item in rows[offset : offset + limit]]
        return attempts, len(rows) > offset + limit

    def deliveries(self, keys: set[tuple[str, str, str]]) -> dict[tuple[str, str, str], Delivery]:
        """Several deliveries by (account, event, configuration), batched."""
        found: dict[tuple[str, str, str], Delivery] = {}
        for item in dynamo.batch_get(self._name, [delivery_key(*key) for key in sorted(keys)]):
            delivery = self._delivery_from(item)
            found[(delivery.account_id, delivery.event_id, delivery.config_id)] = delivery
        return found

    def summary_counters(self, account_id: str, from_ms: int, to_ms: int) -> Iterator[dict[str, Any]]:
        from boto3.dynamodb.conditions import Key

        params: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(f"SUM#{account_id}")
            & Key("sk").between(hour_bucket(from_ms), hour_bucket(to_ms) + "~")
        }
        for page in dynamo.query_pages(self._table, **params):
            yield from page

    # ------------------------------------------------------------ API actions
    def mark_handled(self, delivery: Delivery, now_ms: int) -> bool:
        """Handled: out of the pending/retry counts, never retried. False if it changed meanwhile."""
        operations = [
            dynamo.update(
                self._name,
                delivery_key(delivery.account_id, delivery.event_id, delivery.config_id),
                "SET handled = :yes, updated_ms = :now REMOVE gsi4pk, gsi4sk",
                {
                    ":yes": True,
                    ":no": False,
                    ":now": now_ms,
                    ":seen": delivery.status.value,
                    ":attempts": delivery.attempts,
                },
                condition="handled = :no AND #s = :seen AND attempts = :attempts",
                names={"#s": "status"},
            ),
        ]
        if delivery.status in (Status.PENDING, Status.RETRY):
            operations += self._counter_ops(delivery, delivery.status, None)
        try:
            dynamo.transact(operations)
        except dynamo.TransactionFailed:
            return False
        return True

    def reopen(self, delivery: Delivery, now_ms: int, wake_ms: int) -> bool:
        """Back to PENDING for another attempt (redelivery); attempts keep counting up."""
        acct, event, cfg = delivery.account_id, delivery.event_id, delivery.config_id
        operations = [
            dynamo.update(
                self._name,
                delivery_key(acct, event, cfg),
                "SET #s = :pending, handled = :no, due_ms = :now, updated_ms = :now, gsi3pk = :gsi3, "
                "gsi4pk = :wake_pk, gsi4sk = :wake_sk REMOVE parked, file_id",
                {
                    ":pending": "PENDING",
                    ":no": False,
                    ":now": now_ms,
                    ":gsi3": f"STATUS#{acct}#PENDING",
                    ":seen": delivery.status.value,
                    ":attempts": delivery.attempts,
                    ":wake_pk": wake_partition(event, cfg),
                    ":wake_sk": f"{_ms(wake_ms)}#{acct}#{event}#{cfg}",
                },
                condition="#s = :seen AND attempts = :attempts "
                "AND (attribute_not_exists(lease_until) OR lease_until < :now)",
                names={"#s": "status"},
            ),
            # a handled open delivery already left its count; a handled final one did not
            *self._counter_ops(
                delivery,
                None if delivery.handled and delivery.status in (Status.PENDING, Status.RETRY) else delivery.status,
                Status.PENDING,
            ),
        ]
        try:
            dynamo.transact(operations)
        except dynamo.TransactionFailed:
            return False
        return True

    # ------------------------------------------------------------ helpers
    def _query_all(self, pk: str, prefix: str) -> builtins.list[dict[str, Any]]:
        from boto3.dynamodb.conditions import Key

        return dynamo.query_all(self._table, KeyConditionExpression=Key("pk").eq(pk) & Key("sk").begins_with(prefix))

    def _page(
        self, index: str, key_name: str, partition: str, cursor: dict[str, Any] | None, limit: int
    ) -> tuple[builtins.list[Delivery], dict[str, Any] | None]:
        from boto3.dynamodb.conditions import Key

        items, last = dynamo.query_page(
            self._table, limit, cursor, IndexName=index, KeyConditionExpression=Key(key_name).eq(partition)
        )
        return [self._delivery_from(item) for item in items], last

    def _window(
        self, index: str, partition: str, from_ms: int | None, to_ms: int | None, filters: dict[str, Any], wanted: int
    ) -> builtins.list[dict[str, Any]]:
        """Up to `wanted` items of one index partition whose time lies in [from, to), filtered.

        Sort keys start with the 13-digit time, so `between(from, to)` ends just before `to`."""
        from boto3.dynamodb.conditions import Attr, Key

        low, high = _ms(from_ms or 0), _ms(to_ms) if to_ms is not None else "9" * 13 + "~"
        key = Key(f"{index}pk").eq(partition) & Key(f"{index}sk").between(low, high)
        params: dict[str, Any] = {"IndexName": index, "KeyConditionExpression": key}
        conditions = [Attr(name).eq(value) for name, value in filters.items() if value is not None]
        if conditions:
            params["FilterExpression"] = functools.reduce(operator.and_, conditions)
        return dynamo.query_all(self._table, wanted=wanted, **params)

    # ------------------------------------------------------------ buffer files (delivery/buffers.py)
    def scheduled(
        self, account_id: str, config_id: str, until_ms: int, cursor: dict[str, Any] | None, limit: int = 100
    ) -> tuple[builtins.list[Delivery], dict[str, Any] | None]:
        """A page of the deliveries waiting for a configuration's schedule, created up to `until_ms`."""
        from boto3.dynamodb.conditions import Attr, Key

        items, last = dynamo.query_page(
            self._table,
            limit,
            cursor,
            IndexName="gsi4",
            KeyConditionExpression=Key("gsi4pk").eq(f"PARK#{account_id}#{config_id}")
            & Key("gsi4sk").between("0", f"{_ms(until_ms)}~"),
            FilterExpression=Attr("parked").eq("scheduled"),
        )
        return [self._delivery_from(item) for item in items], last

    def into_file(self, delivery: Delivery, file_id: int) -> bool:
        """Move a delivery waiting for the schedule into buffer file `file_id`; False when it is not
        waiting any more (released as an ordinary delivery meanwhile, or filed by a concurrent flush)."""
        acct, event, cfg = delivery.account_id, delivery.event_id, delivery.config_id
        try:
            self._table.update_item(
                Key=delivery_key(acct, event, cfg),
                UpdateExpression="SET file_id = :file, gsi4pk = :pk, gsi4sk = :sk REMOVE parked",
                ConditionExpression="parked = :scheduled",
                ExpressionAttributeValues={
                    ":file": file_id,
                    ":pk": f"FILE#{acct}#{cfg}#{file_id}",
                    ":sk": f"{_ms(delivery.created_ms)}#{event}",
                    ":scheduled": "scheduled",
                },
            )
        except aws.client("dynamodb").exceptions.ConditionalCheckFailedException:
            return False
        return True

    def file_members(
        self, account_id: str, config_id: str, file_id: int, cursor: dict[str, Any] | None, limit: int = 500
    ) -> tuple[builtins.list[Delivery], dict[str, Any] | None]:
        """A page of the deliveries whose events a buffer file holds (until the file is settled)."""
        return self._page("gsi4", "gsi4pk", f"FILE#{account_id}#{config_id}#{file_id}", cursor, limit)

    def settle(self, delivery: Delivery, status: Status, now_ms: int) -> bool:
        """An event of a buffer file takes the file's outcome (SUCCESS or FAILED), with its counters."""
        acct, event, cfg = delivery.account_id, delivery.event_id, delivery.config_id
        operations = [
            dynamo.update(
                self._name,
                delivery_key(acct, event, cfg),
                "SET #s = :s, updated_ms = :now, gsi3pk = :gsi3 REMOVE gsi4pk, gsi4sk",
                {
                    ":s": status.value,
                    ":now": now_ms,
                    ":gsi3": f"STATUS#{acct}#{status.value}",
                    ":seen": delivery.status.value,
                    ":file": delivery.file_id,
                },
                condition="#s = :seen AND file_id = :file",
                names={"#s": "status"},
            ),
            *self._counter_ops(delivery, delivery.status, status),
        ]
        try:
            dynamo.transact(operations)
        except dynamo.TransactionFailed:
            return False
        return True

    def create_operation(self, delivery: Delivery, wake_ms: int) -> dict[str, Any]:
        """The conditional put that creates a (file's) delivery, for a caller's transaction."""
        return dynamo.put(self._name, self._delivery_item(delivery, wake_ms), condition="attribute_not_exists(pk)")
