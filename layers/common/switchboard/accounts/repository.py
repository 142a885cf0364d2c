"""The accounts table (single-table design; access patterns in docs/access-patterns.md).

pk                 sk          item
ACCOUNT#{id}       ACCOUNT     account
USER#{id}          USER        user          gsi1: ACCOUNT#{account} / USER#{id}
APIKEY#{sha256}    APIKEY      api key       gsi1: ACCOUNT#{account} / APIKEY#{created}
"""

from __future__ import annotations

from typing import Any

from switchboard import aws
from switchboard.accounts.models import Account, ApiKey, User


class AccountsRepository:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    @property
    def _table(self) -> Any:
        return aws.table(self._table_name)

    # accounts
    def get_account(self, account_id: str) -> Account | None:
        item = self._table.get_item(Key={"pk": f"ACCOUNT#{account_id}", "sk": "ACCOUNT"}).get("Item")
        if not item:
            return None
        return Account(
            id=item["id"],
            name=item["name"],
            parent_id=item.get("parent_id"),
            ancestry=tuple(item.get("ancestry", [])),
            is_reseller=bool(item.get("is_reseller", False)),
            created_ms=int(item["created_ms"]),
            features=frozenset(item.get("features") or ()),
        )

    def set_feature(self, account_id: str, feature: str, enabled: bool) -> bool:
        """Turn a feature on or off for an account (a string set on its item); False when there is no account."""
        try:
            self._table.update_item(
                Key={"pk": f"ACCOUNT#{account_id}", "sk": "ACCOUNT"},
                UpdateExpression=f"{'ADD' if enabled else 'DELETE'} features :feature",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":feature": {feature}},
            )
        except self._table.meta.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def put_account(self, account: Account) -> None:
        item: dict[str, Any] = {
            "pk": f"ACCOUNT#{account.id}",
            "sk": "ACCOUNT",
            "id": account.id,
            "name": account.name,
            "ancestry": list(account.ancestry),
            "is_reseller": account.is_reseller,
            "created_ms": account.created_ms,
        }
        if account.parent_id:
            item["parent_id"] = account.parent_id
            item["gsi1pk"] = f"CHILDREN#{account.parent_id}"
            item["gsi1sk"] = f"ACCOUNT#{account.id}"
        self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")

    # users
    def get_user(self, user_id: str) -> User | None:
        item = self._table.get_item(Key={"pk": f"USER#{user_id}", "sk": "USER"}).get("Item")
        if not item:
            return None
        return User(
            id=item["id"],
            account_id=item["account_id"],
            priv_level=item["priv_level"],
            created_ms=int(item["created_ms"]),
        )

    def put_user(self, user: User) -> None:
        self._table.put_item(
            Item={
                "pk": f"USER#{user.id}",
                "sk": "USER",
                "gsi1pk": f"ACCOUNT#{user.account_id}",
                "gsi1sk": f"USER#{user.id}",
                "id": user.id,
                "account_id": user.account_id,
                "priv_level": user.priv_level,
                "created_ms": user.created_ms,
            },
            ConditionExpression="attribute_not_exists(pk)",
        )

    # api keys
    def get_api_key(self, key_hash: str) -> ApiKey | None:
        item = self._table.get_item(Key={"pk": f"APIKEY#{key_hash}", "sk": "APIKEY"}).get("Item")
        if not item:
            return None
        return ApiKey(
            key_hash=key_hash,
            account_id=item["account_id"],
            user_id=item.get("user_id"),
            priv_level=item.get("priv_level", "user"),
            scopes=frozenset(item.get("scopes", [])),
            ancestry=tuple(item.get("ancestry", [])),
            created_ms=int(item["created_ms"]),
        )

    def put_api_key(self, key: ApiKey) -> None:
        item: dict[str, Any] = {
            "pk": f"APIKEY#{key.key_hash}",
            "sk": "APIKEY",
            "gsi1pk": f"ACCOUNT#{key.account_id}",
            "gsi1sk": f"APIKEY#{key.created_ms:013d}#{key.key_hash[:12]}",
            "account_id": key.account_id,
            "priv_level": key.priv_level,
            "ancestry": list(key.ancestry),
            "created_ms": key.created_ms,
        }
        if key.user_id:
            item["user_id"] = key.user_id
        if key.scopes:
            item["scopes"] = sorted(key.scopes)
        self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
