"""Baseline for warm requests: a Powertools REST handler doing one DynamoDB GetItem and
returning the item as JSON, with no tenancy, envelope or validation."""

from __future__ import annotations

import json

import boto3
from aws_lambda_powertools.event_handler import APIGatewayRestResolver

app = APIGatewayRestResolver(strip_prefixes=["/v2"])  # as the KAZOO API's resolvers: with or without its base path
table = None


@app.get("/accounts/<account_id>/alerts/<alert_id>")
def get_alert(account_id: str, alert_id: str) -> dict:
    item = table.get_item(Key={"pk": f"ALERT#{alert_id}", "sk": "ALERT"})["Item"]
    return {"data": json.loads(item["doc"])}


def lambda_handler(event: dict, context: object) -> dict:
    return app.resolve(event, context)


def bind(session: boto3.session.Session, table_name: str) -> None:
    global table
    table = session.resource("dynamodb").Table(table_name)
