"""The ESS table (access patterns in docs/ess.md).

    pk                                  sk                          item
    ACCT#{account}                      STATS                       quotas: delivery_configurations, subscriptions
    ACCT#{account}                      DELCFG#{id:012}             delivery configuration
    ACCT#{account}                      DELCFGNAME#{name}           name guard (names are unique per company)
    ACCT#{account}                      SUB#{id:012}                subscription
    ACCT#{account}                      PINFIELD#{topic}#{field}    how many subscriptions are indexed on a field
    ACCT#{account}                      PINVAL#{topic}#{field}={v}  how many subscriptions pin one value
    ACCT#{account}                      PINCOUNT#{topic}#{field}    how many distinct values are pinned
    ACCT#{account}                      EVT#{event id}              published event (expires)
    SUBIDX#{account}#{topic}#{f}={v}    SUB#{id:012}                index entry of a subscription pinned on f = v
    SUBIDX#{account}#{topic}#*          SUB#{id:012}                index entry of an unpinned subscription
    COUNTER#ids                         {sequence}                  id sequences (never reused)
    CATALOG                             EXTRA                       the operator's catalog additions

Finding the subscriptions an event may match reads the PINFIELD registry of its topic, one
index partition per registered field the event carries, and the unpinned partition: the
same few requests with ten subscriptions or millions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from switchboard import aws
from switchboard.errors import Conflict, LimitExceeded, NotFound
from switchboard.events.models import (
    MAX_DELIVERY_CONFIGURATIONS,
    MAX_SUBSCRIPTIONS,
    DeliveryConfiguration,
    DeliveryConfigurationInput,
    Event,
    StoredAuthentication,
    Subscription,
)
from switchboard.store import dynamo
from switchboard.store.writes import Writes

ID_SEQUENCE_START = 1000
EVENT_RETENTION_S = 30 * 86_400
_PIN_RETRIES = 5


def _acct(account_id: str) -> str:
    return f"ACCT#{account_id}"


def _padded(numeric_id: str) -> str:
    return numeric_id.zfill(12)


def index_partition(account_id: str, topic: str, field: str | None, value: str | None) -> str:
    return f"SUBIDX#{account_id}#{topic}#" + ("*" if field is None else f"{field}={value}")


class EventsRepository:
    def __init__(self, table_name: str) -> None:
        self._name = table_name

    @property
    def _table(self) -> Any:
        return aws.table(self._name)

    # ------------------------------------------------------------ ids
    def next_id(self, sequence: str) -> str:
        """The next number of a sequence; a failed write later just leaves a gap."""
        response = self._table.update_item(
            Key={"pk": "COUNTER#ids", "sk": sequence},
            UpdateExpression="ADD #v :one",
            ExpressionAttributeNames={"#v": "value"},
            ExpressionAttributeValues={":one": 1},
            ReturnValues="UPDATED_NEW",
        )
        return str(ID_SEQUENCE_START + int(response["Attributes"]["value"]))

    # ------------------------------------------------------------ delivery configurations
    def _config_item(self, config: DeliveryConfiguration) -> dict[str, Any]:
        item = {
            "pk": _acct(config.account_id),
            "sk": f"DELCFG#{_padded(config.id)}",
            "id": config.id,
            "name": config.spec.name,
            "spec": config.spec.model_dump_json(),  # by field name; specs stored by wire alias still read
            "auth": config.authentication.model_dump_json(exclude_none=True),
            "sealed_signing_secret": config.sealed_signing_secret,
            "subscription_count": config.subscription_count,
            "created_ms": config.created_ms,
            "updated_ms": config.updated_ms,
        }
        if config.sealed_previous_signing_secret:
            item["sealed_previous_signing_secret"] = config.sealed_previous_signing_secret
            item["previous_signing_secret_expires_ms"] = config.previous_signing_secret_expires_ms
        return item

    @staticmethod
    def _config_from(item: dict[str, Any], account_id: str) -> DeliveryConfiguration:
        return DeliveryConfiguration(
            id=item["id"],
            account_id=account_id,
            spec=DeliveryConfigurationInput.model_validate_json(item["spec"]),
            authentication=StoredAuthentication.model_validate_json(item["auth"]),
            sealed_signing_secret=item["sealed_signing_secret"],
            sealed_previous_signing_secret=item.get("sealed_previous_signing_secret"),
            previous_signing_secret_expires_ms=item.get("previous_signing_secret_expires_ms"),
            subscription_count=int(item.get("subscription_count", 0)),
            created_ms=int(item["created_ms"]),
            updated_ms=int(item["updated_ms"]),
            circuit_open_until_ms=int(item["circuit_open_until_ms"]) if "circuit_open_until_ms" in item else None,
        )

    def open_circuit(self, account_id: str, config_id: str, until_ms: int) -> bool:
        """Hold the configuration's attempts until `until_ms` (not a change of the configuration: its
        version stays, and the next write of the configuration clears it)."""
        try:
            self._table.update_item(
                Key={"pk": _acct(account_id), "sk": f"DELCFG#{_padded(config_id)}"},
                UpdateExpression="SET circuit_open_until_ms = :until",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":until": until_ms},
            )
        except self._table.meta.client.exceptions.ConditionalCheckFailedException:
            return False  # deleted meanwhile
        return True

    def _name_guard(self, account_id: str, name: str) -> dict[str, str]:
        return {"pk": _acct(account_id), "sk": f"DELCFGNAME#{name}"}

    def create_configuration(self, config: DeliveryConfiguration) -> None:
        acct = config.account_id
        operations = [
            dynamo.update(
                self._name,
                {"pk": _acct(acct), "sk": "STATS"},
                "ADD delivery_configurations :one",
                {":one": 1, ":max": MAX_DELIVERY_CONFIGURATIONS},
                condition="attribute_not_exists(delivery_configurations) OR delivery_configurations < :max",
            ),
            dynamo.put(
                self._name,
                {**self._name_guard(acct, config.spec.name), "id": config.id},
                condition="attribute_not_exists(pk)",
            ),
            dynamo.put(self._name, self._config_item(config), condition="attribute_not_exists(pk)"),
        ]
        try:
            dynamo.transact(operations)
        except dynamo.TransactionFailed as exc:
            if exc.failed(0):
                raise LimitExceeded(
                    f"a company may have at most {MAX_DELIVERY_CONFIGURATIONS} delivery configurations"
                ) from None
            raise Conflict(f"a delivery configuration named '{config.spec.name}' already exists") from None

    def get_configuration(self, account_id: str, config_id: str) -> DeliveryConfiguration | None:
        if not config_id.isdigit() or len(config_id) > 12:
            return None
        item = self._table.get_item(Key={"pk": _acct(account_id), "sk": f"DELCFG#{_padded(config_id)}"}).get("Item")
        return self._config_from(item, account_id) if item else None

    def list_configurations(self, account_id: str, offset: int, limit: int) -> list[DeliveryConfiguration]:
        items = self._query_prefix(_acct(account_id), "DELCFG#", offset + limit)
        return [self._config_from(item, account_id) for item in items[offset:]]

    def replace_configuration(self, old: DeliveryConfiguration, new: DeliveryConfiguration) -> None:
        """Write `new` over `old` (moving the name guard if the name changed)."""
        acct = new.account_id
        item = self._config_item(new)
        item.pop("subscription_count")  # maintained by subscription writes only
        names = {f"#{i}": key for i, key in enumerate(item) if key not in ("pk", "sk")}
        values = {f":{i}": item[key] for i, key in enumerate(item) if key not in ("pk", "sk")}
        assignments = ", ".join(f"#{i} = :{i}" for i, key in enumerate(item) if key not in ("pk", "sk"))
        operations = [
            dynamo.update(
                self._name,
                {"pk": item["pk"], "sk": item["sk"]},
                # A write that clears the circuit breaker (docs/delivery.md) removes it; others leave it.
                f"SET {assignments}" + (" REMOVE circuit_open_until_ms" if new.circuit_open_until_ms is None else ""),
                {**values, ":seen": old.updated_ms},
                condition="updated_ms = :seen",
                names=names,
            )
        ]
        if old.spec.name != new.spec.name:
            operations += [
                dynamo.delete(self._name, self._name_guard(acct, old.spec.name)),
                dynamo.put(
                    self._name,
                    {**self._name_guard(acct, new.spec.name), "id": new.id},
                    condition="attribute_not_exists(pk)",
                ),
            ]
        try:
            dynamo.transact(operations)
        except dynamo.TransactionFailed as exc:
            if exc.failed(0):
                raise Conflict("the delivery configuration changed meanwhile; read it again") from None
            raise Conflict(f"a delivery configuration named '{new.spec.name}' already exists") from None

    def configuration_id_by_name(self, account_id: str, name: str) -> str | None:
        item = self._table.get_item(Key=self._name_guard(account_id, name)).get("Item")
        return item["id"] if item else None

    def version_check(self, config: DeliveryConfiguration) -> dict[str, Any]:
        """A transaction condition that holds while the configuration is as `config` was read."""
        return dynamo.check(
            self._name,
            {"pk": _acct(config.account_id), "sk": f"DELCFG#{_padded(config.id)}"},
            "updated_ms = :seen",
            {":seen": config.updated_ms},
        )

    def delete_configuration(self, config: DeliveryConfiguration) -> None:
        acct = config.account_id
        operations = [
            dynamo.delete(
                self._name,
                {"pk": _acct(acct), "sk": f"DELCFG#{_padded(config.id)}"},
                condition="attribute_exists(pk) AND subscription_count = :zero",
                values={":zero": 0},
            ),
            dynamo.delete(self._name, self._name_guard(acct, config.spec.name)),
            dynamo.update(
                self._name, {"pk": _acct(acct), "sk": "STATS"}, "ADD delivery_configurations :minus", {":minus": -1}
            ),
        ]
        try:
            dynamo.transact(operations)
        except dynamo.TransactionFailed:
            raise Conflict(f"delivery configuration {config.id} is used by subscriptions; delete them first") from None

    # ------------------------------------------------------------ subscriptions
    @staticmethod
    def _subscription_from(item: dict[str, Any]) -> Subscription:
        return Subscription.model_validate_json(item["doc"])

    def _subscription_writes(self, writes: Writes, sub: Subscription, adding: bool) -> None:
        """The subscription item, its index entry, and every counter it moves (± one)."""
        acct = _acct(sub.account_id)
        sign = 1 if adding else -1
        key = {"pk": acct, "sk": f"SUB#{_padded(sub.id)}"}
        entry_key = {
            "pk": index_partition(sub.account_id, sub.topic, sub.index_field, sub.index_value),
            "sk": f"SUB#{_padded(sub.id)}",
        }
        config_key = {"pk": acct, "sk": f"DELCFG#{_padded(sub.delivery_configuration_id)}"}
        if adding:
            doc = sub.model_dump_json()
            writes.put({**key, "doc": doc}, condition="attribute_not_exists(pk)")
            writes.put({**entry_key, "doc": doc})
        else:
            writes.delete(key, condition="attribute_exists(pk)")
            writes.delete(entry_key)
        writes.add(
            {"pk": acct, "sk": "STATS"},
            {"subscriptions": sign},
            guard="attribute_not_exists(subscriptions) OR subscriptions < :max",
            values={":max": MAX_SUBSCRIPTIONS},
        )
        writes.add(config_key, {"subscription_count": sign}, guard="attribute_exists(pk)")
        if sub.index_field is not None:
            writes.add({"pk": acct, "sk": f"PINFIELD#{sub.topic}#{sub.index_field}"}, {"subscriptions": sign})

    def _pin_value_writes(self, writes: Writes, sub: Subscription, adding: bool) -> None:
        """Reference count of the pinned value, and the distinct-value count when it appears or goes.

        Optimistic: the count read here is the condition of the write, so a concurrent change
        fails the transaction and the caller retries with a fresh read.
        """
        if sub.index_field is None:
            return
        acct = _acct(sub.account_id)
        key = {"pk": acct, "sk": f"PINVAL#{sub.topic}#{sub.index_field}={sub.index_value}"}
        current = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        refs = int(current["refs"]) if current else 0
        distinct_key = {"pk": acct, "sk": f"PINCOUNT#{sub.topic}#{sub.index_field}"}
        if adding and refs == 0:
            writes.put(
                {**key, "refs": 1, "field": sub.index_field, "value": sub.index_value},
                condition="attribute_not_exists(pk)",
            )
            writes.add(distinct_key, {"distinct_values": 1})
        elif not adding and refs <= 1:
            writes.delete(key, condition="refs = :one", values={":one": 1})
            writes.add(distinct_key, {"distinct_values": -1})
        else:
            writes.update(key, "SET refs = :new", {":new": refs + (1 if adding else -1), ":seen": refs}, "refs = :seen")

    def _write_subscription_change(self, removed: Subscription | None, added: Subscription | None) -> None:
        """One transaction for a creation, a deletion or a replacement (the removal of the old subscription
        and the addition of the new one). `Writes` keeps it to one operation per item: a replacement moves
        the same counters both ways (the quota, the configuration's count, the pinned field's and, when a
        subscription moves from the last user of one value to a new value, the distinct-value count)."""
        same_pin = (
            removed is not None
            and added is not None
            and (removed.index_field, removed.index_value) == (added.index_field, added.index_value)
        )
        for attempt in range(_PIN_RETRIES):
            writes = Writes(self._name)
            if removed is not None:
                self._subscription_writes(writes, removed, adding=False)
            if added is not None:
                self._subscription_writes(writes, added, adding=True)
            if not same_pin:
                if removed is not None:
                    self._pin_value_writes(writes, removed, adding=False)
                if added is not None:
                    self._pin_value_writes(writes, added, adding=True)
            operations = writes.operations()
            try:
                dynamo.transact(operations)
                return
            except dynamo.TransactionFailed as exc:
                failed = [_sort_key(operation) for index, operation in enumerate(operations) if exc.failed(index)]
                pin_conflict = any(sk.startswith("PINVAL#") for sk in failed)
                if pin_conflict and attempt + 1 < _PIN_RETRIES:
                    continue
                self._explain_subscription_failure(failed, removed, added)

    @staticmethod
    def _explain_subscription_failure(
        failed: list[str], removed: Subscription | None, added: Subscription | None
    ) -> None:
        """`failed`: the sort keys of the items whose condition failed."""
        for failed_sk in failed:
            if failed_sk == "STATS":  # the quota condition
                raise LimitExceeded(f"a company may have at most {MAX_SUBSCRIPTIONS} subscriptions") from None
            if failed_sk.startswith("DELCFG#") and added is not None:  # the configuration is gone
                raise NotFound(added.delivery_configuration_id, "delivery configuration") from None
        subject = added or removed
        raise Conflict(f"subscription {subject.id if subject else ''} changed meanwhile; try again") from None

    def create_subscription(self, sub: Subscription) -> None:
        self._write_subscription_change(None, sub)

    def replace_subscription(self, old: Subscription, new: Subscription) -> None:
        self._write_subscription_change(old, new)

    def delete_subscription(self, sub: Subscription) -> None:
        self._write_subscription_change(sub, None)

    def bulk_load_subscriptions(self, subscriptions: list[Subscription]) -> None:
        """Write many subscriptions and their index entries in batches (migrations, benchmarks).

        Skips the per-subscription quota and pinned-value counters: run `switchboard`'s normal
        API for anything that must keep `uniqueMdnCount` exact.
        """
        with self._table.batch_writer() as batch:
            for sub in subscriptions:
                doc = sub.model_dump_json()
                batch.put_item(Item={"pk": _acct(sub.account_id), "sk": f"SUB#{_padded(sub.id)}", "doc": doc})
                batch.put_item(
                    Item={
                        "pk": index_partition(sub.account_id, sub.topic, sub.index_field, sub.index_value),
                        "sk": f"SUB#{_padded(sub.id)}",
                        "doc": doc,
                    }
                )
        from collections import Counter

        pinned = Counter((sub.account_id, sub.topic, sub.index_field) for sub in subscriptions if sub.index_field)
        for (account_id, topic, field), count in pinned.items():
            self._table.update_item(
                Key={"pk": _acct(account_id), "sk": f"PINFIELD#{topic}#{field}"},
                UpdateExpression="ADD subscriptions :n",
                ExpressionAttributeValues={":n": count},
            )

    def get_subscription(self, account_id: str, sub_id: str) -> Subscription | None:
        if not sub_id.isdigit() or len(sub_id) > 12:
            return None
        item = self._table.get_item(Key={"pk": _acct(account_id), "sk": f"SUB#{_padded(sub_id)}"}).get("Item")
        return self._subscription_from(item) if item else None

    def list_subscriptions(self, account_id: str, offset: int, limit: int) -> list[Subscription]:
        items = self._query_prefix(_acct(account_id), "SUB#", offset + limit)
        return [self._subscription_from(item) for item in items[offset:]]

    def subscription_pages(self, account_id: str, page_size: int = 1000) -> Iterator[list[Subscription]]:
        """Every subscription of the company, a page at a time: dumps stream them."""
        from boto3.dynamodb.conditions import Key

        condition = Key("pk").eq(_acct(account_id)) & Key("sk").begins_with("SUB#")
        for page in dynamo.query_pages(self._table, KeyConditionExpression=condition, Limit=page_size):
            yield [self._subscription_from(item) for item in page]

    def indexed_subscriptions(
        self, account_id: str, topic: str, field: str | None, value: str | None, limit: int | None = None
    ) -> list[Subscription]:
        items = self._query_prefix(index_partition(account_id, topic, field, value), "SUB#", limit)
        return [self._subscription_from(item) for item in items]

    def pinned_fields(self, account_id: str, topic: str) -> list[str]:
        """Fields that at least one of the topic's subscriptions is indexed on."""
        items = self._query_prefix(_acct(account_id), f"PINFIELD#{topic}#", None)
        return [item["sk"].split("#", 2)[2] for item in items if int(item.get("subscriptions", 0)) > 0]

    def distinct_pinned_values(self, account_id: str, topic: str, field: str) -> int:
        item = self._table.get_item(Key={"pk": _acct(account_id), "sk": f"PINCOUNT#{topic}#{field}"}).get("Item")
        return int(item.get("distinct_values", 0)) if item else 0

    def configuration_names(self, account_id: str, config_ids: set[str]) -> dict[str, str]:
        """{id: name} for a few configurations (one batched read)."""
        if not config_ids:
            return {}
        keys = [{"pk": _acct(account_id), "sk": f"DELCFG#{_padded(cid)}"} for cid in sorted(config_ids)]
        items = dynamo.batch_get(
            self._name, keys, ProjectionExpression="id, #n", ExpressionAttributeNames={"#n": "name"}
        )
        return {item["id"]: item["name"] for item in items}

    # ------------------------------------------------------------ events
    def put_event(self, event: Event) -> bool:
        """Store a published event; False when an event with this id already exists (idempotency)."""
        try:
            self._table.put_item(
                Item={
                    "pk": _acct(event.account_id),
                    "sk": f"EVT#{event.id}",
                    "doc": event.model_dump_json(),
                    "enqueued": False,
                    "ttl": event.published_ms // 1000 + EVENT_RETENTION_S,
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
            return True
        except aws.client("dynamodb").exceptions.ConditionalCheckFailedException:
            return False

    def get_event(self, account_id: str, event_id: str) -> tuple[Event, bool] | None:
        """The event and whether it reached the events queue."""
        item = self._table.get_item(Key={"pk": _acct(account_id), "sk": f"EVT#{event_id}"}).get("Item")
        return (Event.model_validate_json(item["doc"]), bool(item.get("enqueued"))) if item else None

    def mark_enqueued(self, event: Event) -> None:
        self._table.update_item(
            Key={"pk": _acct(event.account_id), "sk": f"EVT#{event.id}"},
            UpdateExpression="SET enqueued = :yes",
            ExpressionAttributeValues={":yes": True},
        )

    # ------------------------------------------------------------ catalog additions
    def catalog_additions(self) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"pk": "CATALOG", "sk": "EXTRA"}).get("Item")
        return json.loads(item["doc"]) if item else None

    def put_catalog_additions(self, document: dict[str, Any]) -> None:
        self._table.put_item(Item={"pk": "CATALOG", "sk": "EXTRA", "doc": json.dumps(document)})

    # ------------------------------------------------------------ helpers
    def _query_prefix(self, pk: str, prefix: str, limit: int | None) -> list[dict[str, Any]]:
        from boto3.dynamodb.conditions import Key

        return dynamo.query_all(
            self._table, wanted=limit, KeyConditionExpression=Key("pk").eq(pk) & Key("sk").begins_with(prefix)
        )


def _sort_key(operation: dict[str, Any]) -> str:
    body = next(iter(operation.values()))
    key = body.get("Key") or body["Item"]
    return str(key["sk"]["S"])
