"""The evaluation side of the rules context, built once per process: ingest, evaluator, notifier, reads."""

from __future__ import annotations

from functools import cache

from switchboard import clock
from switchboard.config import settings
from switchboard.rules import services as rules
from switchboard.rules.evaluation import Evaluator
from switchboard.rules.ingest import IngestService
from switchboard.rules.notifier import DeliveryNotifier
from switchboard.rules.queries import AlertQueries
from switchboard.rules.state_store import StateStore


@cache
def state_store() -> StateStore:
    config = settings()
    return StateStore(config.rules_table, config.history_retention_days * 86_400)


@cache
def ingest() -> IngestService:
    return IngestService(rules.accounts(), rules.repository().get_system, settings().telemetry_queue_url, clock.now_ms)


@cache
def notifier() -> DeliveryNotifier:
    from switchboard.delivery import services as delivery
    from switchboard.events import services as events

    def rule_exists(company_id: str, rule_id: str) -> bool:
        return rules.repository().get_rule(company_id, rule_id) is not None

    return DeliveryNotifier(
        rules.hooks().callbacks,
        events.configurations(),
        events.repository(),
        delivery.repository(),
        delivery.tasks(),
        clock.now_ms,
        settings().wake_grace_s,
        rule_exists=rule_exists,
    )


@cache
def evaluator() -> Evaluator:
    return Evaluator(state_store(), rules.repository(), rules.repository(), notifier(), clock.now_ms)


@cache
def queries() -> AlertQueries:
    return AlertQueries(state_store(), rules.accounts())


def reset() -> None:
    for factory in (state_store, ingest, notifier, evaluator, queries):
        factory.cache_clear()
