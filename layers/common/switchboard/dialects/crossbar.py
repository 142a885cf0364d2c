"""The Crossbar (KAZOO) dialect: `{"data": …}` requests, the response envelope, its errors.

Wire facts in ../shared/reference/kazoo.md: envelope keys, error table, paging keys. Domain errors the
reference does not list (*decisions*): 409 `conflict` / `limit_exceeded`, 413 `payload_too_large`, 400
`disabled`, 503 `unavailable` with `Retry-After`, a coded error as its status with its code as `message`,
400 `bad_request` for any other domain error; a bug is 500 `internal_error`, logged with the request id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from switchboard import clock, ids
from switchboard.dialects import http
from switchboard.errors import (
    CodedError,
    Conflict,
    DomainError,
    FeatureDisabled,
    FieldError,
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
    from switchboard.store import pages
    from switchboard.store.pages import Page, PageRequest
else:
    # pydantic loads with the first request, not at cold start (see switchboard.lazy).
    validation = lazy_import("switchboard.dialects.validation")
    pages = lazy_import("switchboard.store.pages")

# The KAZOO Crossbar API's base path on the custom domain: events carry it there, not on the API's stage URL;
# resolvers strip it (strip_prefixes) so both route alike. Locations and links keep it (the public path).
PREFIX = "/v2"
VERSION = "switchboard-0.1.0"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
_REQUEST_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

Model = TypeVar("Model", bound="BaseModel")
logger = Logger(child=True)


def request_id(app: APIGatewayRestResolver) -> str:
    """The client's X-Request-ID when it is a sane token, else a new 32-hex id (once per request)."""
    context = app.context
    if "crossbar_request_id" not in context:
        given = app.current_event.headers.get("x-request-id") or ""
        context["crossbar_request_id"] = given if _REQUEST_ID.match(given) else ids.new_hex_id()
    return context["crossbar_request_id"]


def _reply(
    app: APIGatewayRestResolver, status_code: int, envelope: dict[str, Any], headers: Mapping[str, str] | None = None
) -> Response:
    token = http.presented_token(app)
    body = {
        "auth_token": token,
        **envelope,
        "request_id": request_id(app),
        "timestamp": clock.iso_from_ms(clock.now_ms()),
        "version": VERSION,
    }
    return Response(
        status_code=status_code,
        content_type="application/json",
        body={key: value for key, value in body.items() if value is not None},
        headers={"X-Request-ID": request_id(app), **(headers or {})},
    )


def ok(
    app: APIGatewayRestResolver,
    data: Any,
    revision: str = "automatic",
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    return _reply(app, status_code, {"data": data, "revision": revision, "status": "success", **extra}, headers)


def created(app: APIGatewayRestResolver, data: Any, location: str, revision: str) -> Response:
    return ok(app, data, revision=revision, status_code=201, headers={"Location": location})


def page(app: APIGatewayRestResolver, result: Page) -> Response:
    return ok(
        app, result.items, page_size=len(result.items), start_key=result.start_key, next_start_key=result.next_start_key
    )


def error(
    app: APIGatewayRestResolver,
    status_code: int,
    message: str,
    data: dict[str, Any],
    headers: Mapping[str, str] | None = None,
) -> Response:
    return _reply(
        app, status_code, {"data": data, "error": str(status_code), "message": message, "status": "error"}, headers
    )


# ---------------------------------------------------------------- requests


def request_data(app: APIGatewayRestResolver, model: type[Model]) -> Model:
    """Parse `{"data": {...}}` into `model`; an empty body means `data = {}`."""
    body = http.json_body(app)
    if body is None:
        body = {"data": {}}
    if not isinstance(body, dict) or "data" not in body:
        raise InvalidInput.single("data", "required", "Field is required but missing", "data")
    if not isinstance(body["data"], dict):
        raise InvalidInput.single("data", "type", "Value did not match type(s): object", None, "object")
    return validation.parse(model, body["data"])


def page_request(app: APIGatewayRestResolver) -> PageRequest:
    paginate = (http.query(app, "paginate") or "true").lower()
    if paginate not in ("true", "false"):
        raise InvalidInput.single(
            "paginate", "enum", "Value not found in enumerated list of values", paginate, ["true", "false"]
        )
    size = http.int_query(app, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    return pages.PageRequest(size=None if paginate == "false" else size, start_key=http.query(app, "start_key") or None)


# ---------------------------------------------------------------- errors


def validation_data(errors: list[FieldError]) -> dict[str, Any]:
    """Crossbar merges every problem into one object: {field.path: {code: {message, value, target}}}."""
    data: dict[str, Any] = {}
    for item in errors:
        detail: dict[str, Any] = {"message": item.message}
        if item.value is not None:
            detail["value"] = item.value
        if item.target is not None:
            detail["target"] = item.target
        data.setdefault(item.dotted, {})[item.code] = detail
    return data


def install(app: APIGatewayRestResolver) -> None:
    """Map every domain error to its Crossbar reply, once for the whole function."""

    @app.exception_handler(InvalidInput)
    def _invalid(exc: InvalidInput) -> Response:
        return error(app, 400, "validation error", validation_data(exc.errors))

    @app.exception_handler(NotFound)
    def _not_found(exc: NotFound) -> Response:
        return error(app, 404, "bad_identifier", {"cause": exc.resource_id, "message": "bad identifier"})

    @app.exception_handler(Forbidden)
    def _forbidden(exc: Forbidden) -> Response:
        return error(app, 403, "forbidden", {"message": exc.reason})

    @app.exception_handler(FeatureDisabled)
    def _disabled(exc: FeatureDisabled) -> Response:
        return error(app, 400, "disabled", {"message": "entity disabled", "cause": exc.feature})

    @app.exception_handler(PayloadTooLarge)
    def _too_large(exc: PayloadTooLarge) -> Response:
        return error(app, 413, "payload_too_large", {"message": f"request body is larger than {exc.limit_bytes} bytes"})

    @app.exception_handler(Conflict)
    def _conflict(exc: Conflict) -> Response:
        return error(app, 409, "conflict", {"message": str(exc)})

    @app.exception_handler(LimitExceeded)
    def _limit(exc: LimitExceeded) -> Response:
        return error(app, 409, "limit_exceeded", {"message": str(exc)})

    @app.exception_handler(Unavailable)
    def _unavailable(exc: Unavailable) -> Response:
        headers = {"Retry-After": str(http.RETRY_AFTER_S)}
        return error(app, 503, "unavailable", {"message": str(exc)}, headers)

    @app.exception_handler(CodedError)
    def _coded(exc: CodedError) -> Response:
        data: dict[str, Any] = {"message": str(exc)}
        if exc.parameters:
            data["cause"] = exc.parameters
        return error(app, http.error_status(exc.status), exc.code, data)

    @app.exception_handler(DomainError)
    def _domain(exc: DomainError) -> Response:
        # A domain error of a kind not mapped above: the caller's fault, never a 500.
        return error(app, 400, "bad_request", {"message": str(exc)})

    @app.not_found
    def _no_route(_exc: Exception) -> Response:
        return error(app, 404, "not_found", {"message": "not found"})

    @app.exception_handler(Exception)
    def _bug(exc: Exception) -> Response:
        # Anything not a domain error is our bug: log it whole, tell the caller only the request id.
        logger.exception("unhandled error", request_id=request_id(app))
        return error(app, 500, "internal_error", {"message": "internal error", "request_id": request_id(app)})
