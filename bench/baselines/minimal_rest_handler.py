"""Baseline for cold starts: the smallest Powertools REST resolver handler with one route."""

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

app = APIGatewayRestResolver(strip_prefixes=["/v2"])  # as the KAZOO API's resolvers: with or without its base path


@app.get("/accounts/<account_id>/alerts/<alert_id>")
def get_alert(account_id: str, alert_id: str) -> dict:
    return {"id": alert_id, "account_id": account_id}


def lambda_handler(event: dict, context: object) -> dict:
    return app.resolve(event, context)
