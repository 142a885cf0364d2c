"""Invoice maths: exact decimals, minimums, discounts, overrides, cascade, activation charges."""

from __future__ import annotations

from decimal import Decimal

import pytest
from switchboard.services.invoices import invoices, line_total, recurring_total, today_total
from switchboard.services.models import Plan, PlanInput, PlanItem, ServicesDocument


def item(**fields) -> PlanItem:
    return PlanItem.model_validate(fields)


@pytest.mark.parametrize(
    "fields, quantity, billable, total",
    [
        ({"rate": "1.10"}, 3, 3, "3.30"),  # exact: a float would say 3.3000000000000003
        ({"rate": "1.50", "minimum": 2}, 0, 2, "3.00"),
        ({"rate": "1.50", "minimum": 2}, 5, 5, "7.50"),
        ({"rate": "5", "discounts": {"single": {"rate": "1"}}}, 1, 1, "4"),
        ({"rate": "5", "discounts": {"single": {"rate": "1"}}}, 0, 0, "0"),  # no unit, no single discount
        ({"rate": "2", "discounts": {"cumulative": {"rate": "0.5", "maximum": 3}}}, 5, 5, "8.5"),
        ({"rate": "1", "discounts": {"single": {"rate": "9"}}}, 1, 1, "0"),  # never below zero
    ],
)
def test_line_total(fields, quantity, billable, total):
    assert line_total(item(**fields), quantity) == (billable, Decimal(total))


def test_amounts_given_as_floats_are_refused():
    with pytest.raises(ValueError):
        PlanItem.model_validate({"rate": 0.1})


def plan(plan_id: str, reseller: str, body: dict) -> Plan:
    return Plan(id=plan_id, reseller_id=reseller, spec=PlanInput.model_validate({"name": plan_id, "plan": body}))


def test_invoice_with_overrides_cascade_manual_and_activation():
    p = plan(
        "p1",
        "r",
        {
            "airvantage": {"system": {"rate": "0.75", "activation_charge": "2", "cascade": True}},
            "phone": {"did": {"rate": "1.25"}},
        },
    )
    document = ServicesDocument(
        account_id="a",
        plans={"p1": {"vendor_id": "r", "overrides": {"phone": {"did": {"rate": Decimal("1.00")}}}}},
        overrides={"airvantage": {"system": {"rate": Decimal("0.50")}}},
        manual={"phone": {"did": 4}},
        account_quantities={"airvantage": {"system": 2}},
        cascade_quantities={"airvantage": {"system": 3}},
    )
    [invoice] = invoices(document, {"p1": p}, added={("airvantage", "system"): 1})
    lines = {(line["category"], line["item"]): line for line in invoice["items"]}
    assert lines[("airvantage", "system")]["quantity"] == 5  # own 2 + descendants 3
    assert lines[("airvantage", "system")]["total"] == Decimal("2.50")  # account override 0.50
    assert lines[("phone", "did")]["total"] == Decimal("4.00")  # the plan's own override wins
    assert invoice["summary"] == {"today": Decimal("2"), "recurring": Decimal("6.50")}
    assert recurring_total([invoice, invoice]) == Decimal("13.00") and today_total([invoice]) == Decimal(2)


def test_plans_of_another_vendor_or_unknown_are_not_invoiced():
    document = ServicesDocument(account_id="a", plans={"missing": {"vendor_id": "r"}})
    assert invoices(document, {}) == []
