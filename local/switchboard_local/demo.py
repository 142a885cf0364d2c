"""Demo data for `switchboard local --demo`: what the sample events under events/ refer to.

The samples (`switchboard invoke FUNCTION -e events/NAME.json`) name one account, its admin
user and key, an alert, delivery configuration 1001, an AirVantage rule and a system. This
module makes each exist when it does not (so a restart, or a sample that deleted one, gets it
back), through the domain's repositories and services like any function would.

It runs in a process of its own (`python -m switchboard_local.demo`) with the functions'
environment, so the domain layer configures itself exactly as in a function.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ACCOUNT = "4b8c6fec4b2597882c0390202d195419"
USER = "8ac3ae3b3e7e2f5c1b2a4d6e9f0a1b2c"
ALERT = "2b3f6a9d4e5c4f1a8b7c6d5e4f3a2b1c"
TOKEN = "sbk_SampleTokenForEventsOnly_0123456789abcdefABCDEF"
RULE = "0f3919fd1ac0403ab9e70ae2c3729a21"
SYSTEM = "91b74e52f04750824c22379ec3b4e75f"
CONFIGURATION = "1001"
CREATED_MS = 1_700_000_000_000
# The rule of events/alert_rules_create.json (the hook sample adds a hook to it).
RULE_SPEC = {
    "targetType": "SYSTEM",
    "name": "Daily usage exceeded",
    "message": "Daily usage exceeded",
    "active": True,
    "emails": ["machin@truc.com"],
    "conditions": [
        {
            "operator": "GREATER_THAN",
            "operands": [
                {"attributeId": {"name": "AGG._DATA_BYTES_TOTAL_DELTA/D"}, "function": "SUM"},
                {"valueNum": 1024},
            ],
        }
    ],
}


def ensure_demo_data() -> list[str]:
    """Create whatever of the demo data is missing; returns what was created."""
    from switchboard import secrets, wiring
    from switchboard.accounts.keys import hash_token
    from switchboard.accounts.models import Account, ApiKey, User
    from switchboard.accounts.repository import AccountsRepository
    from switchboard.alerts.models import Alert, Originator, Recipient, Slot
    from switchboard.alerts.repository import AlertsRepository
    from switchboard.events import configurations
    from switchboard.events.models import DeliveryConfiguration, DeliveryConfigurationInput, SubscriptionInput
    from switchboard.rules.models import AlertRule, SystemInput
    from switchboard.rules.repository import RulesRepository
    from switchboard.rules.validation import parse_rule
    from switchboard.tenancy import Caller

    created = []
    accounts = AccountsRepository(os.environ["ACCOUNTS_TABLE"])
    if accounts.get_account(ACCOUNT) is None:
        accounts.put_account(Account(id=ACCOUNT, name="Sample", created_ms=CREATED_MS))
        created.append("account")
    # The Expeto samples (subscribers, usage) need the feature an operator turns on per account.
    account = accounts.get_account(ACCOUNT)
    if account is not None and "usage-notifications" not in account.features:
        accounts.set_feature(ACCOUNT, "usage-notifications", True)
        created.append("usage-notifications feature")
    if accounts.get_user(USER) is None:
        accounts.put_user(User(id=USER, account_id=ACCOUNT, priv_level="admin", created_ms=CREATED_MS))
        created.append("user")
    if accounts.get_api_key(hash_token(TOKEN)) is None:
        accounts.put_api_key(
            ApiKey(
                key_hash=hash_token(TOKEN), account_id=ACCOUNT, user_id=USER, priv_level="admin", created_ms=CREATED_MS
            )
        )
        created.append("api key")

    alerts = AlertsRepository(os.environ["ALERTS_TABLE"])
    if alerts.get(ALERT) is None:
        alerts.create(
            Alert(
                id=ALERT,
                account_id=ACCOUNT,
                title="Sample",
                message="A sample alert",
                originators=[Originator(type="account", value=ACCOUNT)],
                to=[Recipient(type="admins", value=ACCOUNT)],
                slots=[Slot(account_id=ACCOUNT, audience="admins", key=("admins", ACCOUNT))],
                clearable=True,
                created_ms=CREATED_MS,
                revision="1-sample",
            )
        )
        created.append("alert")

    events = wiring.events_repository()
    if events.get_configuration(ACCOUNT, CONFIGURATION) is None:
        # Stored under the samples' fixed id (not the next number of the shared sequence, which other
        # accounts' configurations may have moved on), with a signing secret sealed as the API seals it.
        events.create_configuration(
            DeliveryConfiguration(
                id=CONFIGURATION,
                account_id=ACCOUNT,
                spec=DeliveryConfigurationInput.model_validate(
                    {"del-cfg-nm": "sample", "addr": "https://hooks.example.com/sample"}
                ),
                sealed_signing_secret=secrets.seal(
                    secrets.new_signing_secret(), ACCOUNT, configurations.SIGNING_SECRET_PURPOSE
                ),
                created_ms=CREATED_MS,
                updated_ms=CREATED_MS,
            )
        )
        created.append(f"delivery configuration {CONFIGURATION}")
        # The sequence moves past the fixed id, so the account's next configuration cannot take it.
        while int(events.next_id("delivery-configuration")) < int(CONFIGURATION):
            pass
    # The dump sample needs a subscription that receives its event_file_complete notice.
    notices = [s for s in events.list_subscriptions(ACCOUNT, 0, 1000) if s.topic == "MSS-Messages"]
    if not notices:
        owner = Caller(account_id=ACCOUNT, user_id=USER, priv_level="admin")
        notice = SubscriptionInput.model_validate({"del-cfg-id": CONFIGURATION, "evt-tp": "event_file_complete"})
        wiring.subscriptions().create(owner, None, "MSS-Messages", notice)
        created.append("MSS-Messages subscription")

    rules = RulesRepository(os.environ["RULES_TABLE"])
    if rules.get_rule(ACCOUNT, RULE) is None:
        rules.create_rule(AlertRule.create(RULE, ACCOUNT, parse_rule(RULE_SPEC), CREATED_MS))
        created.append("alert rule")
    if rules.get_system(ACCOUNT, SYSTEM) is None:
        rules.create_system(ACCOUNT, SYSTEM, SystemInput.model_validate({"name": "Boiler 12"}))
        created.append("system")
    return created


def seed_in_subprocess(environment: Mapping[str, str], timeout: float = 60.0) -> dict[str, Any]:
    """Run ensure_demo_data in a fresh interpreter with `environment`; returns its report."""
    package_parent = str(Path(__file__).resolve().parent.parent)
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR", "VIRTUAL_ENV") if k in os.environ}
    env.update(environment)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH", "")]))
    result = subprocess.run(
        [sys.executable, "-m", "switchboard_local.demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"demo data: {result.stderr.strip().splitlines()[-1:] or result.returncode}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    created = ensure_demo_data()
    print(json.dumps({"account_id": ACCOUNT, "token": TOKEN, "created": created}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
