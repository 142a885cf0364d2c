"""Service plans, the services document, audit entries and ledger transactions.

Money is `Decimal` from the wire to the table and back; a float never holds an amount.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_NAME = r"^[A-Za-z0-9_.:-]{1,64}$"
MAX_AMOUNT = Decimal("1000000000")
Money = Field(ge=0, le=MAX_AMOUNT, max_digits=18, decimal_places=6)
AUDIT_ID = re.compile(r"^(\d{4})(0[1-9]|1[0-2])-([0-9a-f]{32})$")


def _no_floats(value: Any) -> Any:
    # Amounts arrive as Decimal (the body is parsed with parse_float=Decimal) or as strings.
    if isinstance(value, float):
        raise ValueError("amounts are parsed exactly; send a JSON number")
    return value


class _Input(BaseModel):
    model_config = ConfigDict(strict=False, extra="forbid", frozen=True)


class SingleDiscount(_Input):
    rate: Decimal = Money


class CumulativeDiscount(_Input):
    rate: Decimal = Money
    maximum: int = Field(default=1_000_000_000, ge=0, le=1_000_000_000)


class Discounts(_Input):
    single: SingleDiscount | None = None
    cumulative: CumulativeDiscount | None = None


class PlanItem(_Input):
    """One item of a plan: what a unit costs, what a new unit costs once, the least billed."""

    rate: Decimal = Field(default=Decimal(0), ge=0, le=MAX_AMOUNT, max_digits=18, decimal_places=6)
    activation_charge: Decimal = Field(default=Decimal(0), ge=0, le=MAX_AMOUNT, max_digits=18, decimal_places=6)
    minimum: int = Field(default=0, ge=0, le=1_000_000_000)
    cascade: bool = False
    discounts: Discounts = Discounts()
    name: str | None = Field(default=None, min_length=1, max_length=128)

    _exact = field_validator("rate", "activation_charge", mode="before")(_no_floats)


CategoryItems = dict[str, PlanItem]


class PlanInput(_Input):
    """A service plan (the KAZOO plan shape): categories → items → prices."""

    model_config = ConfigDict(strict=False, extra="ignore", frozen=True)

    name: str = Field(min_length=1, max_length=128)
    description: str = Field(default="", max_length=1024)
    category: str = Field(default="general", min_length=1, max_length=64)
    plan: dict[str, CategoryItems] = Field(min_length=1, max_length=32)

    @field_validator("plan")
    @classmethod
    def _names(cls, value: dict[str, CategoryItems]) -> dict[str, CategoryItems]:
        for category, items in value.items():
            if not re.match(_NAME, category) or not items or len(items) > 64:
                raise ValueError(f"category {category!r}: a name of letters, digits, _.:- with 1 to 64 items")
            for item in items:
                if not re.match(_NAME, item):
                    raise ValueError(f"item {category}.{item}: letters, digits and _.:- only")
        return value


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    reseller_id: str
    spec: PlanInput
    revision: int = 1

    def document(self) -> dict[str, Any]:
        return {"id": self.id, **self.spec.model_dump(mode="python", exclude_none=True)}

    def listing(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.spec.name,
            "description": self.spec.description,
            "category": self.spec.category,
        }


# ---------------------------------------------------------------- overrides and manual quantities


class ItemOverride(_Input):
    """What an admin may override of a plan item (GET /services/editable lists these fields)."""

    rate: Decimal | None = Field(default=None, ge=0, le=MAX_AMOUNT, max_digits=18, decimal_places=6)
    activation_charge: Decimal | None = Field(default=None, ge=0, le=MAX_AMOUNT, max_digits=18, decimal_places=6)
    minimum: int | None = Field(default=None, ge=0, le=1_000_000_000)
    discounts: Discounts | None = None

    _exact = field_validator("rate", "activation_charge", mode="before")(_no_floats)


EDITABLE_FIELDS = ("rate", "activation_charge", "minimum", "discounts")


def _check_names(value: dict[str, dict[str, Any]]) -> None:
    for category, items in value.items():
        if not re.match(_NAME, category):
            raise ValueError(f"category {category!r}: letters, digits and _.:- only")
        if not isinstance(items, dict):
            raise ValueError(f"{category}: an object of items")
        for item in items:
            if not re.match(_NAME, item):
                raise ValueError(f"item {category}.{item}: letters, digits and _.:- only")


# ---------------------------------------------------------------- the services document


class ServicesDocument(BaseModel):
    """What KAZOO stores per account: plans, overrides, quantities, billing id, standing."""

    model_config = ConfigDict(frozen=True)

    account_id: str
    plans: dict[str, dict[str, Any]] = {}  # plan id -> {"vendor_id": reseller, "overrides": {}}
    overrides: dict[str, dict[str, dict[str, Any]]] = {}
    manual: dict[str, dict[str, int]] = {}
    account_quantities: dict[str, dict[str, int]] = {}  # counted in this account
    cascade_quantities: dict[str, dict[str, int]] = {}  # counted in its descendants
    billing_id: str | None = None
    version: int = 0
    ancestry: tuple[str, ...] | None = None

    def quantity(self, category: str, item: str, cascade: bool) -> int:
        own = self.account_quantities.get(category, {}).get(item, 0)
        below = self.cascade_quantities.get(category, {}).get(item, 0) if cascade else 0
        return own + below + self.manual.get(category, {}).get(item, 0)

    def quantities_document(self) -> dict[str, Any]:
        cascade: dict[str, dict[str, int]] = {}
        for category, items in self.account_quantities.items():
            for item, count in items.items():
                cascade.setdefault(category, {})[item] = count
        for category, items in self.cascade_quantities.items():
            for item, count in items.items():
                cascade.setdefault(category, {})[item] = cascade.get(category, {}).get(item, 0) + count
        return {"account": self.account_quantities, "cascade": cascade, "manual": self.manual}


class BillingInput(_Input):
    """POST /services: the billing id (KAZOO 4.2) and, as in 4.3, plans to add or delete."""

    billing_id: str | None = Field(default=None, min_length=1, max_length=128)
    add: list[str] = Field(default=[], max_length=16)
    plans: list[str] = Field(default=[], max_length=16)
    delete: list[str] = Field(default=[], max_length=16)
    overrides: dict[str, dict[str, ItemOverride]] | None = None
    low_balance_threshold: Decimal | None = Field(default=None, ge=0, le=MAX_AMOUNT, max_digits=18, decimal_places=6)

    _exact = field_validator("low_balance_threshold", mode="before")(_no_floats)

    @field_validator("overrides")
    @classmethod
    def _override_names(cls, value: dict[str, dict[str, ItemOverride]] | None) -> Any:
        if value is not None:
            _check_names(value)
        return value


class TopupInput(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    amount: Decimal = Field(gt=0, le=MAX_AMOUNT, max_digits=18, decimal_places=6)

    _exact = field_validator("amount", mode="before")(_no_floats)


# ---------------------------------------------------------------- audit and ledger

AuditStatus = Literal["pending", "completed", "failed"]


class AuditEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    account_id: str
    created_ms: int
    authentication: dict[str, Any]
    agent: dict[str, Any]
    request: dict[str, Any] = {}
    changes: dict[str, Any]
    invoice: dict[str, Any] | None = None
    status: AuditStatus = "completed"

    def document(self) -> dict[str, Any]:
        from switchboard import clock

        doc: dict[str, Any] = {
            **self.request,  # method, path, client_ip, request_id
            "id": self.id,
            "account_id": self.account_id,
            "created": clock.gregorian_from_ms(self.created_ms),
            "authentication": self.authentication,
            "agent": self.agent,
            "changes": self.changes,
            "status": self.status,
        }
        if self.invoice is not None:
            doc["invoice"] = self.invoice
        return doc


class LedgerTransaction(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    account_id: str
    kind: Literal["credit", "debit"]
    amount: Decimal
    reason: str
    description: str
    created_ms: int
    balance: Decimal

    def document(self) -> dict[str, Any]:
        from switchboard import clock

        return {
            "id": self.id,
            "type": self.kind,
            "amount": self.amount,
            "reason": self.reason,
            "description": self.description,
            "created": clock.gregorian_from_ms(self.created_ms),
            "balance": self.balance,
        }
