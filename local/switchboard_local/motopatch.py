"""Fixes to moto's behaviour under sustained, concurrent load, applied by the local runtime.

moto is built for tests: short runs, one thread. `switchboard local` runs it as a long-lived
server answering many threads, which exposes two problems:

- DynamoDB `TransactWriteItems` deep-copies every table it touches before applying the
  transaction (to roll back on failure). The copy costs time and memory proportional to the
  table, so each transaction gets slower as data accumulates, and the copy iterates the
  table's dicts while other server threads write to them (`RuntimeError: dictionary changed
  size during iteration`). `transact_write_items` below saves only the items the
  transaction touches (and the length of the table's stream), under one lock. The same
  change, as a diff against moto, is in docs/upstream/moto-transact-write-items.md.
- SQS remembers the receipt handle of every message ever deleted (`Queue.deleted_messages`)
  so that deleting twice succeeds; the set grows with every consumed message. It is
  replaced by a bounded set keeping the most recent handles (`BoundedHandleSet`).
- SQS queues are not safe under concurrent consumers: `receive_message` checks that a message
  is visible and then marks it received without a lock, so two pollers of one queue can both
  take the same message (a duplicate delivery); `delete_message` rebuilds the message list
  from a snapshot, so a message sent meanwhile is dropped (a lost one). Both run here under the
  queue's own lock (the one `add_message` already takes); a long poll waits outside it
  (`receive_message`, `delete_message` below).

`apply()` installs them all; it is idempotent.

In-process (tests, benches) there is no server to serialise requests, yet the deliver function
works a batch's records on threads: two conditional writes to one item can then both pass their
condition, which DynamoDB never allows. `serialise_dynamodb()` runs each DynamoDB request under
one lock, as the local runtime's persistence layer does.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any

# One lock for every transaction of the process: a transaction is atomic with respect to
# the others. (The persistence layer also serialises DynamoDB requests; this lock keeps the
# patch correct on its own, e.g. for moto used in-process.)
TRANSACTION_LOCK = threading.RLock()

# Receipt handles of deleted messages kept per queue (to answer a repeated delete kindly).
DELETED_HANDLES_KEPT = 10_000

_applied = False
_serialised = False


def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto's DynamoDBBackend.transact_write_items, saving only the touched items for rollback."""
    from moto.dynamodb.comparisons import get_filter_expression as filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )
    from moto.dynamodb.models.dynamo_type import DynamoType

    if len(transact_items) > 100:
        raise TooManyTransactionsException()

    with TRANSACTION_LOCK:
        # (table name, hash, range) -> the item before the transaction (None: absent)
        saved_items: dict[tuple[str, Any, Any], Any] = {}
        saved_stream_lengths: dict[str, int] = {}

        def save(table_name: str, key: dict[str, Any]) -> None:
            table = self.get_table(table_name)
            hash_value = DynamoType(key[table.hash_key_attr]) if table.hash_key_attr in key else None
            range_value = (
                DynamoType(key[table.range_key_attr])
                if table.range_key_attr is not None and table.range_key_attr in key
                else None
            )
            if hash_value is None or (table.range_key_attr is not None and range_value is None):
                return  # an invalid key: the operation fails before it changes anything
            marker = (table_name, hash_value, range_value)
            if marker not in saved_items:
                saved_items[marker] = copy.deepcopy(table.get_item(hash_value, range_value))
            if table.stream_shard is not None and table_name not in saved_stream_lengths:
                saved_stream_lengths[table_name] = len(table.stream_shard.items)

        def rollback() -> None:
            for (table_name, hash_value, range_value), item in saved_items.items():
                table = self.tables[table_name]
                if range_value is not None:
                    if item is None:
                        table.items[hash_value].pop(range_value, None)
                        if not table.items[hash_value]:
                            table.items.pop(hash_value, None)
                    else:
                        table.items[hash_value][range_value] = item
                elif item is None:
                    table.items.pop(hash_value, None)
                else:
                    table.items[hash_value] = item
            for table_name, length in saved_stream_lengths.items():
                shard = self.tables[table_name].stream_shard
                if shard is not None:
                    del shard.items[length:]

        target_items: set[tuple[str, str]] = set()

        def check_unicity(table_name: str, key: dict[str, Any]) -> None:
            item = (str(table_name), str(dict(sorted(key.items()))))
            if item in target_items:
                raise MultipleTransactionsException()
            target_items.add(item)

        errors: list[tuple[str, str, dict[str, Any]] | tuple[None, None, None]] = []
        for item in transact_items:
            original_item: dict[str, Any] | None = None
            if len(list(item.keys())) > 1:
                raise TransactWriteSingleOpException

            try:
                op_type, op = next(iter(item.items()))
                if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                    raise ValueError("Unsupported transaction operation")

                table_name = op["TableName"]
                condition_expression = op.get("ConditionExpression")
                expression_attribute_names = op.get("ExpressionAttributeNames")
                expression_attribute_values = op.get("ExpressionAttributeValues")
                return_values_on_condition_check_failure = op.get("ReturnValuesOnConditionCheckFailure")

                if op_type == "Put":
                    attrs = op["Item"]
                    table = self.get_table(table_name)
                    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                    if table.range_key_attr is not None:
                        key[table.range_key_attr] = attrs[table.range_key_attr]
                else:
                    key = op["Key"]

                check_unicity(table_name, key)
                if op_type != "ConditionCheck":
                    save(table_name, key)

                current = self.get_item(table_name, key)
                if condition_expression is not None:
                    condition_op = filter_expression(
                        condition_expression,
                        expression_attribute_names,
                        expression_attribute_values,
                    )
                    if not condition_op.expr(current):
                        if return_values_on_condition_check_failure == "ALL_OLD" and current:
                            original_item = current.to_json()["Attributes"]
                        raise ConditionalCheckFailed(item=original_item)

                if op_type == "Put":
                    self.put_item(
                        table_name,
                        op["Item"],
                        condition_expression=condition_expression,
                        expression_attribute_names=expression_attribute_names,
                        expression_attribute_values=expression_attribute_values,
                    )
                elif op_type == "Delete":
                    self.delete_item(
                        table_name,
                        key,
                        condition_expression=condition_expression,
                        expression_attribute_names=expression_attribute_names,
                        expression_attribute_values=expression_attribute_values,
                    )
                elif op_type == "Update":
                    self.update_item(
                        table_name,
                        key,
                        update_expression=op["UpdateExpression"],
                        condition_expression=condition_expression,
                        expression_attribute_names=expression_attribute_names,
                        expression_attribute_values=expression_attribute_values,
                    )
                errors.append((None, None, None))
            except (MultipleTransactionsException, MockValidationException):
                rollback()
                raise
            except ConditionalCheckFailed as e:
                errors.append(("ConditionalCheckFailed", str(e.message), original_item))  # type: ignore[arg-type]
            except Exception as e:
                errors.append((type(e).__name__, str(e), original_item))  # type: ignore[arg-type]

        if any(code is not None for code, _, _ in errors):
            rollback()
            raise TransactionCanceledException(errors)


class BoundedHandleSet:
    """The set interface moto's SQS queue uses for deleted receipt handles, keeping the newest N."""

    def __init__(self, handles: Iterable[str] = (), limit: int = DELETED_HANDLES_KEPT) -> None:
        self.limit = limit
        self._handles: OrderedDict[str, None] = OrderedDict()
        self.update(handles)

    def add(self, handle: str) -> None:
        self._handles[handle] = None
        self._handles.move_to_end(handle)
        while len(self._handles) > self.limit:
            self._handles.popitem(last=False)

    def update(self, handles: Iterable[str]) -> None:
        for handle in handles:
            self.add(handle)

    def discard(self, handle: str) -> None:
        self._handles.pop(handle, None)

    def __contains__(self, handle: object) -> bool:
        return handle in self._handles

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._handles))

    def __len__(self) -> int:
        return len(self._handles)

    def __reduce__(self) -> tuple[Any, ...]:
        return (BoundedHandleSet, (list(self._handles), self.limit))


def bound_deleted_handles(queue: Any) -> None:
    if not isinstance(queue.deleted_messages, BoundedHandleSet):
        queue.deleted_messages = BoundedHandleSet(queue.deleted_messages)


def receive_message(
    original: Any,
    backend: Any,
    queue_name: str,
    count: int,
    wait_seconds_timeout: int,
    visibility_timeout: int,
    message_attribute_names: list[str] | None = None,
) -> list[Any]:
    """moto's receive, made atomic per queue: the choice of messages runs under the queue's lock
    with no wait; a long poll waits for a send outside the lock and tries again."""
    queue = backend.get_queue(queue_name)
    deadline = time.monotonic() + int(wait_seconds_timeout or 0)
    while True:
        with queue._messages_lock:
            result: list[Any] = original(backend, queue_name, count, 0, visibility_timeout, message_attribute_names)
        remaining = deadline - time.monotonic()
        if result or remaining <= 0:
            return result
        # Visible-but-delayed or in-flight messages do not wake the condition; re-check at least every second.
        queue.wait_for_messages(min(1.0, remaining))
        if not queue.messages:
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))


def apply() -> None:
    """Install the fixes into moto (idempotent)."""
    global _applied
    if _applied:
        return
    from moto.dynamodb.models import DynamoDBBackend
    from moto.sqs.models import Queue, SQSBackend

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]

    original_receive = SQSBackend.receive_message

    def locked_receive(self: Any, *args: Any, **kwargs: Any) -> list[Any]:
        return receive_message(original_receive, self, *args, **kwargs)

    SQSBackend.receive_message = locked_receive  # type: ignore[method-assign]

    original_delete = Queue.delete_message

    def locked_delete(self: Any, receipt_handle: str) -> None:
        with self._messages_lock:
            original_delete(self, receipt_handle)

    Queue.delete_message = locked_delete  # type: ignore[method-assign]

    original_init = Queue.__init__

    def queue_init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        bound_deleted_handles(self)

    Queue.__init__ = queue_init  # type: ignore[method-assign]
    _applied = True


DYNAMODB_REQUEST_LOCK = threading.RLock()


def serialise_dynamodb() -> None:
    """Make each in-process DynamoDB request atomic (idempotent)."""
    global _serialised
    if _serialised:
        return
    from moto.dynamodb.responses import DynamoHandler

    original_call = DynamoHandler.call_action

    def locked_call(self: Any) -> Any:
        with DYNAMODB_REQUEST_LOCK:
            return original_call(self)

    DynamoHandler.call_action = locked_call  # type: ignore[method-assign]
    _serialised = True
