"""The services API: plans assigned, overrides, manual quantities, audit, money, standing.

Every change is one conditional transaction of the services document (or the ledger), its audit
entry and, for quantities, the day's counters: a change is recorded whole or not at all.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from switchboard import clock, ids
from switchboard.accounts.models import Account
from switchboard.accounts.repository import AccountsRepository
from switchboard.accounts.service import AccountService
from switchboard.dialects import validation
from switchboard.errors import FieldError, Forbidden, InvalidInput, NotFound, Unavailable
from switchboard.services import audit as audit_module
from switchboard.services import invoices as invoice_maths
from switchboard.services.audit import RequestInfo
from switchboard.services.models import (
    EDITABLE_FIELDS,
    AuditEntry,
    BillingInput,
    ItemOverride,
    LedgerTransaction,
    Plan,
    ServicesDocument,
    TopupInput,
)
from switchboard.services.repository import ServicesRepository
from switchboard.store.dynamo import TransactionFailed
from switchboard.store.pages import Page, PageRequest
from switchboard.tenancy import AccountScope, Caller

AUDIT_DEFAULT_DAYS = 31
AUDIT_MAX_DAYS = 366
WRITE_TRIES = 6
_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MAX_MANUAL = 1_000_000_000


class LowBalanceAlerts(Protocol):
    """How the services context tells an account's admins about money (the alerts context)."""

    def raise_low_balance(self, account_id: str, available: Decimal, threshold: Decimal) -> None: ...

    def retire_low_balance(self, account_id: str) -> None: ...


class BillingPublisher(Protocol):
    """Where synchronization sends the services document and invoice (an ESS topic)."""

    def publish_billing(self, account_id: str, event_type: str, fields: dict[str, Any]) -> str: ...


class SourceCounter(Protocol):
    """Counts an account's billable resources in their own tables (reconciliation)."""

    def count(self, account_id: str) -> dict[tuple[str, str], int]: ...


def wire_number(value: Decimal) -> int | float:
    """A Decimal as a JSON number: exact integers stay integers."""
    return int(value) if value == value.to_integral_value() else float(value)


def wire(value: Any) -> Any:
    """A document with every Decimal turned into a JSON number (the dialect edge)."""
    if isinstance(value, Decimal):
        return wire_number(value)
    if isinstance(value, dict):
        return {key: wire(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [wire(item) for item in value]
    return value


def next_cycle_ms(now_ms: int) -> int:
    """The first instant (UTC) of the next calendar month: when the next recurring charge is due."""
    now = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return int(datetime(year, month, 1, tzinfo=UTC).timestamp() * 1000)


def cycle_of(now_ms: int) -> str:
    return datetime.fromtimestamp(now_ms / 1000, tz=UTC).strftime("%Y-%m")


class PlanCache:
    """Plans read for invoices, kept a short while per container (plans change rarely; every
    plan write through this container forgets them at once)."""

    def __init__(self, repository: ServicesRepository, ttl_s: float = 60.0) -> None:
        self._repo = repository
        self._ttl_s = ttl_s
        self._plans: dict[tuple[str, str], tuple[float, Plan | None]] = {}

    def plans_for(self, document: ServicesDocument) -> dict[str, Plan]:
        wanted = {(str(meta.get("vendor_id", "")), plan_id) for plan_id, meta in document.plans.items()}
        now = time.monotonic()
        missing = [key for key in wanted if key not in self._plans or self._plans[key][0] < now]
        if missing:
            found = self._repo.get_plans(missing)
            for reseller, plan_id in missing:
                plan = found.get(plan_id)
                usable = plan if plan is not None and plan.reseller_id == reseller else None
                self._plans[(reseller, plan_id)] = (now + self._ttl_s, usable)
        return {plan_id: plan for key in wanted if (plan := self._plans[key][1]) is not None for plan_id in [key[1]]}

    def forget(self) -> None:
        self._plans.clear()


class ServicesService:
    def __init__(
        self,
        repository: ServicesRepository,
        accounts: AccountsRepository,
        plans: PlanCache,
        alerts: LowBalanceAlerts,
        sources: SourceCounter | None = None,
        publisher: BillingPublisher | None = None,
        now_ms: Callable[[], int] = clock.now_ms,
    ) -> None:
        self._repo = repository
        self._accounts = accounts
        self._plans = plans
        self._alerts = alerts
        self._sources = sources
        self._publisher = publisher
        self._now_ms = now_ms

    # ------------------------------------------------------------ authorisation
    def _readable(self, caller: Caller, account_id: str) -> Account | AccountScope:
        return AccountService(self._accounts).scope_for(caller, account_id)

    def _reseller_of_account(self, caller: Caller, account_id: str) -> Account | AccountScope:
        """Changes that cost money need the account's reseller (an ancestor's admin) or an operator."""
        account = self._readable(caller, account_id)
        if caller.is_operator or (caller.is_admin and caller.account_id in account.ancestry):
            return account
        raise Forbidden("only the account's reseller (or an operator) may change its services")

    def _admin_of(self, caller: Caller, account_id: str) -> Account | AccountScope:
        account = self._readable(caller, account_id)
        if not caller.is_admin_of(account.id, account.ancestry):
            raise Forbidden("only an admin of the account (or of its reseller) may do this")
        return account

    def reseller_id(self, account: Account | AccountScope) -> str:
        """The account whose plan catalog applies: the nearest reseller above it, else the top account."""
        for ancestor_id in reversed(account.ancestry):
            ancestor = self._accounts.get_account(ancestor_id)
            if ancestor is not None and ancestor.is_reseller:
                return ancestor.id
        return account.ancestry[0] if account.ancestry else account.id

    # ------------------------------------------------------------ reads
    def services(self, caller: Caller, account_id: str) -> dict[str, Any]:
        account = self._readable(caller, account_id)
        document = self._repo.get_document(account.id)
        return self._document_view(document, self._standing(account.id))

    def status(self, caller: Caller, account_id: str) -> dict[str, Any]:
        account = self._readable(caller, account_id)
        standing = self._standing(account.id)
        if standing["acceptable"]:
            return {"in_good_standing": True}
        return {"in_good_standing": False, "reason": standing["reason"], "reason_code": standing["reason_code"]}

    def summary(self, caller: Caller, account_id: str) -> dict[str, Any]:
        account = self._readable(caller, account_id)
        document = self._repo.get_document(account.id)
        return self._summary(account, document, {})

    def available(self, caller: Caller, account_id: str) -> list[dict[str, Any]]:
        account = self._readable(caller, account_id)
        plans = sorted(self._repo.list_plans(self.reseller_id(account)), key=lambda plan: (plan.spec.name, plan.id))
        return [plan.listing() for plan in plans]

    def editable(self, caller: Caller, account_id: str) -> dict[str, Any]:
        account = self._readable(caller, account_id)
        document = self._repo.get_document(account.id)
        result: dict[str, dict[str, Any]] = {}
        for plan in self._plans.plans_for(document).values():
            for category, items in plan.spec.plan.items():
                for item in items:
                    result.setdefault(category, {})[item] = list(EDITABLE_FIELDS)
        return result

    def manual(self, caller: Caller, account_id: str) -> dict[str, Any]:
        account = self._readable(caller, account_id)
        return self._repo.get_document(account.id).manual

    def overrides(self, caller: Caller, account_id: str) -> dict[str, Any]:
        account = self._readable(caller, account_id)
        return self._repo.get_document(account.id).overrides

    # ------------------------------------------------------------ audit
    def audit_list(
        self, caller: Caller, account_id: str, created_from: int | None, created_to: int | None, page: PageRequest
    ) -> Page:
        account = self._readable(caller, account_id)
        from_ms, to_ms = audit_module.gregorian_range(created_from, created_to, AUDIT_DEFAULT_DAYS, AUDIT_MAX_DAYS)
        entries, next_key = self._repo.audit_page(account.id, from_ms, to_ms, page.size, page.start_key)
        return Page(items=[entry.document() for entry in entries], start_key=page.start_key, next_start_key=next_key)

    def audit_entry(self, caller: Caller, account_id: str, audit_id: str) -> dict[str, Any]:
        account = self._readable(caller, account_id)
        if not audit_module.AUDIT_ID.match(audit_id):
            raise InvalidInput.single("audit_id", "pattern", "an audit id is YYYYMM- and 32 hex digits", audit_id)
        entry = self._repo.get_audit(account.id, audit_module.parse_audit_id(audit_id))
        if entry is None:
            raise NotFound(audit_id, "audit entry")
        return entry.document()

    def audit_summary(
        self, caller: Caller, account_id: str, created_from: int | None, created_to: int | None, source: str | None
    ) -> list[dict[str, Any]]:
        account = self._readable(caller, account_id)
        if source is not None and not _NAME.match(source):
            raise InvalidInput.single("source", "pattern", "a service source is an item name", source)
        from_ms, to_ms = audit_module.gregorian_range(created_from, created_to, AUDIT_DEFAULT_DAYS, AUDIT_MAX_DAYS)
        rows = audit_module.summary_rows(
            self._repo.day_counters(account.id, audit_module.day_of(from_ms), audit_module.day_of(to_ms))
        )
        if source is None:
            return [rows]
        days = rows.get(source, {})
        return [{day: days[day]} for day in sorted(days, reverse=True)]

    # ------------------------------------------------------------ changes (reseller or operator)
    def update(self, caller: Caller, account_id: str, data: BillingInput, request: RequestInfo) -> dict[str, Any]:
        only_billing = not (data.add or data.plans or data.delete or data.overrides is not None) and (
            data.low_balance_threshold is None
        )
        account = self._admin_of(caller, account_id) if only_billing else self._reseller_of_account(caller, account_id)
        if data.low_balance_threshold is not None:
            self._set_threshold(caller, account.id, data.low_balance_threshold, request)

        def change(document: ServicesDocument) -> ServicesDocument:
            return self._apply_input(account, document, data)

        document = self._change(caller, account, request, change)
        return self._document_view(document, self._standing(account.id))

    def quote(self, caller: Caller, account_id: str, data: BillingInput) -> dict[str, Any]:
        account = self._readable(caller, account_id)
        current = self._repo.get_document(account.id)
        proposed = self._apply_input(account, current, data)
        return self._summary(account, proposed, {})

    def assign(self, caller: Caller, account_id: str, plan_id: str, request: RequestInfo, add: bool) -> dict[str, Any]:
        account = self._reseller_of_account(caller, account_id)
        data = BillingInput(add=[plan_id]) if add else BillingInput(delete=[plan_id])

        def change(document: ServicesDocument) -> ServicesDocument:
            if not add and plan_id not in document.plans:
                raise NotFound(plan_id, "plan")
            return self._apply_input(account, document, data)

        document = self._change(caller, account, request, change)
        return document.plans

    def set_manual(
        self, caller: Caller, account_id: str, body: Any, merge: bool, request: RequestInfo
    ) -> dict[str, Any]:
        account = self._reseller_of_account(caller, account_id)
        given = _manual_quantities(body)

        def change(document: ServicesDocument) -> ServicesDocument:
            manual = _merged(document.manual, given) if merge else given
            manual = {c: {i: n for i, n in items.items() if n} for c, items in manual.items()}
            return document.model_copy(update={"manual": {c: items for c, items in manual.items() if items}})

        return self._change(caller, account, request, change).manual

    def set_overrides(
        self, caller: Caller, account_id: str, body: Any, merge: bool, request: RequestInfo
    ) -> dict[str, Any]:
        account = self._reseller_of_account(caller, account_id)
        given = _overrides(body)

        def change(document: ServicesDocument) -> ServicesDocument:
            overrides = _merged(document.overrides, given) if merge else given
            return document.model_copy(update={"overrides": overrides})

        return self._change(caller, account, request, change).overrides

    # ------------------------------------------------------------ money
    def topup(self, caller: Caller, account_id: str, amount: Any, request: RequestInfo) -> dict[str, Any]:
        account = self._admin_of(caller, account_id)
        parsed = _amount(amount)
        key = request.idempotency_key or request.request_id
        for _ in range(WRITE_TRIES):
            done = self._repo.get_topup(account.id, key)
            if done is not None:  # the same request again: credited once
                return self._ledger_view(account.id, done)
            balance, threshold, version = self._repo.get_ledger(account.id)
            now = self._now_ms()
            txn = LedgerTransaction(
                id=ids.new_hex_id(),
                account_id=account.id,
                kind="credit",
                amount=parsed,
                reason="topup",
                description="top-up",
                created_ms=now,
                balance=balance + parsed,
            )
            entry = self._entry(caller, account.id, request, {"ledger": {"before": balance, "after": txn.balance}}, now)
            try:
                self._repo.write(
                    [
                        self._repo.topup_marker(account.id, key, txn, now // 1000),
                        self._repo.ledger_write(account.id, txn.balance, threshold, version),
                        self._repo.transaction_put(txn),
                        self._repo.audit_put(entry),
                    ]
                )
            except TransactionFailed:
                continue  # a concurrent ledger write, or this request credited meanwhile: read again
            self._after_balance_change(account.id, txn.balance, threshold, before=balance)
            return self._ledger_view(account.id, txn)
        raise Unavailable("the ledger is busy; send the top-up again with the same X-Request-ID")

    def charge_cycle(self, account_id: str, now_ms: int | None = None) -> LedgerTransaction | None:
        """Debit the account's recurring charge for the current billing cycle, once per cycle."""
        now = now_ms or self._now_ms()
        cycle = cycle_of(now)
        account = self._accounts.get_account(account_id)
        if account is None:
            return None
        document = self._repo.get_document(account_id)
        recurring = invoice_maths.recurring_total(invoice_maths.invoices(document, self._plans.plans_for(document)))
        for _ in range(WRITE_TRIES):
            balance, threshold, version = self._repo.get_ledger(account_id)
            txn = LedgerTransaction(
                id=ids.new_hex_id(),
                account_id=account_id,
                kind="debit",
                amount=recurring,
                reason="recurring",
                description=f"billing cycle {cycle}",
                created_ms=now,
                balance=balance - recurring,
            )
            authentication, agent = audit_module.system_agent("billing_cycle")
            entry = AuditEntry(
                id=audit_module.new_audit_id(now),
                account_id=account_id,
                created_ms=now,
                authentication=authentication,
                agent=agent,
                changes=wire({"ledger": {"before": balance, "after": txn.balance}, "cycle": cycle}),
                invoice=wire({"recurring": recurring}),
            )
            try:
                self._repo.write(
                    [
                        self._repo.cycle_marker(account_id, cycle),
                        self._repo.ledger_write(account_id, txn.balance, threshold, version),
                        self._repo.transaction_put(txn),
                        self._repo.audit_put(entry),
                    ]
                )
            except TransactionFailed as exc:
                if exc.failed(0):
                    return None  # this cycle was charged already
                continue
            self._after_balance_change(account_id, txn.balance, threshold, before=balance)
            return txn
        raise Unavailable("the ledger is busy; the cycle is charged on the next run")

    def charge_all(self, now_ms: int | None = None) -> int:
        charged = 0
        for account_id in self._repo.billed_accounts():
            if self.charge_cycle(account_id, now_ms) is not None:
                charged += 1
        return charged

    # ------------------------------------------------------------ reconciliation and synchronization
    def reconcile(self, caller: Caller, account_id: str, request: RequestInfo) -> None:
        account = self._reseller_of_account(caller, account_id)
        if self._sources is None:
            raise Unavailable("reconciliation is not configured for this function")
        counted = self._sources.count(account.id)

        def change(document: ServicesDocument) -> ServicesDocument:
            quantities: dict[str, dict[str, int]] = {}
            for (category, item), count in counted.items():
                if count:
                    quantities.setdefault(category, {})[item] = count
            return document.model_copy(update={"account_quantities": quantities})

        self._change(caller, account, request, change, counted_days=True)

    def synchronize(self, caller: Caller, account_id: str, request: RequestInfo) -> str:
        account = self._reseller_of_account(caller, account_id)
        if self._publisher is None:
            raise Unavailable("synchronization is not configured for this function")
        document = self._repo.get_document(account.id)
        raw_summary = self._summary(account, document, {})
        summary_recurring = invoice_maths.recurring_total(raw_summary["invoices"])
        summary = wire(raw_summary)
        import json

        fields = {
            "account-id": account.id,
            "reseller-id": summary["reseller"]["id"],
            "billing-id": document.billing_id or "",
            "recurring": str(summary_recurring),
            "services": json.dumps(summary, separators=(",", ":"), sort_keys=True),
        }
        # The reseller's bookkeeper subscribes in the reseller's account.
        return self._publisher.publish_billing(summary["reseller"]["id"], "services_synchronized", fields)

    # ------------------------------------------------------------ internals
    def _apply_input(
        self, account: Account | AccountScope, document: ServicesDocument, data: BillingInput
    ) -> ServicesDocument:
        plans = dict(document.plans)
        adding = [*data.add, *data.plans]
        for plan_id in [*adding, *data.delete]:
            if not _NAME.match(plan_id):
                raise NotFound(plan_id[:64], "plan")  # no plan is named so (and no key may be built from it)
        if adding:
            reseller = self.reseller_id(account)
            errors = []
            for plan_id in adding:
                if self._repo.get_plan(reseller, plan_id) is None:
                    errors.append(plan_id)
                else:
                    plans[plan_id] = {"vendor_id": reseller, "overrides": plans.get(plan_id, {}).get("overrides", {})}
            if errors:
                raise NotFound(errors[0], "plan")
        for plan_id in data.delete:
            if plan_id not in plans:
                raise NotFound(plan_id, "plan")
            plans.pop(plan_id)
        update: dict[str, Any] = {"plans": plans}
        if data.billing_id is not None:
            update["billing_id"] = data.billing_id
        if data.overrides is not None:
            given = {
                category: {
                    item: override.model_dump(mode="json", exclude_none=True) for item, override in items.items()
                }
                for category, items in data.overrides.items()
            }
            update["overrides"] = _overrides(given)
        return document.model_copy(update=update)

    def _change(
        self,
        caller: Caller,
        account: Account | AccountScope,
        request: RequestInfo,
        change: Callable[[ServicesDocument], ServicesDocument],
        counted_days: bool = False,
    ) -> ServicesDocument:
        """Read, change, write conditionally with its audit entry; again from a fresh read on a race."""
        for _ in range(WRITE_TRIES):
            before = self._repo.get_document(account.id)
            after = change(before).model_copy(update={"version": before.version + 1})
            if after.ancestry is None:
                after = after.model_copy(update={"ancestry": tuple(account.ancestry)})
            now = self._now_ms()
            changes = _differences(before, after)
            if not changes:
                return before  # nothing changes: nothing to write or to audit
            operations = []
            added: dict[tuple[str, str], int] = {}
            if counted_days:
                for (category, item), (old, new) in _quantity_moves(before, after).items():
                    added[(category, item)] = max(new - old, 0)
                    operations.append(
                        self._repo.day_write(
                            account.id,
                            audit_module.day_of(now),
                            item,
                            max(new - old, 0),
                            max(old - new, 0),
                            new,
                            clock.gregorian_from_ms(now),
                        )
                    )
                # the ancestors' cascade counts move with the account's, as the stream's counted changes move them
                deltas = {key: new - old for key, (old, new) in _quantity_moves(before, after).items()}
                if deltas:
                    operations.extend(self._repo.cascade_write(ancestor, deltas) for ancestor in after.ancestry or ())
            entry = self._entry(caller, account.id, request, changes, now, after, added)
            operations = [self._repo.document_write(before, after), self._repo.audit_put(entry), *operations]
            if set(before.plans) != set(after.plans):
                operations.append(self._repo.billed_marker(account.id, bool(after.plans)))
            try:
                self._repo.write(operations)
            except TransactionFailed:
                continue
            return after
        raise Unavailable("the services document is busy; send the request again")

    def _entry(
        self,
        caller: Caller,
        account_id: str,
        request: RequestInfo,
        changes: dict[str, Any],
        now: int,
        document: ServicesDocument | None = None,
        added: dict[tuple[str, str], int] | None = None,
    ) -> AuditEntry:
        authentication, agent = audit_module.who(caller)
        invoice = None
        if document is not None:
            invoice_list = invoice_maths.invoices(document, self._plans.plans_for(document), added)
            invoice = {
                "recurring": invoice_maths.recurring_total(invoice_list),
                "today": invoice_maths.today_total(invoice_list),
            }
        return AuditEntry(
            id=audit_module.new_audit_id(now),
            account_id=account_id,
            created_ms=now,
            authentication=authentication,
            agent=agent,
            request=request.audit_fields(),
            changes=wire(changes),
            invoice=wire(invoice),
        )

    def _summary(
        self, account: Account | AccountScope, document: ServicesDocument, added: dict[tuple[str, str], int]
    ) -> dict[str, Any]:
        plans = self._plans.plans_for(document)
        full = account if isinstance(account, Account) else self._accounts.get_account(account.id)
        standing = self._standing(account.id)
        return {
            "plans": document.plans,
            "overrides": document.overrides,
            "invoices": invoice_maths.invoices(document, plans, added),
            "quantities": document.quantities_document(),
            "reseller": {"id": self.reseller_id(account), "is_reseller": bool(full and full.is_reseller)},
            "billing_cycle": {
                "next": clock.gregorian_from_ms(next_cycle_ms(self._now_ms())),
                "period": 1,
                "unit": "month",
            },
            "status": {"acceptable": standing["acceptable"], "reason": standing.get("reason", "no_issues")},
        }

    def _document_view(self, document: ServicesDocument, standing: dict[str, Any]) -> dict[str, Any]:
        view: dict[str, Any] = {
            "id": document.account_id,
            "plans": document.plans,
            "overrides": document.overrides,
            "quantities": document.quantities_document(),
            "status": "good_standing" if standing["acceptable"] else "delinquent",
        }
        if document.billing_id is not None:
            view["billing_id"] = document.billing_id
        return view

    def _standing(self, account_id: str) -> dict[str, Any]:
        balance, threshold, _ = self._repo.get_ledger(account_id)
        if balance < 0:
            reason, code = "the account's balance is below zero", "negative_balance"
        elif balance < threshold:
            reason, code = "the account's balance is below its low balance threshold", "low_balance"
        else:
            return {"acceptable": True, "balance": balance}
        return {"acceptable": False, "reason": reason, "reason_code": code, "balance": balance}

    def _set_threshold(self, caller: Caller, account_id: str, threshold: Decimal, request: RequestInfo) -> None:
        for _ in range(WRITE_TRIES):
            balance, old, version = self._repo.get_ledger(account_id)
            if old == threshold:
                return
            changes = {"low_balance_threshold": {"before": old, "after": threshold}}
            entry = self._entry(caller, account_id, request, changes, self._now_ms())
            try:
                self._repo.write(
                    [self._repo.ledger_write(account_id, balance, threshold, version), self._repo.audit_put(entry)]
                )
            except TransactionFailed:
                continue
            self._after_balance_change(account_id, balance, threshold, before=balance, old_threshold=old)
            return
        raise Unavailable("the ledger is busy; send the request again")

    def _after_balance_change(
        self,
        account_id: str,
        balance: Decimal,
        threshold: Decimal,
        before: Decimal,
        old_threshold: Decimal | None = None,
    ) -> None:
        """Delinquency raises the non-clearable low_balance alert; good standing again retires it."""
        was_low = before < 0 or before < (threshold if old_threshold is None else old_threshold)
        is_low = balance < 0 or balance < threshold
        if is_low and not was_low:
            self._alerts.raise_low_balance(account_id, balance, threshold)
        elif was_low and not is_low:
            self._alerts.retire_low_balance(account_id)

    def _ledger_view(self, account_id: str, txn: LedgerTransaction) -> dict[str, Any]:
        balance, threshold, _ = self._repo.get_ledger(account_id)
        return {
            "ledger": {"account_id": account_id, "balance": balance, "low_balance_threshold": threshold},
            "transaction": txn.document(),
        }


# ---------------------------------------------------------------- input shapes


def _amount(value: Any) -> Decimal:
    """A top-up amount in dollars: a number > 0 (anything else is KAZOO's required error on `amount`)."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str) or value in ("",):
        raise InvalidInput.single("amount", "required", "Field is required but missing", "amount")
    try:
        parsed = validation.parse(TopupInput, {"amount": value})
    except InvalidInput:
        raise InvalidInput.single("amount", "required", "Field is required but missing", "amount") from None
    if not parsed.amount.is_finite() or parsed.amount <= 0:
        raise InvalidInput.single("amount", "required", "Field is required but missing", "amount")
    return parsed.amount


def _manual_quantities(body: Any) -> dict[str, dict[str, int]]:
    if not isinstance(body, dict):
        raise InvalidInput.single("data", "type", "Value did not match type(s): object", None, "object")
    errors: list[FieldError] = []
    result: dict[str, dict[str, int]] = {}
    for category, items in body.items():
        if not _NAME.match(str(category)):
            errors.append(FieldError((category,), "pattern", "a category name is letters, digits and _.:-", category))
            continue
        if not isinstance(items, dict):
            errors.append(FieldError((category,), "type", "Value did not match type(s): object", None, "object"))
            continue
        for item, count in items.items():
            path = (category, item)
            if not _NAME.match(str(item)):
                errors.append(FieldError(path, "pattern", "an item name is letters, digits and _.:-", item))
            elif isinstance(count, bool) or not isinstance(count, int):
                message = "Value did not match type(s): integer"
                errors.append(FieldError(path, "type", message, _plain(count), "integer"))
            elif not 0 <= count <= MAX_MANUAL:
                code = "minimum" if count < 0 else "maximum"
                limit = 0 if count < 0 else MAX_MANUAL
                errors.append(FieldError(path, code, f"a quantity is between 0 and {MAX_MANUAL}", count, limit))
            else:
                result.setdefault(category, {})[item] = count
    if errors:
        raise InvalidInput(errors)
    return result


def _overrides(body: Any) -> dict[str, dict[str, dict[str, Any]]]:
    if not isinstance(body, dict):
        raise InvalidInput.single("data", "type", "Value did not match type(s): object", None, "object")
    errors: list[FieldError] = []
    result: dict[str, dict[str, dict[str, Any]]] = {}
    for category, items in body.items():
        if not _NAME.match(str(category)):
            errors.append(FieldError((category,), "pattern", "a category name is letters, digits and _.:-", category))
            continue
        if not isinstance(items, dict):
            errors.append(FieldError((category,), "type", "Value did not match type(s): object", None, "object"))
            continue
        for item, fields in items.items():
            if not _NAME.match(str(item)):
                errors.append(FieldError((category, item), "pattern", "an item name is letters, digits and _.:-", item))
                continue
            try:
                parsed = validation.parse(ItemOverride, fields, (category, item))
            except InvalidInput as exc:
                errors += exc.errors
                continue
            result.setdefault(category, {})[item] = parsed.model_dump(mode="python", exclude_none=True)
    if errors:
        raise InvalidInput(errors)
    return result


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) else None


def _merged(base: dict[str, dict[str, Any]], given: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    merged = {category: dict(items) for category, items in base.items()}
    for category, items in given.items():
        merged.setdefault(category, {}).update(items)
    return merged


def _quantity_moves(before: ServicesDocument, after: ServicesDocument) -> dict[tuple[str, str], tuple[int, int]]:
    keys = {(c, i) for c, items in before.account_quantities.items() for i in items}
    keys |= {(c, i) for c, items in after.account_quantities.items() for i in items}
    moves = {}
    for category, item in sorted(keys):
        old = before.account_quantities.get(category, {}).get(item, 0)
        new = after.account_quantities.get(category, {}).get(item, 0)
        if old != new:
            moves[(category, item)] = (old, new)
    return moves


def _differences(before: ServicesDocument, after: ServicesDocument) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name in ("plans", "overrides", "manual", "billing_id"):
        old, new = getattr(before, name), getattr(after, name)
        if old != new:
            changes[name] = {"before": old, "after": new}
    moves = _quantity_moves(before, after)
    if moves:
        changes["quantities"] = {
            f"{category}.{item}": {"before": old, "after": new} for (category, item), (old, new) in moves.items()
        }
    return changes
