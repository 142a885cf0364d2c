"""Login state in the accounts table (docs/authentication.md, docs/access-patterns.md).

pk                                   sk             item
SESSION#{sha256(token)}              SESSION        a session: the caller it stands for, expires_ms, ttl
ACCOUNTKEY#{sha256(key)}             ACCOUNTKEY     an account API key (KAZOO api_auth)
ACCOUNTKEYOF#{account}               ACCOUNTKEY     which key is the account's current one (rotation)
ACCOUNTNAME#{lower(name)}            ACCOUNT#{id}   account_name → account (KAZOO user_auth)
USERNAME#{account}#{lower(username)} USERNAME       a user's login name, its credential buckets
LOGIN#{account}#{method}#{bucket}    USER#{id}      an argon2id hash of the client digest
LOGINFAIL#{scope}#{window}           LOGINFAIL      failed logins in a window (counter, ttl)
"""

from __future__ import annotations

from typing import Any

from switchboard import aws
from switchboard.accounts.models import LoginCredential, Session
from switchboard.store import dynamo


def _session_item(session: Session) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": f"SESSION#{session.token_hash}",
        "sk": "SESSION",
        "account_id": session.account_id,
        "priv_level": session.priv_level,
        "ancestry": list(session.ancestry),
        "method": session.method,
        "created_ms": session.created_ms,
        "expires_ms": session.expires_ms,
        "ttl": session.expires_ms // 1000 + 1,
    }
    if session.user_id:
        item["user_id"] = session.user_id
    if session.scopes:
        item["scopes"] = sorted(session.scopes)
    if session.refresh_hash:
        item["refresh_hash"] = session.refresh_hash
    return item


class LoginRepository:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    @property
    def _table(self) -> Any:
        return aws.table(self._table_name)

    # sessions
    def put_session(self, session: Session) -> None:
        self._table.put_item(Item=_session_item(session), ConditionExpression="attribute_not_exists(pk)")

    def get_session(self, token_hash: str) -> Session | None:
        item = self._table.get_item(Key={"pk": f"SESSION#{token_hash}", "sk": "SESSION"}).get("Item")
        if not item:
            return None
        return Session(
            token_hash=token_hash,
            account_id=item["account_id"],
            user_id=item.get("user_id"),
            priv_level=item.get("priv_level", "user"),
            scopes=frozenset(item.get("scopes", [])),
            ancestry=tuple(item.get("ancestry", [])),
            method=item.get("method", "api_key"),
            created_ms=int(item["created_ms"]),
            expires_ms=int(item["expires_ms"]),
            refresh_hash=item.get("refresh_hash"),
        )

    def delete_session(self, token_hash: str) -> bool:
        result = self._table.delete_item(Key={"pk": f"SESSION#{token_hash}", "sk": "SESSION"}, ReturnValues="ALL_OLD")
        return bool(result.get("Attributes"))

    # account API keys
    def get_account_key(self, key_hash: str) -> str | None:
        """The account the key belongs to, or None."""
        item = self._table.get_item(Key={"pk": f"ACCOUNTKEY#{key_hash}", "sk": "ACCOUNTKEY"}).get("Item")
        return str(item["account_id"]) if item else None

    def get_current_account_key(self, account_id: str) -> dict[str, Any] | None:
        return self._table.get_item(Key={"pk": f"ACCOUNTKEYOF#{account_id}", "sk": "ACCOUNTKEY"}).get("Item")

    def replace_account_key(self, account_id: str, key_hash: str, created_ms: int) -> None:
        """The account's one key becomes `key_hash`; the previous one stops working in the same write."""
        current = self.get_current_account_key(account_id)
        operations = [
            dynamo.put(
                self._table_name,
                {
                    "pk": f"ACCOUNTKEY#{key_hash}",
                    "sk": "ACCOUNTKEY",
                    "account_id": account_id,
                    "created_ms": created_ms,
                },
                "attribute_not_exists(pk)",
            ),
            dynamo.put(
                self._table_name,
                {
                    "pk": f"ACCOUNTKEYOF#{account_id}",
                    "sk": "ACCOUNTKEY",
                    "key_hash": key_hash,
                    "created_ms": created_ms,
                },
            ),
        ]
        if current:
            operations.append(
                dynamo.delete(self._table_name, {"pk": f"ACCOUNTKEY#{current['key_hash']}", "sk": "ACCOUNTKEY"})
            )
        dynamo.transact(operations)

    # account names
    def put_account_name(self, name: str, account_id: str) -> None:
        self._table.put_item(Item={"pk": f"ACCOUNTNAME#{name.strip().lower()}", "sk": f"ACCOUNT#{account_id}"})

    def accounts_named(self, name: str) -> list[str]:
        items = dynamo.query_all(
            self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": f"ACCOUNTNAME#{name.strip().lower()}"},
        )
        return [str(item["sk"]).removeprefix("ACCOUNT#") for item in items]

    # user credentials
    def get_username(self, account_id: str, username: str) -> dict[str, Any] | None:
        return self._table.get_item(Key={"pk": f"USERNAME#{account_id}#{username}", "sk": "USERNAME"}).get("Item")

    def put_credentials(
        self, account_id: str, username: str, user_id: str, credentials: list[LoginCredential], replace: bool
    ) -> None:
        """The user's login name and its credential hashes, replacing the previous ones in the same write."""
        previous = self.get_username(account_id, username) if replace else None
        operations = [
            dynamo.put(
                self._table_name,
                {
                    "pk": f"USERNAME#{account_id}#{username}",
                    "sk": "USERNAME",
                    "user_id": user_id,
                    "buckets": [f"{c.method}#{c.bucket}" for c in credentials],
                },
                None if replace else "attribute_not_exists(pk)",
            )
        ]
        fresh = {f"{c.method}#{c.bucket}" for c in credentials}
        previous_user = (previous or {}).get("user_id")
        for old in (previous or {}).get("buckets", []):
            if old not in fresh:
                operations.append(
                    dynamo.delete(self._table_name, {"pk": f"LOGIN#{account_id}#{old}", "sk": f"USER#{previous_user}"})
                )
        for credential in credentials:
            operations.append(
                dynamo.put(
                    self._table_name,
                    {
                        "pk": f"LOGIN#{account_id}#{credential.method}#{credential.bucket}",
                        "sk": f"USER#{user_id}",
                        "user_id": user_id,
                        "username": username,
                        "hash": credential.hash,
                    },
                )
            )
        dynamo.transact(operations)

    def credentials_in(self, account_id: str, method: str, bucket: str) -> list[dict[str, Any]]:
        return dynamo.query_all(
            self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": f"LOGIN#{account_id}#{method}#{bucket}"},
        )

    # failed logins
    def failures(self, scopes: list[str], window: int) -> int:
        """The largest failure count among `scopes` in `window`."""
        keys = [{"pk": f"LOGINFAIL#{scope}#{window}", "sk": "LOGINFAIL"} for scope in scopes]
        items = dynamo.batch_get(self._table_name, keys)
        return max((int(item.get("count", 0)) for item in items), default=0)

    def count_failure(self, scopes: list[str], window: int, expires_s: int) -> None:
        for scope in scopes:
            self._table.update_item(
                Key={"pk": f"LOGINFAIL#{scope}#{window}", "sk": "LOGINFAIL"},
                UpdateExpression="ADD #count :one SET #ttl = :ttl",
                ExpressionAttributeNames={"#count": "count", "#ttl": "ttl"},
                ExpressionAttributeValues={":one": 1, ":ttl": expires_s},
            )


class OAuthRepository:
    """OAuth 2 state beside the sessions (AirVantage's `/api/oauth/*`).

    pk                          sk            item
    OAUTHCLIENT#{client_id}     OAUTHCLIENT   an API client of an account: sha256 of its secret
    REFRESH#{sha256(token)}     REFRESH       a refresh token: whom it logs in again, its session, expires_ms
    """

    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    @property
    def _table(self) -> Any:
        return aws.table(self._table_name)

    def put_client(self, client_id: str, account_id: str, secret_hash: str, created_ms: int) -> None:
        self._table.put_item(
            Item={
                "pk": f"OAUTHCLIENT#{client_id}",
                "sk": "OAUTHCLIENT",
                "account_id": account_id,
                "secret_hash": secret_hash,
                "created_ms": created_ms,
            },
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get_client(self, client_id: str) -> dict[str, Any] | None:
        return self._table.get_item(Key={"pk": f"OAUTHCLIENT#{client_id}", "sk": "OAUTHCLIENT"}).get("Item")

    def put_refresh(self, refresh_hash: str, session: Session, expires_ms: int) -> None:
        item: dict[str, Any] = {
            "pk": f"REFRESH#{refresh_hash}",
            "sk": "REFRESH",
            "account_id": session.account_id,
            "session_hash": session.token_hash,
            "expires_ms": expires_ms,
            "ttl": expires_ms // 1000 + 1,
        }
        if session.user_id:
            item["user_id"] = session.user_id
        self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")

    def take_refresh(self, refresh_hash: str) -> dict[str, Any] | None:
        """Deletes the refresh token and answers what it was, or None when it was not there (used once only)."""
        result = self._table.delete_item(Key={"pk": f"REFRESH#{refresh_hash}", "sk": "REFRESH"}, ReturnValues="ALL_OLD")
        return result.get("Attributes") or None
