"""Subscribers, usage records and notifications: inputs as the Expeto dialect receives them, and the
domain objects the repository stores."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from switchboard.usage.periods import Limit

FEATURE = "usage-notifications"
NOTIFICATION_TYPE = "ThresholdReached"
DEFAULT_THRESHOLDS = (50, 80, 90, 100)
MAX_THRESHOLDS = 10
MAX_RECORDS = 1000
IMSI_PATTERN = r"^[0-9]{14,15}$"
SYSTEM_PATTERN = r"^[A-Za-z0-9._:@-]{1,64}$"
MAX_DATA_LIMIT = 2**62  # bytes (an exabyte and more), far below DynamoDB's 38 digits

Imsi = Annotated[str, Field(pattern=IMSI_PATTERN)]
SystemId = Annotated[str, Field(pattern=SYSTEM_PATTERN)]
Threshold = Annotated[StrictInt, Field(ge=1, le=100)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SubscriberInput(_Strict):
    """The body of PUT /v1/subscribers/{imsi} (and a PATCH merged onto the stored subscriber)."""

    system: SystemId
    dataLimit: Annotated[StrictInt, Field(ge=1, le=MAX_DATA_LIMIT)]
    dataLimitPeriod: Literal["absolute", "monthly"]
    dataLimitCustomDate: Annotated[StrictInt, Field(ge=1, le=31)] | None = None
    thresholds: Annotated[list[Threshold], Field(min_length=1, max_length=MAX_THRESHOLDS)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SubscriberInput:
        if self.dataLimitPeriod == "absolute" and self.dataLimitCustomDate is not None:
            raise ValueError("dataLimitCustomDate is only allowed with dataLimitPeriod monthly")
        if self.thresholds is not None and len(set(self.thresholds)) != len(self.thresholds):
            raise ValueError("thresholds must not repeat a value")
        return self


class SubscriberPatch(_Strict):
    """PATCH: any field of the subscriber; `null` puts an optional field back to its default."""

    system: Any = None
    dataLimit: Any = None
    dataLimitPeriod: Any = None
    dataLimitCustomDate: Any = None
    thresholds: Any = None


class Subscriber(BaseModel):
    model_config = ConfigDict(frozen=True)

    account_id: str
    imsi: str
    system: str
    data_limit: int
    period: Literal["absolute", "monthly"]
    custom_day: int | None  # monthly only (default 1)
    thresholds: tuple[int, ...]
    updated_ms: int

    @classmethod
    def of(cls, account_id: str, imsi: str, spec: SubscriberInput, now_ms: int) -> Subscriber:
        custom_day = (spec.dataLimitCustomDate or 1) if spec.dataLimitPeriod == "monthly" else None
        return cls(
            account_id=account_id,
            imsi=imsi,
            system=spec.system,
            data_limit=spec.dataLimit,
            period=spec.dataLimitPeriod,
            custom_day=custom_day,
            thresholds=tuple(sorted(spec.thresholds or DEFAULT_THRESHOLDS)),
            updated_ms=now_ms,
        )

    def as_input(self) -> dict[str, Any]:
        """The stored subscriber as a PUT body (what a PATCH is merged onto)."""
        return {
            "system": self.system,
            "dataLimit": self.data_limit,
            "dataLimitPeriod": self.period,
            "dataLimitCustomDate": self.custom_day,
            "thresholds": list(self.thresholds),
        }

    def limit(self) -> Limit:
        return Limit(self.data_limit, self.period, self.custom_day or 1, self.thresholds)


class SubscriberView(BaseModel):
    """A subscriber with its usage in the current period (GET of one subscriber)."""

    subscriber: Subscriber
    period_start: str | None = None
    total_usage: int | None = None


class UsageRecordInput(_Strict):
    recordId: Annotated[str, Field(min_length=1, max_length=128)]
    imsi: Imsi
    bytes: Annotated[StrictInt, Field(ge=0, le=MAX_DATA_LIMIT)]
    timestamp: AwareDatetime


class UsageInput(_Strict):
    records: Annotated[list[UsageRecordInput], Field(min_length=1, max_length=MAX_RECORDS)]


class UsageRecord(BaseModel):
    record_id: str
    bytes: int
    timestamp_ms: int


class UsageMessage(BaseModel):
    """One message of the usage queue: one account's records for one IMSI."""

    account_id: str
    imsi: str
    records: list[UsageRecord]
    received_ms: int


def timestamp_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


class Notification(BaseModel):
    model_config = ConfigDict(frozen=True)

    account_id: str
    hash: str
    issued_ms: int
    imsi: str
    system: str
    data_limit: int
    period: Literal["absolute", "monthly"]
    custom_day: int | None
    total_usage: int
    threshold: int
    period_start: str
    consumed: bool = False
    type: str = NOTIFICATION_TYPE


class ConsumedPatch(_Strict):
    """PATCH /v1/notifications/{hash}: `consumed` is the only writable field."""

    consumed: StrictBool
