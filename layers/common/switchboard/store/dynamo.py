"""Typed transactions over the low-level client (the resource API has none)."""

from __future__ import annotations

from typing import Any

from switchboard import aws

_serializer: Any = None


def serialize(item: dict[str, Any]) -> dict[str, Any]:
    global _serializer
    if _serializer is None:
        from boto3.dynamodb.types import TypeSerializer

        _serializer = TypeSerializer()
    return {key: _serializer.serialize(value) for key, value in item.items()}


def put(
    table: str, item: dict[str, Any], condition: str | None = None, values: dict[str, Any] | None = None
) -> dict[str, Any]:
    op: dict[str, Any] = {"TableName": table, "Item": serialize(item)}
    _condition(op, condition, values)
    return {"Put": op}


def delete(
    table: str, key: dict[str, Any], condition: str | None = None, values: dict[str, Any] | None = None
) -> dict[str, Any]:
    op: dict[str, Any] = {"TableName": table, "Key": serialize(key)}
    _condition(op, condition, values)
    return {"Delete": op}


def update(
    table: str,
    key: dict[str, Any],
    expression: str,
    values: dict[str, Any] | None = None,
    condition: str | None = None,
    names: dict[str, str] | None = None,
) -> dict[str, Any]:
    op: dict[str, Any] = {"TableName": table, "Key": serialize(key), "UpdateExpression": expression}
    _condition(op, condition, values)
    if names:
        op["ExpressionAttributeNames"] = names
    return {"Update": op}


def check(table: str, key: dict[str, Any], condition: str, values: dict[str, Any] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"TableName": table, "Key": serialize(key)}
    _condition(op, condition, values)
    return {"ConditionCheck": op}


def _condition(op: dict[str, Any], condition: str | None, values: dict[str, Any] | None) -> None:
    if condition:
        op["ConditionExpression"] = condition
    if values:
        op["ExpressionAttributeValues"] = serialize(values)


class TransactionFailed(Exception):
    """A condition in the transaction did not hold; `reasons[i]` is the code for operation i."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(", ".join(reasons))
        self.reasons = reasons

    def failed(self, index: int) -> bool:
        return index < len(self.reasons) and self.reasons[index] == "ConditionalCheckFailed"


class TransactionConflict(Exception):
    """Another transaction touched one of the items at the same moment; retrying may succeed."""


def transact(operations: list[dict[str, Any]]) -> None:
    client = aws.client("dynamodb")
    try:
        client.transact_write_items(TransactItems=operations)
    except client.exceptions.TransactionCanceledException as exc:
        reasons = [reason.get("Code", "None") for reason in exc.response.get("CancellationReasons", [])]
        if "ConditionalCheckFailed" in reasons:
            raise TransactionFailed(reasons) from None
        if "TransactionConflict" in reasons:
            raise TransactionConflict(", ".join(reasons)) from None
        raise


def transact_retrying(operations: list[dict[str, Any]], tries: int = 6) -> None:
    """`transact`, retried with a short random backoff while it only collides with concurrent transactions
    on a shared item (a counter many writers move); a failed condition is not retried."""
    import random
    import time

    for attempt in range(tries):
        try:
            transact(operations)
            return
        except TransactionConflict:
            if attempt + 1 == tries:
                raise
            time.sleep(random.uniform(0.005, 0.03) * (attempt + 1))
