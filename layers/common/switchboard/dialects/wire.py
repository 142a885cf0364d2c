"""The wire shapes every dialect module builds as plain dicts, as pydantic models for the OpenAPI documents.

Only `tools/openapi.py` imports this module (never a function at run time: the replies are built as dicts so
that pydantic stays out of the cold start). tests/unit/test_openapi.py checks that what each dialect's
`ok`/`error`/`paged`/`collection` helpers produce validates against these models, so they cannot drift apart.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# ---------------------------------------------------------------- KAZOO Crossbar (switchboard.dialects.crossbar)


class CrossbarEnvelope(BaseModel):
    """Every Crossbar success reply: `data` plus the request's bookkeeping (`crossbar.ok`, `crossbar.page`)."""

    model_config = ConfigDict(extra="allow", title="CrossbarEnvelope")

    auth_token: str | None = Field(None, description="The credential the request carried (a session token).")
    data: Any = Field(None, description="The resource, or a list of them.")
    revision: str
    status: Literal["success"]
    request_id: str
    timestamp: str = Field(description="ISO-8601 UTC.")
    version: str
    page_size: int | None = Field(None, description="Listings: the number of items in `data`.")
    start_key: str | None = None
    next_start_key: str | None = Field(None, description="Listings: pass as `start_key` for the next page.")


class CrossbarError(BaseModel):
    """Every Crossbar error (`crossbar.error`): `error` is the HTTP status as a string, `message` its code."""

    model_config = ConfigDict(extra="allow", title="CrossbarError")

    auth_token: str | None = None
    data: dict[str, Any] = Field(description="Details: {field: {code: {message, value, target}}} for 400s.")
    error: str = Field(description="The HTTP status, e.g. `404`.")
    message: str = Field(description="The error code, e.g. `bad_identifier`.")
    status: Literal["error"]
    request_id: str
    timestamp: str | None = None
    version: str | None = None


# ---------------------------------------------------------------- AirVantage (switchboard.dialects.airvantage)


class AirVantageListing(BaseModel):
    """`{"items": [...], "count": N}` (`airvantage.listing`); the history APIs show no count."""

    model_config = ConfigDict(extra="allow", title="AirVantageListing")

    items: list[Any]
    count: int | None = None


class AirVantageError(BaseModel):
    """`{"error": "<code>", "errorParameters": [...]}` (`airvantage.error`)."""

    model_config = ConfigDict(title="AirVantageError")

    error: str = Field(description="The error code, e.g. `invalid.parameter`.")
    errorParameters: list[str]


# ---------------------------------------------------------------- ESS (switchboard.dialects.ess)


class EssPagedResult(BaseModel):
    model_config = ConfigDict(title="EssPagedResult")

    offset: int
    limit: int


class EssErrorDetail(BaseModel):
    model_config = ConfigDict(title="EssErrorDetail")

    field: str
    reason: str


class EssErrorBody(BaseModel):
    model_config = ConfigDict(title="EssErrorBody")

    code: str = Field(description="UPPER_SNAKE, e.g. `VALIDATION_ERROR`.")
    message: str
    details: list[EssErrorDetail] | None = None


class EssError(BaseModel):
    """`{"error": {"code", "message", "details"?}}` (`ess.error`)."""

    model_config = ConfigDict(title="EssError")

    error: EssErrorBody


# ---------------------------------------------------------------- Expeto (switchboard.dialects.expeto)


class ExpetoError(BaseModel):
    """Spring's error body (`expeto.error`)."""

    model_config = ConfigDict(title="ExpetoError")

    timestamp: str
    status: int
    error: str = Field(description="The status's reason phrase.")
    message: str
    path: str


class HalLink(BaseModel):
    model_config = ConfigDict(title="HalLink")

    href: str


class HalPage(BaseModel):
    model_config = ConfigDict(title="HalPage")

    size: int
    totalElements: int
    totalPages: int
    number: int


class HalCollection(BaseModel):
    """A HAL page (`expeto.collection`): the items under `_embedded.<name>`."""

    model_config = ConfigDict(title="HalCollection")

    embedded: dict[str, list[dict[str, Any]]] = Field(alias="_embedded")
    links: dict[str, HalLink] = Field(alias="_links")
    page: HalPage
