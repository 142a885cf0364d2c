"""Every function runs with every sample event in events/ (what `switchboard invoke` takes)."""

from __future__ import annotations

import json

import pytest
from switchboard.accounts.keys import hash_token
from switchboard.accounts.models import Account, ApiKey, User
from switchboard.accounts.repository import AccountsRepository
from switchboard.alerts.models import Alert, Originator, Recipient, Slot
from switchboard.alerts.repository import AlertsRepository

from tests.support import EVENTS, LambdaContext, load_function, sample_event, template

# The sample events name these ids; the test gives them life in moto first.
ACCOUNT = "4b8c6fec4b2597882c0390202d195419"
USER = "8ac3ae3b3e7e2f5c1b2a4d6e9f0a1b2c"
ALERT = "2b3f6a9d4e5c4f1a8b7c6d5e4f3a2b1c"
TOKEN = "sbk_SampleTokenForEventsOnly_0123456789abcdefABCDEF"
RULE = "0f3919fd1ac0403ab9e70ae2c3729a21"  # the AirVantage rule the hook sample names
SYSTEM = "91b74e52f04750824c22379ec3b4e75f"  # the system the telemetry samples name

# function folder -> sample events it takes, and the status each must answer
SAMPLES = {
    "authorizer": {"authorizer_request.json": None},
    "alerts": {"alerts_list.json": 200, "alerts_create.json": 201, "alerts_get.json": 200, "alerts_delete.json": 200},
    "api_keys": {"api_keys_list.json": 200},
    "ess_catalog": {"ess_topics.json": 200, "ess_topic_event_types.json": 200, "ess_dictionary.json": 200},
    "delivery_configurations": {"delivery_configuration_create.json": 201, "delivery_configuration_list.json": 200},
    "subscriptions": {"subscription_create.json": 201, "subscriptions_list.json": 200},
    "publish": {"publish_event.json": 202},
    "alert_rules": {"alert_rules_create.json": 200, "alert_rules_list.json": 200},
    "systems": {"systems_create.json": 200, "systems_list.json": 200},
    "alert_hooks": {"alert_hooks_create.json": 200},
    "telemetry": {"telemetry_post_data.json": 202},
    "alert_history": {"alert_history_current.json": 200, "alert_history_v3.json": 200},
    "evaluate_rules": {"evaluate_rules_telemetry.json": {"batchItemFailures": []}},
    "event_deliveries": {"event_deliveries_list.json": 200, "event_deliveries_summary.json": 200},
    # queue- and schedule-driven functions: what they answer the event source
    "fanout": {"fanout_published_event.json": {"batchItemFailures": []}},
    "deliver": {"deliver_task.json": {"batchItemFailures": []}},
    "delivery_sweeper": {"delivery_sweeper_schedule.json": {"requeued": 0}},
    "kazoo_auth": {"kazoo_auth_api_key_get.json": 200},
    "oauth": {"oauth_expire.json": 200},
    "route_fallback": {"route_fallback_method_not_allowed.json": 405},
    "subscribers": {"subscriber_put.json": 201, "subscribers_list.json": 200},
    "notifications": {"notifications_list.json": 200, "notifications_find_by_subscriber.json": 200},
    "usage_ingest": {"usage_post.json": 202},
    "evaluate_usage": {"evaluate_usage_records.json": {"batchItemFailures": []}},
    "services": {"services_get.json": 200, "services_audit_summary.json": 200, "services_topup.json": 200},
    "service_plans": {"service_plans_create.json": 201, "service_plans_list.json": 200},
    "services_quantities": {"services_quantities_stream.json": {"batchItemFailures": []}},
    "services_billing": {"services_billing_schedule.json": {"charged": 0}},
    "flush_buffers": {
        "flush_buffers_schedule.json": {"finished": 0, "rearmed": 0, "ended": 0},
        "flush_buffers_tick.json": {"batchItemFailures": []},
    },
    "event_buffer_files": {"event_buffer_files_list.json": 200},
    "dump_subscriptions": {
        "dump_subscriptions_request.json": 200,
        "dump_subscriptions_job.json": {"batchItemFailures": []},
    },
}


@pytest.fixture
def seeded(aws):
    accounts = AccountsRepository(aws["ACCOUNTS_TABLE"])
    accounts.put_account(Account(id=ACCOUNT, name="Sample", created_ms=1))
    accounts.put_user(User(id=USER, account_id=ACCOUNT, priv_level="admin", created_ms=1))
    accounts.put_api_key(
        ApiKey(key_hash=hash_token(TOKEN), account_id=ACCOUNT, user_id=USER, priv_level="admin", created_ms=1)
    )
    AlertsRepository(aws["ALERTS_TABLE"]).create(sample_alert())
    # delivery configuration 1001, which the sample subscription names
    from switchboard import wiring
    from switchboard.events.models import DeliveryConfigurationInput
    from switchboard.tenancy import Caller

    owner = Caller(account_id=ACCOUNT, user_id=USER, priv_level="admin")
    config, _ = wiring.configurations().create(
        owner,
        None,
        DeliveryConfigurationInput.model_validate({"del-cfg-nm": "sample", "addr": "https://hooks.example.com/sample"}),
    )
    assert config.id == "1001"
    # the dump sample needs a subscription that receives its event_file_complete notice
    from switchboard.events.models import SubscriptionInput

    notice = SubscriptionInput.model_validate({"del-cfg-id": "1001", "evt-tp": "event_file_complete"})
    wiring.subscriptions().create(owner, None, "MSS-Messages", notice)
    # the AirVantage rule the hook sample names
    from switchboard.rules.models import AlertRule
    from switchboard.rules.repository import RulesRepository
    from switchboard.rules.validation import parse_rule

    spec = parse_rule(json.loads(sample_event("alert_rules_create.json")["body"]))
    rules = RulesRepository(aws["RULES_TABLE"])
    rules.create_rule(AlertRule.create(RULE, ACCOUNT, spec, 1_700_000_000_000))
    # the system the telemetry samples name
    from switchboard.rules.models import SystemInput

    rules.create_system(ACCOUNT, SYSTEM, SystemInput.model_validate({"name": "Boiler 12"}))
    # the account the Expeto samples act in has usage notifications enabled
    accounts.set_feature(ACCOUNT, "usage-notifications", True)


def sample_alert() -> Alert:
    """The alert the sample events name."""
    return Alert(
        id=ALERT,
        account_id=ACCOUNT,
        title="Sample",
        message="A sample alert",
        originators=[Originator(type="account", value=ACCOUNT)],
        to=[Recipient(type="admins", value=ACCOUNT)],
        slots=[Slot(account_id=ACCOUNT, audience="admins", key=("admins", ACCOUNT))],
        clearable=True,
        created_ms=1_700_000_000_000,
        revision="1-sample",
    )


def test_every_function_has_samples_and_every_sample_is_used():
    functions = {
        props["Properties"]["CodeUri"].strip("/").split("/")[-1]
        for props in template()["Resources"].values()
        if props["Type"] == "AWS::Serverless::Function"
    }
    assert functions == set(SAMPLES)
    assert {path.name for path in EVENTS.glob("*.json")} == {name for events in SAMPLES.values() for name in events}


@pytest.mark.parametrize(
    "function, event_name, status", [(fn, ev, st) for fn, events in SAMPLES.items() for ev, st in events.items()]
)
def test_sample_event(seeded, aws, function, event_name, status):
    event = sample_event(event_name)
    if function == "services_quantities":  # the sample names the local runtime's table; here it is moto's
        for record in event["Records"]:
            record["eventSourceARN"] = record["eventSourceARN"].replace(
                "switchboard-local-RulesTable", aws["RULES_TABLE"]
            )
    response = load_function(function).lambda_handler(event, LambdaContext())
    if isinstance(status, dict):
        assert response == status
    elif status is None:  # the authorizer answers a policy
        assert response["policyDocument"]["Statement"][0]["Effect"] == "Allow"
        assert response["context"]["account_id"] == ACCOUNT
    else:
        assert response["statusCode"] == status, response["body"]
        if function == "alerts":
            assert json.loads(response["body"])["status"] == "success"
