"""The AirVantage rule services of this process, built once from the function's settings."""

from __future__ import annotations

from functools import cache

from switchboard.accounts.repository import AccountsRepository
from switchboard.accounts.service import AccountService
from switchboard.config import settings
from switchboard.rules.repository import RulesRepository
from switchboard.rules.service import HookService, RuleService, SystemService


@cache
def repository() -> RulesRepository:
    return RulesRepository(settings().rules_table)


@cache
def accounts() -> AccountService:
    return AccountService(AccountsRepository(settings().accounts_table))


def _rule_deleted(company_id: str, rule_id: str, hook_uids: list[str]) -> None:
    from switchboard.rules import pipeline

    for hook_uid in hook_uids:
        pipeline.notifier().forget_hook(company_id, hook_uid)
    pipeline.notifier().forget_rule(company_id, rule_id)
    pipeline.state_store().delete_rule_states(company_id, rule_id)


def _hook_deleted(company_id: str, hook_uid: str) -> None:
    from switchboard.rules import pipeline

    pipeline.notifier().forget_hook(company_id, hook_uid)


# Only a function that can reach the ESS table removes the delivery configurations of deleted rules/hooks.
@cache
def rules() -> RuleService:
    return RuleService(repository(), accounts(), _rule_deleted if settings().events_table else None)


@cache
def systems() -> SystemService:
    return SystemService(repository(), accounts())


@cache
def hooks() -> HookService:
    return HookService(
        repository(), accounts(), settings().allow_private_targets, _hook_deleted if settings().events_table else None
    )


def reset() -> None:
    from switchboard.rules import pipeline

    for factory in (repository, accounts, rules, systems, hooks):
        factory.cache_clear()
    pipeline.reset()
