"""The alert system: create, list, read and clear alerts, as the caller is allowed to."""

from __future__ import annotations

from switchboard import clock, ids
from switchboard.accounts.models import Account
from switchboard.accounts.repository import AccountsRepository
from switchboard.accounts.service import AccountService
from switchboard.alerts.models import Alert, AlertInput, Originator, Recipient, Slot
from switchboard.alerts.repository import AlertsRepository
from switchboard.alerts.visibility import is_visible, visibility_keys
from switchboard.errors import FeatureDisabled, FieldError, Forbidden, InvalidInput, NotFound
from switchboard.store.pages import Page, PageRequest
from switchboard.tenancy import AccountScope, Caller


class AlertService:
    def __init__(self, alerts: AlertsRepository, accounts: AccountsRepository, enabled: bool = True) -> None:
        self._alerts = alerts
        self._accounts = accounts
        self._enabled = enabled

    # ------------------------------------------------------------ API operations
    def create(self, caller: Caller, account_id: str, data: AlertInput) -> Alert:
        if not self._enabled:
            raise FeatureDisabled("alerts")
        account = self._account_for(caller, account_id)
        if not caller.is_admin_of(account.id, account.ancestry):
            raise Forbidden("only an admin of the account (or of its reseller) may create alerts")
        return self._store(account, data, clearable=True)

    def list_for(self, caller: Caller, account_id: str, request: PageRequest) -> Page:
        account = self._account_for(caller, account_id)
        keys = visibility_keys(caller, account.id, account.ancestry)
        return self._alerts.list_rows(keys, request, clock.now_ms() // 1000)

    def get(self, caller: Caller, account_id: str, alert_id: str) -> Alert:
        return self._visible_alert(caller, self._account_for(caller, account_id), alert_id)

    def clear(self, caller: Caller, account_id: str, alert_id: str) -> Alert:
        """Admins clear any alert they see; a plain user only one addressed to them alone, since
        clearing removes the alert for every recipient."""
        account = self._account_for(caller, account_id)
        alert = self._visible_alert(caller, account, alert_id)
        if not alert.clearable:
            raise Forbidden("this alert was raised by the system and cannot be cleared")
        personal = {Slot(account_id=account.id, audience=f"user#{caller.user_id}", key=("user", caller.user_id or ""))}
        if not caller.is_admin_of(account.id, account.ancestry) and set(alert.slots) - personal:
            raise Forbidden("only an admin may clear an alert addressed to others as well")
        self._alerts.delete(alert)
        return alert

    # ------------------------------------------------------------ other modules
    def raise_system_alert(
        self,
        account_id: str,
        title: str,
        message: str,
        category: str,
        to: list[Recipient] | None = None,
        metadata: dict | list | None = None,
        level: str = "warning",
        expiration_date: int | None = None,
    ) -> Alert | None:
        """An alert the system raises (not clearable by users); None when alerts are switched off."""
        if not self._enabled:
            return None
        account = self._accounts.get_account(account_id)
        if account is None:
            raise NotFound(account_id, "account")
        data = AlertInput(
            title=title,
            message=message,
            category=category,
            metadata=metadata,
            level=level,
            expiration_date=expiration_date,
            originators=[Originator(type="account", value=account_id)],
            to=to or [Recipient(type="admins", value=account_id)],
        )
        return self._store(account, data, clearable=False)

    def retire_system_alerts(self, account_id: str, category: str, subject: dict | None = None) -> int:
        """Remove the account's system alerts of one category (the condition they reported ended);
        with `subject`, only those whose metadata carries all of its items (one configuration's)."""
        retired = 0
        for alert in self._alerts.system_alerts(account_id, category):
            if subject and not _carries(alert.metadata, subject):
                continue
            self._alerts.delete(alert)
            retired += 1
        return retired

    # ------------------------------------------------------------ internals
    def _visible_alert(self, caller: Caller, account: Account | AccountScope, alert_id: str) -> Alert:
        alert = self._alerts.get(alert_id) if ids.is_hex_id(alert_id) else None
        keys = visibility_keys(caller, account.id, account.ancestry)
        if alert is None or alert.is_expired(clock.now_ms()) or not is_visible(alert.slots, keys):
            raise NotFound(alert_id, "alert")
        return alert

    def _account_for(self, caller: Caller, account_id: str) -> Account | AccountScope:
        return AccountService(self._accounts).scope_for(caller, account_id)

    def _store(self, account: Account | AccountScope, data: AlertInput, clearable: bool) -> Alert:
        created = clock.now_ms()
        alert = Alert(
            id=ids.new_hex_id(),
            account_id=account.id,
            title=data.title,
            message=data.message,
            category=data.category,
            metadata=data.metadata,
            level=data.level,
            expiration_date=data.expiration_date,
            originators=data.originators,
            to=data.to,
            slots=self._slots(account, data.to),
            clearable=clearable,
            created_ms=created,
            revision=f"1-{ids.new_hex_id()}",
        )
        self._alerts.create(alert)
        return alert

    def _slots(self, account: Account | AccountScope, recipients: list[Recipient]) -> list[Slot]:
        """Where each recipient's entry goes. Recipients must lie in the account's own tree
        (resellers: the account or one of its ancestors), so nobody can post into a stranger's list."""
        slots: list[Slot] = []
        errors: list[FieldError] = []
        for index, recipient in enumerate(recipients):
            path = ("to", index, "value")
            key = (recipient.type, recipient.value)
            if recipient.type == "user":
                user = self._accounts.get_user(recipient.value) if ids.is_hex_id(recipient.value) else None
                owner = self._accounts.get_account(user.account_id) if user else None
                if owner is None or not self._in_tree(account, owner):
                    errors.append(
                        FieldError(path, "invalid", "no such user in this account or below it", recipient.value)
                    )
                    continue
                slots.append(Slot(account_id=owner.id, audience=f"user#{recipient.value}", key=key))
                continue
            target = self._accounts.get_account(recipient.value) if ids.is_hex_id(recipient.value) else None
            allowed = target is not None and (
                self._in_tree(account, target) or (recipient.type == "resellers" and target.id in account.ancestry)
            )
            if not allowed:
                errors.append(FieldError(path, "invalid", "no such account in this account's tree", recipient.value))
                continue
            slots.append(Slot(account_id=recipient.value, audience=recipient.type, key=key))
        if errors:
            raise InvalidInput(errors)
        return slots

    @staticmethod
    def _in_tree(root: Account | AccountScope, other: Account) -> bool:
        return other.id == root.id or root.id in other.ancestry


def _carries(metadata: list[dict] | dict | None, subject: dict) -> bool:
    """Whether an alert's metadata (an array of objects, or one object) has an entry with all of `subject`."""
    entries = metadata if isinstance(metadata, list) else [metadata] if isinstance(metadata, dict) else []
    return any(isinstance(entry, dict) and subject.items() <= entry.items() for entry in entries)
