"""ESS resources: delivery configurations, their authentication, subscriptions, events.

Input models carry the wire names as aliases (`del-cfg-nm`); stored models are the domain's;
`wire()` methods produce the ESS shapes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from switchboard.clock import iso_from_ms

if TYPE_CHECKING:
    from switchboard.secrets import SealedSigning

MAX_DELIVERY_CONFIGURATIONS = 1_000
MAX_SUBSCRIPTIONS = 2_000_000
EVENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Event ids of this prefix name buffer files on the deliveries' wire (docs/ess.md); publishers cannot use it.
RESERVED_EVENT_PREFIX = "buffer-file-"


def parse_time(value: str) -> int:
    """ISO-8601 (a `Z` or an offset; a naive time is UTC) to epoch milliseconds."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith(("Z", "z")) else value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _checked_time(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        parse_time(value)
    except ValueError:
        raise ValueError("must be an ISO-8601 date-time such as 2017-10-27T17:29:42Z") from None
    return value


class _Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid", strict=True, frozen=True)


# ---------------------------------------------------------------- delivery configurations


class DeliveryConfigurationInput(_Wire):
    """POST/PUT /delivery-configurations body; PUT replaces every field."""

    name: str = Field(alias="del-cfg-nm", min_length=1, max_length=128)
    # EMAIL and the AIRVANTAGE format exist for configurations the AirVantage API manages (rule hooks
    # and rule emails); the ESS API neither creates nor changes them.
    protocol: Literal["REST", "EMAIL"] = Field(default="REST", alias="del-prtcl-cd")
    address: str | None = Field(default=None, alias="addr", min_length=1)
    format: Literal["JSON", "XML", "AIRVANTAGE"] = Field(default="JSON", alias="del-fmt-cd")
    is_active: bool = Field(default=True, alias="is-active")
    throttling: int | None = Field(default=None, ge=1, le=1_000_000)
    throttling_unit: Literal["MINUTE", "SECOND"] = Field(default="MINUTE", alias="throttling-unit")
    cron_expression: str | None = Field(default=None, alias="cron-expression", min_length=1, max_length=128)
    latest_event_only: bool = Field(default=False, alias="latest-event-only")
    # Extension: the IANA time zone the cron expression reads in (UTC when absent; docs/ess.md).
    cron_time_zone: str | None = Field(default=None, alias="cron-time-zone", min_length=1, max_length=64)
    timeout_seconds: int = Field(default=10, alias="timeout-seconds", ge=1, le=30)
    # Seconds before attempts 2, 3, …; the engine's default schedule when absent (docs/delivery.md).
    retry_schedule: list[int] | None = Field(default=None, alias="retry-schedule", max_length=20)

    @field_validator("retry_schedule")
    @classmethod
    def _bounded_delays(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and any(not 0 <= delay <= 86_400 for delay in value):
            raise ValueError("retry delays must be between 0 and 86400 seconds")
        return value

    @field_validator("cron_expression")
    @classmethod
    def _six_field_cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from switchboard.events import cron

        try:
            return cron.validate(value)
        except cron.CronError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("cron_time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        from switchboard.events import cron

        cron.zone(value)
        return value

    @model_validator(mode="after")
    def _address_unless_scheduled(self) -> DeliveryConfigurationInput:
        if self.address is None and self.cron_expression is None:
            raise ValueError("addr is required unless cron-expression is given")
        return self

    @property
    def managed(self) -> bool:
        """Made by the AirVantage API for a rule's hooks or emails, not by an ESS client."""
        return self.protocol != "REST" or self.format == "AIRVANTAGE"

    @property
    def email_recipients(self) -> list[str]:
        """For the EMAIL protocol: the addresses of `mailto:a@x,b@y`."""
        text = (self.address or "").removeprefix("mailto:")
        return [address for address in text.split(",") if address]


class BasicSettings(_Wire):
    username: str = Field(min_length=1, max_length=256)
    password: str = Field(min_length=1, max_length=1024)


class OAuthSettings(_Wire):
    token_url: str = Field(alias="token-url", min_length=1, max_length=2048)
    client_id: str = Field(alias="client-id", min_length=1, max_length=512)
    client_secret: str = Field(alias="client-secret", min_length=1, max_length=2048)
    scope: str | None = Field(default=None, max_length=1024)


class AuthenticationInput(_Wire):
    """PUT /delivery-configurations/{id}/authentication body."""

    type: Literal["NONE", "BASIC", "OAUTH"]
    settings: dict[str, Any] | None = None

    def parsed_settings(self) -> BasicSettings | OAuthSettings | None:
        from switchboard.dialects.validation import parse

        if self.type == "BASIC":
            return parse(BasicSettings, self.settings or {}, ("settings",))
        if self.type == "OAUTH":
            return parse(OAuthSettings, self.settings or {}, ("settings",))
        return None


class StoredAuthentication(BaseModel):
    """Endpoint credentials as stored: secrets sealed with KMS, never in plaintext."""

    type: Literal["NONE", "BASIC", "OAUTH"] = "NONE"
    username: str | None = None
    sealed_password: str | None = None
    token_url: str | None = None
    client_id: str | None = None
    sealed_client_secret: str | None = None
    scope: str | None = None

    def wire(self) -> dict[str, Any]:
        """GET .../authentication: the settings with every secret masked."""
        from switchboard.secrets import MASK

        if self.type == "BASIC":
            return {"type": "BASIC", "settings": {"username": self.username, "password": MASK}}
        if self.type == "OAUTH":
            settings = {"token-url": self.token_url, "client-id": self.client_id, "client-secret": MASK}
            if self.scope:
                settings["scope"] = self.scope
            return {"type": "OAUTH", "settings": settings}
        return {"type": "NONE"}


class DeliveryConfiguration(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    account_id: str
    spec: DeliveryConfigurationInput
    authentication: StoredAuthentication = StoredAuthentication()
    sealed_signing_secret: str
    sealed_previous_signing_secret: str | None = None
    previous_signing_secret_expires_ms: int | None = None
    subscription_count: int = 0
    created_ms: int
    updated_ms: int
    # The circuit breaker (docs/delivery.md): no attempt goes out before this time; cleared by any write.
    circuit_open_until_ms: int | None = None

    @property
    def signing(self) -> SealedSigning:
        from switchboard.secrets import SealedSigning

        return SealedSigning(
            self.sealed_signing_secret, self.sealed_previous_signing_secret, self.previous_signing_secret_expires_ms
        )

    def wire(self) -> dict[str, Any]:
        body = {"id": self.id, **self.spec.model_dump(by_alias=True, exclude_none=True)}
        if self.spec.cron_expression is None:
            body.pop("latest-event-only", None)
        if self.circuit_open_until_ms is not None:  # extension: when the breaker last held attempts until
            body["circuit-open-until"] = datetime.fromtimestamp(self.circuit_open_until_ms / 1000, tz=UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            )
        return body


# ---------------------------------------------------------------- subscriptions


class SubscriptionInput(_Wire):
    """POST /topics/{ID}/subscriptions body (PUT: the same, `del-cfg-id` and `evt-tp` optional)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", strict=False, frozen=True)

    delivery_configuration_id: str | None = Field(default=None, alias="del-cfg-id")
    event_type: str | None = Field(default=None, alias="evt-tp", min_length=1, max_length=128)
    match_criteria: str = Field(default="", alias="match-crt", max_length=4096)
    start_date: str | None = Field(default=None, alias="start-date")
    end_date: str | None = Field(default=None, alias="end-date")

    @field_validator("delivery_configuration_id", mode="before")
    @classmethod
    def _numeric_id(cls, value: Any) -> Any:
        # The seed shows it both as "262" and 262.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if value is not None and not (isinstance(value, str) and value.isdigit()):
            raise ValueError("must be a delivery configuration id (a numeric string)")
        return value

    @field_validator("match_criteria", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value

    @field_validator("start_date", "end_date")
    @classmethod
    def _iso(cls, value: str | None) -> str | None:
        return _checked_time(value)

    @model_validator(mode="after")
    def _ordered(self) -> SubscriptionInput:
        if self.start_date and self.end_date and parse_time(self.end_date) <= parse_time(self.start_date):
            raise ValueError("end-date must be after start-date")
        return self


class Subscription(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    account_id: str
    topic: str
    event_type: str | None  # None: every event type of the topic
    delivery_configuration_id: str
    match_criteria: str  # canonical text
    match_tree: Any = None  # matching.to_json form; None matches everything
    index_field: str | None = None  # the pinned field the subscription is indexed on
    index_value: str | None = None
    start_ms: int
    end_ms: int | None = None
    created_ms: int

    def wire(self, delivery_configuration_name: str | None = None) -> dict[str, Any]:
        body = {
            "id": self.id,
            "del-cfg-id": self.delivery_configuration_id,
            "del-cfg-nm": delivery_configuration_name,
            "topic-nm": self.topic,
            "evt-tp": self.event_type,
            "match-crt": self.match_criteria,
            "start-date": iso_from_ms(self.start_ms),
            "end-date": None if self.end_ms is None else iso_from_ms(self.end_ms),
        }
        return {key: value for key, value in body.items() if value is not None}

    def active_at(self, moment_ms: int) -> bool:
        return self.start_ms <= moment_ms and (self.end_ms is None or moment_ms < self.end_ms)


# ---------------------------------------------------------------- events


class PublishInput(_Wire):
    """POST /ess/v1/events body."""

    topic: str = Field(min_length=1, max_length=128)
    event_type: str = Field(alias="evt-tp", min_length=1, max_length=128)
    fields: dict[str, Any] = Field(alias="fld-val-list")
    event_id: str | None = Field(default=None, alias="event-id")
    timestamp: str | None = None

    @field_validator("event_id")
    @classmethod
    def _event_id(cls, value: str | None) -> str | None:
        if value is not None and not EVENT_ID.match(value):
            raise ValueError("must be 1 to 64 characters of A-Z, a-z, 0-9, '-' and '_'")
        if value is not None and value.startswith(RESERVED_EVENT_PREFIX):
            raise ValueError(f"event ids starting with {RESERVED_EVENT_PREFIX!r} are reserved for buffer files")
        return value

    @field_validator("timestamp")
    @classmethod
    def _iso(cls, value: str | None) -> str | None:
        return _checked_time(value)


class Event(BaseModel):
    """A published event: what fanout matches and every delivery carries."""

    model_config = ConfigDict(frozen=True)

    id: str
    account_id: str
    topic: str
    event_type: str
    fields: dict[str, Any]
    timestamp: str  # as published (ISO-8601), echoed to receivers unchanged
    timestamp_ms: int
    published_ms: int

    def wire(self) -> dict[str, Any]:
        return {
            "event-id": self.id,
            "topic": self.topic,
            "evt-tp": self.event_type,
            "timestamp": self.timestamp,
            "fld-val-list": self.fields,
        }
