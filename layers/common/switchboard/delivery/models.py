"""Deliveries and attempts: one delivery per (event, delivery configuration), one attempt per POST.

Status moves PENDING → RETRY → SUCCESS | FAILED (docs/delivery.md). A delivery carries the event
it delivers, so a retry needs nothing but the delivery itself.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from switchboard.clock import iso_from_ms
from switchboard.events.models import RESERVED_EVENT_PREFIX, parse_time

MAX_RESPONSE_DETAILS = 4096


class Status(StrEnum):
    PENDING = "PENDING"
    RETRY = "RETRY"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"


OPEN_STATUSES = (Status.PENDING, Status.RETRY)
# The statuses the summary counts (SUCCESS is not counted: it is the normal end).
COUNTED_STATUSES = (Status.PENDING, Status.RETRY, Status.FAILED)


def is_file_delivery(event_id: str) -> bool:
    """A buffer file's delivery (event id `buffer-file-{file-id}`), not an event's."""
    return event_id.startswith(RESERVED_EVENT_PREFIX)


def event_key(fields: dict[str, Any]) -> list[str]:
    """The fields whose values make `X-ESS-EVENT-KEY`: the phone number when the event has one (NIS),
    else its identifier fields (`*_id`) in the order the publisher gave them."""
    if "number" in fields:
        return ["number"]
    return [name for name in fields if name.endswith("_id")]


class Delivery(BaseModel):
    """One event on its way to one delivery configuration."""

    model_config = ConfigDict(frozen=True)

    account_id: str
    event_id: str
    config_id: str
    topic: str
    event_type: str
    event_timestamp: str  # as published, echoed to the receiver
    fields: dict[str, Any]
    status: Status = Status.PENDING
    attempts: int = 0  # attempts made so far; the next one is attempts + 1
    created_ms: int
    updated_ms: int
    due_ms: int  # not before this time may the next attempt go out
    handled: bool = False
    parked: Literal["inactive", "scheduled"] | None = None  # waiting for reactivation or the cron schedule
    last_address: str | None = None  # where the last attempt went
    file_id: int | None = None  # the buffer file a scheduled configuration's event was put in
    deferrals: int = 0  # times an attempt was put back because its endpoint's slow slots were taken
    deferred_reason: str | None = None

    @property
    def wire_id(self) -> str:
        return f"{self.event_id}:{self.config_id}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES and not self.handled

    def event_body(self) -> str:
        return json.dumps(self.fields, indent=1, ensure_ascii=False)

    def wire(self, config_name: str | None) -> dict[str, Any]:
        """A row of GET /event-deliveries (seed shape, plus `handled` and `attempts`)."""
        row: dict[str, Any] = {
            "event-id": self.event_id,
            "topic": self.topic,
            "event-type": self.event_type,
            "delivery-point": self.last_address,
            "del-cfg-id": int(self.config_id),
            "del-cfg-nm": config_name,
            "delivery-status": self.status.value,
            "timestamp": self.event_timestamp,
            "event-body": self.event_body(),
            "attempts": self.attempts,
            "handled": self.handled,
        }
        if self.parked:
            row["waiting-for"] = "reactivation" if self.parked == "inactive" else "schedule"
        if self.file_id is not None:
            row["file-id"] = self.file_id
        return {key: value for key, value in row.items() if value is not None}


class Attempt(BaseModel):
    """What one POST did. `error_class` is None when the endpoint answered."""

    model_config = ConfigDict(frozen=True)

    account_id: str
    event_id: str
    config_id: str
    number: int
    result: Status  # SUCCESS, RETRY or FAILED: what this attempt decided
    status_code: int | None = None
    response_body: str = ""
    error_class: str | None = None
    error: str | None = None
    duration_ms: int = 0
    attempted_ms: int
    address: str | None = None
    next_attempt_ms: int | None = None

    def tracking_wire(self) -> dict[str, Any]:
        """A row of GET /event-deliveries/{id}/tracking (seed shape, plus the attempt log's extras)."""
        row: dict[str, Any] = {
            "attempt-number": self.number,
            "status": self.result.value,
            "response-status": self.status_code,
            "response-details": self.response_body if self.error is None else (self.error or self.response_body),
            "attempt-timestamp": iso_from_ms(self.attempted_ms),
            "duration-ms": self.duration_ms,
            "error-class": self.error_class,
            "next-attempt-timestamp": iso_from_ms(self.next_attempt_ms) if self.next_attempt_ms else None,
        }
        return {key: value for key, value in row.items() if value is not None}

    def log_wire(self, delivery: Delivery | None, config_name: str | None) -> dict[str, Any]:
        """A row of GET /event-delivery-attempts (seed shape)."""
        row: dict[str, Any] = {
            "event-id": self.event_id,
            "event-type": delivery.event_type if delivery else None,
            "event-body": delivery.event_body() if delivery else None,
            "event-timestamp": delivery.event_timestamp if delivery else None,
            "topic": delivery.topic if delivery else None,
            "delivery-status": delivery.status.value if delivery else None,
            "del-cfg-id": int(self.config_id),
            "del-cfg-nm": config_name,
            "del-addr": self.address,
            "attempt-number": self.number,
            "attempt-result": self.result.value,
            "attempt-timestamp": iso_from_ms(self.attempted_ms),
            "attempt-http-response-status": self.status_code,
            "attempt-http-response-body": self.response_body if self.error is None else self.error,
            "attempt-duration-ms": self.duration_ms,
            "attempt-error-class": self.error_class,
        }
        return {key: value for key, value in row.items() if value is not None}


# ---------------------------------------------------------------- queue messages


class DeliverTask(BaseModel):
    """Send attempt `attempt` of one delivery. A task whose attempt was already made is stale."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["deliver"] = "deliver"
    account_id: str
    event_id: str
    config_id: str
    attempt: int
    slot_ms: int | None = None  # a throttle slot this task already holds (it was queued to wait for it)


class ReleaseTask(BaseModel):
    """Send what waited while a configuration was inactive (it was reactivated)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["release"] = "release"
    account_id: str
    config_id: str
    cursor: str | None = None


class RedeliverTask(BaseModel):
    """Bulk redelivery, one page per message (continues with `cursor`)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["redeliver"] = "redeliver"
    account_id: str
    config_id: str
    from_ms: int
    to_ms: int
    statuses: list[Status]
    cursor: str | None = None
    redelivered: int = 0


Task = DeliverTask | ReleaseTask | RedeliverTask


class TaskEnvelope(BaseModel):
    task: Task = Field(discriminator="kind")


# ---------------------------------------------------------------- API inputs


def _iso_ms(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError:
        raise ValueError(f"{name} must be an ISO-8601 date-time such as 2017-10-27T17:29:42Z") from None


def _check_order(from_text: str | None, to_text: str | None) -> None:
    """Each bound a valid time, and `to` after `from` when both are given."""
    start, end = _iso_ms(from_text, "from"), _iso_ms(to_text, "to")
    if start is not None and end is not None and end <= start:
        raise ValueError("to must be after from")


class _Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid", strict=True, frozen=True)


class DeliveryFilter(_Wire):
    """GET /event-deliveries query parameters."""

    config_id: str | None = Field(default=None, alias="del-cfg-id", pattern=r"^\d{1,12}$")
    topic: str | None = Field(default=None, max_length=128)
    event_type: str | None = Field(default=None, alias="event-type", max_length=128)
    status: Status | None = Field(default=None, alias="delivery-status")
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: Any) -> Any:
        return Status(value) if isinstance(value, str) and value in Status.__members__ else value

    @model_validator(mode="after")
    def _window(self) -> DeliveryFilter:
        _check_order(self.from_, self.to)
        return self

    @property
    def from_ms(self) -> int | None:
        return _iso_ms(self.from_, "from")

    @property
    def to_ms(self) -> int | None:
        return _iso_ms(self.to, "to")


# GET /event-deliveries/summary without `from`: this far back from `to` (the default delivery retention).
DEFAULT_SUMMARY_WINDOW_MS = 30 * 86_400_000


class SummaryWindow(_Wire):
    """GET /event-deliveries/summary: `to` defaults to now, `from` to 30 days before `to` (the seed
    calls it with neither)."""

    from_: str | None = Field(default=None, alias="from")
    to: str | None = None

    @model_validator(mode="after")
    def _window(self) -> SummaryWindow:
        _check_order(self.from_, self.to)
        return self

    def bounds(self, now_ms: int) -> tuple[int, int]:
        """(from, to) in epoch milliseconds, the defaults filled in."""
        to_ms = _iso_ms(self.to, "to")
        end = now_ms if to_ms is None else to_ms
        from_ms = _iso_ms(self.from_, "from")
        start = end - DEFAULT_SUMMARY_WINDOW_MS if from_ms is None else from_ms
        return min(start, end), end  # a `from` in the future (with `to` defaulted) is an empty window


class HandledInput(_Wire):
    """POST /handled-event-deliveries: the deliveries of one event, optionally narrowed."""

    event_id: str = Field(alias="event-id", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    topic: str | None = Field(default=None, max_length=128)
    event_type: str | None = Field(default=None, alias="event-type", max_length=128)
    config_name: str | None = Field(default=None, alias="del-cfg-nm", max_length=128)
    timestamp: str | None = Field(default=None, max_length=128)

    @field_validator("timestamp")
    @classmethod
    def _range(cls, value: str | None) -> str | None:
        if value is not None:
            timestamp_range(value)
        return value

    def window(self) -> tuple[int | None, int | None]:
        return timestamp_range(self.timestamp) if self.timestamp else (None, None)


def timestamp_range(text: str) -> tuple[int | None, int | None]:
    """`[FROM-TO]` as the seed writes it (`[1970-01-01T00:00:00-]`: from 1970 on); a bare time is an
    exact event timestamp. Either end may be empty."""
    if not (text.startswith("[") and text.endswith("]")):
        moment = _iso_ms(text, "timestamp")
        return moment, moment
    inner = text[1:-1]
    # The separator is the '-' that is followed by a date (or ends the text), not one inside a date.
    for index, char in enumerate(inner):
        if char != "-":
            continue
        left, right = inner[:index], inner[index + 1 :]
        if (not left or len(left) >= 10) and (not right or len(right) >= 10):
            try:
                return _iso_ms(left or None, "timestamp"), _iso_ms(right or None, "timestamp")
            except ValueError:
                continue
    raise ValueError("timestamp must be a time or a range [FROM-TO] of ISO-8601 times, e.g. [1970-01-01T00:00:00-]")


class RedeliverInput(_Wire):
    """POST /event-deliveries/redeliver: every delivery of a configuration in a window (and statuses)."""

    config_id: str = Field(alias="del-cfg-id", pattern=r"^\d{1,12}$")
    from_: str = Field(alias="from")
    to: str
    status: Status | list[Status] | None = Field(default=None, alias="delivery-status")

    model_config = ConfigDict(populate_by_name=True, extra="forbid", strict=False, frozen=True)

    @field_validator("config_id", mode="before")
    @classmethod
    def _numeric(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _window(self) -> RedeliverInput:
        _check_order(self.from_, self.to)
        return self

    def statuses(self) -> list[Status]:
        if self.status is None:
            return [Status.FAILED]
        return self.status if isinstance(self.status, list) else [self.status]


class PublishedEvent(BaseModel):
    """An events-queue message: a published event and the account it belongs to (publishing.py)."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    account_id: str = Field(alias="account-id", min_length=1)
    event_id: str = Field(alias="event-id", min_length=1)
    topic: str
    event_type: str = Field(alias="evt-tp")
    timestamp: str
    fields: dict[str, Any] = Field(alias="fld-val-list")
