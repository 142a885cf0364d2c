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

- DynamoDB `Query` walks every item of the table, sorted, to find one partition (moto's
  `Table.query` calls `all_items()`, for the table and for its indexes alike), so every query
  costs time proportional to everything stored, and with a few thousand events most of the
  emulator's time went there. `query` below hands moto only the query's partition: the table's
  own hash bucket, or, for a global secondary index, the items grouped by the index's partition
  key (`TableIndexes`, built on the first query of the index and kept up to date by every item
  write: `Table.put_item`/`delete_item`, `update_item`, the transaction rollback and the
  persistence layer's replay call `item_changed`).

- DynamoDB Streams keeps every shard iterator it ever handed out (`shard_iterators`), and each
  `GetRecords` hands out a new one: a poller asking four times a second grows it by megabytes an
  hour, idle. Iterators now expire after 15 minutes, as on AWS (`ExpiringIterators`), and at most
  ITERATORS_KEPT are kept.
- A stream shard keeps every record ever written (NEW_AND_OLD_IMAGES: two copies of each item
  version). `trim_stream` drops the records every reader has consumed; the local runtime's
  maintenance calls it with its stream pollers' positions (persistence.Maintenance).

- moto holds each item as a dict of `DynamoType` objects, about 15 times the item's size (some
  40 KB per delivered event). Items at rest are packed: `Item.attrs` becomes a property, and
  `pack_item` (called by the runtime's maintenance every 30 s under the persistence lock)
  replaces an item's attribute objects by one pickle of them, unpacked the next time anything
  reads `attrs`. Behaviour is unchanged; only the idle items' form is.

- moto keeps every model object it ever creates in its class's `instances_tracked` list (for its
  dashboard), so every item version, message and object stays alive after it is replaced or
  deleted. `untrack_instances` keeps the newest INSTANCES_KEPT of each class instead.

`apply()` installs them all; it is idempotent.

In-process (tests, benches) there is no server to serialise requests, yet the deliver function
works a batch's records on threads: two conditional writes to one item can then both pass their
condition, which DynamoDB never allows. `serialise_dynamodb()` runs each DynamoDB request under
one lock, as the local runtime's persistence layer does.
"""

from __future__ import annotations

import bisect
import copy
import itertools
import pickle
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
# DynamoDB Streams shard iterators: valid for 15 minutes on AWS; no more than this many kept.
ITERATOR_LIFETIME_SECONDS = 15 * 60
ITERATORS_KEPT = 10_000

_applied = False
_serialised = False


# ---------------------------------------------------------------- items packed at rest


def _attrs_get(self: Any) -> Any:
    state = self.__dict__
    attrs = state.get("_attrs")
    if attrs is None:
        if "attrs" in state:  # an item pickled before the property existed
            attrs = state.pop("attrs")
        else:
            from moto.dynamodb.models.dynamo_type import LimitedSizeDict

            # as moto's own Item.__deepcopy__ does: the values passed the size check when written
            attrs = LimitedSizeDict.__new__(LimitedSizeDict)
            dict.__init__(attrs)
            from moto.dynamodb.models.dynamo_type import DynamoType

            plain = pickle.loads(state.pop("_packed"))
            dict.update(attrs, {name: DynamoType(value) for name, value in plain.items()})
            state.pop("_kept", None)
        state["_attrs"] = attrs
    return attrs


def _attrs_set(self: Any, value: Any) -> None:
    self.__dict__.pop("_packed", None)
    self.__dict__.pop("_kept", None)
    self.__dict__["_attrs"] = value


def _plain(value: Any) -> dict[str, Any]:
    """A DynamoType as the `{type: value}` form its constructor takes (no objects: a small pickle)."""
    if value.type == "L":
        return {"L": [_plain(member) for member in value.value]}
    if value.type == "M":
        return {"M": {name: _plain(member) for name, member in value.value.items()}}
    return {value.type: value.value}


def pack_item(item: Any, keep: str | None = None) -> bool:
    """Pack an unpacked item's attributes into one pickle; `keep` names one attribute (the table's
    TTL) kept unpacked beside it for `peek`. False when it was packed already."""
    state = item.__dict__
    attrs = state.get("_attrs")
    if attrs is None:
        return False
    plain = {name: _plain(value) for name, value in attrs.items()}
    state["_packed"] = pickle.dumps(plain, protocol=pickle.HIGHEST_PROTOCOL)
    if keep is not None:
        state["_kept"] = (keep, attrs.get(keep))
    del state["_attrs"]
    return True


def peek(item: Any, name: str) -> Any:
    """One attribute of an item, without unpacking it when it is the one kept beside the pickle."""
    state = item.__dict__
    kept = state.get("_kept")
    if kept is not None and kept[0] == name and "_attrs" not in state:
        return kept[1]
    return item.attrs.get(name)


# ---------------------------------------------------------------- queries by partition


def items_of(table: Any) -> Iterator[Any]:
    """Every item of a moto table, in no particular order (moto's `all_items()` sorts them all)."""
    for bucket in list(table.items.values()):
        if table.range_key_attr is not None:
            yield from list(bucket.values())
        else:
            yield bucket


def _item_key(item: Any) -> tuple[Any, Any]:
    return (item.hash_key, item.range_key)


# Sort-key types whose order `cast_value` gives as DynamoDB does (strings by code point, which is
# UTF-8 byte order; numbers by value). Binary keys are left to moto's own comparison.
_ORDERED_TYPES = frozenset({"S", "N"})
_TOP = float("inf")  # sorts after every tie-breaking sequence number


def _sort_value(value: Any) -> Any:
    """A sort-key value as plain Python that orders as DynamoDB does, or None when it cannot."""
    return value.cast_value if value is not None and value.type in _ORDERED_TYPES else None


class _Ordered:
    """One index partition's members in sort-key order: (sort value, sequence, item key) entries, so a
    sort-key condition is a bisection instead of a look at every member (an account's partition holds
    all its events). The sequence number breaks ties without comparing item keys."""

    def __init__(self) -> None:
        self.entries: list[tuple[Any, int, tuple[Any, Any]]] = []
        self.unordered = 0  # members whose sort key cannot be ordered here (binary)

    def add(self, entry: tuple[Any, int, tuple[Any, Any]] | None) -> None:
        if entry is None:
            self.unordered += 1
        else:
            bisect.insort(self.entries, entry)

    def remove(self, entry: tuple[Any, int, tuple[Any, Any]] | None) -> None:
        if entry is None:
            self.unordered -= 1
            return
        at = bisect.bisect_left(self.entries, entry)
        if at < len(self.entries) and self.entries[at] == entry:
            del self.entries[at]

    def select(self, comparison: str, operands: list[Any]) -> list[tuple[Any, Any]] | None:
        """The keys of the members the sort-key condition keeps, in order; None when it cannot tell."""
        values = [_sort_value(operand) for operand in operands]
        if self.unordered or not values or any(v is None for v in values):
            return None
        try:
            return self._select(comparison, values)
        except TypeError:  # a string operand for number keys, or the reverse: moto says what it says
            return None

    def _select(self, comparison: str, values: list[Any]) -> list[tuple[Any, Any]] | None:
        entries, first = self.entries, values[0]
        low, high = bisect.bisect_left(entries, (first,)), bisect.bisect_right(entries, (first, _TOP))
        if comparison in ("EQ", "="):
            chosen = entries[low:high]
        elif comparison in ("LT", "<"):
            chosen = entries[:low]
        elif comparison in ("LE", "<="):
            chosen = entries[:high]
        elif comparison in ("GT", ">"):
            chosen = entries[high:]
        elif comparison in ("GE", ">="):
            chosen = entries[low:]
        elif comparison == "BETWEEN" and len(values) == 2:
            chosen = entries[low : bisect.bisect_right(entries, (values[1], _TOP))]
        elif comparison == "BEGINS_WITH" and isinstance(first, str):
            chosen = list(itertools.takewhile(lambda entry: entry[0].startswith(first), entries[low:]))
        else:
            return None
        return [entry[2] for entry in chosen]


class TableIndexes:
    """The items of one table grouped by each global secondary index's partition key, each group also
    kept in the order of the index's sort key."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self.partition_attributes = {
            index.name: tuple(key["AttributeName"] for key in index.schema if key["KeyType"] == "HASH")
            for index in table.global_indexes
        }
        # index name -> its one sort-key attribute (None: none, or several)
        self.sort_attribute: dict[str, str | None] = {}
        for index in table.global_indexes:
            ranges = [key["AttributeName"] for key in index.schema if key["KeyType"] == "RANGE"]
            self.sort_attribute[index.name] = ranges[0] if len(ranges) == 1 else None
        # index name -> partition (tuple of the key values) -> item key -> item
        self.partitions: dict[str, dict[tuple[Any, ...], dict[tuple[Any, Any], Any]]] = {
            name: {} for name in self.partition_attributes
        }
        self.ordered: dict[str, dict[tuple[Any, ...], _Ordered]] = {name: {} for name in self.partition_attributes}
        # item key -> index name -> (the partition the item is in, its entry in the partition's order)
        self.placed: dict[tuple[Any, Any], dict[str, tuple[tuple[Any, ...], Any]]] = {}
        self._sequence = itertools.count()
        for item in items_of(table):
            self.place(_item_key(item), item)

    def place(self, key: tuple[Any, Any], item: Any | None) -> None:
        """Put the item stored under `key` (None: no item any more) where its attributes say."""
        for name, (partition, entry) in self.placed.pop(key, {}).items():
            members = self.partitions[name].get(partition)
            if members is not None:
                members.pop(key, None)
                self.ordered[name][partition].remove(entry)
                if not members:
                    del self.partitions[name][partition]
                    del self.ordered[name][partition]
        if item is None:
            return
        where: dict[str, tuple[tuple[Any, ...], Any]] = {}
        for name, attributes in self.partition_attributes.items():
            values = tuple(item.attrs.get(attribute) for attribute in attributes)
            if any(value is None for value in values):
                continue  # not in this (sparse) index
            self.partitions[name].setdefault(values, {})[key] = item
            sort_attribute = self.sort_attribute[name]
            value = _sort_value(item.attrs.get(sort_attribute)) if sort_attribute else None
            entry = (value, next(self._sequence), key) if value is not None else None
            self.ordered[name].setdefault(values, _Ordered()).add(entry)
            where[name] = (values, entry)
        if where:
            self.placed[key] = where

    def members(self, index_name: str, partition: tuple[Any, ...]) -> list[Any]:
        return list(self.partitions[index_name].get(partition, {}).values())

    def in_range(
        self, index_name: str, partition: tuple[Any, ...], comparison: str, operands: list[Any]
    ) -> list[Any] | None:
        """The partition's members whose sort key meets the condition (found by bisection, without
        reading the items, which may be packed); None when the partition cannot be searched so."""
        if self.sort_attribute.get(index_name) is None:
            return None
        ordered = self.ordered[index_name].get(partition)
        if ordered is None:
            return []
        keys = ordered.select(comparison, operands)
        if keys is None:
            return None
        members = self.partitions[index_name][partition]
        return [members[key] for key in keys]


# id(table) -> (table, its indexes); the table is kept to tell a reused id from the same table
_TABLE_INDEXES: dict[int, tuple[Any, TableIndexes]] = {}


def _indexes(table: Any, build: bool) -> TableIndexes | None:
    entry = _TABLE_INDEXES.get(id(table))
    if entry is not None and entry[0] is table:
        return entry[1]
    if not build:
        return None
    indexes = TableIndexes(table)
    _TABLE_INDEXES[id(table)] = (table, indexes)
    return indexes


def item_changed(table: Any, hash_key: Any, range_key: Any) -> None:
    """The item under this key was written, replaced or deleted: regroup it in the table's indexes."""
    indexes = _indexes(table, build=False)
    if indexes is not None:
        indexes.place((hash_key, range_key), table.get_item(hash_key, range_key) if hash_key in table.items else None)


def forget_indexes() -> None:
    """Drop every grouping (rebuilt on the next query); for state loaded wholesale, e.g. a snapshot."""
    _TABLE_INDEXES.clear()


def _index_partition(
    table: Any, index_name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[TableIndexes, tuple[Any, ...]] | None:
    """The grouping of a global index's query and the partition it reads, or None when that cannot be told."""
    hash_key = kwargs.get("hash_key", args[0] if args else None)
    conditions = kwargs.get("hash_key_conditions", args[10] if len(args) > 10 else None)
    indexes = _indexes(table, build=True)
    assert indexes is not None
    attributes = indexes.partition_attributes.get(index_name)
    if attributes is None:
        return None  # moto reports the unknown index
    given = dict(conditions or [])
    if not given and hash_key is not None and len(attributes) == 1:
        given = {attributes[0]: hash_key}
    if set(given) != set(attributes):
        return None
    return indexes, tuple(given[attribute] for attribute in attributes)


def _partition_items(table: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any] | None:
    """The only items a query can return (its partition), or None when that cannot be told."""
    hash_key = kwargs.get("hash_key", args[0] if args else None)
    index_name = kwargs.get("index_name", args[7] if len(args) > 7 else None)
    local_indexes = {index.name for index in table.indexes}
    if index_name is None or index_name in local_indexes:
        if hash_key is None:
            return None
        bucket = table.items.get(hash_key)
        if bucket is None:
            return []
        return list(bucket.values()) if table.range_key_attr is not None else [bucket]
    found = _index_partition(table, index_name, args, kwargs)
    if found is None:
        return None
    indexes, partition = found
    return indexes.members(index_name, partition)


def _index_range(table: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any] | None:
    """A global index query's items within its sort-key condition, by bisection of the partition's
    order; None when the query has no such condition or it cannot be answered so."""
    comparison = kwargs.get("range_comparison", args[1] if len(args) > 1 else None)
    operands = kwargs.get("range_objs", args[2] if len(args) > 2 else None)
    index_name = kwargs.get("index_name", args[7] if len(args) > 7 else None)
    conditions = kwargs.get("range_key_conditions") or []
    if not comparison or len(conditions) > 1 or index_name is None:
        return None
    if index_name in {index.name for index in table.indexes}:
        return None
    found = _index_partition(table, index_name, args, kwargs)
    if found is None:
        return None
    indexes, partition = found
    return indexes.in_range(index_name, partition, comparison, list(operands or []))


def _in_range(table: Any, candidates: list[Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
    """The candidates the query's sort-key condition keeps (moto would sort the whole partition first,
    then test each item; the same test, done first, leaves it a smaller list to sort)."""
    comparison = kwargs.get("range_comparison", args[1] if len(args) > 1 else None)
    operands = kwargs.get("range_objs", args[2] if len(args) > 2 else None)
    index_name = kwargs.get("index_name", args[7] if len(args) > 7 else None)
    conditions = kwargs.get("range_key_conditions") or []
    if not comparison or len(conditions) > 1:
        return candidates
    if index_name is None:
        return [item for item in candidates if item.range_key and item.range_key.compare(comparison, operands)]
    index = next((i for i in table.indexes + table.global_indexes if i.name == index_name), None)
    ranges = [key["AttributeName"] for key in index.schema if key["KeyType"] == "RANGE"] if index else []
    if len(ranges) != 1:
        return candidates
    attribute = ranges[0]
    return [
        item for item in candidates if item.attrs.get(attribute) and item.attrs[attribute].compare(comparison, operands)
    ]


def _query(original: Any) -> Any:
    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        candidates = _index_range(self, args, kwargs)
        if candidates is None:
            candidates = _partition_items(self, args, kwargs)
            if candidates is None:
                return original(self, *args, **kwargs)
            candidates = _in_range(self, candidates, args, kwargs)
        # moto's query filters and sorts what `all_items()` gives; give it only the partition
        self.all_items = lambda: candidates
        try:
            return original(self, *args, **kwargs)
        finally:
            del self.all_items

    return query


def _reindexing_put(original: Any) -> Any:
    def put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        item = original(self, *args, **kwargs)
        item_changed(self, item.hash_key, item.range_key)
        return item

    return put_item


def _reindexing_delete(original: Any) -> Any:
    def delete_item(self: Any, hash_key: Any, range_key: Any) -> Any:
        item = original(self, hash_key, range_key)
        item_changed(self, hash_key, range_key)
        return item

    return delete_item


def _reindexing_update(original: Any) -> Any:
    def update_item(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
        item = original(self, table_name, *args, **kwargs)  # moto changes the item in place
        if item is not None:
            item_changed(self.get_table(table_name), item.hash_key, item.range_key)
        return item

    return update_item


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
                item_changed(table, hash_value, range_value)
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


class ExpiringIterators(OrderedDict[str, Any]):
    """moto's map of shard iterators, forgetting those older than ITERATOR_LIFETIME_SECONDS (as AWS
    expires them) and any beyond the newest ITERATORS_KEPT."""

    def __init__(self, *args: Any, clock: Any = time.monotonic, **kwargs: Any) -> None:
        self.clock = clock
        self.issued: dict[str, float] = {}
        super().__init__(*args, **kwargs)

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        now = self.clock()
        self.issued[key] = now
        while self:
            oldest = next(iter(self))
            if len(self) <= ITERATORS_KEPT and self.issued.get(oldest, now) > now - ITERATOR_LIFETIME_SECONDS:
                break
            super().__delitem__(oldest)
            self.issued.pop(oldest, None)


# A trim and a read of a stream shard must not interleave (a read finds its records by their offset
# from `starting_sequence_number`, which a trim moves).
STREAM_LOCK = threading.Lock()


def trim_stream(shard: Any, through: int) -> int:
    """Drop a stream shard's records up to sequence number `through`; returns how many went. Later
    records keep their numbers (moto numbers a record `starting_sequence_number` + its place)."""
    with STREAM_LOCK:
        count = max(0, min(len(shard.items), through - shard.starting_sequence_number + 1))
        if count:
            del shard.items[:count]
            shard.starting_sequence_number += count
        return count


def _stream_get(original: Any) -> Any:
    def get(self: Any, start: int, quantity: int) -> list[dict[str, Any]]:
        with STREAM_LOCK:
            # an iterator older than a trim reads on from the oldest record kept
            return original(self, max(start, self.starting_sequence_number), quantity)

    return get


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
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import StreamShard, Table
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend
    from moto.sqs.models import Queue, SQSBackend

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    DynamoDBBackend.update_item = _reindexing_update(DynamoDBBackend.update_item)  # type: ignore[method-assign]
    Table.query = _query(Table.query)  # type: ignore[method-assign]
    Item.attrs = property(_attrs_get, _attrs_set)  # type: ignore[assignment]
    Table.put_item = _reindexing_put(Table.put_item)  # type: ignore[method-assign]
    Table.delete_item = _reindexing_delete(Table.delete_item)  # type: ignore[method-assign]

    StreamShard.get = _stream_get(StreamShard.get)  # type: ignore[method-assign]

    original_streams_init = DynamoDBStreamsBackend.__init__

    def streams_init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_streams_init(self, *args, **kwargs)
        self.shard_iterators = ExpiringIterators()

    DynamoDBStreamsBackend.__init__ = streams_init  # type: ignore[method-assign]

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
    untrack_instances()
    _applied = True


# moto's dashboard (/moto-api/data.json) lists the newest model objects of each class, this many.
INSTANCES_KEPT = 1_000


class RecentInstances(list[Any]):
    """A model class's `instances_tracked` that keeps only its newest objects."""

    def append(self, instance: Any) -> None:
        super().append(instance)
        if len(self) > 2 * INSTANCES_KEPT:  # trimmed in steps: appends stay cheap
            del self[: len(self) - INSTANCES_KEPT]


def _recently_tracked_new(cls: Any, *args: Any, **kwargs: Any) -> Any:
    from moto.core.common_models import BaseModel

    instance = super(BaseModel, cls).__new__(cls)
    tracked = cls.__dict__.get("instances_tracked")
    if not isinstance(tracked, RecentInstances):  # a class defined, or a list reset, since
        tracked = RecentInstances(tracked or [])
        cls.instances_tracked = tracked
    tracked.append(instance)
    return instance


def untrack_instances() -> None:
    """Stop moto keeping every model object it ever made.

    `BaseModel.__new__` appends each new instance to its class's `instances_tracked` list, for the
    moto dashboard (`/moto-api/data.json`, where the emulator's sent emails can be read) and for S3's
    reset (which closes the buffers of keys it no longer holds). Nothing ever removed them, so every
    DynamoDB item version (and the transient copies updates make), SQS message and S3 object version
    stayed alive: most of the runtime's growth per delivered event. Each class now keeps its newest
    INSTANCES_KEPT (the dashboard's recent view); an older S3 key's buffer is closed when it is collected."""
    from moto.core.common_models import BaseModel
    from moto.core.model_instances import model_data

    BaseModel.__new__ = staticmethod(_recently_tracked_new)  # type: ignore[method-assign]
    for models in model_data.values():
        for model in models.values():
            kept = list(getattr(model, "instances_tracked", []))[-INSTANCES_KEPT:]
            model.instances_tracked = RecentInstances(kept)  # type: ignore[attr-defined]


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
