from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from switchboard import clock

RecipientType = Literal["admins", "user", "resellers", "all", "descendants"]
MAX_GREGORIAN_SECONDS = 315_537_897_599
MAX_RECIPIENTS = 25  # each recipient is one entry written in the create transaction (≤ 100 items)
# Stored in the document and in every recipient entry: bounded so that each item stays far below
# DynamoDB's 400 KB and the create transaction below its 4 MB.
MAX_METADATA_BYTES = 65_536


class Originator(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True)

    type: Literal["account", "user"]
    value: str = Field(min_length=1, max_length=64)


class Recipient(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True)

    type: RecipientType
    value: str = Field(min_length=1, max_length=64)


class AlertInput(BaseModel):
    """The body of PUT /v2/accounts/{ACCOUNT_ID}/alerts (seed 000 schema)."""

    model_config = ConfigDict(strict=True, populate_by_name=True, extra="ignore")

    title: str = Field(min_length=1, max_length=512)
    message: str = Field(min_length=1, max_length=8192)
    category: str | None = Field(default=None, min_length=1, max_length=128)
    metadata: list[dict[str, Any]] | dict[str, Any] | None = None
    level: str = Field(default="info", min_length=1, max_length=32)
    # Gregorian seconds, up to the end of year 9999
    expiration_date: int | None = Field(default=None, ge=0, le=MAX_GREGORIAN_SECONDS)
    originators: list[Originator] = Field(alias="from", min_length=1, max_length=10)
    to: list[Recipient] = Field(min_length=1, max_length=MAX_RECIPIENTS)

    @field_validator("metadata")
    @classmethod
    def _bounded(cls, value: list[dict[str, Any]] | dict[str, Any] | None) -> Any:
        if value is not None:
            size = len(json.dumps(value, separators=(",", ":")).encode("utf-8"))
            if size > MAX_METADATA_BYTES:
                raise ValueError(f"metadata is {size} bytes of JSON, at most {MAX_METADATA_BYTES}")
        return value


class Slot(BaseModel):
    """Where one recipient's entry lives: an account's partition and an audience in it."""

    model_config = ConfigDict(frozen=True)

    account_id: str
    audience: str  # admins | resellers | all | descendants | user#{user_id}
    key: tuple[str, str]  # the view row key, [to.type, to.value]


class Alert(BaseModel):
    """A stored alert. `account_id` is the account it was created through."""

    model_config = ConfigDict(frozen=True)

    id: str
    account_id: str
    title: str
    message: str
    category: str | None = None
    metadata: list[dict[str, Any]] | dict[str, Any] | None = None
    level: str = "info"
    expiration_date: int | None = None
    originators: list[Originator]
    to: list[Recipient]
    slots: list[Slot]
    clearable: bool
    created_ms: int
    revision: str

    def is_expired(self, now_ms: int) -> bool:
        return self.expiration_date is not None and clock.ms_from_gregorian(self.expiration_date) <= now_ms

    @property
    def expires_at_s(self) -> int | None:
        return None if self.expiration_date is None else clock.ms_from_gregorian(self.expiration_date) // 1000

    def document(self) -> dict[str, Any]:
        """The alert as GET/PUT return it (undefined values omitted, as Crossbar does)."""
        doc = {
            "id": self.id,
            "title": self.title,
            "message": self.message,
            "category": self.category,
            "metadata": self.metadata,
            "level": self.level,
            "expiration_date": self.expiration_date,
            "from": [o.model_dump() for o in self.originators],
            "to": [r.model_dump() for r in self.to],
            "created": clock.gregorian_from_ms(self.created_ms),
            "clearable": self.clearable,
        }
        return {key: value for key, value in doc.items() if value is not None}

    def view_value(self) -> dict[str, Any]:
        """The `value` of a list row (the alert without its recipients)."""
        doc = self.document()
        return {
            key: doc[key]
            for key in ("id", "title", "message", "category", "level", "metadata", "from", "expiration_date", "created")
            if key in doc
        }


class AlertRow(BaseModel):
    """One row of GET /alerts: a recipient entry the caller can see."""

    id: str
    key: tuple[str, str]
    value: dict[str, Any]
    clearable: bool
