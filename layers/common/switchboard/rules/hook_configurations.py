"""The delivery configurations the AirVantage API manages for hooks and rule emails (docs/rules.md).

One configuration per hook (the AIRVANTAGE format) and one per rule with `emails` (the EMAIL
protocol): created on a rule's first alert, updated when a hook's callback moves, deleted with
the hook or rule. `RuleCleanup` is what the rule and hook services call after a delete.

A hook's configuration signs with the hook's own sealed signing secrets (the same ciphertexts: both
are sealed under the account and the signing-secret purpose), set when it is made, when the hook's
secret is rotated, and checked again with every alert. A hook made before hooks were signed keeps
the configuration's own secret, never shown, until its first rotation.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit, urlunsplit

from switchboard.errors import Conflict
from switchboard.events.configurations import DeliveryConfigurationService
from switchboard.events.models import BasicSettings, DeliveryConfigurationInput
from switchboard.events.repository import EventsRepository
from switchboard.rules.models import AlertRule
from switchboard.rules.states_repository import StatesRepository
from switchboard.secrets import SealedSigning


def hook_configuration_name(hook_uid: str) -> str:
    return f"airvantage-hook-{hook_uid}"


def email_configuration_name(rule_id: str) -> str:
    return f"airvantage-rule-{rule_id}-emails"


class HookConfigurations:
    def __init__(self, configurations: DeliveryConfigurationService, events: EventsRepository) -> None:
        self._configs = configurations
        self._events = events

    def _ensure(
        self,
        company: str,
        name: str,
        spec: DeliveryConfigurationInput,
        basic: BasicSettings | None = None,
        signing: SealedSigning | None = None,
    ) -> str:
        existing = self._events.configuration_id_by_name(company, name)
        if existing is not None:
            config = self._configs.managed(company, existing)
            if config is None:
                return existing
            moved = config.spec.address != spec.address
            resigned = signing is not None and config.signing != signing
            if moved or resigned:
                self._configs.replace_managed(
                    config, config.spec.model_copy(update={"address": spec.address}), signing if resigned else None
                )
            return existing
        try:
            return self._configs.create_managed(company, spec, basic, signing).id
        except Conflict:  # another worker made it a moment ago
            made = self._events.configuration_id_by_name(company, name)
            if made is None:
                raise
            return made

    def for_hook(self, company: str, hook_uid: str, callback: str, signing: SealedSigning | None = None) -> str:
        parts = urlsplit(callback)
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if parts.port is not None:
            netloc += f":{parts.port}"
        address = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        basic = None
        if parts.username is not None:
            basic = BasicSettings(username=unquote(parts.username), password=unquote(parts.password or ""))
        spec = DeliveryConfigurationInput.model_validate(
            {
                "del-cfg-nm": hook_configuration_name(hook_uid),
                "addr": address,
                "del-fmt-cd": "AIRVANTAGE",
                "timeout-seconds": 10,
            }
        )
        return self._ensure(company, hook_configuration_name(hook_uid), spec, basic, signing)

    def hook_signing_changed(self, company_id: str, hook_uid: str, signing: SealedSigning) -> None:
        """A hook's secret was rotated: its configuration (if its first alert made one) signs with it now."""
        for _ in range(5):
            config_id = self._events.configuration_id_by_name(company_id, hook_configuration_name(hook_uid))
            config = None if config_id is None else self._configs.managed(company_id, config_id)
            if config is None or config.signing == signing:
                return
            try:
                self._configs.replace_managed(config, config.spec, signing)
                return
            except Conflict:
                continue  # changed meanwhile (a delivery deactivated it, a callback moved): read it again

    def for_emails(self, rule: AlertRule) -> str:
        spec = DeliveryConfigurationInput.model_validate(
            {
                "del-cfg-nm": email_configuration_name(rule.id),
                "del-prtcl-cd": "EMAIL",
                "addr": "mailto:" + ",".join(rule.emails),
            }
        )
        return self._ensure(rule.company_id, email_configuration_name(rule.id), spec)

    def forget_hook(self, company: str, hook_uid: str) -> None:
        """The hook was deleted: so is its configuration (its recorded deliveries stay until they expire)."""
        config_id = self._events.configuration_id_by_name(company, hook_configuration_name(hook_uid))
        if config_id is not None:
            self._configs.delete_managed(company, config_id)

    def forget_rule(self, company: str, rule_id: str) -> None:
        config_id = self._events.configuration_id_by_name(company, email_configuration_name(rule_id))
        if config_id is not None:
            self._configs.delete_managed(company, config_id)


class RuleCleanup:
    """What goes with a deleted rule or hook: its delivery configurations and (rules) its current states."""

    def __init__(self, configurations: HookConfigurations, states: StatesRepository) -> None:
        self._configs = configurations
        self._states = states

    def rule_deleted(self, company_id: str, rule_id: str, hook_uids: list[str]) -> None:
        for hook_uid in hook_uids:
            self._configs.forget_hook(company_id, hook_uid)
        self._configs.forget_rule(company_id, rule_id)
        self._states.delete_rule_states(company_id, rule_id)

    def hook_deleted(self, company_id: str, hook_uid: str) -> None:
        self._configs.forget_hook(company_id, hook_uid)
