"""KAZOO services end to end: `switchboard local`, accounts and plans from the real CLI, real HTTP.

A reseller imports the two example plans (docs/plans) and assigns them to its sub-account; the
sub-account creates and deletes ESS subscriptions and AirVantage systems through their own APIs; the
owning tables' streams (polled by the local runtime, as Lambda does) keep the quantities, the audit log
and the daily summary true with no call from the client. A billing cycle and top-ups move the ledger;
a negative balance raises the non-clearable low_balance alert, which a top-up retires. Synchronization
reaches the reseller's bookkeeper as a signed webhook on the Billing-Events topic.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
import requests
from standardwebhooks import Webhook
from switchboard_local.runtime import LocalRuntime

from tests.e2e.conftest import ROOT, Principal, RuntimeLog, create_account, run_cli, wait_until
from tests.receivers import Receiver

pytestmark = pytest.mark.e2e

HTTP_TIMEOUT = 30
# The session's runtime is shared: the stream consumer may first work through a backlog of other
# tests' writes (a schemathesis run makes thousands) before it reaches this test's.
WAIT = 120.0
T = TypeVar("T")


class Crossbar:
    def __init__(self, rt: LocalRuntime, log: RuntimeLog) -> None:
        self.base = rt.api_url
        self.log = log
        self.http = requests.Session()

    def request(self, method: str, path: str, who: Principal, **kwargs: Any) -> requests.Response:
        headers = {"X-Auth-Token": who.token, **kwargs.pop("headers", {})}
        response = self.http.request(method, self.base + path, headers=headers, timeout=HTTP_TIMEOUT, **kwargs)
        if response.status_code >= 500:
            pytest.fail(f"{method} {path} -> {response.status_code} {response.text}\n{self.log.tail()}")
        return response

    def ok(self, method: str, path: str, who: Principal, status: int = 200, **kwargs: Any) -> Any:
        response = self.request(method, path, who, **kwargs)
        assert response.status_code == status, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def services(self, who: Principal, account: str, suffix: str = "", **kwargs: Any) -> Any:
        return self.ok("GET", f"/v2/accounts/{account}/services{suffix}", who, **kwargs)["data"]

    def eventually(self, probe: Callable[[], T | None], what: str) -> T:
        return wait_until(probe, what, WAIT, self.log, interval=0.2)


@pytest.fixture
def crossbar(runtime: LocalRuntime, runtime_log: RuntimeLog):
    client = Crossbar(runtime, runtime_log)
    yield client
    client.http.close()


def import_plan(rt: LocalRuntime, reseller: Principal, name: str) -> dict[str, Any]:
    plan = run_cli(rt, "plans", "import", "--account", reseller.account_id, str(ROOT / "docs" / "plans" / name))
    assert len(plan["id"]) == 32 and plan["plan"]
    return plan


def test_counted_services_ledger_and_alerts(runtime: LocalRuntime, crossbar: Crossbar):
    reseller = create_account(runtime, "Services Reseller", reseller=True)
    child = create_account(runtime, "Services Customer", parent=reseller.account_id)
    stranger = create_account(runtime, "Services Stranger")
    ess_plan = import_plan(runtime, reseller, "ess_basic.json")
    fleet_plan = import_plan(runtime, reseller, "airvantage_fleet.json")
    base = f"/v2/accounts/{child.account_id}/services"

    available = crossbar.services(child, child.account_id, "/available")
    assert {plan["id"] for plan in available} == {ess_plan["id"], fleet_plan["id"]}
    for plan in (ess_plan, fleet_plan):
        crossbar.ok("POST", f"{base}/{plan['id']}", reseller)
    assert crossbar.request("POST", f"{base}/{ess_plan['id']}", child).status_code == 403
    assert crossbar.request("GET", base, stranger).status_code == 404

    # the sub-account uses ESS and AirVantage through their own APIs
    bearer = {"headers": {"Authorization": f"Bearer {child.token}"}}
    config = crossbar.ok(
        "POST",
        "/ess/v1/delivery-configurations",
        child,
        201,
        json={"del-cfg-nm": "books", "addr": "https://hooks.example.com/ess", "del-fmt-cd": "JSON"},
        **bearer,
    )
    subscriptions = [
        crossbar.ok(
            "POST",
            "/ess/v1/topics/NIS-Events/subscriptions",
            child,
            201,
            json={"del-cfg-id": config["id"], "evt-tp": "porting_event", "match-crt": f"number = '+1555000{i}'"},
            **bearer,
        )
        for i in range(3)
    ]
    crossbar.ok("DELETE", f"/ess/v1/topics/NIS-Events/subscriptions/{subscriptions[0]['id']}", child, 204, **bearer)
    systems = [
        crossbar.ok("POST", "/api/v1/systems", child, json={"name": f"Boiler {i}"}, **bearer)["uid"] for i in range(2)
    ]
    crossbar.ok("DELETE", f"/api/v1/systems/{systems[0]}", child, **bearer)

    today = datetime.now(UTC).strftime("%Y-%m-%d")

    def counted() -> bool:
        """Every change seen: the day's additions and removals (a quantity alone could pass midway)."""
        [day] = crossbar.services(child, child.account_id, "/audit/summary")
        moves = {item: (by_day[today]["addition"], by_day[today]["removal"]) for item, by_day in day.items()}
        return moves.get("subscription") == (3, 1) and moves.get("system") == (2, 1)

    crossbar.eventually(counted, "the streams to count the sub-account's resources")
    quantities = crossbar.services(child, child.account_id)["quantities"]["account"]
    assert quantities["ess"] == {"delivery_configuration": 1, "subscription": 2}
    assert quantities["airvantage"] == {"system": 1}
    assert quantities["users"] == {"user": 1}
    # the reseller's cascade counts its sub-account's systems and the sub-account itself
    cascade = crossbar.services(reseller, reseller.account_id)["quantities"]["cascade"]
    assert cascade["airvantage"] == {"system": 1} and cascade["accounts"] == {"account": 1}

    summary = crossbar.services(child, child.account_id, "/summary")
    lines = {(line["category"], line["item"]): line for invoice in summary["invoices"] for line in invoice["items"]}
    assert lines[("ess", "subscription")]["quantity"] == 2 and lines[("ess", "subscription")]["total"] == 3
    assert lines[("ess", "delivery_configuration")]["total"] == 4  # 5.00 less the single discount 1.00
    assert lines[("airvantage", "system")]["total"] == 0.75
    recurring = sum(invoice["summary"]["recurring"] for invoice in summary["invoices"])
    assert recurring == pytest.approx(3 + 4 + 1.5 + 0.75)  # + users: 1 x 2.00 - 0.50

    # the audit log and the daily summary show exactly those changes, today (UTC)
    day = crossbar.services(child, child.account_id, "/audit/summary")[0]
    assert day["subscription"][today] | {"last_timestamp": 0} == {
        "addition": 3,
        "removal": 1,
        "quantity": 2,
        "last_timestamp": 0,
        "sum_quantity": False,
    }
    assert (day["system"][today]["addition"], day["system"][today]["removal"]) == (2, 1)
    assert crossbar.services(child, child.account_id, "/audit/summary/system") == [{today: day["system"][today]}]
    assert crossbar.services(child, child.account_id, "/audit_summary/subscription") == [
        {today: day["subscription"][today]}
    ]
    entries = crossbar.services(child, child.account_id, "/audit", params={"paginate": "false"})
    moves = [e["changes"]["quantities"] for e in entries if "quantities" in e["changes"]]
    subscription_moves = [m["ess.subscription"] for m in moves if "ess.subscription" in m]
    assert subscription_moves == [
        {"before": 3, "after": 2},
        {"before": 2, "after": 3},
        {"before": 1, "after": 2},
        {"before": 0, "after": 1},
    ]
    plan_entries = [e for e in entries if "plans" in e["changes"]]
    assert len(plan_entries) == 2 and plan_entries[0]["agent"]["account_id"] == reseller.account_id
    one = crossbar.services(child, child.account_id, f"/audit/{plan_entries[0]['id']}")
    assert one["id"] == plan_entries[0]["id"] and one["method"] == "POST"

    # a billing cycle debits the recurring charge: the balance falls below zero
    assert runtime.invoke("ServicesBillingFunction", {})["charged"] >= 1
    status = crossbar.services(child, child.account_id, "/status")
    assert status["in_good_standing"] is False and status["reason_code"] == "negative_balance"

    def low_balance_rows() -> list[dict[str, Any]]:
        rows = crossbar.ok("GET", f"/v2/accounts/{child.account_id}/alerts", child)["data"]
        return [row for row in rows if row["value"].get("category") == "low_balance"]

    [row] = low_balance_rows()
    assert row["clearable"] is False
    assert row["value"]["metadata"] == [{"available": pytest.approx(-recurring), "threshold": 0}]
    assert crossbar.request("DELETE", f"/v2/accounts/{child.account_id}/alerts/{row['id']}", child).status_code == 403

    # a top-up restores it, once per X-Request-ID
    topup = {"json": {"data": {"amount": 50}}, "headers": {"X-Request-ID": f"topup-{time.time_ns()}"}}
    first = crossbar.ok("POST", f"{base}/topup", child, **topup)["data"]
    again = crossbar.ok("POST", f"{base}/topup", child, **topup)["data"]
    assert again["transaction"]["id"] == first["transaction"]["id"]
    assert again["ledger"]["balance"] == pytest.approx(50 - recurring)
    assert crossbar.services(child, child.account_id, "/status") == {"in_good_standing": True}
    assert low_balance_rows() == []


def test_synchronization_reaches_the_bookkeeper_as_a_signed_webhook(runtime: LocalRuntime, crossbar: Crossbar):
    reseller = create_account(runtime, "Sync Reseller", reseller=True)
    child = create_account(runtime, "Sync Customer", parent=reseller.account_id)
    plan = import_plan(runtime, reseller, "ess_basic.json")
    receiver = Receiver()
    try:
        bearer = {"headers": {"Authorization": f"Bearer {reseller.token}"}}
        config = crossbar.ok(
            "POST",
            "/ess/v1/delivery-configurations",
            reseller,
            201,
            json={"del-cfg-nm": "bookkeeper", "addr": receiver.url + "/books", "del-fmt-cd": "JSON"},
            **bearer,
        )
        crossbar.ok(
            "POST",
            "/ess/v1/topics/Billing-Events/subscriptions",
            reseller,
            201,
            json={"del-cfg-id": config["id"], "evt-tp": "services_synchronized"},
            **bearer,
        )
        base = f"/v2/accounts/{child.account_id}/services"
        crossbar.ok("POST", f"{base}/{plan['id']}", reseller)
        reply = crossbar.ok("POST", f"{base}/synchronization", reseller)
        assert "data" not in reply and reply["status"] == "success"
        [delivered] = receiver.wait_for("/books", 1, timeout=WAIT)
        headers = {k: v for k, v in delivered.headers.items() if k.startswith("webhook-")}
        body = Webhook(config["signing-secret"]).verify(delivered.body, headers)  # signed with the config's secret
        assert body["topic"] == "Billing-Events" and body["event"]["evt-tp"] == "services_synchronized"
        fields = body["event"]["fld-val-list"]
        assert fields["account-id"] == child.account_id and fields["reseller-id"] == reseller.account_id
        services = json.loads(fields["services"])
        assert list(services["plans"]) == [plan["id"]] and services["invoices"][0]["summary"]["recurring"] > 0
    finally:
        receiver.close()
