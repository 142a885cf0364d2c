"""Runtime configuration: one settings class per concern, read from the function's environment.

template.yaml gives each function exactly the variables of the objects it builds. A field
without a default is required: building an object whose settings are missing fails at once
with the variable's name (pydantic-settings' ValidationError), never with an empty table name
discovered on the first request. `switchboard.wiring` is the only reader.
"""

from __future__ import annotations

from functools import cache
from typing import TypeVar

from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class _Environment(BaseSettings):
    # Variable names are the field names in upper case (ACCOUNTS_TABLE), or the alias given.
    model_config = SettingsConfigDict(frozen=True, case_sensitive=False, extra="ignore", populate_by_name=True)


class AccountsSettings(_Environment):
    accounts_table: str = Field(min_length=1)


class AlertsSettings(_Environment):
    alerts_table: str = Field(min_length=1)
    # The KAZOO alert system switch (seed 000: "enabled" under the alert system configuration).
    alerts_enabled: bool = True


class EventsSettings(_Environment):
    """The ESS table: catalog additions, delivery configurations, subscriptions."""

    events_table: str = Field(min_length=1)


class PublishingSettings(_Environment):
    events_queue_url: str = Field(min_length=1)


class SecretsSettings(_Environment):
    """The KMS key secrets at rest are sealed with."""

    data_key_id: str = Field(min_length=1)


class NetworkSettings(_Environment):
    # Webhook targets on private networks (the local runtime's receivers live on loopback).
    allow_private_targets: bool = False


class DeliveriesSettings(_Environment):
    """The deliveries table (docs/delivery.md); the queue its workers read is `DeliveryQueueSettings`."""

    deliveries_table: str = Field(min_length=1)
    delivery_retention_days: int = Field(default=30, ge=1, le=3650)
    wake_grace_s: int = Field(default=300, ge=1, validation_alias=AliasChoices("WAKE_GRACE_SECONDS", "wake_grace_s"))
    configuration_cache_s: float = Field(
        default=5.0, ge=0, validation_alias=AliasChoices("CONFIGURATION_CACHE_SECONDS", "configuration_cache_s")
    )


class DeliveryQueueSettings(_Environment):
    """The delivery queue: deliver tasks, release and redelivery jobs."""

    delivery_queue_url: str = Field(min_length=1)


class EngineSettings(_Environment):
    """What only the deliver function needs: the retry schedule, endpoint health, the email sender."""

    retry_schedule: str = Field(default="5,30,120,600,1800,3600,7200,14400,28800", pattern=r"^\s*\d+(\s*,\s*\d+)*\s*$")
    failure_window_s: int = Field(
        default=86_400,
        ge=1,
        validation_alias=AliasChoices("ENDPOINT_FAILURE_WINDOW_SECONDS", "failure_window_s"),
    )
    # The verified SES identity rule emails come from.
    alert_email_sender: str = "alerts@switchboard.invalid"
    # Fairness (docs/delivery.md, "Slow endpoints"): an attempt unanswered after this many seconds is
    # slow, and at most this many slow attempts per configuration and per account are in flight.
    slow_after_s: float = Field(default=3.0, gt=0, validation_alias=AliasChoices("SLOW_ATTEMPT_AFTER_SECONDS"))
    slow_per_configuration: int = Field(
        default=2, ge=1, le=50, validation_alias=AliasChoices("SLOW_ATTEMPTS_PER_CONFIGURATION")
    )
    slow_per_account: int = Field(default=4, ge=1, le=100, validation_alias=AliasChoices("SLOW_ATTEMPTS_PER_ACCOUNT"))

    def retry_delays(self) -> tuple[float, ...]:
        return tuple(float(part) for part in self.retry_schedule.split(",") if part.strip())


class RulesSettings(_Environment):
    """AirVantage rules: systems, rules, hooks, states, history (kept this long)."""

    rules_table: str = Field(min_length=1)
    history_retention_days: int = Field(default=90, ge=1, le=3650)


class TelemetrySettings(_Environment):
    # Telemetry waits on a FIFO queue (one message group per system).
    telemetry_queue_url: str = Field(min_length=1)


class StageSettings(_Environment):
    stage: str = "dev"


class UsageSettings(_Environment):
    """Expeto usage notifications: subscribers, usage, notifications (how long record ids are remembered)."""

    usage_table: str = Field(min_length=1)
    usage_record_retention_days: int = Field(default=400, ge=1, le=3650)


class UsageQueueSettings(_Environment):
    # Usage records wait on a FIFO queue (one message group per account and IMSI).
    usage_queue_url: str = Field(min_length=1)


class ServicesSettings(_Environment):
    """KAZOO services: plans, services documents, audit log, ledger (docs/services.md)."""

    services_table: str = Field(min_length=1)
    audit_retention_days: int = Field(default=400, ge=1, le=3650)


class CountedTablesSettings(_Environment):
    """The tables whose resources services counts (stream sources, reconciliation)."""

    accounts_table: str = Field(min_length=1)
    events_table: str = Field(min_length=1)
    rules_table: str = Field(min_length=1)


class BufferQueueSettings(_Environment):
    """Scheduled delivery's queue: tick chains, schedule changes, settling delivered files."""

    buffer_queue_url: str = Field(min_length=1)


class FilesSettings(_Environment):
    """The files bucket (buffer files, subscription dumps) and how long files are kept."""

    files_bucket: str = Field(min_length=1)
    file_retention_days: int = Field(default=30, ge=1, le=3650)


class ScheduleSettings(_Environment):
    """The minute's safety net of scheduled delivery."""

    # A tick chain this late is presumed lost and re-armed.
    schedule_grace_s: int = Field(
        default=90, ge=1, validation_alias=AliasChoices("SCHEDULE_GRACE_SECONDS", "schedule_grace_s")
    )


class DumpSettings(_Environment):
    """Subscription dumps: their queue, and how long a notice's presigned URL works."""

    dump_queue_url: str = Field(min_length=1)
    dump_url_seconds: int = Field(
        default=3600, ge=60, le=604_800, validation_alias=AliasChoices("DUMP_URL_SECONDS", "dump_url_seconds")
    )


class DeadLetterSettings(_Environment):
    """A queue consumer's dead-letter queue: permanent failures are released to it at once (switchboard.queues)."""

    dead_letter_queue_url: str = Field(min_length=1)


Settings = TypeVar("Settings", bound=_Environment)


class MissingSetting(RuntimeError):
    """The function's environment lacks a variable an object it builds needs (a template bug)."""


@cache
def load(kind: type[Settings]) -> Settings:
    """`kind` read from the environment once per process; `switchboard.wiring.reset()` forgets it."""
    try:
        return kind()
    except ValidationError as exc:
        problems = ", ".join(f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        raise MissingSetting(f"{kind.__name__} cannot be read from the environment ({problems})") from None


def reset() -> None:
    load.cache_clear()


class LoginSettings(_Environment):
    """Sessions and login throttling (docs/authentication.md)."""

    session_ttl_s: int = Field(
        default=3600, ge=60, le=86_400, validation_alias=AliasChoices("SESSION_TTL_SECONDS", "session_ttl_s")
    )
    refresh_ttl_s: int = Field(
        default=14 * 86_400,
        ge=60,
        validation_alias=AliasChoices("REFRESH_TOKEN_TTL_SECONDS", "refresh_ttl_s"),
    )
    failure_window_s: int = Field(
        default=300, ge=1, validation_alias=AliasChoices("LOGIN_FAILURE_WINDOW_SECONDS", "failure_window_s")
    )
    max_failures_per_account: int = Field(
        default=10, ge=1, validation_alias=AliasChoices("LOGIN_FAILURES_PER_ACCOUNT", "max_failures_per_account")
    )
    max_failures_per_source: int = Field(
        default=30, ge=1, validation_alias=AliasChoices("LOGIN_FAILURES_PER_SOURCE", "max_failures_per_source")
    )
