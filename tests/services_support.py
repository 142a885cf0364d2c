"""Helpers for the services tests: DynamoDB stream records from moto into the quantities function."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import boto3
from switchboard_local.streams import lambda_record

from tests.support import TABLE_VARIABLES, LambdaContext, template

COUNTED_TABLES = ("ACCOUNTS_TABLE", "EVENTS_TABLE", "RULES_TABLE")


class StreamPump:
    """Follows the owning tables' streams in moto and hands new records to a function, as Lambda would.

    It turns the streams on (the template's view type) when it starts: records of writes made before
    are not seen, so tests create it before their accounts."""

    def __init__(self, names: dict[str, str], function: ModuleType) -> None:
        self._function = function
        self._streams = boto3.client("dynamodbstreams")
        self._iterators: dict[tuple[str, str], str] = {}  # (stream, shard) -> iterator
        dynamodb = boto3.client("dynamodb")
        resources = template()["Resources"]
        for variable in COUNTED_TABLES:
            table = names[variable]
            description = dynamodb.describe_table(TableName=table)["Table"]
            if "LatestStreamArn" not in description:  # the handler-test tables are made without streams
                view = resources[TABLE_VARIABLES[variable]]["Properties"]["StreamSpecification"]["StreamViewType"]
                dynamodb.update_table(
                    TableName=table, StreamSpecification={"StreamEnabled": True, "StreamViewType": view}
                )
                description = dynamodb.describe_table(TableName=table)["Table"]
            arn = description["LatestStreamArn"]
            for shard in self._streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
                iterator = self._streams.get_shard_iterator(
                    StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
                self._iterators[(arn, shard["ShardId"])] = iterator

    def records(self) -> list[dict[str, Any]]:
        out = []
        for (arn, shard_id), iterator in list(self._iterators.items()):
            response = self._streams.get_records(ShardIterator=iterator)
            out += [lambda_record(r, arn) for r in response["Records"]]
            self._iterators[(arn, shard_id)] = response["NextShardIterator"]
        return out

    def pump(self) -> list[dict[str, Any]]:
        """Deliver every new record; returns them (tests may deliver them again)."""
        records = self.records()
        if records:
            self.deliver(records)
        return records

    def deliver(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        response = self._function.lambda_handler({"Records": records}, LambdaContext())
        assert response == {"batchItemFailures": []}, response
        return response
