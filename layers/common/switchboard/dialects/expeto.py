"""The Expeto dialect (seed 004): Spring Data REST with HAL. camelCase JSON; collections as

    {"_embedded": {"notifications": [...]}, "_links": {"self": {"href": ...}},
     "page": {"size": 20, "totalElements": 4, "totalPages": 1, "number": 0}}

with `page` (0-based), `size` (1-1000, default 20) and `sort` (`issued`, `issued,asc`, `issued,desc`)
query parameters; entities carry `_links.self`. Timestamps are ISO-8601 UTC with milliseconds.

Errors are Spring Boot's error body for every status above 299 (*decision*):

    {"timestamp": "2020-01-30T14:03:02.231Z", "status": 400, "error": "Bad Request",
     "message": "dataLimit: Input should be greater than or equal to 1", "path": "/v1/subscribers/…"}

`error` is the HTTP reason phrase; `message` says what is wrong (for bad input: the first bad field or
query parameter and why).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from switchboard import clock
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
    from switchboard.usage.models import Notification, SubscriberView
else:
    validation = lazy_import("switchboard.dialects.validation")

Model = TypeVar("Model", bound="BaseModel")
# The Expeto API's base path on the custom domain: events carry it there, not on the API's stage URL;
# resolvers strip it (strip_prefixes) so both route alike. Locations and links keep it (the public path).
PREFIX = "/v1"
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 1000
MAX_PAGE = 100_000
SORTABLE = ("issued",)

logger = Logger(child=True)


def iso_ms(epoch_ms: int) -> str:
    """`2020-01-30T14:03:02.231Z`."""
    return clock.iso_from_ms(epoch_ms)[:-1] + f".{epoch_ms % 1000:03d}Z"


def reply(body: Any, status_code: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    content_type = "application/hal+json" if isinstance(body, dict) and "_links" in body else "application/json"
    text = json.dumps(body, separators=(",", ":"))
    return Response(status_code=status_code, content_type=content_type, body=text, headers=dict(headers or {}))


def no_content() -> Response:
    return Response(status_code=204, body="")


def error(app: APIGatewayRestResolver, status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type="application/json",
        headers=dict(headers or {}),
        body={
            "timestamp": iso_ms(clock.now_ms()),
            "status": status,
            "error": HTTPStatus(status).phrase,
            "message": message,
            "path": app.current_event.path,
        },
    )


def link(href: str) -> dict[str, Any]:
    return {"href": href}


def collection(
    app: APIGatewayRestResolver, name: str, items: list[dict[str, Any]], total: int, page: int, size: int
) -> Response:
    """A HAL page of `items` (entities already shaped, with their `_links`) under `_embedded.<name>`."""
    path = app.current_event.path
    params = {k: v for k, v in (app.current_event.query_string_parameters or {}).items() if k not in ("page", "size")}
    pages = math.ceil(total / size) if size else 0

    def href(number: int) -> str:
        return f"{path}?{urlencode({**params, 'page': number, 'size': size})}"

    links: dict[str, Any] = {"self": link(href(page))}
    if pages:
        links["first"] = link(href(0))
        links["last"] = link(href(pages - 1))
    if page > 0:
        links["prev"] = link(href(min(page - 1, max(pages - 1, 0))))
    if page + 1 < pages:
        links["next"] = link(href(page + 1))
    return reply(
        {
            "_embedded": {name: items},
            "_links": links,
            "page": {"size": size, "totalElements": total, "totalPages": pages, "number": page},
        }
    )


# ---------------------------------------------------------------- requests


def body(app: APIGatewayRestResolver, model: type[Model]) -> Model:
    return validation.parse(model, json_object(app))


def json_object(app: APIGatewayRestResolver) -> dict[str, Any]:
    data = http.json_body(app)
    if not isinstance(data, dict):
        raise InvalidInput.single(("body",), "type", "the request body must be a JSON object")
    return data


def account(app: APIGatewayRestResolver) -> str | None:
    """`account`: a descendant account a reseller acts on (default: the caller's own)."""
    return http.query(app, "account") or None


def page_and_size(app: APIGatewayRestResolver) -> tuple[int, int]:
    """`page` (0-based) and `size` (1-1000, default 20)."""
    page = http.int_query(app, "page", 0, 0, MAX_PAGE)
    size = http.int_query(app, "size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    return page, size


def paging(app: APIGatewayRestResolver) -> tuple[int, int, bool]:
    """(`page`, `size`, ascending) from `page`, `size` and `sort` (Spring's `property[,asc|desc]`)."""
    page, size = page_and_size(app)
    return page, size, ascending(app)


def ascending(app: APIGatewayRestResolver) -> bool:
    raw = http.query(app, "sort")
    if raw is None or raw == "":
        return True
    parts = [part.strip() for part in raw.split(",")]
    if parts[0] not in SORTABLE or len(parts) > 2 or (len(parts) == 2 and parts[1].lower() not in ("asc", "desc")):
        raise InvalidInput.single(
            "sort", "enum", f"sort must be one of {', '.join(SORTABLE)}, optionally followed by ,asc or ,desc", raw
        )
    return len(parts) == 1 or parts[1].lower() == "asc"


def required(app: APIGatewayRestResolver, name: str) -> str:
    value = http.query(app, name)
    if value is None or not value.strip():
        raise InvalidInput.single(name, "required", f"query parameter {name} is required")
    return value.strip()


def boolean(app: APIGatewayRestResolver, name: str) -> bool:
    value = required(app, name).lower()
    if value not in ("true", "false"):
        raise InvalidInput.single(name, "type", f"{name} must be true or false", value)
    return value == "true"


# ---------------------------------------------------------------- errors


def _describe(exc: InvalidInput) -> str:
    if not exc.errors:
        return "invalid request"
    first = exc.errors[0]
    if first.path == ("json",):
        return first.message
    where = first.dotted or "body"
    return f"{where}: {first.message.removeprefix('Value error, ')}"


def install(app: APIGatewayRestResolver) -> None:
    """Map every domain error to its Expeto (Spring) reply, once for the whole function."""

    @app.exception_handler(InvalidInput)
    def _invalid(exc: InvalidInput) -> Response:
        return error(app, 400, _describe(exc))

    @app.exception_handler(CodedError)
    def _coded(exc: CodedError) -> Response:
        return error(app, http.error_status(exc.status), str(exc))

    @app.exception_handler(NotFound)
    def _not_found(exc: NotFound) -> Response:
        return error(app, 404, f"{exc.kind} {exc.resource_id} not found")

    @app.exception_handler(Forbidden)
    def _forbidden(exc: Forbidden) -> Response:
        return error(app, 403, exc.reason)

    @app.exception_handler(FeatureDisabled)
    def _disabled(exc: FeatureDisabled) -> Response:
        return error(app, 403, f"the {exc.feature} feature is not enabled for this account; an operator must enable it")

    @app.exception_handler(PayloadTooLarge)
    def _too_large(exc: PayloadTooLarge) -> Response:
        return error(app, 413, f"request body larger than {exc.limit_bytes} bytes")

    @app.exception_handler(Conflict)
    def _conflict(exc: Conflict) -> Response:
        return error(app, 409, str(exc) or "conflict")

    @app.exception_handler(LimitExceeded)
    def _limit(exc: LimitExceeded) -> Response:
        return error(app, 400, str(exc) or "limit exceeded")

    @app.exception_handler(Unavailable)
    def _unavailable(exc: Unavailable) -> Response:
        message = str(exc) or "service unavailable; send the request again"
        return error(app, 503, message, {"Retry-After": str(http.RETRY_AFTER_S)})

    @app.exception_handler(DomainError)
    def _domain(exc: DomainError) -> Response:
        return error(app, 400, str(exc) or "bad request")

    @app.not_found
    def _no_route(_exc: Exception) -> Response:
        return error(app, 404, "no such resource")

    @app.exception_handler(Exception)
    def _bug(exc: Exception) -> Response:
        # Anything not a domain error is our bug: log it whole, tell the caller nothing about it.
        logger.exception("unhandled error")
        return error(app, 500, "internal error")


# ---------------------------------------------------------------- entities
# Links are paths from the API's root (HAL allows URI references); the stage prefix is the client's base URL.


def notification(note: Notification) -> dict[str, Any]:
    """A notification field for field as seed 004 shows it, with its HAL links."""
    payload: dict[str, Any] = {"imsi": note.imsi, "dataLimitPeriod": note.period}
    if note.custom_day is not None:
        payload["dataLimitCustomDate"] = note.custom_day
    payload |= {"dataLimit": note.data_limit, "totalUsage": note.total_usage, "thresholdValue": note.threshold}
    href = f"/v1/notifications/{note.hash}"
    return {
        "issued": iso_ms(note.issued_ms),
        "type": note.type,
        "hash": note.hash,
        "payload": payload,
        "consumed": note.consumed,
        "_links": {"self": link(href), "notification": link(href)},
    }


def subscriber(view: SubscriberView) -> dict[str, Any]:
    sub = view.subscriber
    body: dict[str, Any] = {
        "imsi": sub.imsi,
        "system": sub.system,
        "dataLimit": sub.data_limit,
        "dataLimitPeriod": sub.period,
    }
    if sub.custom_day is not None:
        body["dataLimitCustomDate"] = sub.custom_day
    body["thresholds"] = list(sub.thresholds)
    if view.period_start is not None:
        body |= {"periodStart": view.period_start, "totalUsage": view.total_usage}
    href = f"/v1/subscribers/{sub.imsi}"
    body["_links"] = {
        "self": link(href),
        "subscriber": link(href),
        "notifications": link(f"/v1/notifications/search/findBySubscriber?subscriber={sub.imsi}"),
    }
    return body
