"""Crossbar request envelopes whose numbers stay exact: money arrives as `Decimal`, never float.

The same rules as `http.json_body` (strict JSON, bounded size and depth, the Crossbar error
shapes), with `parse_float=Decimal`; used where a body carries amounts (KAZOO services).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from switchboard.dialects import http
from switchboard.errors import InvalidInput


def envelope(app: APIGatewayRestResolver) -> dict[str, Any]:
    """The request envelope `{"data": {...}, ...}`; an empty body is `{"data": {}}`."""
    data = http.raw_body(app)
    if not data.strip():
        return {"data": {}}
    try:
        value = json.loads(data, parse_float=Decimal, parse_constant=http._refuse_constant)
    except (ValueError, RecursionError) as exc:
        reason = "it nests too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise InvalidInput.single(
            ("json",), "invalid", f"request body is not valid JSON: {reason}", target="body"
        ) from None
    if http._too_deep(value, http.MAX_JSON_DEPTH):
        raise InvalidInput.single(
            ("json",), "invalid", f"request body nests deeper than {http.MAX_JSON_DEPTH} levels", target="body"
        )
    if not isinstance(value, dict) or "data" not in value:
        raise InvalidInput.single("data", "required", "Field is required but missing", "data")
    if not isinstance(value["data"], dict):
        raise InvalidInput.single("data", "type", "Value did not match type(s): object", None, "object")
    return value


def merge_flag(body: dict[str, Any]) -> bool:
    """The envelope's top-level `"merge"` (KAZOO: POST replaces unless it is true)."""
    merge = body.get("merge", False)
    if not isinstance(merge, bool):
        raise InvalidInput.single("merge", "type", "Value did not match type(s): boolean", None, "boolean")
    return merge
