"""The KAZOO services API on moto: every path of seed 002, plans, counted quantities, audit, money, tenancy."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import boto3
import pytest
from switchboard import clock, wiring
from switchboard.rules.models import SystemInput
from switchboard.rules.repository import RulesRepository

from tests.seed_bodies import RULE_POST
from tests.services_support import StreamPump
from tests.support import ROOT, call, load_function, rest_event

PLANS = ROOT / "docs" / "plans"


def plan_body(name: str) -> dict:
    return {"data": json.loads(Path(PLANS / name).read_text())}


def services_path(account_id: str, suffix: str = "") -> str:
    return f"/v2/accounts/{account_id}/services{suffix}"


@pytest.fixture
def services_fn(aws):
    return load_function("services")


@pytest.fixture
def plans_fn(aws):
    return load_function("service_plans")


@pytest.fixture
def pump(aws):
    return StreamPump(aws, load_function("services_quantities"))


def send(fn, principal, method, path, body=None, query=None, headers=None, raw_body=None):
    event = rest_event(
        method,
        path,
        principal.context,
        body=body,
        query=query,
        headers={"X-Auth-Token": principal.token, **(headers or {})},
        raw_body=raw_body,
    )
    return call(fn, event)


def create_plan(plans_fn, principal, name="ess_basic.json") -> dict:
    status, body, headers = send(
        plans_fn, principal, "PUT", f"/v2/accounts/{principal.account_id}/service_plans", plan_body(name)
    )
    assert status == 201, body
    assert headers["Location"].endswith(body["data"]["id"])
    return body["data"]


def services_items(table: str) -> int:
    return boto3.client("dynamodb").scan(TableName=table, Select="COUNT")["Count"]


def add_system(aws, account_id: str, uid: str) -> None:
    RulesRepository(aws["RULES_TABLE"]).create_system(account_id, uid, SystemInput.model_validate({"name": uid}))


# ---------------------------------------------------------------- plans


def test_plan_catalog_round_trip_and_tenancy(plans_fn, world):
    reseller = world.reseller_admin
    plan = create_plan(plans_fn, reseller)
    assert plan["name"] == "ESS Basic" and len(plan["id"]) == 32
    assert plan["plan"]["ess"]["subscription"]["rate"] == 1.5  # a JSON number, parsed exactly
    base = f"/v2/accounts/{reseller.account_id}/service_plans"
    status, body, _ = send(plans_fn, reseller, "GET", base)
    assert status == 200 and [row["id"] for row in body["data"]] == [plan["id"]]
    changed = plan_body("ess_basic.json")
    changed["data"]["name"] = "ESS Basic 2"
    status, body, _ = send(plans_fn, reseller, "POST", f"{base}/{plan['id']}", changed)
    assert status == 200 and body["data"]["name"] == "ESS Basic 2"
    # strangers and sub-accounts do not see the reseller's catalog
    for other in (world.stranger_admin, world.child_admin):
        status, body, _ = send(plans_fn, other, "GET", f"{base}/{plan['id']}")
        assert status == 404 and body["message"] == "bad_identifier"
    status, body, _ = send(plans_fn, reseller, "DELETE", f"{base}/{plan['id']}")
    assert status == 200 and body["data"]["_read_only"] == {"deleted": True}
    status, body, _ = send(plans_fn, reseller, "GET", f"{base}/{plan['id']}")
    assert status == 404


@pytest.mark.parametrize(
    "data, field",
    [
        ({"name": "x"}, "plan"),
        ({"name": "x", "plan": {"ess": {"subscription": {"rate": -1}}}}, "plan.ess.subscription.rate"),
        ({"name": "x", "plan": {"ess": {"subscription": {"rate": "abc"}}}}, "plan.ess.subscription.rate"),
        ({"name": "x", "plan": {"ess": {"subscription": {"minimum": 1.5}}}}, "plan.ess.subscription.minimum"),
        ({"name": None, "plan": {"ess": {"subscription": {}}}}, "name"),
    ],
)
def test_bad_plans_are_refused_and_write_nothing(plans_fn, world, aws, data, field):
    before = services_items(aws["SERVICES_TABLE"])
    status, body, _ = send(
        plans_fn,
        world.reseller_admin,
        "PUT",
        f"/v2/accounts/{world.reseller_admin.account_id}/service_plans",
        {"data": data},
    )
    assert status == 400 and body["message"] == "validation error", body
    assert field in body["data"], body["data"]
    assert services_items(aws["SERVICES_TABLE"]) == before


# ---------------------------------------------------------------- assigning plans, summary, quote


def test_reseller_assigns_a_plan_and_the_summary_prices_counted_quantities(pump, services_fn, plans_fn, world, aws):
    reseller, child = world.reseller_admin, world.child_admin
    plan = create_plan(plans_fn, reseller)
    pump.pump()  # the world's users and sub-account
    status, body, _ = send(services_fn, reseller, "POST", services_path(child.account_id, f"/{plan['id']}"))
    assert status == 200, body
    assert body["data"] == {plan["id"]: {"vendor_id": reseller.account_id, "overrides": {}}}

    status, body, _ = send(services_fn, child, "GET", services_path(child.account_id, "/summary"))
    assert status == 200, body
    summary = body["data"]
    assert summary["reseller"] == {"id": reseller.account_id, "is_reseller": False}
    assert summary["billing_cycle"]["period"] == 1 and summary["billing_cycle"]["unit"] == "month"
    assert summary["status"] == {"acceptable": True, "reason": "no_issues"}
    [invoice] = summary["invoices"]
    lines = {(line["category"], line["item"]): line for line in invoice["items"]}
    # three users (an admin and two plain users): 3 x 2.00 - cumulative 0.50 x 3
    assert lines[("users", "user")]["quantity"] == 3 and lines[("users", "user")]["total"] == 4.5
    # no subscriptions yet, minimum 2: 2 x 1.50
    assert lines[("ess", "subscription")]["billable"] == 2 and lines[("ess", "subscription")]["total"] == 3
    assert lines[("ess", "delivery_configuration")]["total"] == 0
    assert invoice["summary"] == {"today": 0, "recurring": 7.5}
    assert summary["quantities"]["account"] == {"users": {"user": 3}}

    # a quote adds a plan without committing
    other = create_plan(plans_fn, reseller, "airvantage_fleet.json")
    status, body, _ = send(
        services_fn, reseller, "POST", services_path(child.account_id, "/quote"), {"data": {"plans": [other["id"]]}}
    )
    assert status == 200 and set(body["data"]["plans"]) == {plan["id"], other["id"]}
    status, body, _ = send(services_fn, child, "GET", services_path(child.account_id))
    assert set(body["data"]["plans"]) == {plan["id"]}

    # unassign
    status, body, _ = send(services_fn, reseller, "DELETE", services_path(child.account_id, f"/{plan['id']}"))
    assert status == 200 and body["data"] == {}


def test_plan_changes_need_the_reseller(services_fn, plans_fn, world):
    plan = create_plan(plans_fn, world.reseller_admin)
    child = world.child_admin
    status, body, _ = send(services_fn, child, "POST", services_path(child.account_id, f"/{plan['id']}"))
    assert status == 403 and body["message"] == "forbidden"
    status, body, _ = send(services_fn, world.operator, "POST", services_path(child.account_id, f"/{plan['id']}"))
    assert status == 200
    status, body, _ = send(services_fn, world.reseller_admin, "POST", services_path(child.account_id, "/" + "f" * 32))
    assert status == 404 and body["message"] == "bad_identifier" and body["data"]["cause"] == "f" * 32


# ---------------------------------------------------------------- counted quantities and the audit


def test_counted_quantities_audit_and_daily_summary(pump, services_fn, world, aws):
    child, reseller = world.child_admin, world.reseller_admin
    pump.pump()
    add_system(aws, child.account_id, "s1")
    add_system(aws, child.account_id, "s2")
    RulesRepository(aws["RULES_TABLE"]).delete_system(child.account_id, "s1")
    records = pump.pump()
    assert len([r for r in records if r["dynamodb"]["Keys"]["sk"]["S"].startswith("SYS#")]) == 3
    pump.deliver(records)  # a redelivered batch counts nothing twice

    status, body, _ = send(services_fn, child, "GET", services_path(child.account_id))
    assert body["data"]["quantities"]["account"]["airvantage"] == {"system": 1}
    # the reseller's cascade sees its sub-account's systems
    status, body, _ = send(services_fn, reseller, "GET", services_path(reseller.account_id))
    assert body["data"]["quantities"]["cascade"]["airvantage"] == {"system": 1}
    assert body["data"]["quantities"]["cascade"]["accounts"] == {"account": 1}

    today = clock.iso_from_ms(clock.now_ms())[:10]
    status, body, _ = send(services_fn, child, "GET", services_path(child.account_id, "/audit/summary"))
    assert status == 200
    [summary] = body["data"]
    # KAZOO 4.3's spelling answers the same
    assert send(services_fn, child, "GET", services_path(child.account_id, "/audit_summary"))[1]["data"] == [summary]
    day = summary["system"][today]
    assert (day["addition"], day["removal"], day["quantity"], day["sum_quantity"]) == (2, 1, 1, False)
    assert summary["user"][today]["addition"] == 3
    for path in ("/audit/summary/system", "/audit_summary/system"):
        status, body, _ = send(services_fn, child, "GET", services_path(child.account_id, path))
        assert status == 200 and body["data"] == [{today: day}]

    status, body, _ = send(services_fn, child, "GET", services_path(child.account_id, "/audit"))
    entries = body["data"]
    system_entries = [e for e in entries if "airvantage.system" in e["changes"].get("quantities", {})]
    assert [e["changes"]["quantities"]["airvantage.system"] for e in system_entries] == [
        {"before": 2, "after": 1},
        {"before": 1, "after": 2},
        {"before": 0, "after": 1},
    ]
    entry = system_entries[0]
    assert entry["agent"]["type"] == "system" and entry["status"] == "completed"
    assert entry["id"][:6] == today[:4] + today[5:7] and entry["id"][6] == "-" and len(entry["id"]) == 39
    status, body, _ = send(services_fn, child, "GET", services_path(child.account_id, f"/audit/{entry['id']}"))
    assert status == 200 and body["data"] == entry
    # paging
    status, body, _ = send(
        services_fn, child, "GET", services_path(child.account_id, "/audit"), query={"page_size": "2"}
    )
    assert len(body["data"]) == 2 and body["next_start_key"]
    status, second, _ = send(
        services_fn,
        child,
        "GET",
        services_path(child.account_id, "/audit"),
        query={"page_size": "2", "start_key": body["next_start_key"]},
    )
    assert [e["id"] for e in second["data"]] == [e["id"] for e in entries[2:4]]


def test_alert_rules_and_hooks_made_through_their_api_are_counted(pump, services_fn, world):
    """A rule and its hooks, made and removed through the AirVantage API (a rule's deletion takes its hooks)."""
    child = world.child_admin
    pump.pump()
    rules_fn, hooks_fn = load_function("alert_rules"), load_function("alert_hooks")

    def airvantage(fn, method, path, body=None):
        return call(fn, rest_event(method, path, child.context, body=body))

    status, made, _ = airvantage(rules_fn, "POST", "/api/v2/alertrules", RULE_POST)
    assert status == 200, made
    hooks = f"/api/v1/alerts/rules/{made['id']}/hooks"
    for index in range(2):
        assert airvantage(hooks_fn, "POST", hooks, {"callback": f"https://hooks.example.com/{index}"})[0] == 200
    pump.pump()
    _, body, _ = send(services_fn, child, "GET", services_path(child.account_id))
    assert body["data"]["quantities"]["account"]["airvantage"] == {"alert_rule": 1, "hook": 2}
    assert airvantage(rules_fn, "DELETE", f"/api/v2/alertrules/{made['id']}")[0] == 200
    pump.pump()
    _, body, _ = send(services_fn, child, "GET", services_path(child.account_id))
    assert "airvantage" not in body["data"]["quantities"]["account"]  # nothing left to count
    today = clock.iso_from_ms(clock.now_ms())[:10]
    _, body, _ = send(services_fn, child, "GET", services_path(child.account_id, "/audit/summary"))
    [summary] = body["data"]
    assert (summary["alert_rule"][today]["addition"], summary["alert_rule"][today]["removal"]) == (1, 1)
    assert (summary["hook"][today]["addition"], summary["hook"][today]["removal"]) == (2, 2)


def test_reconciliation_recounts_and_records_the_difference(services_fn, world, aws):
    child, reseller = world.child_admin, world.reseller_admin
    add_system(aws, child.account_id, "s1")
    add_system(aws, child.account_id, "s2")
    # the stream records are never delivered here: reconciliation finds the two systems itself
    status, body, _ = send(services_fn, reseller, "POST", services_path(child.account_id, "/reconciliation"))
    assert status == 200 and "data" not in body
    status, body, _ = send(services_fn, child, "GET", services_path(child.account_id))
    assert body["data"]["quantities"]["account"] == {"airvantage": {"system": 2}, "users": {"user": 3}}
    status, body, _ = send(services_fn, child, "GET", services_path(child.account_id, "/audit"))
    assert body["data"][0]["changes"]["quantities"]["airvantage.system"] == {"before": 0, "after": 2}
    assert body["data"][0]["method"] == "POST" and body["data"][0]["path"].endswith("/reconciliation")
    status, body, _ = send(services_fn, child, "POST", services_path(child.account_id, "/reconciliation"))
    assert status == 403


def test_reconciliation_moves_the_ancestors_cascade_counts(services_fn, world, aws):
    child, reseller = world.child_admin, world.reseller_admin
    add_system(aws, child.account_id, "s1")
    add_system(aws, child.account_id, "s2")
    assert send(services_fn, reseller, "POST", services_path(child.account_id, "/reconciliation"))[0] == 200
    _, body, _ = send(services_fn, reseller, "GET", services_path(reseller.account_id))
    assert body["data"]["quantities"]["cascade"]["airvantage"] == {"system": 2}
    RulesRepository(aws["RULES_TABLE"]).delete_system(child.account_id, "s1")
    assert send(services_fn, reseller, "POST", services_path(child.account_id, "/reconciliation"))[0] == 200
    _, body, _ = send(services_fn, reseller, "GET", services_path(reseller.account_id))
    assert body["data"]["quantities"]["cascade"]["airvantage"] == {"system": 1}


# ---------------------------------------------------------------- manual quantities and overrides


@pytest.mark.parametrize("resource", ["manual", "overrides"])
def test_post_replaces_unless_merge_and_patch_merges(services_fn, world, resource):
    reseller, child = world.reseller_admin, world.child_admin
    path = services_path(child.account_id, f"/{resource}")
    first = {"phone": {"did": 3}} if resource == "manual" else {"ess": {"subscription": {"rate": 1.25}}}
    second = {"phone": {"fax": 1}} if resource == "manual" else {"ess": {"delivery_configuration": {"minimum": 1}}}
    assert send(services_fn, reseller, "POST", path, {"data": first})[0] == 200
    status, body, _ = send(services_fn, reseller, "POST", path, {"data": second})
    assert status == 200 and body["data"] == second
    status, body, _ = send(services_fn, reseller, "POST", path, {"data": first, "merge": True})
    merged = {next(iter(first)): {**first[next(iter(first))], **second[next(iter(second))]}}
    assert body["data"] == merged
    status, body, _ = send(services_fn, reseller, "POST", path, {"data": second})
    status, body, _ = send(services_fn, reseller, "PATCH", path, {"data": first})
    assert body["data"] == merged
    status, body, _ = send(services_fn, child, "GET", path)
    assert status == 200 and body["data"] == merged
    assert send(services_fn, child, "POST", path, {"data": first})[0] == 403


@pytest.mark.parametrize(
    "resource, data, field",
    [
        ("manual", {"phone": {"did": -1}}, "phone.did"),
        ("manual", {"phone": {"did": "three"}}, "phone.did"),
        ("manual", {"phone": {"did": 1.5}}, "phone.did"),
        ("manual", {"phone": 3}, "phone"),
        ("overrides", {"ess": {"subscription": {"rate": -2}}}, "ess.subscription.rate"),
        ("overrides", {"ess": {"subscription": {"rate": "x"}}}, "ess.subscription.rate"),
        ("overrides", {"ess": {"subscription": {"colour": "red"}}}, "ess.subscription.colour"),
    ],
)
def test_bad_manual_and_overrides_write_nothing(services_fn, world, aws, resource, data, field):
    before = services_items(aws["SERVICES_TABLE"])
    status, body, _ = send(
        services_fn,
        world.reseller_admin,
        "POST",
        services_path(world.child_admin.account_id, f"/{resource}"),
        {"data": data},
    )
    assert status == 400 and body["message"] == "validation error" and field in body["data"], body
    assert services_items(aws["SERVICES_TABLE"]) == before


# ---------------------------------------------------------------- money


def test_topup_credits_once_per_request_id(services_fn, world):
    child = world.child_admin
    path = services_path(child.account_id, "/topup")
    headers = {"X-Request-ID": "topup-0001"}
    status, body, _ = send(services_fn, child, "POST", path, raw_body='{"data": {"amount": 10.10}}', headers=headers)
    assert status == 200, body
    assert body["data"]["ledger"]["balance"] == 10.1 and body["data"]["transaction"]["amount"] == 10.1
    first = body["data"]["transaction"]["id"]
    status, body, _ = send(services_fn, child, "POST", path, raw_body='{"data": {"amount": 10.10}}', headers=headers)
    assert status == 200 and body["data"]["transaction"]["id"] == first
    assert body["data"]["ledger"]["balance"] == 10.1
    status, body, _ = send(services_fn, child, "POST", path, {"data": {"amount": "0.20"}})
    assert body["data"]["ledger"]["balance"] == 10.3  # exact: 10.10 + 0.20
    assert wiring.services_repository().get_ledger(child.account_id)[0] == Decimal("10.30")


@pytest.mark.parametrize(
    "raw",
    [
        '{"data": {}}',
        '{"data": {"amount": 0}}',
        '{"data": {"amount": -5}}',
        '{"data": {"amount": "ten"}}',
        '{"data": {"amount": null}}',
        '{"data": {"amount": true}}',
        '{"data": {"amount": 1e400}}',
    ],
)
def test_bad_topups_are_required_errors_and_credit_nothing(services_fn, world, aws, raw):
    before = services_items(aws["SERVICES_TABLE"])
    status, body, _ = send(
        services_fn, world.child_admin, "POST", services_path(world.child_admin.account_id, "/topup"), raw_body=raw
    )
    assert status == 400 and body["data"] == {
        "amount": {"required": {"message": "Field is required but missing", "value": "amount"}}
    }
    assert services_items(aws["SERVICES_TABLE"]) == before


def test_billing_cycle_debits_and_low_balance_alert_until_topup(pump, services_fn, plans_fn, world):
    reseller, child = world.reseller_admin, world.child_admin
    plan = create_plan(plans_fn, reseller)
    pump.pump()
    assert send(services_fn, reseller, "POST", services_path(child.account_id, f"/{plan['id']}"))[0] == 200
    assert load_function("services_billing").lambda_handler({}, lambda_context()) == {"charged": 1}
    assert load_function("services_billing").lambda_handler({}, lambda_context()) == {"charged": 0}  # once per cycle
    status, body, _ = send(services_fn, child, "GET", services_path(child.account_id, "/status"))
    assert body["data"] == {
        "in_good_standing": False,
        "reason": "the account's balance is below zero",
        "reason_code": "negative_balance",
    }
    alerts_fn = load_function("alerts")
    status, body, _ = call(alerts_fn, rest_event("GET", f"/v2/accounts/{child.account_id}/alerts", child.context))
    [row] = body["data"]
    assert row["clearable"] is False and row["value"]["category"] == "low_balance"
    assert row["value"]["metadata"] == [{"available": -7.5, "threshold": 0}]
    status, body, _ = send(
        services_fn, child, "POST", services_path(child.account_id, "/topup"), {"data": {"amount": 20}}
    )
    assert status == 200 and body["data"]["ledger"]["balance"] == 12.5
    _, body, _ = call(alerts_fn, rest_event("GET", f"/v2/accounts/{child.account_id}/alerts", child.context))
    assert body["data"] == []
    _status, body, _ = send(services_fn, child, "GET", services_path(child.account_id, "/status"))
    assert body["data"] == {"in_good_standing": True}


def lambda_context():
    from tests.support import LambdaContext

    return LambdaContext()


# ---------------------------------------------------------------- reads, errors, tenancy


def test_available_and_editable(services_fn, plans_fn, world):
    reseller, child = world.reseller_admin, world.child_admin
    plan = create_plan(plans_fn, reseller)
    _, body, _ = send(services_fn, child, "GET", services_path(child.account_id, "/available"))
    assert body["data"] == [
        {"id": plan["id"], "name": "ESS Basic", "description": plan["description"], "category": "ess"}
    ]
    send(services_fn, reseller, "POST", services_path(child.account_id, f"/{plan['id']}"))
    _status, body, _ = send(services_fn, child, "GET", services_path(child.account_id, "/editable"))
    assert body["data"]["ess"]["subscription"] == ["rate", "activation_charge", "minimum", "discounts"]


def test_billing_id_by_the_account_admin(services_fn, world):
    child = world.child_admin
    status, body, _ = send(
        services_fn, child, "POST", services_path(child.account_id), {"data": {"billing_id": "acme-42"}}
    )
    assert status == 200 and body["data"]["billing_id"] == "acme-42" and body["data"]["status"] == "good_standing"
    status, body, _ = send(
        services_fn, world.child_user, "POST", services_path(child.account_id), {"data": {"billing_id": "x"}}
    )
    assert status == 403


@pytest.mark.parametrize(
    "suffix, query",
    [
        ("/audit", {"created_from": "abc"}),
        ("/audit", {"created_from": "63743140658", "created_to": "63742805754"}),
        ("/audit/summary", {"created_to": "12"}),
        ("/audit/summary", {"created_from": "63700000000", "created_to": "63800000000"}),
        ("/audit", {"page_size": "0"}),
        ("/audit", {"start_key": "!!"}),
        ("/audit", {"start_key": "eyJzayI6IkFVRElUIzAwMCJ9"}),  # {"sk": "AUDIT#000"}: outside the range asked
        ("/audit/2019-12-abc", None),
        ("/audit/summary/bad%20source", None),
    ],
)
def test_bad_ranges_and_ids(services_fn, world, suffix, query):
    child = world.child_admin
    status, body, _ = send(services_fn, child, "GET", services_path(child.account_id, suffix), query=query)
    assert status == 400 and body["status"] == "error", body


def test_unknown_audit_id_is_404(services_fn, world):
    child = world.child_admin
    status, body, _ = send(services_fn, child, "GET", services_path(child.account_id, "/audit/201912-" + "0" * 32))
    assert status == 404 and body["message"] == "bad_identifier"


def test_malformed_bodies_write_nothing(services_fn, world, aws):
    before = services_items(aws["SERVICES_TABLE"])
    reseller, child = world.reseller_admin, world.child_admin
    for suffix in ("", "/manual", "/overrides", "/quote", "/topup", "/reconciliation", "/synchronization"):
        for raw in ("{", "[]", '{"data": 3}', '{"data": null}'):
            status, body, _ = send(services_fn, reseller, "POST", services_path(child.account_id, suffix), raw_body=raw)
            assert status == 400 and body["message"] == "validation error", (suffix, raw, body)
    status, body, _ = send(
        services_fn, reseller, "POST", services_path(child.account_id, "/manual"), {"data": {}, "merge": "yes"}
    )
    assert status == 400
    status, body, _ = send(
        services_fn, reseller, "POST", services_path(child.account_id), {"data": {"billing_id": None, "plans": [None]}}
    )
    assert status == 400
    assert services_items(aws["SERVICES_TABLE"]) == before


READ_PATHS = [
    "",
    "/status",
    "/audit",
    "/audit/summary",
    "/audit/summary/user",
    "/audit_summary",
    "/audit_summary/user",
    "/manual",
    "/overrides",
    "/summary",
    "/available",
    "/editable",
    "/audit/201912-" + "0" * 32,
]
WRITE_PATHS = [
    ("POST", ""),
    ("POST", "/manual"),
    ("PATCH", "/manual"),
    ("POST", "/overrides"),
    ("PATCH", "/overrides"),
    ("POST", "/quote"),
    ("POST", "/reconciliation"),
    ("POST", "/synchronization"),
    ("POST", "/topup"),
    ("POST", "/" + "a" * 32),
    ("DELETE", "/" + "a" * 32),
]


@pytest.mark.parametrize("suffix", READ_PATHS)
def test_strangers_get_404_on_reads(services_fn, world, suffix):
    status, body, _ = send(
        services_fn, world.stranger_admin, "GET", services_path(world.child_admin.account_id, suffix)
    )
    assert status == 404 and body["message"] == "bad_identifier"
    # a sub-account cannot read its reseller's services either
    status, body, _ = send(
        services_fn, world.child_admin, "GET", services_path(world.reseller_admin.account_id, suffix)
    )
    assert status == 404


@pytest.mark.parametrize("method, suffix", WRITE_PATHS)
def test_strangers_get_404_on_writes(services_fn, world, aws, method, suffix):
    before = services_items(aws["SERVICES_TABLE"])
    body = {"data": {"amount": 5}} if suffix == "/topup" else {"data": {}}
    status, reply, _ = send(
        services_fn, world.stranger_admin, method, services_path(world.child_admin.account_id, suffix), body
    )
    assert status == 404 and reply["message"] == "bad_identifier"
    assert services_items(aws["SERVICES_TABLE"]) == before


def test_seed_summary_shapes(services_fn, world, aws):
    """The seed's two example responses: the one-object form and the newest-first one-category form."""
    repo = wiring.services_repository()
    account = world.child_admin.account_id
    changes = [
        ("account", "2019-12-05", 1, 0, 2, 63742805754),
        ("account", "2019-12-09", 1, 1, 2, 63743140658),
        ("user", "2019-12-09", 1, 0, 2, 63743140695),
        ("user", "2019-12-05", 1, 0, 2, 63742805754),
    ]
    repo.write([repo.day_write(account, day, item, a, r, q, t) for item, day, a, r, q, t in changes])
    query = {"created_from": "63742805754", "created_to": "63743140658"}
    _, body, _ = send(services_fn, world.child_admin, "GET", services_path(account, "/audit/summary"), query=query)
    assert body["data"] == [
        {
            "account": {
                "2019-12-05": {
                    "addition": 1,
                    "last_timestamp": 63742805754,
                    "quantity": 2,
                    "removal": 0,
                    "sum_quantity": False,
                },
                "2019-12-09": {
                    "addition": 1,
                    "last_timestamp": 63743140658,
                    "quantity": 2,
                    "removal": 1,
                    "sum_quantity": False,
                },
            },
            "user": {
                "2019-12-05": {
                    "addition": 1,
                    "last_timestamp": 63742805754,
                    "quantity": 2,
                    "removal": 0,
                    "sum_quantity": False,
                },
                "2019-12-09": {
                    "addition": 1,
                    "last_timestamp": 63743140695,
                    "quantity": 2,
                    "removal": 0,
                    "sum_quantity": False,
                },
            },
        }
    ]
    _status, body, _ = send(
        services_fn, world.child_admin, "GET", services_path(account, "/audit/summary/account"), query=query
    )
    assert body["data"] == [
        {
            "2019-12-09": {
                "addition": 1,
                "last_timestamp": 63743140658,
                "quantity": 2,
                "removal": 1,
                "sum_quantity": False,
            }
        },
        {
            "2019-12-05": {
                "addition": 1,
                "last_timestamp": 63742805754,
                "quantity": 2,
                "removal": 0,
                "sum_quantity": False,
            }
        },
    ]
    assert set(body) >= {"auth_token", "request_id", "revision", "status", "timestamp", "version"}


def test_synchronization_publishes_a_billing_event_for_the_resellers_bookkeeper(services_fn, plans_fn, world, aws):
    reseller, child = world.reseller_admin, world.child_admin
    plan = create_plan(plans_fn, reseller)
    send(services_fn, reseller, "POST", services_path(child.account_id), {"data": {"billing_id": "acme-42"}})
    send(services_fn, reseller, "POST", services_path(child.account_id, f"/{plan['id']}"))
    status, body, _ = send(services_fn, reseller, "POST", services_path(child.account_id, "/synchronization"))
    assert status == 200 and "data" not in body and body["status"] == "success"
    messages = boto3.client("sqs").receive_message(QueueUrl=aws["EVENTS_QUEUE_URL"], MaxNumberOfMessages=10)["Messages"]
    [event] = [json.loads(m["Body"]) for m in messages]
    assert event["account-id"] == reseller.account_id and event["topic"] == "Billing-Events"
    assert event["evt-tp"] == "services_synchronized"
    fields = event["fld-val-list"]
    assert fields["account-id"] == child.account_id and fields["billing-id"] == "acme-42"
    # no stream delivered here: no users counted (minimum 1: 2.00 - 0.50) and the subscriptions' minimum (2 x 1.50)
    assert Decimal(fields["recurring"]) == Decimal("4.5")
    assert json.loads(fields["services"])["plans"] == {plan["id"]: {"vendor_id": reseller.account_id, "overrides": {}}}
    # the sub-account cannot push its own books
    assert send(services_fn, child, "POST", services_path(child.account_id, "/synchronization"))[0] == 403


def test_threshold_changes_are_audited_and_can_make_an_account_delinquent(services_fn, world):
    reseller, child = world.reseller_admin, world.child_admin
    send(services_fn, child, "POST", services_path(child.account_id, "/topup"), {"data": {"amount": 5}})
    status, body, _ = send(
        services_fn,
        reseller,
        "POST",
        services_path(child.account_id),
        raw_body='{"data": {"low_balance_threshold": 10.5}}',
    )
    assert status == 200 and body["data"]["status"] == "delinquent"
    _, body, _ = send(services_fn, child, "GET", services_path(child.account_id, "/status"))
    assert body["data"]["reason_code"] == "low_balance"
    _, body, _ = send(services_fn, child, "GET", services_path(child.account_id, "/audit"))
    assert body["data"][0]["changes"] == {"low_balance_threshold": {"before": 0, "after": 10.5}}
    # the account's own admin may not lower its threshold
    assert (
        send(services_fn, child, "POST", services_path(child.account_id), {"data": {"low_balance_threshold": "0"}})[0]
        == 403
    )


def test_a_change_that_changes_nothing_writes_nothing(services_fn, plans_fn, world, aws):
    reseller, child = world.reseller_admin, world.child_admin
    plan = create_plan(plans_fn, reseller)
    send(services_fn, reseller, "POST", services_path(child.account_id, f"/{plan['id']}"))
    before = services_items(aws["SERVICES_TABLE"])
    status, body, _ = send(services_fn, reseller, "POST", services_path(child.account_id, f"/{plan['id']}"))
    assert status == 200 and list(body["data"]) == [plan["id"]]
    assert services_items(aws["SERVICES_TABLE"]) == before


# ---------------------------------------------------------------- the plan catalog: tenancy and the CLI

PLAN_PATHS = [("GET", ""), ("PUT", ""), ("GET", "/p"), ("POST", "/p"), ("DELETE", "/p")]


@pytest.mark.parametrize("method, suffix", PLAN_PATHS)
def test_strangers_get_404_on_the_plan_catalog(plans_fn, world, aws, method, suffix):
    plan = create_plan(plans_fn, world.reseller_admin)
    path = f"/v2/accounts/{world.reseller_admin.account_id}/service_plans" + suffix.replace("/p", f"/{plan['id']}")
    before = services_items(aws["SERVICES_TABLE"])
    for other in (world.stranger_admin, world.child_admin):
        status, body, _ = send(plans_fn, other, method, path, plan_body("ess_basic.json"))
        assert status == 404 and body["message"] == "bad_identifier", (other, body)
    # a plain user of the reseller sees it but may not manage it
    user = world.accounts.issue_token(world.reseller_admin.account_id)
    caller = world.accounts.resolve(user.token)
    status, _, _ = call(plans_fn, rest_event(method, path, caller.to_context(), body=plan_body("ess_basic.json")))
    assert status == 403
    assert services_items(aws["SERVICES_TABLE"]) == before


def run_plans_cli(monkeypatch, aws, *args: str) -> int:
    import argparse

    from switchboard_local import plans as plans_cli

    tables = {"ServicesTableName": aws["SERVICES_TABLE"], "AccountsTableName": aws["ACCOUNTS_TABLE"]}
    monkeypatch.setattr(plans_cli, "table_name", lambda stack, output: tables[output])
    monkeypatch.setattr(plans_cli, "accounts_table", lambda stack: aws["ACCOUNTS_TABLE"])
    parser = argparse.ArgumentParser()
    plans_cli.register(parser.add_subparsers())
    parsed = parser.parse_args(["plans", "import", *args])
    return parsed.func(parsed)


def test_plans_import_cli(monkeypatch, aws, world, plans_fn, capsys, tmp_path):
    reseller = world.reseller_admin
    assert run_plans_cli(monkeypatch, aws, "--account", reseller.account_id, str(PLANS / "ess_basic.json")) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["name"] == "ESS Basic" and printed["plan"]["ess"]["subscription"]["rate"] == 1.5
    status, body, _ = send(
        plans_fn, reseller, "GET", f"/v2/accounts/{reseller.account_id}/service_plans/{printed['id']}"
    )
    assert status == 200 and body["data"]["plan"] == printed["plan"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x", "plan": {"ess": {"subscription": {"rate": -1}}}}')
    assert run_plans_cli(monkeypatch, aws, "--account", reseller.account_id, str(bad)) == 1
    assert "plan.ess.subscription.rate" in capsys.readouterr().err
    assert run_plans_cli(monkeypatch, aws, "--account", "f" * 32, str(PLANS / "ess_basic.json")) == 1


@pytest.mark.parametrize("plan_id", ["x" * 2000, "a%20b", "..%2F..%2Fetc"])
def test_odd_plan_ids_are_404(services_fn, world, plan_id):
    status, body, _ = send(
        services_fn, world.reseller_admin, "POST", services_path(world.child_admin.account_id, f"/{plan_id}")
    )
    assert status == 404 and body["message"] == "bad_identifier"
    status, body, _ = send(
        services_fn,
        world.reseller_admin,
        "POST",
        services_path(world.child_admin.account_id),
        {"data": {"add": [plan_id]}},
    )
    assert status == 404
