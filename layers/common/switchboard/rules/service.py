"""The AirVantage rule, system and hook services: tenancy, ids, times, secrets around the repository.

Every call takes the caller and the `company` query parameter (None: the caller's own company);
`AccountService.scope_for` answers NotFound for a company the caller may not act on, exactly as for one
that does not exist.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from switchboard import clock, ids, secrets
from switchboard.accounts.service import AccountService
from switchboard.errors import NotFound
from switchboard.rules import hooks, validation
from switchboard.rules.models import AlertRule, AlertRuleInput, System, SystemInput
from switchboard.rules.repository import HookRecord, RulesRepository
from switchboard.tenancy import Caller

SCOPE_KIND = "company"
logger = Logger(child=True)


def _rule_id(rule_id: str) -> str:
    """A path rule id: alert.rule.missing.id when blank."""
    rule_id = rule_id.strip()
    if not rule_id:
        raise validation.missing_id()
    return rule_id


class DeletionPort(Protocol):
    """What else goes with a deleted rule or hook: the delivery configurations its alerts went out
    through, and a rule's current states (`rules.hook_configurations.RuleCleanup`)."""

    def rule_deleted(self, company_id: str, rule_id: str, hook_uids: list[str]) -> None: ...

    def hook_deleted(self, company_id: str, hook_uid: str) -> None: ...


class SigningPort(Protocol):
    """Told when a hook's signing secrets change: the delivery configuration its callbacks go out through
    signs with them from then on (`rules.hook_configurations.HookConfigurations`)."""

    def hook_signing_changed(self, company_id: str, hook_uid: str, signing: secrets.SealedSigning) -> None: ...


class RuleService:
    def __init__(self, repository: RulesRepository, accounts: AccountService, on_deleted: DeletionPort) -> None:
        self._repo = repository
        self._accounts = accounts
        self._on_deleted = on_deleted

    def _company(self, caller: Caller, company: str | None) -> str:
        return self._accounts.scope_for(caller, company, SCOPE_KIND).id

    def create(self, caller: Caller, company: str | None, spec: AlertRuleInput) -> AlertRule:
        """A new rule (at most 50 per company: alert.rule.too.many)."""
        company_id = self._company(caller, company)
        rule = AlertRule.create(ids.new_hex_id(), company_id, spec, clock.now_ms())
        self._repo.create_rule(rule)
        return rule

    def list(self, caller: Caller, company: str | None) -> list[AlertRule]:
        """Every rule of the company, sorted by name."""
        return self._repo.list_rules(self._company(caller, company))

    def get(self, caller: Caller, company: str | None, rule_id: str) -> AlertRule:
        rule_id = _rule_id(rule_id)
        company_id = self._company(caller, company)
        rule = self._repo.get_rule(company_id, rule_id) if ids.is_hex_id(rule_id) else None
        if rule is None:
            raise validation.unknown_id(rule_id)
        return rule

    def replace(self, caller: Caller, company: str | None, rule_id: str, spec: AlertRuleInput) -> AlertRule:
        """PUT: every field replaced; id, company and creation time kept."""
        current = self.get(caller, company, rule_id)
        updated = current.replaced(spec, max(clock.now_ms(), current.updated_ms + 1))
        self._repo.replace_rule(updated)
        return updated

    def delete(self, caller: Caller, company: str | None, rule_id: str) -> None:
        """Delete a rule and its hooks."""
        rule_id = _rule_id(rule_id)
        company_id = self._company(caller, company)
        if not ids.is_hex_id(rule_id):
            raise validation.unknown_id(rule_id)
        hook_uids = [hook.uid for hook in self._repo.list_hooks(company_id, rule_id)]
        self._repo.delete_rule(company_id, rule_id)
        self._on_deleted.rule_deleted(company_id, rule_id, hook_uids)

    def company_rules(self, company_id: str) -> builtins.list[AlertRule]:
        """A company's rules, for the evaluation worker (no caller: the company comes from stored data)."""
        return self._repo.list_rules(company_id)


class SystemService:
    def __init__(self, repository: RulesRepository, accounts: AccountService) -> None:
        self._repo = repository
        self._accounts = accounts

    def _company(self, caller: Caller, company: str | None) -> str:
        return self._accounts.scope_for(caller, company, SCOPE_KIND).id

    def create(self, caller: Caller, company: str | None, spec: SystemInput) -> System:
        company_id = self._company(caller, company)
        uid = ids.new_hex_id()
        self._repo.create_system(company_id, uid, spec)
        return System(uid=uid, company=company_id, **_fields(spec))

    def list(self, caller: Caller, company: str | None, offset: int, size: int) -> tuple[list[System], int]:
        """One page of the company's systems sorted by name, and how many it has in all."""
        company_id = self._company(caller, company)
        return self._repo.list_systems(company_id, offset, size), self._repo.count_systems(company_id)

    def get(self, caller: Caller, company: str | None, uid: str) -> System:
        company_id = self._company(caller, company)
        system = self._repo.get_system(company_id, uid) if ids.is_hex_id(uid) else None
        if system is None:
            raise NotFound(uid, "system")
        return system

    def replace(self, caller: Caller, company: str | None, uid: str, spec: SystemInput) -> System:
        """PUT: every field replaced; uid, company and last communication date kept."""
        current = self.get(caller, company, uid)
        if not self._repo.replace_system(current.company, uid, spec):
            raise NotFound(uid, "system")
        return System(uid=uid, company=current.company, last_comm_date=current.last_comm_date, **_fields(spec))

    def delete(self, caller: Caller, company: str | None, uid: str) -> None:
        company_id = self._company(caller, company)
        if not ids.is_hex_id(uid) or not self._repo.delete_system(company_id, uid):
            raise NotFound(uid, "system")


def _fields(spec: SystemInput) -> dict[str, Any]:
    return {name: getattr(spec, name) for name in SystemInput.model_fields}


@dataclass(frozen=True, slots=True)
class Hook:
    """A hook as the API shows it: the callback with its password masked; the signing secret only in the
    reply to its creation (shown once, never read back)."""

    uid: str
    callback: str
    signing_secret: str | None = field(default=None, repr=False)

    def wire(self) -> dict[str, str]:
        body = {"uid": self.uid, "callback": self.callback}
        if self.signing_secret is not None:
            body[hooks.SIGNING_SECRET_FIELD] = self.signing_secret
        return body


@dataclass(frozen=True, slots=True)
class RotatedSecret:
    """The reply to a rotation: the new secret (shown once) and, when there was one, the end of the
    previous secret's grace (epoch ms), during which callbacks carry both signatures."""

    hook_uid: str
    signing_secret: str = field(repr=False)
    previous_expires_ms: int | None

    def wire(self) -> dict[str, object]:
        return {
            "uid": self.hook_uid,
            hooks.SIGNING_SECRET_FIELD: self.signing_secret,
            "previousSecretExpirationDate": self.previous_expires_ms,
        }


@dataclass(frozen=True, slots=True)
class HookTarget:
    """What the delivery of a rule's alerts needs of a hook: its uid, its callback with the password, and
    its sealed signing secrets (None: a hook made before hooks were signed, not rotated since)."""

    uid: str
    callback: str = field(repr=False)
    signing: secrets.SealedSigning | None = field(default=None, repr=False)


def _shown(record: HookRecord, signing_secret: str | None = None) -> Hook:
    return Hook(
        uid=record.uid,
        callback=hooks.masked(record.callback, record.sealed_password is not None),
        signing_secret=signing_secret,
    )


class HookService:
    def __init__(
        self,
        repository: RulesRepository,
        accounts: AccountService,
        allow_private_targets: bool,
        on_deleted: DeletionPort,
        on_signing: SigningPort,
    ) -> None:
        self._repo = repository
        self._accounts = accounts
        self._allow_private = allow_private_targets
        self._on_deleted = on_deleted
        self._on_signing = on_signing

    def _rule(self, caller: Caller, company: str | None, rule_id: str) -> AlertRule:
        company_id = self._accounts.scope_for(caller, company, SCOPE_KIND).id
        rule = self._repo.get_rule(company_id, rule_id) if ids.is_hex_id(rule_id) else None
        if rule is None:
            raise hooks.unknown_rule(rule_id)
        return rule

    def create(self, caller: Caller, company: str | None, rule_id: str, data: object) -> Hook:
        """A new hook on a rule from the POST body (checked by hooks.parse_hook); the password and the new
        signing secret are sealed, the secret shown in this reply only."""
        rule = self._rule(caller, company, rule_id)
        callback = hooks.parse_hook(data, self._allow_private)
        uid = ids.new_hex_id()
        sealed = None
        if callback.password is not None:
            sealed = secrets.seal(callback.password, rule.company_id, password_purpose(uid))
        signing_secret, signing = secrets.new_sealed_signing(rule.company_id)
        record = HookRecord(
            uid=uid,
            company_id=rule.company_id,
            rule_id=rule.id,
            callback=callback.url,
            sealed_password=sealed,
            created_ms=clock.now_ms(),
            signing=signing,
        )
        self._repo.add_hook(record)
        return _shown(record, signing_secret)

    def list(self, caller: Caller, company: str | None, rule_id: str) -> list[Hook]:
        rule = self._rule(caller, company, rule_id)
        return [_shown(record) for record in self._repo.list_hooks(rule.company_id, rule.id)]

    def delete(self, caller: Caller, company: str | None, rule_id: str, hook_uid: str) -> None:
        rule = self._rule(caller, company, rule_id)
        if not ids.is_hex_id(hook_uid) or not self._repo.delete_hook(rule.company_id, rule.id, hook_uid):
            raise hooks.unknown_hook(hook_uid)
        self._on_deleted.hook_deleted(rule.company_id, hook_uid)

    def rotate_secret(
        self, caller: Caller, company: str | None, rule_id: str, hook_uid: str, data: object
    ) -> RotatedSecret:
        """A new signing secret for a hook (shown in this reply only). The previous one keeps signing
        callbacks for 24 hours; a hook made before hooks were signed gets its first secret, alone."""
        rule = self._rule(caller, company, rule_id)
        hooks.parse_rotation(data)
        record = self._repo.get_hook(rule.company_id, rule.id, hook_uid) if ids.is_hex_id(hook_uid) else None
        if record is None:
            raise hooks.unknown_hook(hook_uid)
        secret, signing = secrets.rotated_signing(record.signing, rule.company_id, clock.now_ms())
        self._repo.set_hook_signing(record, signing)
        try:
            self._on_signing.hook_signing_changed(rule.company_id, record.uid, signing)
        except Exception as exc:  # saved on the hook: the next alert's delivery takes it to the configuration
            # (until then callbacks carry the previous secret's signature, still valid for 24 h)
            logger.warning("hook secret rotated; its configuration follows at the next alert", error=repr(exc))
        return RotatedSecret(record.uid, secret, signing.previous_expires_ms)

    def callbacks(self, company_id: str, rule_id: str) -> builtins.list[HookTarget]:
        """A rule's hooks as the delivery of its alerts needs them (callback with its password, signing)."""
        return [
            HookTarget(record.uid, hooks.with_password(record.callback, _unsealed(record)), record.signing)
            for record in self._repo.list_hooks(company_id, rule_id)
        ]


def password_purpose(hook_uid: str) -> str:
    """The KMS encryption-context purpose a hook's password is sealed under (with its company)."""
    return f"alert-hook:{hook_uid}"


def _unsealed(record: HookRecord) -> str | None:
    if record.sealed_password is None:
        return None
    return secrets.unseal(record.sealed_password, record.company_id, password_purpose(record.uid))
