"""DynamoDB mechanics every repository shares: paging through a query, batched reads with
backoff, and transactions with one conflict policy. Repositories say what to read and write;
how to follow `LastEvaluatedKey`, retry `UnprocessedKeys` or survive a `TransactionConflict`
is written once, here."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from typing import Any

from switchboard import aws
from switchboard.errors import Unavailable

BATCH_GET_SIZE = 100  # DynamoDB's limit per BatchGetItem
TRANSACTION_SIZE = 100  # DynamoDB's limit per TransactWriteItems

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


def _backoff(attempt: int, base_s: float = 0.01, cap_s: float = 0.5) -> None:
    # Full jitter: concurrent writers that collided do not collide again in lock-step.
    time.sleep(random.uniform(0, min(cap_s, base_s * 2**attempt)))


def transact(operations: list[dict[str, Any]], tries: int = 6) -> None:
    """TransactWriteItems with the layer's one conflict policy.

    A failed condition raises `TransactionFailed` at once (the caller decides what it means). A
    collision with a concurrent transaction on the same item (a counter many writers move) is
    retried with jittered backoff; still colliding after `tries`, it is `Unavailable` (a 503 the
    client may retry as it is: nothing was written)."""
    client = aws.client("dynamodb")
    for attempt in range(tries):
        try:
            client.transact_write_items(TransactItems=operations)
            return
        except client.exceptions.TransactionCanceledException as exc:
            reasons = [reason.get("Code", "None") for reason in exc.response.get("CancellationReasons", [])]
            if "ConditionalCheckFailed" in reasons:
                raise TransactionFailed(reasons) from None
            if "TransactionConflict" not in reasons and "ThrottlingError" not in reasons:
                raise
        except client.exceptions.TransactionInProgressException:
            pass
        if attempt + 1 < tries:
            _backoff(attempt)
    raise Unavailable("the write collided with concurrent writes of the same items; send it again")


def query_pages(table: Any, **params: Any) -> Iterator[list[dict[str, Any]]]:
    """The pages of a query (`table.query` parameters), following `LastEvaluatedKey`."""
    while True:
        response = table.query(**params)
        yield response["Items"]
        last = response.get("LastEvaluatedKey")
        if not last:
            return
        params = {**params, "ExclusiveStartKey": last}


def query_all(table: Any, *, wanted: int | None = None, **params: Any) -> list[dict[str, Any]]:
    """Every item a query matches, or its first `wanted` (then each request asks for what is still
    missing, at least 25 items, so a filtered query does not crawl one item at a time)."""
    items: list[dict[str, Any]] = []
    if wanted is not None:
        params["Limit"] = max(wanted, 25)
    for page in query_pages(table, **params):
        items += page
        if wanted is not None:
            if len(items) >= wanted:
                return items[:wanted]
            params["Limit"] = max(wanted - len(items), 25)
    return items


def query_page(
    table: Any, limit: int | None, cursor: dict[str, Any] | None = None, **params: Any
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """One response of a query: at most `limit` items (None: DynamoDB's 1 MB) from `cursor` on, and the
    cursor of the next page (None at the end)."""
    if limit is not None:
        params["Limit"] = limit
    if cursor:
        params["ExclusiveStartKey"] = cursor
    response = table.query(**params)
    return response["Items"], response.get("LastEvaluatedKey")


def batch_get(table_name: str, keys: Sequence[dict[str, Any]], tries: int = 8, **options: Any) -> list[dict[str, Any]]:
    """The items at `keys` (those that exist, in no particular order), 100 keys a request.
    Keys DynamoDB leaves unprocessed (throttling) are asked again with jittered backoff; still
    unprocessed after `tries`, the read is `Unavailable`."""
    found: list[dict[str, Any]] = []
    resource = aws.dynamodb()
    for start in range(0, len(keys), BATCH_GET_SIZE):
        request: dict[str, Any] = {table_name: {"Keys": list(keys[start : start + BATCH_GET_SIZE]), **options}}
        for attempt in range(tries):
            response = resource.batch_get_item(RequestItems=request)
            found += response["Responses"].get(table_name, [])
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            _backoff(attempt)
        if request:
            raise Unavailable("the table is throttling reads; send the request again")
    return found
