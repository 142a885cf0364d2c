"""Invoices from plans x quantities, in exact decimals.

For each item of each assigned plan (an account override replacing the fields it names):

    billable  = max(quantity, minimum)
    discount  = single.rate (once, when billable > 0) + cumulative.rate x min(billable, cumulative.maximum)
    total     = max(rate x billable - discount, 0)
    recurring = Σ total                       (charged each billing cycle)
    today     = Σ activation_charge x added   (charged once, for the units a change adds)
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from switchboard.services.models import Discounts, ItemOverride, Plan, PlanItem, ServicesDocument

ZERO = Decimal(0)


def effective_item(item: PlanItem, override: Mapping[str, Any] | None) -> PlanItem:
    if not override:
        return item
    given = ItemOverride.model_validate(override).model_dump(exclude_none=True)
    if "discounts" in given:
        given["discounts"] = Discounts.model_validate(given["discounts"])
    return item.model_copy(update=given)


def line_total(item: PlanItem, quantity: int) -> tuple[int, Decimal]:
    billable = max(quantity, item.minimum)
    discount = ZERO
    if billable > 0 and item.discounts.single is not None:
        discount += item.discounts.single.rate
    if item.discounts.cumulative is not None:
        discount += item.discounts.cumulative.rate * min(billable, item.discounts.cumulative.maximum)
    return billable, max(item.rate * billable - discount, ZERO)


def invoices(
    document: ServicesDocument, plans: Mapping[str, Plan], added: Mapping[tuple[str, str], int] | None = None
) -> list[dict[str, Any]]:
    """One invoice per bookkeeper (here: per reseller catalog the plans come from)."""
    by_vendor: dict[str, list[Plan]] = {}
    for plan_id in sorted(document.plans):
        plan = plans.get(plan_id)
        if plan is not None:
            by_vendor.setdefault(plan.reseller_id, []).append(plan)
    result = []
    for vendor, vendor_plans in sorted(by_vendor.items()):
        lines: list[dict[str, Any]] = []
        recurring = ZERO
        today = ZERO
        for plan in vendor_plans:
            plan_overrides = document.plans.get(plan.id, {}).get("overrides") or {}
            for category, items in sorted(plan.spec.plan.items()):
                for name, base in sorted(items.items()):
                    override = {
                        **(document.overrides.get(category, {}).get(name) or {}),
                        **(plan_overrides.get(category, {}).get(name) or {}),
                    }
                    item = effective_item(base, override)
                    quantity = document.quantity(category, name, item.cascade)
                    billable, total = line_total(item, quantity)
                    recurring += total
                    today += item.activation_charge * (added or {}).get((category, name), 0)
                    lines.append(
                        {
                            "category": category,
                            "item": name,
                            "name": item.name or name,
                            "quantity": quantity,
                            "billable": billable,
                            "rate": item.rate,
                            "activation_charge": item.activation_charge,
                            "minimum": item.minimum,
                            "total": total,
                        }
                    )
        result.append(
            {
                "items": lines,
                "summary": {"today": today, "recurring": recurring},
                "plan": {plan.id: {"name": plan.spec.name, "vendor_id": vendor} for plan in vendor_plans},
                "bookkeeper": {"type": "switchboard", "vendor_id": vendor},
            }
        )
    return result


def recurring_total(invoice_list: list[dict[str, Any]]) -> Decimal:
    return sum((invoice["summary"]["recurring"] for invoice in invoice_list), ZERO)


def today_total(invoice_list: list[dict[str, Any]]) -> Decimal:
    return sum((invoice["summary"]["today"] for invoice in invoice_list), ZERO)
