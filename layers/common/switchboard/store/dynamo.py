"""Typed transactions over the low-level client (the resource API has none)."""

from __future__ import annotations

from typing import Any

from switchboard import aws

_serializer: Any = None


def _serialize(item: dict[str, Any]) -> dict[str, Any]:
    global _serializer
    if _serializer is None:
        from boto3.dynamodb.types import TypeSerializer

        _serializer = TypeSerializer()
    return {key: _serializer.serialize(value) for key, value in item.items()}


def put(table: str, item: dict[str, Any], condition: str | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"TableName": table, "Item": _serialize(item)}
    if condition:
        op["ConditionExpression"] = condition
    return {"Put": op}


def delete(table: str, key: dict[str, Any], condition: str | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"TableName": table, "Key": _serialize(key)}
    if condition:
        op["ConditionExpression"] = condition
    return {"Delete": op}


def transact(operations: list[dict[str, Any]]) -> None:
    aws.client("dynamodb").transact_write_items(TransactItems=operations)
