"""The baselines `make bench` measures the handlers against answer the same requests they do."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench.baselines import minimal_dynamodb_handler, minimal_rest_handler
from tests.support import LambdaContext, sample_event


class Table:
    def get_item(self, Key: dict[str, str]) -> dict[str, Any]:
        return {"Item": {**Key, "doc": json.dumps({"id": Key["pk"]})}}


@pytest.mark.parametrize("prefix", ["", "/v2"], ids=["stage URL", "custom domain"])
@pytest.mark.parametrize("baseline", [minimal_rest_handler, minimal_dynamodb_handler], ids=lambda m: m.__name__)
def test_the_baselines_answer_the_sample_alert_get(baseline, prefix, monkeypatch):
    """The cold-start probe sends `events/alerts_get.json` (a stage-URL path) to both sides."""
    monkeypatch.setattr(minimal_dynamodb_handler, "table", Table())
    event = sample_event("alerts_get.json")
    event["path"] = prefix + event["path"]
    response = baseline.lambda_handler(event, LambdaContext())
    assert response["statusCode"] == 200, response
