"""Buffer files and schedules in the deliveries table (docs/ess.md, "Scheduled delivery").

    pk                      sk                      item
    SCHED#{shard}           {acct}#{cfg}            a configuration's schedule: tick chain, open file, closing file
    BUF#{acct}              F#{file-id:012}         a buffer file (status, opened, closed, object, size)
    COUNTER#buffer-files    ids                     file ids (never reused)

The events of a file are their deliveries (gsi4 partition FILE#{acct}#{cfg}#{file-id}, see
DeliveriesRepository.into_file); the file item records what the file is and became.
"""

from __future__ import annotations

import contextlib
import functools
import operator
import zlib
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from switchboard import aws
from switchboard.store import dynamo

if TYPE_CHECKING:
    from boto3.dynamodb.conditions import ConditionBase


SCHEDULE_SHARDS = 16
FILE_STATUSES = ("OPEN", "CLOSING", "CLOSED", "DELIVERED", "FAILED")


class Schedule(BaseModel):
    """The tick chain of one scheduled configuration, and its open file."""

    model_config = ConfigDict(frozen=True)

    account_id: str
    config_id: str
    chain: str  # the live chain: tick messages of any other chain are dropped
    next_tick_ms: int
    last_tick_ms: int = 0
    open_file_id: int | None = None
    opened_ms: int | None = None
    closing_file_id: int | None = None  # closed at a tick, not yet written and handed to delivery


class BufferFile(BaseModel):
    model_config = ConfigDict(frozen=True)

    account_id: str
    config_id: str
    file_id: int
    status: str  # OPEN, CLOSING, CLOSED, DELIVERED, FAILED (ARCHIVED is derived: past retention)
    opened_ms: int
    closed_ms: int | None = None
    events: int = 0
    size: int = 0
    object_key: str | None = None
    format: str | None = None
    delivered: bool = False  # handed to the delivery engine (the configuration has an addr)


def schedule_key(account_id: str, config_id: str) -> dict[str, str]:
    shard = zlib.crc32(f"{account_id}#{config_id}".encode()) % SCHEDULE_SHARDS
    return {"pk": f"SCHED#{shard}", "sk": f"{account_id}#{config_id}"}


def file_key(account_id: str, file_id: int) -> dict[str, str]:
    return {"pk": f"BUF#{account_id}", "sk": f"F#{file_id:012d}"}


class BufferRepository:
    def __init__(self, table_name: str, retention_s: int) -> None:
        self._name = table_name
        self._retention_s = retention_s

    @property
    def _table(self) -> Any:
        return aws.table(self._name)

    @staticmethod
    def _failed() -> Any:
        return aws.client("dynamodb").exceptions.ConditionalCheckFailedException

    # ------------------------------------------------------------ ids
    def next_file_id(self) -> int:
        response = self._table.update_item(
            Key={"pk": "COUNTER#buffer-files", "sk": "ids"},
            UpdateExpression="ADD #v :one",
            ExpressionAttributeNames={"#v": "value"},
            ExpressionAttributeValues={":one": 1},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["value"])

    # ------------------------------------------------------------ schedules
    @staticmethod
    def _schedule_from(item: dict[str, Any]) -> Schedule:
        return Schedule(
            account_id=item["account_id"],
            config_id=item["config_id"],
            chain=item["chain"],
            next_tick_ms=int(item["next_tick_ms"]),
            last_tick_ms=int(item.get("last_tick_ms", 0)),
            open_file_id=int(item["open_file_id"]) if item.get("open_file_id") is not None else None,
            opened_ms=int(item["opened_ms"]) if item.get("opened_ms") is not None else None,
            closing_file_id=int(item["closing_file_id"]) if item.get("closing_file_id") is not None else None,
        )

    def schedule(self, account_id: str, config_id: str) -> Schedule | None:
        item = self._table.get_item(Key=schedule_key(account_id, config_id), ConsistentRead=True).get("Item")
        return self._schedule_from(item) if item else None

    def schedules(self, shard: int) -> list[Schedule]:
        from boto3.dynamodb.conditions import Key

        items = dynamo.query_all(self._table, KeyConditionExpression=Key("pk").eq(f"SCHED#{shard}"))
        return [self._schedule_from(item) for item in items]

    def arm(
        self, account_id: str, config_id: str, chain: str, next_tick_ms: int, new_file_id: int, now_ms: int
    ) -> Schedule:
        """Start (or restart) the tick chain; the open file is kept, or opened (`new_file_id`) if none."""
        key = schedule_key(account_id, config_id)
        current = self.schedule(account_id, config_id)
        if current is not None and current.open_file_id is not None:
            self._table.update_item(
                Key=key,
                UpdateExpression="SET chain = :chain, next_tick_ms = :next",
                ExpressionAttributeValues={":chain": chain, ":next": next_tick_ms},
            )
            return current.model_copy(update={"chain": chain, "next_tick_ms": next_tick_ms})
        schedule = Schedule(
            account_id=account_id,
            config_id=config_id,
            chain=chain,
            next_tick_ms=next_tick_ms,
            open_file_id=new_file_id,
            opened_ms=now_ms,
        )
        opened = BufferFile(
            account_id=account_id, config_id=config_id, file_id=new_file_id, status="OPEN", opened_ms=now_ms
        )
        try:
            dynamo.transact(
                [
                    dynamo.put(
                        self._name,
                        {**key, **schedule.model_dump(exclude_none=True)},
                        condition="attribute_not_exists(open_file_id)",
                    ),
                    dynamo.put(self._name, self._file_item(opened), condition="attribute_not_exists(pk)"),
                ]
            )
        except dynamo.TransactionFailed:
            return self.arm(account_id, config_id, chain, next_tick_ms, new_file_id, now_ms)
        return schedule

    def advance(self, schedule: Schedule, tick_ms: int, next_tick_ms: int) -> bool:
        """The chain's tick `tick_ms` is done; False when another chain or a duplicate got there first."""
        try:
            self._table.update_item(
                Key=schedule_key(schedule.account_id, schedule.config_id),
                UpdateExpression="SET last_tick_ms = :tick, next_tick_ms = :next",
                ConditionExpression="chain = :chain AND (attribute_not_exists(last_tick_ms) OR last_tick_ms < :tick)",
                ExpressionAttributeValues={":tick": tick_ms, ":next": next_tick_ms, ":chain": schedule.chain},
            )
        except self._failed():
            return False
        return True

    def rechain(self, schedule: Schedule, chain: str, next_tick_ms: int) -> bool:
        """Replace a chain that stopped ticking (the safety net); False if it ticked meanwhile."""
        try:
            self._table.update_item(
                Key=schedule_key(schedule.account_id, schedule.config_id),
                UpdateExpression="SET chain = :new, next_tick_ms = :next",
                ConditionExpression="chain = :old AND next_tick_ms = :seen",
                ExpressionAttributeValues={
                    ":new": chain,
                    ":next": next_tick_ms,
                    ":old": schedule.chain,
                    ":seen": schedule.next_tick_ms,
                },
            )
        except self._failed():
            return False
        return True

    def drop(self, schedule: Schedule) -> bool:
        """The configuration has no schedule any more: the chain ends (its open file, empty, goes too)."""
        operations = [
            dynamo.delete(
                self._name,
                schedule_key(schedule.account_id, schedule.config_id),
                condition="chain = :chain AND attribute_not_exists(closing_file_id)",
                values={":chain": schedule.chain},
            )
        ]
        if schedule.open_file_id is not None:
            operations.append(
                _named(
                    dynamo.delete(
                        self._name,
                        file_key(schedule.account_id, schedule.open_file_id),
                        condition="#s = :open",
                        values={":open": "OPEN"},
                    )
                )
            )
        try:
            dynamo.transact(operations)
        except dynamo.TransactionFailed:
            return False
        return True

    # ------------------------------------------------------------ files
    def _file_item(self, file: BufferFile) -> dict[str, Any]:
        item = {**file_key(file.account_id, file.file_id), **file.model_dump(exclude_none=True)}
        item["ttl"] = (file.closed_ms or file.opened_ms) // 1000 + 2 * self._retention_s
        return item

    @staticmethod
    def _file_from(item: dict[str, Any]) -> BufferFile:
        return BufferFile.model_validate({k: v for k, v in item.items() if k in BufferFile.model_fields})

    def get_file(self, account_id: str, file_id: int) -> BufferFile | None:
        item = self._table.get_item(Key=file_key(account_id, file_id), ConsistentRead=True).get("Item")
        return self._file_from(item) if item else None

    def close_open(self, schedule: Schedule, tick_ms: int, new_file_id: int) -> bool:
        """At tick `tick_ms`: the open file becomes CLOSING, a new one opens. False if the schedule moved."""
        assert schedule.open_file_id is not None
        acct, cfg = schedule.account_id, schedule.config_id
        opened = BufferFile(account_id=acct, config_id=cfg, file_id=new_file_id, status="OPEN", opened_ms=tick_ms)
        try:
            dynamo.transact(
                [
                    dynamo.update(
                        self._name,
                        schedule_key(acct, cfg),
                        "SET open_file_id = :new, opened_ms = :tick, closing_file_id = :old",
                        {":new": new_file_id, ":tick": tick_ms, ":old": schedule.open_file_id},
                        condition="open_file_id = :old AND attribute_not_exists(closing_file_id)",
                    ),
                    dynamo.update(
                        self._name,
                        file_key(acct, schedule.open_file_id),
                        "SET #s = :closing, closed_ms = :tick",
                        {":closing": "CLOSING", ":tick": tick_ms, ":open": "OPEN"},
                        condition="#s = :open",
                        names={"#s": "status"},
                    ),
                    dynamo.put(self._name, self._file_item(opened), condition="attribute_not_exists(pk)"),
                ]
            )
        except dynamo.TransactionFailed:
            return False
        return True

    def finish_closing(self, file: BufferFile, extra: list[dict[str, Any]]) -> bool:
        """CLOSING → CLOSED with what was written, together with `extra` (the file's delivery); the
        schedule forgets the closing file. False when another worker finished it first."""
        operations = [
            dynamo.update(
                self._name,
                file_key(file.account_id, file.file_id),
                "SET #s = :closed, events = :events, #z = :size, object_key = :key, #f = :fmt, delivered = :d",
                {
                    ":closed": "CLOSED",
                    ":closing": "CLOSING",
                    ":events": file.events,
                    ":size": file.size,
                    ":key": file.object_key,
                    ":fmt": file.format,
                    ":d": file.delivered,
                },
                condition="#s = :closing",
                names={"#s": "status", "#f": "format", "#z": "size"},
            ),
            dynamo.update(
                self._name,
                schedule_key(file.account_id, file.config_id),
                "REMOVE closing_file_id",
                {":file": file.file_id},
                condition="closing_file_id = :file",
            ),
            *extra,
        ]
        try:
            dynamo.transact(operations)
        except dynamo.TransactionFailed:
            return False
        return True

    def discard_closing(self, file: BufferFile) -> None:
        """A closed file that ended up with no event (all released meanwhile): no file at all."""
        with contextlib.suppress(dynamo.TransactionFailed):  # another worker did it
            dynamo.transact(
                [
                    _named(
                        dynamo.delete(
                            self._name,
                            file_key(file.account_id, file.file_id),
                            condition="#s = :closing",
                            values={":closing": "CLOSING"},
                        )
                    ),
                    dynamo.update(
                        self._name,
                        schedule_key(file.account_id, file.config_id),
                        "REMOVE closing_file_id",
                        {":file": file.file_id},
                        condition="closing_file_id = :file",
                    ),
                ]
            )

    def set_outcome(self, account_id: str, file_id: int, status: str) -> None:
        """DELIVERED or FAILED, after the file's delivery ended (again, after a redelivery)."""
        self._table.update_item(
            Key=file_key(account_id, file_id),
            UpdateExpression="SET #s = :s",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": status},
        )

    def files(
        self, account_id: str, config_id: str | None, from_ms: int | None, to_ms: int | None, wanted: int
    ) -> list[BufferFile]:
        """The account's files newest first (file ids grow with time): of one configuration, opened in
        [from, to), when given."""
        from boto3.dynamodb.conditions import Attr, Key

        params: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(f"BUF#{account_id}") & Key("sk").begins_with("F#"),
            "ScanIndexForward": False,
        }
        conditions: list[ConditionBase] = []
        if config_id is not None:
            conditions.append(Attr("config_id").eq(config_id))
        if from_ms is not None:
            conditions.append(Attr("opened_ms").gte(from_ms))
        if to_ms is not None:
            conditions.append(Attr("opened_ms").lt(to_ms))
        if conditions:
            params["FilterExpression"] = functools.reduce(operator.and_, conditions)
        return [self._file_from(item) for item in dynamo.query_all(self._table, wanted=wanted, **params)]


def _named(operation: dict[str, Any]) -> dict[str, Any]:
    """`#s` stands for `status` (a reserved word) in a delete's condition."""
    body = next(iter(operation.values()))
    body["ExpressionAttributeNames"] = {"#s": "status"}
    return operation
