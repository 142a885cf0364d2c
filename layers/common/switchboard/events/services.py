"""The ESS services of this process, built once from the function's settings."""

from __future__ import annotations

from functools import cache

from switchboard.accounts.repository import AccountsRepository
from switchboard.accounts.service import AccountService
from switchboard.config import settings
from switchboard.events.catalogs import CatalogProvider
from switchboard.events.configurations import DeliveryConfigurationService
from switchboard.events.publishing import PublishingService
from switchboard.events.repository import EventsRepository
from switchboard.events.subscriptions import SubscriptionService


@cache
def repository() -> EventsRepository:
    return EventsRepository(settings().events_table)


@cache
def accounts() -> AccountService:
    return AccountService(AccountsRepository(settings().accounts_table))


@cache
def catalog() -> CatalogProvider:
    return CatalogProvider(repository())


def _release_waiting(config) -> None:
    from switchboard.delivery import services as delivery

    delivery.request_release(config.account_id, config.id)


@cache
def configurations() -> DeliveryConfigurationService:
    # Only a function that can reach the delivery queue releases deliveries on activation.
    on_active = _release_waiting if settings().delivery_queue_url else None
    return DeliveryConfigurationService(repository(), accounts(), settings().allow_private_targets, on_active)


@cache
def subscriptions() -> SubscriptionService:
    return SubscriptionService(repository(), accounts(), catalog())


@cache
def publishing() -> PublishingService:
    return PublishingService(repository(), accounts(), catalog(), settings().events_queue_url)


def reset() -> None:
    for factory in (repository, accounts, catalog, configurations, subscriptions, publishing):
        factory.cache_clear()
