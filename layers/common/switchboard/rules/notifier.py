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

from switchboard.delivery.models import DeliverTask, Delivery
from switchboard.delivery.repository import DeliveriesRepository
from switchboard.rules.hook_configurations import HookConfigurations, email_configuration_name, hook_configuration_name
from switchboard.rules.models import AlertRecord, AlertRule
from switchboard.rules.service import HookTarget

TOPIC = "AirVantage-Alerts"
__all__ = ["DeliveryNotifier", "email_configuration_name", "email_text", "hook_configuration_name"]
HOOK_EVENT = "event.alert.rule.triggered"
EMAIL_EVENT = "alert.rule.email"


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
        hooks: Callable[[str, str], list[HookTarget]],
        configurations: HookConfigurations,
        deliveries: DeliveriesRepository,
        tasks,
        clock: Callable[[], int],
        wake_grace_s: int,
        rule_exists: Callable[[str, str], bool] = lambda _company, _rule: True,
    ) -> None:
        self._hooks = hooks  # (company, rule) -> the rule's hooks
        self._rule_exists = rule_exists
        self._configs = configurations
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
        for hook in self._hooks(company, rule.id):
            config_id = self._configs.for_hook(company, hook.uid, hook.callback, hook.signing)
            targets.append((config_id, content, HOOK_EVENT))
        if rule.emails:
            subject, text = email_text(rule, record)
            targets.append((self._configs.for_emails(rule), {"subject": subject, "text": text, **content}, EMAIL_EVENT))
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
