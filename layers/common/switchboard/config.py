"""Runtime configuration, read once from the function's environment (set by template.yaml)."""

from __future__ import annotations

import os
from functools import cache

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    accounts_table: str = Field(default="", alias="ACCOUNTS_TABLE")
    alerts_table: str = Field(default="", alias="ALERTS_TABLE")
    alerts_enabled: bool = Field(default=True, alias="ALERTS_ENABLED")
    events_table: str = Field(default="", alias="EVENTS_TABLE")
    rules_table: str = Field(default="", alias="RULES_TABLE")
    events_queue_url: str = Field(default="", alias="EVENTS_QUEUE_URL")
    data_key_id: str = Field(default="", alias="DATA_KEY_ID")
    # Webhook targets on private networks (the local runtime's receivers live on loopback).
    allow_private_targets: bool = Field(default=False, alias="ALLOW_PRIVATE_TARGETS")
    stage: str = Field(default="dev", alias="STAGE")
    # Delivery engine (docs/delivery.md)
    deliveries_table: str = Field(default="", alias="DELIVERIES_TABLE")
    delivery_queue_url: str = Field(default="", alias="DELIVERY_QUEUE_URL")
    retry_schedule: str = Field(default="5,30,120,600,1800,3600,7200,14400,28800", alias="RETRY_SCHEDULE")
    failure_window_s: int = Field(default=86_400, alias="ENDPOINT_FAILURE_WINDOW_SECONDS", ge=1)
    delivery_retention_days: int = Field(default=30, alias="DELIVERY_RETENTION_DAYS", ge=1, le=3650)
    wake_grace_s: int = Field(default=300, alias="WAKE_GRACE_SECONDS", ge=1)
    configuration_cache_s: float = Field(default=5.0, alias="CONFIGURATION_CACHE_SECONDS", ge=0)
    # AirVantage rules: telemetry waits on a FIFO queue (per system); history is kept this long.
    telemetry_queue_url: str = Field(default="", alias="TELEMETRY_QUEUE_URL")
    history_retention_days: int = Field(default=90, alias="HISTORY_RETENTION_DAYS", ge=1, le=3650)
    # The verified SES identity rule emails come from.
    alert_email_sender: str = Field(default="alerts@switchboard.invalid", alias="ALERT_EMAIL_SENDER")

    def retry_delays(self) -> tuple[float, ...]:
        return tuple(float(part) for part in self.retry_schedule.split(",") if part.strip())


@cache
def settings() -> Settings:
    """The settings of this process; tests that change the environment call `settings.cache_clear()`."""
    return Settings.model_validate({key: value for key, value in os.environ.items() if key.isupper()})
