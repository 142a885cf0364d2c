"""The ESS (Event Subscription Service) dialect: plain JSON bodies with hyphenated keys,
`paged-result` lists, ISO-8601 `Z` times, and the error body of reference/ess.md:

    {"error": {"code": "VALIDATION_ERROR", "message": "...", "details": [{"field": "...", "reason": "..."}]}}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from switchboard.dialects import http
from switchboard.errors import (
    CodedError,
    Conflict,
    DomainError,
    FeatureDisabled,
    Forbidden,
    InvalidInput,
    LimitExceeded,
    NotFound,
    PayloadTooLarge,
    Unavailable,
)
from switchboard.lazy import lazy_import

if TYPE_CHECKING:
    from pydantic import BaseModel

    from switchboard.dialects import validation
else:
    # pydantic loads with the first request that parses a body, not at cold start (see switchboard.lazy).
    validation = lazy_import("switchboard.dialects.validation")

Model = TypeVar("Model", bound="BaseModel")
# The ESS API's base path on the custom domain: events carry it there, not on the API's stage URL;
# resolvers strip it (strip_prefixes) so both route alike. Locations and links keep it (the public path).
PREFIX = "/ess"
DEFAULT_LIMIT = 1000
MAX_LIMIT = 1000
logger = Logger(child=True)


def iso(epoch_ms: int | None) -> str | None:
    """ESS time: ISO-8601 UTC with `Z`, to the second."""
    if epoch_ms is None:
        return None
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def reply(body: Any, status_code: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(status_code=status_code, content_type="application/json", body=body, headers=dict(headers or {}))


def paged(key: str, items: list[Any], offset: int, limit: int, **extra: Any) -> Response:
    body = {"paged-result": {"offset": offset, "limit": limit}, key: items}
    body.update({name: value for name, value in extra.items() if value is not None})
    return reply(body)


def error(
    status_code: int,
    code: str,
    message: str,
    details: list[dict[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return reply({"error": body}, status_code, headers)


# ---------------------------------------------------------------- requests


def body(app: APIGatewayRestResolver, model: type[Model], max_bytes: int | None = None) -> Model:
    """The body as `model`; `max_bytes`: the most the route can store (413 PAYLOAD_TOO_LARGE above it)."""
    data = http.json_body(app, max_bytes)
    if not isinstance(data, dict):
        raise InvalidInput.single(("body",), "type", "the request body must be a JSON object")
    return validation.parse(model, data)


def page(app: APIGatewayRestResolver, default_limit: int = DEFAULT_LIMIT) -> tuple[int, int]:
    """(`offset`, `limit`) from the query string; `limit` at most 1,000."""
    offset = http.int_query(app, "offset", 0, 0, 10_000_000)
    limit = http.int_query(app, "limit", default_limit, 1, MAX_LIMIT)
    return offset, limit


def company(app: APIGatewayRestResolver) -> str | None:
    """The `company` an operator or reseller acts for; None means the caller's own account."""
    return http.query(app, "company") or None


# ---------------------------------------------------------------- errors


def _details(exc: InvalidInput) -> list[dict[str, str]]:
    return [{"field": item.dotted, "reason": item.message} for item in exc.errors]


def install(app: APIGatewayRestResolver) -> None:
    @app.exception_handler(InvalidInput)
    def _invalid(exc: InvalidInput) -> Response:
        first = exc.errors[0].dotted if exc.errors else "request"
        return error(400, "VALIDATION_ERROR", f"invalid value for {first}", _details(exc))

    @app.exception_handler(NotFound)
    def _not_found(exc: NotFound) -> Response:
        details = [{"field": exc.field, "reason": f"no such {exc.kind}"}] if exc.field else None
        return error(404, "NOT_FOUND", f"{exc.kind} {exc.resource_id} not found", details)

    @app.exception_handler(Forbidden)
    def _forbidden(exc: Forbidden) -> Response:
        return error(403, "FORBIDDEN", exc.reason)

    @app.exception_handler(Conflict)
    def _conflict(exc: Conflict) -> Response:
        return error(409, "CONFLICT", str(exc))

    @app.exception_handler(LimitExceeded)
    def _limit(exc: LimitExceeded) -> Response:
        return error(409, "LIMIT_EXCEEDED", str(exc))

    @app.exception_handler(FeatureDisabled)
    def _disabled(exc: FeatureDisabled) -> Response:
        return error(403, "DISABLED", str(exc))

    @app.exception_handler(PayloadTooLarge)
    def _too_large(exc: PayloadTooLarge) -> Response:
        return error(413, "PAYLOAD_TOO_LARGE", str(exc))

    @app.exception_handler(Unavailable)
    def _unavailable(exc: Unavailable) -> Response:
        return error(503, "UNAVAILABLE", str(exc), headers={"Retry-After": str(http.RETRY_AFTER_S)})

    @app.exception_handler(CodedError)
    def _coded(exc: CodedError) -> Response:
        # ESS codes are UPPER_SNAKE: alert.rule.too.many -> ALERT_RULE_TOO_MANY
        code = re.sub(r"[^A-Za-z0-9]+", "_", exc.code).strip("_").upper() or "ERROR"
        return error(http.error_status(exc.status), code, str(exc))

    @app.exception_handler(DomainError)
    def _domain(exc: DomainError) -> Response:
        # A domain error of a kind not mapped above: the caller's fault, never a 500.
        return error(400, "BAD_REQUEST", str(exc))

    @app.not_found
    def _no_route(_exc: Exception) -> Response:
        return error(404, "NOT_FOUND", "no such resource")

    @app.exception_handler(Exception)
    def _bug(exc: Exception) -> Response:
        logger.exception("unhandled error")
        return error(500, "INTERNAL_ERROR", "internal error")
