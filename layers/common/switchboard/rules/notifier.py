"""Alert notifications through the delivery engine (docs/rules.md).

A rule's hooks and its `emails` become delivery configurations the AirVantage API manages: one per
hook (the AIRVANTAGE format: the seed's `event.alert.rule.triggered` callback, any 2xx or 3xx
delivered, 10 s timeout, BASIC credentials from the callback URL) and one per rule for its emails
(the EMAIL protocol, sent through SES). Each alert to notify becomes one delivery per configuration,
so hooks and emails are throttled, retried, tracked (`/ess/v1/event-deliveries`) and deactivated
after a day of failures exactly like every webhook.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit, urlunsplit

from switchboard.delivery.models import DeliverTask, Delivery
from switchboard.delivery.repository import DeliveriesRepository
from switchboard.errors import Conflict
from switchboard.events.configurations import DeliveryConfigurationService
from switchboard.events.models import BasicSettings, DeliveryConfigurationInput
from switchboard.events.repository import EventsRepository
from switchboard.rules.models import AlertRecord, AlertRule

TOPIC = "AirVantage-Alerts"
HOOK_EVENT = "event.alert.rule.triggered"
EMAIL_EVENT = "alert.rule.email"


def hook_configuration_name(hook_uid: str) -> str:
    return f"airvantage-hook-{hook_uid}"


def email_configuration_name(rule_id: str) -> str:
    return f"airvantage-rule-{rule_id}-emails"


def _iso_ms(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def email_text(rule: AlertRule, record: AlertRecord) -> tuple[str, str]:
    """Subject and body of a rule's email."""
    what = "back to normal" if record.state is False else "alert"
    subject = f"[Switchboard] {rule.name}: {what} on {record.target_type.lower()} {record.target_id}"
    lines = [
        rule.message or rule.name,
        "",
        f"Rule:   {rule.name} ({rule.id})",
        f"Target: {record.target_type} {record.target_id}",
        f"State:  {_state_text(record.state)}",
        f"Time:   {_iso_ms(record.ts)}",
        f"Alert:  {record.id}",
        "",
    ]
    lines += [
        f"  {a.id.name} = {a.value.wire()} (at {_iso_ms(a.ref_time) if a.ref_time else 'n/a'})"
        for a in record.attributes
    ]
    return subject, "\n".join(lines)


def _state_text(state: bool | None) -> str:
    return "stateless alert" if state is None else ("in alert" if state else "no longer in alert")


class DeliveryNotifier:
    def __init__(
        self,
        hooks: Callable[[str, str], list[tuple[str, str]]],
        configurations: DeliveryConfigurationService,
        events: EventsRepository,
        deliveries: DeliveriesRepository,
        tasks,
        clock: Callable[[], int],
        wake_grace_s: int,
        rule_exists: Callable[[str, str], bool] = lambda _company, _rule: True,
    ) -> None:
        self._hooks = hooks  # (company, rule) -> [(hook uid, callback URL with its password)]
        self._rule_exists = rule_exists
        self._configs = configurations
        self._events = events
        self._deliveries = deliveries
        self._tasks = tasks
        self._clock = clock
        self._grace_ms = wake_grace_s * 1000

    def alert(self, rule: AlertRule, record: AlertRecord) -> None:
        """Queue the alert to every hook of the rule and to its emails (once per alert, however often asked)."""
        company = rule.company_id
        if not self._rule_exists(company, rule.id):
            return  # deleted since the evaluator's index was built: its configurations are gone and stay gone
        targets: list[tuple[str, dict[str, object], str]] = []
        content = record.hook_payload(record.ts)["content"]
        for hook_uid, callback in self._hooks(company, rule.id):
            targets.append((self._hook_configuration(company, hook_uid, callback), content, HOOK_EVENT))
        if rule.emails:
            subject, text = email_text(rule, record)
            targets.append(
                (self._email_configuration(rule), {"subject": subject, "text": text, **content}, EMAIL_EVENT)
            )
        now = self._clock()
        tasks = []
        for config_id, fields, event_type in targets:
            delivery = Delivery(
                account_id=company,
                event_id=record.id,
                config_id=config_id,
                topic=TOPIC,
                event_type=event_type,
                event_timestamp=_iso_ms(record.ts),
                fields=fields,
                created_ms=now,
                updated_ms=now,
                due_ms=now,
            )
            self._deliveries.create(delivery, wake_ms=now + self._grace_ms)
            tasks.append(DeliverTask(account_id=company, event_id=record.id, config_id=config_id, attempt=1))
        self._tasks.send_many(tasks)

    def _ensure(
        self, company: str, name: str, spec: DeliveryConfigurationInput, basic: BasicSettings | None = None
    ) -> str:
        existing = self._events.configuration_id_by_name(company, name)
        if existing is not None:
            config = self._configs.managed(company, existing)
            if config is not None and config.spec.address != spec.address:
                self._configs.replace_managed(config, config.spec.model_copy(update={"address": spec.address}))
            return existing
        try:
            return self._configs.create_managed(company, spec, basic).id
        except Conflict:  # another worker made it a moment ago
            made = self._events.configuration_id_by_name(company, name)
            if made is None:
                raise
            return made

    def _hook_configuration(self, company: str, hook_uid: str, callback: str) -> str:
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
        return self._ensure(company, hook_configuration_name(hook_uid), spec, basic)

    def _email_configuration(self, rule: AlertRule) -> str:
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
