"""DynamoDB requests per call, counted on moto: list alerts is one Query per visibility key,
and never a Scan."""

from __future__ import annotations

import os
from collections import Counter
from contextlib import contextmanager
from typing import Any

import boto3


@contextmanager
def _moto_tables():
    from moto import mock_aws
    from switchboard import aws, wiring

    from tests.support import create_template_tables

    os.environ.update(
        {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    with mock_aws():
        aws.use_session(None)
        os.environ.update(create_template_tables())
        wiring.reset()
        yield


class RequestCounter:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def attach(self, session: Any) -> None:
        session.events.register("before-call.dynamodb", self)


def count_list_requests() -> list[dict[str, Any]]:
    from switchboard import aws, wiring
    from switchboard.alerts.models import AlertInput
    from switchboard.alerts.visibility import visibility_keys
    from switchboard.store.pages import PageRequest

    rows = []
    with _moto_tables():
        accounts = wiring.accounts()
        root = accounts.create_account("Root", is_reseller=True)
        middle = accounts.create_account("Middle", parent_id=root.account_id, is_reseller=True)
        leaf = accounts.create_account("Leaf", parent_id=middle.account_id)
        plain = accounts.issue_token(leaf.account_id)
        service = wiring.alerts()
        admin = accounts.resolve(leaf.token)
        for audience in ("admins", "all"):
            service.create(
                admin,
                leaf.account_id,
                AlertInput.model_validate(
                    {
                        "title": "t",
                        "message": "m",
                        "from": [{"type": "account", "value": leaf.account_id}],
                        "to": [{"type": audience, "value": leaf.account_id}],
                    }
                ),
            )
        for who, token in (("admin", leaf.token), ("plain user", plain.token)):
            caller = accounts.resolve(token)
            counter = RequestCounter()
            session = boto3.session.Session()
            counter.attach(session)
            aws.use_session(session)  # the service's repositories now draw counted clients
            page = service.list_for(caller, leaf.account_id, PageRequest(size=50))
            keys = visibility_keys(caller, leaf.account_id, (root.account_id, middle.account_id))
            rows.append(
                {
                    "who": who,
                    "keys": len(keys),
                    "queries": counter.calls["Query"],
                    "scans": counter.calls["Scan"],
                    "other": sum(counter.calls.values()) - counter.calls["Query"],
                    "rows": len(page.items),
                }
            )
    return rows


def report() -> list[str]:
    return [
        f"list alerts ({row['who']:<10}) visibility keys {row['keys']}  Query {row['queries']}  "
        f"Scan {row['scans']}  other requests {row['other']}  rows {row['rows']}"
        for row in count_list_requests()
    ]
