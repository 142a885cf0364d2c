"""Request plumbing every dialect shares: the caller, the body, query parameters."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from switchboard.errors import InvalidInput, PayloadTooLarge
from switchboard.lazy import lazy_import

if TYPE_CHECKING:
    from switchboard import tenancy
    from switchboard.tenancy import Caller
else:
    tenancy = lazy_import("switchboard.tenancy")

MAX_BODY_BYTES = 1024 * 1024
RETRY_AFTER_S = 1  # Unavailable: nothing was half-done, the same request may be sent again at once


def error_status(status: int) -> int:
    """The HTTP status of a coded domain error: its own when 4xx (or 503), else 400 (a domain error is never
    a server error)."""
    return status if 400 <= status < 500 or status == 503 else 400


def caller(app: APIGatewayRestResolver) -> Caller:
    """The identity the authorizer resolved; API Gateway never calls a function without it."""
    return tenancy.Caller.from_context(app.current_event.request_context.authorizer.get_context())


def presented_token(app: APIGatewayRestResolver) -> str | None:
    headers = app.current_event.headers
    bearer = headers.get("authorization") or ""
    if bearer[:7].lower() == "bearer ":
        return bearer[7:].strip()
    return headers.get("x-auth-token") or headers.get("x-api-key")


def raw_body(app: APIGatewayRestResolver) -> bytes:
    event = app.current_event
    body = event.body or ""
    data = base64.b64decode(body) if event.is_base64_encoded else body.encode("utf-8")
    if len(data) > MAX_BODY_BYTES:
        raise PayloadTooLarge(MAX_BODY_BYTES)
    return data


MAX_JSON_DEPTH = 32


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _too_deep(value: Any, limit: int) -> bool:
    """Whether `value` nests deeper than `limit` (iteratively: deep input must not exhaust the stack)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def json_body(app: APIGatewayRestResolver) -> Any:
    """The decoded JSON body; None when the body is empty. Strict JSON only: no NaN or Infinity,
    integers of sane size, at most MAX_JSON_DEPTH levels of nesting."""
    data = raw_body(app)
    if not data.strip():
        return None
    try:
        value = json.loads(data, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, huge integers, deep nesting
        reason = "it nests too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise InvalidInput.single(
            ("json",), "invalid", f"request body is not valid JSON: {reason}", target="body"
        ) from None
    if _too_deep(value, MAX_JSON_DEPTH):
        raise InvalidInput.single(
            ("json",), "invalid", f"request body nests deeper than {MAX_JSON_DEPTH} levels", target="body"
        )
    return value


def query(app: APIGatewayRestResolver, name: str) -> str | None:
    return app.current_event.get_query_string_value(name)


def int_query(app: APIGatewayRestResolver, name: str, default: int, minimum: int, maximum: int) -> int:
    raw = query(app, name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput.single(name, "type", "Value did not match type(s): integer", raw, "integer") from None
    if not minimum <= value <= maximum:
        code = "minimum" if value < minimum else "maximum"
        limit = minimum if value < minimum else maximum
        raise InvalidInput.single(name, code, f"Value must be between {minimum} and {maximum}", value, limit)
    return value


def required_query(app: APIGatewayRestResolver, name: str) -> str:
    value = query(app, name)
    if not value:
        raise InvalidInput.single(name, "required", f"query parameter {name} is required")
    return value
