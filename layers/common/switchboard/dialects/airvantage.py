"""The AirVantage dialect (seed 001): camelCase JSON, `company` query parameter, epoch milliseconds,
`{"items": [...], "count": N}` lists with `offset`/`size` paging, and for every status above 299 the body

    {"error": "alert.rule.too.many", "errorParameters": ["50"]}

Codes of its own where seed 001 names none (*decisions*): `invalid.parameter` [name or field path, reason]
for a bad query parameter or body field, `invalid.json` [reason] for a body that is not JSON, `not.found`
[id] (or `alert.rule.unknown.id` for rules), `access.denied`, `conflict`, `limit.exceeded`,
`feature.disabled`, `request.too.large` [limit in bytes], `service.unavailable` (with `Retry-After`),
`bad.request` [reason] for any other domain error, `internal.error`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
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
# The AirVantage API's base path on the custom domain: events carry it there, not on the API's stage URL;
# resolvers strip it (strip_prefixes) so both route alike. Locations and links keep it (the public path).
PREFIX = "/api"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500  # the history APIs return at most 500 items
MAX_OFFSET = 10_000_000
HISTORY_WINDOW_MS = 90 * 24 * 3600 * 1000  # `from` defaults to now - 90 days
MAX_EPOCH_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z

INVALID_PARAMETER = "invalid.parameter"
INVALID_JSON = "invalid.json"
NOT_FOUND = "not.found"
BAD_REQUEST = "bad.request"
MISSING_COMPANY = "missing.company"
INVALID_TIMERANGE = "system.invalid.timerange"
# NotFound.kind -> the code AirVantage uses for that resource; other kinds get NOT_FOUND.
NOT_FOUND_CODES = {"rule": "alert.rule.unknown.id", "alert rule": "alert.rule.unknown.id"}

logger = Logger(child=True)


def reply(body: Any, status_code: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON reply. A str body is sent as a JSON string (DELETE answers `"success"`), not as raw text."""
    if isinstance(body, str):
        body = json.dumps(body)
    return Response(status_code=status_code, content_type="application/json", body=body, headers=dict(headers or {}))


def listing(items: list[Any], count: int | None = None, with_count: bool = True) -> Response:
    """`{"items": [...], "count": N}`; `count` defaults to the number of items. The history APIs show no
    count in seed 001: pass `with_count=False` for them."""
    body: dict[str, Any] = {"items": items}
    if with_count:
        body["count"] = len(items) if count is None else count
    return reply(body)


def error(
    status_code: int, code: str, parameters: list[str] | None = None, headers: Mapping[str, str] | None = None
) -> Response:
    return reply({"error": code, "errorParameters": [str(item) for item in parameters or []]}, status_code, headers)


# ---------------------------------------------------------------- requests


def json_body(app: APIGatewayRestResolver) -> Any:
    """The decoded JSON body (None when empty); bad JSON is invalid.json, a body over 1 MiB request.too.large."""
    return http.json_body(app)


def body(app: APIGatewayRestResolver, model: type[Model]) -> Model:
    """The body as `model`; a bad field is invalid.parameter [field path, reason]. Rule bodies go through
    `rules.validation.parse_rule(json_body(app))` instead, which raises the seed's alert.rule.* codes."""
    data = http.json_body(app)
    if not isinstance(data, dict):
        raise InvalidInput.single(("body",), "type", "the request body must be a JSON object")
    return validation.parse(model, data)


def company(app: APIGatewayRestResolver, required: bool = False) -> str | None:
    """The `company` query parameter: None means the caller's own company. The history APIs make it
    mandatory (`required=True`): missing.company without it."""
    value = http.query(app, "company") or None
    if value is None and required:
        raise CodedError(MISSING_COMPANY, [], 400, "'company' parameter is mandatory")
    return value


def page(
    app: APIGatewayRestResolver, default_size: int = DEFAULT_PAGE_SIZE, max_size: int = MAX_PAGE_SIZE
) -> tuple[int, int]:
    """(`offset`, `size`) from the query string: offset >= 0, 1 <= size <= max_size (500 for history)."""
    offset = http.int_query(app, "offset", 0, 0, MAX_OFFSET)
    size = http.int_query(app, "size", default_size, 1, max_size)
    return offset, size


def flag(app: APIGatewayRestResolver, name: str, default: bool | None = None) -> bool | None:
    """A true/false query parameter (`asc`, `state`); `default` when absent."""
    raw = http.query(app, name)
    if raw is None or raw == "":
        return default
    lowered = raw.lower()
    if lowered not in ("true", "false"):
        raise InvalidInput.single(name, "enum", "Value not found in enumerated list of values", raw, ["true", "false"])
    return lowered == "true"


def id_list(app: APIGatewayRestResolver, name: str, limit: int = 100) -> list[str]:
    """A comma-separated list parameter (`ruleIds`), blanks dropped, duplicates removed in order."""
    raw = http.query(app, name) or ""
    values = list(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    if len(values) > limit:
        raise InvalidInput.single(name, "maxItems", f"at most {limit} ids", len(values), limit)
    return values


def epoch_ms(app: APIGatewayRestResolver, name: str) -> int | None:
    """An epoch-milliseconds query parameter (`from`, `to`); None when absent."""
    if not http.query(app, name):
        return None
    return http.int_query(app, name, 0, 0, MAX_EPOCH_MS)


def time_range(app: APIGatewayRestResolver, now_ms: int, window_ms: int = HISTORY_WINDOW_MS) -> tuple[int, int]:
    """(`from`, `to`) of the history APIs: `to` defaults to now, `from` to `to` - 90 days (seed: now - 90
    days; the same when `to` is absent); system.invalid.timerange unless from < to."""
    given_to = epoch_ms(app, "to")
    to_ms = now_ms if given_to is None else given_to
    given_from = epoch_ms(app, "from")
    from_ms = max(0, to_ms - window_ms) if given_from is None else given_from
    if from_ms >= to_ms:
        raise CodedError(
            INVALID_TIMERANGE, [str(from_ms), str(to_ms)], 400, "'from' parameter needs to be lower than 'to' parameter"
        )
    return from_ms, to_ms


# ---------------------------------------------------------------- errors


def invalid_input_error(exc: InvalidInput) -> Response:
    """InvalidInput as a coded 400: invalid.json for unreadable bodies, else invalid.parameter naming the
    first bad field or query parameter and why."""
    if not exc.errors:
        return error(400, INVALID_PARAMETER, ["body", "invalid request"])
    first = exc.errors[0]
    if first.path == ("json",):
        return error(400, INVALID_JSON, [first.message])
    return error(400, INVALID_PARAMETER, [first.dotted or "body", first.message.removeprefix("Value error, ")])


def install(app: APIGatewayRestResolver) -> None:
    """Map every domain error to its AirVantage reply, once for the whole function."""

    @app.exception_handler(CodedError)
    def _coded(exc: CodedError) -> Response:
        return error(http.error_status(exc.status), exc.code, exc.parameters)

    @app.exception_handler(InvalidInput)
    def _invalid(exc: InvalidInput) -> Response:
        return invalid_input_error(exc)

    @app.exception_handler(NotFound)
    def _not_found(exc: NotFound) -> Response:
        return error(404, NOT_FOUND_CODES.get(exc.kind.lower(), NOT_FOUND), [exc.resource_id])

    @app.exception_handler(Forbidden)
    def _forbidden(exc: Forbidden) -> Response:
        return error(403, "access.denied", [exc.reason])

    @app.exception_handler(Conflict)
    def _conflict(exc: Conflict) -> Response:
        return error(409, "conflict", [str(exc)])

    @app.exception_handler(LimitExceeded)
    def _limit(exc: LimitExceeded) -> Response:
        return error(400, "limit.exceeded", [str(exc)])

    @app.exception_handler(FeatureDisabled)
    def _disabled(exc: FeatureDisabled) -> Response:
        return error(403, "feature.disabled", [exc.feature])

    @app.exception_handler(PayloadTooLarge)
    def _too_large(exc: PayloadTooLarge) -> Response:
        return error(413, "request.too.large", [str(exc.limit_bytes)])

    @app.exception_handler(Unavailable)
    def _unavailable(exc: Unavailable) -> Response:
        return error(503, "service.unavailable", [], {"Retry-After": str(http.RETRY_AFTER_S)})

    @app.exception_handler(DomainError)
    def _domain(exc: DomainError) -> Response:
        # A domain error of a kind not mapped above: the caller's fault, never a 500.
        return error(400, BAD_REQUEST, [str(exc)])

    @app.not_found
    def _no_route(_exc: Exception) -> Response:
        return error(404, NOT_FOUND, [app.current_event.path])

    @app.exception_handler(Exception)
    def _bug(exc: Exception) -> Response:
        # Anything not a domain error is our bug: log it whole, tell the caller nothing about it.
        logger.exception("unhandled error")
        return error(500, "internal.error", [])
