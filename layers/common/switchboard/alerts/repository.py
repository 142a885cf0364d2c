"""The alerts table (access patterns in docs/access-patterns.md).

    pk               sk                                      item
    ALERT#{id}       ALERT                                   the alert document
    RCPT#{account}   {audience}#{created_ms:013d}#{id}       one recipient entry (a list row)
    SYSALERT#{acct}  {category}#{id}                         marks a system alert, to retire it later

A list is one query per visibility key on `RCPT#{account}` with `begins_with(sk, prefix)`;
entries carry the row's value so listing never reads the documents. `expires_at` hides
expired alerts at once; `ttl` lets DynamoDB delete them a day later.
"""

from __future__ import annotations

import json
from typing import Any

from switchboard import aws
from switchboard.alerts.models import Alert, AlertRow
from switchboard.alerts.visibility import VisibilityKey
from switchboard.errors import InvalidInput, NotFound
from switchboard.store import cursor, dynamo
from switchboard.store.pages import Page, PageRequest

TTL_GRACE_S = 86_400


class AlertsRepository:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    @property
    def _table(self) -> Any:
        return aws.table(self._table_name)

    @staticmethod
    def _entry_sk(alert: Alert, audience: str) -> str:
        return f"{audience}#{alert.created_ms:013d}#{alert.id}"

    def _ttl(self, alert: Alert) -> dict[str, int]:
        expires = alert.expires_at_s
        return {} if expires is None else {"expires_at": expires, "ttl": expires + TTL_GRACE_S}

    def create(self, alert: Alert) -> None:
        """The document and every recipient entry, all or nothing."""
        view = json.dumps(alert.view_value(), separators=(",", ":"))
        operations = [
            dynamo.put(
                self._table_name,
                {"pk": f"ALERT#{alert.id}", "sk": "ALERT", "doc": alert.model_dump_json(), **self._ttl(alert)},
                condition="attribute_not_exists(pk)",
            )
        ]
        for slot in dict.fromkeys(alert.slots):  # the same recipient twice is one entry
            operations.append(
                dynamo.put(
                    self._table_name,
                    {
                        "pk": f"RCPT#{slot.account_id}",
                        "sk": self._entry_sk(alert, slot.audience),
                        "alert_id": alert.id,
                        "key": list(slot.key),
                        "view": view,
                        "clearable": alert.clearable,
                        **self._ttl(alert),
                    },
                )
            )
        if self._system_marker(alert):
            operations.append(dynamo.put(self._table_name, {**self._system_marker(alert), "alert_id": alert.id}))
        dynamo.transact(operations)

    @staticmethod
    def _system_marker(alert: Alert) -> dict[str, str]:
        if alert.clearable:
            return {}
        return {"pk": f"SYSALERT#{alert.account_id}", "sk": f"{alert.category or ''}#{alert.id}"}

    def system_alerts(self, account_id: str, category: str) -> list[Alert]:
        from boto3.dynamodb.conditions import Key

        items = dynamo.query_all(
            self._table,
            KeyConditionExpression=Key("pk").eq(f"SYSALERT#{account_id}") & Key("sk").begins_with(f"{category}#"),
        )
        alerts = (self.get(item["alert_id"]) for item in items)
        return [alert for alert in alerts if alert is not None]

    def get(self, alert_id: str) -> Alert | None:
        item = self._table.get_item(Key={"pk": f"ALERT#{alert_id}", "sk": "ALERT"}).get("Item")
        return Alert.model_validate_json(item["doc"]) if item else None

    def delete(self, alert: Alert) -> None:
        operations = [
            dynamo.delete(
                self._table_name, {"pk": f"ALERT#{alert.id}", "sk": "ALERT"}, condition="attribute_exists(pk)"
            )
        ]
        operations += [
            dynamo.delete(
                self._table_name, {"pk": f"RCPT#{slot.account_id}", "sk": self._entry_sk(alert, slot.audience)}
            )
            for slot in dict.fromkeys(alert.slots)
        ]
        if self._system_marker(alert):
            operations.append(dynamo.delete(self._table_name, self._system_marker(alert)))
        try:
            dynamo.transact(operations)
        except dynamo.TransactionFailed:
            raise NotFound(alert.id, "alert") from None  # cleared by a concurrent request

    def list_rows(self, keys: list[VisibilityKey], request: PageRequest, now_s: int) -> Page:
        """Rows under `keys`, key after key, unexpired, at most `request.size` of them.

        The cursor is (index of the key, last sort key read in it); partition keys never
        leave the server.
        """
        from boto3.dynamodb.conditions import Attr, Key

        start = cursor.decode(request.start_key) if request.start_key else {"k": 0, "sk": None}
        index, after = start.get("k"), start.get("sk")
        if (
            not isinstance(index, int)
            or not 0 <= index < max(len(keys), 1)
            or not (
                after is None or (isinstance(after, str) and index < len(keys) and after.startswith(keys[index].prefix))
            )
        ):
            raise InvalidInput.single("start_key", "invalid", "not a paging key this server issued", request.start_key)
        unexpired = Attr("expires_at").not_exists() | Attr("expires_at").gt(now_s)
        rows: list[AlertRow] = []
        while index < len(keys):
            key = keys[index]
            partition = Key("pk").eq(f"RCPT#{key.account_id}")
            condition = partition & Key("sk").begins_with(key.prefix) if key.prefix else partition
            items, last = dynamo.query_page(
                self._table,
                None if request.size is None else request.size - len(rows),
                {"pk": f"RCPT#{key.account_id}", "sk": after} if after else None,
                KeyConditionExpression=condition,
                FilterExpression=unexpired,
            )
            rows.extend(
                AlertRow(
                    id=item["alert_id"],
                    key=tuple(item["key"]),
                    value=json.loads(item["view"]),
                    clearable=bool(item["clearable"]),
                )
                for item in items
            )
            if last:
                after = last["sk"]
            else:
                index, after = index + 1, None
            if request.size is not None and len(rows) >= request.size:
                break
        next_key = cursor.encode({"k": index, "sk": after}) if index < len(keys) else None
        return Page(items=[row.model_dump() for row in rows], start_key=request.start_key, next_start_key=next_key)
