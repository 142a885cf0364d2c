"""Counting an account's billable resources where they live (POST /services/reconciliation).

Each count is a keys-only query inside the account's own partition of the owning table
(or the accounts table's gsi1 for its users and sub-accounts): no Scan.
"""

from __future__ import annotations

from typing import Any

from switchboard import aws
from switchboard.store import dynamo


class SourceCounts:
    def __init__(self, accounts_table: str, events_table: str, rules_table: str) -> None:
        self._accounts = accounts_table
        self._events = events_table
        self._rules = rules_table

    def _count(self, table: str, pk: tuple[str, str], prefix: str, index: str | None = None) -> int:
        from boto3.dynamodb.conditions import Key

        pk_name, pk_value = pk
        sk_name = "gsi1sk" if index else "sk"
        params: dict[str, Any] = {
            "KeyConditionExpression": Key(pk_name).eq(pk_value) & Key(sk_name).begins_with(prefix),
            "ProjectionExpression": "pk",
        }
        if index:
            params["IndexName"] = index
        return sum(len(page) for page in dynamo.query_pages(aws.table(table), **params))

    def count(self, account_id: str) -> dict[tuple[str, str], int]:
        return {
            ("users", "user"): self._count(self._accounts, ("gsi1pk", f"ACCOUNT#{account_id}"), "USER#", "gsi1"),
            ("accounts", "account"): self._count(
                self._accounts, ("gsi1pk", f"CHILDREN#{account_id}"), "ACCOUNT#", "gsi1"
            ),
            ("ess", "delivery_configuration"): self._count(self._events, ("pk", f"ACCT#{account_id}"), "DELCFG#"),
            ("ess", "subscription"): self._count(self._events, ("pk", f"ACCT#{account_id}"), "SUB#"),
            ("airvantage", "system"): self._count(self._rules, ("pk", f"CO#{account_id}"), "SYS#"),
            ("airvantage", "alert_rule"): self._count(self._rules, ("pk", f"CO#{account_id}"), "RULE#"),
            ("airvantage", "hook"): self._count(self._rules, ("pk", f"CO#{account_id}"), "HOOK#"),
        }
