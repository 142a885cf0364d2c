"""The delivery services of this process, built once from the function's settings."""

from __future__ import annotations

from functools import cache

from switchboard import clock
from switchboard.config import settings
from switchboard.delivery.adapters import AlertNotices, CachedConfigurations, SesMailer, SqsTasks
from switchboard.delivery.engine import Engine, EngineSettings
from switchboard.delivery.fanout import Fanout
from switchboard.delivery.jobs import Jobs
from switchboard.delivery.models import ReleaseTask
from switchboard.delivery.policy import RetrySchedule
from switchboard.delivery.queries import DeliveryQueries
from switchboard.delivery.repository import DeliveriesRepository
from switchboard.delivery.sender import Sender
from switchboard.events import services as events


@cache
def repository() -> DeliveriesRepository:
    config = settings()
    return DeliveriesRepository(config.deliveries_table, config.delivery_retention_days * 86_400)


@cache
def tasks() -> SqsTasks:
    return SqsTasks(settings().delivery_queue_url)


@cache
def configurations() -> CachedConfigurations:
    return CachedConfigurations(events.repository(), events.configurations(), settings().configuration_cache_s)


@cache
def notices() -> AlertNotices:
    from switchboard.alerts.service import alert_service

    return AlertNotices(alert_service())


@cache
def engine() -> Engine:
    config = settings()
    engine_settings = EngineSettings(
        schedule=RetrySchedule(config.retry_delays()),
        wake_grace_s=config.wake_grace_s,
        failure_window_s=config.failure_window_s,
    )
    return Engine(
        repository(),
        configurations(),
        tasks(),
        Sender(config.allow_private_targets),
        notices(),
        engine_settings,
        mailer=SesMailer(config.alert_email_sender),
    )


@cache
def fanout() -> Fanout:
    return Fanout(
        events.subscriptions(), configurations(), repository(), tasks(), clock.now_ms, settings().wake_grace_s
    )


@cache
def jobs() -> Jobs:
    return Jobs(repository(), configurations(), tasks(), notices(), clock.now_ms, settings().wake_grace_s)


@cache
def queries() -> DeliveryQueries:
    return DeliveryQueries(repository(), events.repository(), events.accounts(), jobs(), tasks(), clock.now_ms)


def request_release(account_id: str, config_id: str) -> None:
    """Ask the delivery workers to send what waited while the configuration was inactive."""
    tasks().send(ReleaseTask(account_id=account_id, config_id=config_id))


def reset() -> None:
    for factory in (repository, tasks, configurations, notices, engine, fanout, jobs, queries):
        factory.cache_clear()
