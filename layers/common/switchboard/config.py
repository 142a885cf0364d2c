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
    events_queue_url: str = Field(default="", alias="EVENTS_QUEUE_URL")
    data_key_id: str = Field(default="", alias="DATA_KEY_ID")
    # Webhook targets on private networks (the local runtime's receivers live on loopback).
    allow_private_targets: bool = Field(default=False, alias="ALLOW_PRIVATE_TARGETS")
    stage: str = Field(default="dev", alias="STAGE")


@cache
def settings() -> Settings:
    """The settings of this process; tests that change the environment call `settings.cache_clear()`."""
    return Settings.model_validate({key: value for key, value in os.environ.items() if key.isupper()})
