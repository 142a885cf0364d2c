"""The services context's ports, served by other contexts (built by switchboard.wiring)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Logger

from switchboard.alerts.models import Recipient
from switchboard.alerts.service import AlertService
from switchboard.events.publishing import PublishingService

log = Logger(child=True)

LOW_BALANCE_CATEGORY = "low_balance"
BILLING_TOPIC = "Billing-Events"


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


class LowBalanceNotices:
    """A non-clearable KAZOO system alert for the account's admins while it is delinquent."""

    def __init__(self, alerts: AlertService) -> None:
        self._alerts = alerts

    def raise_low_balance(self, account_id: str, available: Decimal, threshold: Decimal) -> None:
        self._alerts.retire_system_alerts(account_id, LOW_BALANCE_CATEGORY)  # one alert at a time
        self._alerts.raise_system_alert(
            account_id,
            title="Account balance is low",
            message=f"The account's balance ({available}) is below its low balance threshold ({threshold}). "
            "Top up to keep it in good standing.",
            category=LOW_BALANCE_CATEGORY,
            level="warning",
            metadata=[{"available": _number(available), "threshold": _number(threshold)}],
            to=[Recipient(type="admins", value=account_id)],
        )

    def retire_low_balance(self, account_id: str) -> None:
        self._alerts.retire_system_alerts(account_id, LOW_BALANCE_CATEGORY)


class BillingEvents:
    """Synchronization as an ESS event on the Billing-Events topic (delivered by the webhook pipeline)."""

    def __init__(self, publishing: PublishingService) -> None:
        self._publishing = publishing

    def publish_billing(self, account_id: str, event_type: str, fields: dict[str, Any]) -> str:
        return self._publishing.publish_event(account_id, BILLING_TOPIC, event_type, fields).id
