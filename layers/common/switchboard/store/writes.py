"""The writes of one DynamoDB transaction, at most one operation per item.

DynamoDB refuses a transaction that touches one item twice (a ValidationException, not a failed
condition), which is easy to build by accident when a change is composed of a removal and an
addition: both move the same counters and may rewrite the same items. `Writes` collects the
operations item by item and merges them:

- counters (`add`) on one item add up, attribute by attribute; an item whose counters all net to
  zero is left out, and so is its guard;
- a `put` after a `delete` of the same item replaces it: the put keeps the delete's condition (the
  item must be there), since its own `attribute_not_exists` would hold on a deleted item anyway;
- any other second write of one item (`update` included) is a programming error (ValueError),
  raised before anything is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from switchboard.store import dynamo

Key = tuple[Any, ...]


@dataclass
class _Counter:
    key: dict[str, Any]
    deltas: dict[str, int] = field(default_factory=dict)
    guards: list[tuple[str, dict[str, Any], tuple[str, ...]]] = field(default_factory=list)


@dataclass
class _Write:
    kind: Literal["put", "delete", "update"]
    key: dict[str, Any]
    item: dict[str, Any] | None
    condition: str | None
    values: dict[str, Any] | None
    expression: str = ""


class Writes:
    def __init__(self, table: str, key_names: tuple[str, ...] = ("pk", "sk")) -> None:
        self._table = table
        self._key_names = key_names
        self._order: list[Key] = []
        self._entries: dict[Key, _Counter | _Write] = {}

    def _identity(self, key: dict[str, Any]) -> Key:
        return tuple(key[name] for name in self._key_names)

    def _slot(self, key: dict[str, Any]) -> tuple[Key, _Counter | _Write | None]:
        identity = self._identity(key)
        if identity not in self._entries:
            self._order.append(identity)
        return identity, self._entries.get(identity)

    def put(self, item: dict[str, Any], condition: str | None = None, values: dict[str, Any] | None = None) -> None:
        key = {name: item[name] for name in self._key_names}
        identity, previous = self._slot(key)
        if previous is None:
            self._entries[identity] = _Write("put", key, item, condition, values)
            return
        if isinstance(previous, _Write) and previous.kind == "delete":
            if condition is not None and not condition.startswith("attribute_not_exists("):
                raise ValueError(f"a put with condition {condition!r} after a delete of {identity} in one transaction")
            self._entries[identity] = _Write("put", key, item, previous.condition, previous.values)
            return
        raise ValueError(f"a put of {identity} after another write of it in one transaction")

    def delete(self, key: dict[str, Any], condition: str | None = None, values: dict[str, Any] | None = None) -> None:
        identity, previous = self._slot(key)
        if previous is not None:
            raise ValueError(f"a delete of {identity} after another write of it in one transaction")
        self._entries[identity] = _Write("delete", dict(key), None, condition, values)

    def update(
        self, key: dict[str, Any], expression: str, values: dict[str, Any] | None = None, condition: str | None = None
    ) -> None:
        """Any other update of one item (SET with a version condition, say): it must be the item's only write."""
        identity, previous = self._slot(key)
        if previous is not None:
            raise ValueError(f"an update of {identity} after another write of it in one transaction")
        self._entries[identity] = _Write("update", dict(key), None, condition, values, expression)

    def add(
        self,
        key: dict[str, Any],
        deltas: dict[str, int],
        guard: str | None = None,
        values: dict[str, Any] | None = None,
    ) -> None:
        """ADD `deltas` to the item's number attributes. `guard` is a condition on the growth: it is checked
        when these attributes grow in total (a quota, the item's existence), dropped when they do not."""
        identity, previous = self._slot(key)
        if previous is None:
            previous = self._entries[identity] = _Counter(dict(key))
        if not isinstance(previous, _Counter):
            raise ValueError(f"counters of {identity} after another write of it in one transaction")
        for name, delta in deltas.items():
            previous.deltas[name] = previous.deltas.get(name, 0) + delta
        if guard is not None:
            previous.guards.append((guard, dict(values or {}), tuple(deltas)))

    def operations(self) -> list[dict[str, Any]]:
        operations = []
        for identity in self._order:
            entry = self._entries[identity]
            if isinstance(entry, _Write):
                if entry.kind == "put":
                    assert entry.item is not None
                    operations.append(dynamo.put(self._table, entry.item, entry.condition, entry.values))
                elif entry.kind == "update":
                    operations.append(
                        dynamo.update(self._table, entry.key, entry.expression, entry.values, entry.condition)
                    )
                else:
                    operations.append(dynamo.delete(self._table, entry.key, entry.condition, entry.values))
                continue
            operation = self._counter_operation(entry)
            if operation is not None:
                operations.append(operation)
        return operations

    def _counter_operation(self, counter: _Counter) -> dict[str, Any] | None:
        moved = {name: delta for name, delta in counter.deltas.items() if delta}
        if not moved:
            return None
        names = {f"#c{index}": name for index, name in enumerate(moved)}
        values: dict[str, Any] = {f":c{index}": delta for index, delta in enumerate(moved.values())}
        conditions = []
        for guard, guard_values, attributes in counter.guards:
            if sum(counter.deltas.get(name, 0) for name in attributes) <= 0:
                continue
            for placeholder, value in guard_values.items():
                if placeholder in values and values[placeholder] != value:
                    raise ValueError(f"two guards of {self._identity(counter.key)} give {placeholder} two values")
                values[placeholder] = value
            conditions.append(f"({guard})")
        expression = "ADD " + ", ".join(f"{name} :c{index}" for index, name in enumerate(names))
        return dynamo.update(
            self._table, counter.key, expression, values, condition=" AND ".join(conditions) or None, names=names
        )
