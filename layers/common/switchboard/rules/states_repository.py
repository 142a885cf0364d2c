"""What evaluation reads and writes in the rules table (docs/rules.md, access patterns).

    pk                              sk               item
    TGT#{company}#{target}          VALUES           latest value of every attribute, the last message applied
    TGT#{company}#{target}          AGG#{id}#{bucket}  min / max / sum / cnt of one data id in one UTC bucket
    STATE#{company}#{target}        RULE#{rule}      the target's state against a stateful rule (versioned)
    ALERT#{company}#{alert}         ALERT            an alert (history row of /alerts/history)
    SHIST#{company}#{row}           SHIST            a state change (/alertstates/history)

    index  partition                      sort                          what for
    gsi1   STATES#{company}#{true|false}  {targetType}#{rule}#{target}  current states by state (+type, +rule)
    gsi1   ALERTS#{company}               {ts:015}#{alert}              alerts of a company by time
    gsi1   SHISTORY#{company}             {ts:015}#{row}                state changes of a company by time
    gsi2   ALERTS#{company}#{target}      {ts:015}#{alert}              alerts of one target by time
    gsi2   SHISTORY#{company}#{target}    {ts:015}#{row}                state changes of one target by time

A system's telemetry is evaluated in order, one message at a time (FIFO per system), so its VALUES and
its aggregates have one writer; the VALUES item's `last_message` makes applying a message exactly-once.
COMPANY aggregates are shared by the company's systems: sums and counts move with ADD in the same
transaction, minimum and maximum with conditional updates (idempotent). States are written with a
version check, so two workers never record the same transition twice.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Context, Decimal
from typing import Any

from switchboard import aws
from switchboard.rules.aggregates import Aggregate
from switchboard.rules.models import AlertRecord, AlertState, StateHistoryRow
from switchboard.rules.operators import AttributeValue
from switchboard.store import dynamo

AGGREGATE_RETENTION_S = 400 * 86_400  # a monthly bucket is read for a month; keep a year and a bit
RECENT_MESSAGES = 50  # a system's last message ids: re-posting one after SQS's 5-minute deduplication is a no-op


def _number(value: Any) -> int | float:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _decimal(value: int | float) -> Decimal:
    return Decimal(str(value))


# A company sum grows by DynamoDB's ADD, which must keep the result within 38 significant digits: each
# addend is rounded to SUM_PLACES decimal places, so sums up to 1e29 stay exact to that place whatever the
# magnitudes mixed (telemetry numbers are at most 1e18, rules.models.MAX_TELEMETRY_MAGNITUDE).
SUM_PLACES = Decimal("1e-9")
_SUM_CONTEXT = Context(prec=38)


def _sum_addend(value: int | float) -> Decimal:
    return _decimal(value).quantize(SUM_PLACES, context=_SUM_CONTEXT)


def _ms(value: int) -> str:
    # 15 digits: times up to 9999-12-31 (253402300799999, the largest the APIs accept) sort as numbers
    return f"{max(value, 0):015d}"


@dataclass(frozen=True)
class TargetValues:
    current: dict[str, AttributeValue]
    last_message: str | None
    recent: tuple[str, ...] = ()  # ids of the last RECENT_MESSAGES messages applied, oldest first


@dataclass(frozen=True)
class StoredState:
    state: AlertState
    version: int


class StatesRepository:
    def __init__(self, table_name: str, history_retention_s: int) -> None:
        self._name = table_name
        self._history_retention_s = history_retention_s

    @property
    def _table(self) -> Any:
        return aws.table(self._name)

    # ------------------------------------------------------------ values and aggregates
    def values(self, company_id: str, target_id: str) -> TargetValues:
        item = self._table.get_item(
            Key={"pk": f"TGT#{company_id}#{target_id}", "sk": "VALUES"}, ConsistentRead=True
        ).get("Item")
        if not item:
            return TargetValues({}, None)
        current = {
            name: AttributeValue(value, ref_time) for name, (value, ref_time) in json.loads(item["current"]).items()
        }
        return TargetValues(current, item.get("last_message"), tuple(item.get("recent") or ()))

    def aggregates(
        self, company_id: str, keys: Iterable[tuple[str, str, str]]
    ) -> dict[tuple[str, str, str], Aggregate]:
        """Aggregates by (target, data id, bucket); missing ones are left out."""
        wanted = sorted(set(keys))
        found: dict[tuple[str, str, str], Aggregate] = {}
        item_keys = [
            {"pk": f"TGT#{company_id}#{target}", "sk": f"AGG#{data_id}#{bucket}"} for target, data_id, bucket in wanted
        ]
        for item in dynamo.batch_get(self._name, item_keys, ConsistentRead=True):
            target = item["pk"].split("#", 2)[2]
            _, rest = item["sk"].split("#", 1)
            data_id, bucket = rest.rsplit("#", 2)[0], "#".join(rest.rsplit("#", 2)[1:])
            found[(target, data_id, bucket)] = Aggregate(
                min=_number(item["min"]) if "min" in item else None,
                max=_number(item["max"]) if "max" in item else None,
                sum=_number(item.get("sum", 0)),
                cnt=int(item.get("cnt", 0)),
            )
        return found

    def apply_message(
        self,
        company_id: str,
        system_id: str,
        message_id: str,
        previous_message: str | None,
        values: dict[str, AttributeValue],
        system_aggregates: dict[tuple[str, str], Aggregate],
        company_deltas: dict[tuple[str, str], Aggregate],
        recent: Iterable[str] = (),
    ) -> bool:
        """Store a system's new values and aggregates and add its points to the company's, once per message.
        False when the message was applied already (its redelivery). `recent`: the ids of the messages applied
        before (TargetValues.recent), kept with this one so that a re-post of one is not applied twice."""
        values_item = {
            "pk": f"TGT#{company_id}#{system_id}",
            "sk": "VALUES",
            "last_message": message_id,
            "recent": [*(r for r in recent if r != message_id), message_id][-RECENT_MESSAGES:],
            "current": json.dumps(
                {name: [_to_json(v.value), v.ref_time] for name, v in values.items()}, separators=(",", ":")
            ),
        }
        # The guard: the values still follow the message read before this one (FIFO: one writer per system).
        operations = [
            dynamo.put(self._name, values_item, condition="attribute_not_exists(last_message)")
            if previous_message is None
            else dynamo.put(
                self._name, values_item, condition="last_message = :previous", values={":previous": previous_message}
            )
        ]
        for (data_id, bucket), aggregate in system_aggregates.items():
            operations.append(
                dynamo.put(self._name, self._aggregate_item(company_id, system_id, data_id, bucket, aggregate))
            )
        for (data_id, bucket), delta in company_deltas.items():
            operations.append(
                dynamo.update(
                    self._name,
                    {"pk": f"TGT#{company_id}#{company_id}", "sk": f"AGG#{data_id}#{bucket}"},
                    "ADD #sum :sum, cnt :cnt SET #ttl = :ttl",
                    {":sum": _sum_addend(delta.sum), ":cnt": delta.cnt, ":ttl": self._aggregate_ttl()},
                    names={"#sum": "sum", "#ttl": "ttl"},
                )
            )
        for start in range(0, len(operations), 100):  # the VALUES write (the guard) goes in the first chunk
            try:
                dynamo.transact(operations[start : start + 100])
            except dynamo.TransactionFailed:
                if start == 0:
                    return False
                raise
        self._company_extremes(company_id, company_deltas)
        return True

    def _company_extremes(self, company_id: str, deltas: dict[tuple[str, str], Aggregate]) -> None:
        """Lower the company minimum / raise its maximum where these points go beyond (idempotent)."""
        failed = aws.client("dynamodb").exceptions.ConditionalCheckFailedException
        for (data_id, bucket), delta in deltas.items():
            key = {"pk": f"TGT#{company_id}#{company_id}", "sk": f"AGG#{data_id}#{bucket}"}
            for field, value, comparison in (("min", delta.min, ">"), ("max", delta.max, "<")):
                if value is None:
                    continue
                with contextlib.suppress(failed):  # failed: the stored extreme already goes further
                    self._table.update_item(
                        Key=key,
                        UpdateExpression=f"SET #{field} = :v",
                        ConditionExpression=f"attribute_not_exists(#{field}) OR #{field} {comparison} :v",
                        ExpressionAttributeNames={f"#{field}": field},
                        ExpressionAttributeValues={":v": _decimal(value)},
                    )

    def _aggregate_ttl(self) -> int:
        from switchboard import clock

        return clock.now_ms() // 1000 + AGGREGATE_RETENTION_S

    def _aggregate_item(
        self, company_id: str, target_id: str, data_id: str, bucket: str, aggregate: Aggregate
    ) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": f"TGT#{company_id}#{target_id}",
            "sk": f"AGG#{data_id}#{bucket}",
            "sum": _decimal(aggregate.sum),
            "cnt": aggregate.cnt,
            "ttl": self._aggregate_ttl(),
        }
        if aggregate.min is not None:
            item["min"] = _decimal(aggregate.min)
        if aggregate.max is not None:
            item["max"] = _decimal(aggregate.max)
        return item

    # ------------------------------------------------------------ states, history, alerts
    def state(self, company_id: str, target_id: str, rule_id: str) -> StoredState | None:
        item = self._table.get_item(
            Key={"pk": f"STATE#{company_id}#{target_id}", "sk": f"RULE#{rule_id}"}, ConsistentRead=True
        ).get("Item")
        return StoredState(AlertState.model_validate_json(item["doc"]), int(item["version"])) if item else None

    def _state_item(self, state: AlertState, version: int) -> dict[str, Any]:
        return {
            "pk": f"STATE#{state.company_id}#{state.target_id}",
            "sk": f"RULE#{state.rule_id}",
            "doc": state.model_dump_json(),
            "version": version,
            "rule_id": state.rule_id,
            "target_id": state.target_id,
            "target_type": state.target_type,
            "gsi1pk": f"STATES#{state.company_id}#{'true' if state.state else 'false'}",
            "gsi1sk": f"{state.target_type}#{state.rule_id}#{state.target_id}",
        }

    def _alert_item(self, alert: AlertRecord) -> dict[str, Any]:
        key = f"{_ms(alert.ts)}#{alert.id}"
        return {
            "pk": f"ALERT#{alert.company_id}#{alert.id}",
            "sk": "ALERT",
            "doc": alert.model_dump_json(),
            "rule_id": alert.rule_id,
            "target_id": alert.target_id,
            "gsi1pk": f"ALERTS#{alert.company_id}",
            "gsi1sk": key,
            "gsi2pk": f"ALERTS#{alert.company_id}#{alert.target_id}",
            "gsi2sk": key,
            "ttl": alert.ts // 1000 + self._history_retention_s,
        }

    def _history_item(self, row: StateHistoryRow) -> dict[str, Any]:
        key = f"{_ms(row.ts)}#{row.id}"
        return {
            "pk": f"SHIST#{row.company_id}#{row.id}",
            "sk": "SHIST",
            "doc": row.model_dump_json(),
            "rule_id": row.rule_id,
            "target_id": row.target_id,
            "gsi1pk": f"SHISTORY#{row.company_id}",
            "gsi1sk": key,
            "gsi2pk": f"SHISTORY#{row.company_id}#{row.target_id}",
            "gsi2sk": key,
            "ttl": row.ts // 1000 + self._history_retention_s,
        }

    def write_state(
        self, state: AlertState, seen_version: int | None, history: StateHistoryRow | None, alert: AlertRecord | None
    ) -> bool:
        """The new state (if nobody changed it since `seen_version` was read), its history row and its alert,
        all or nothing. False on a concurrent change: read again and decide again."""
        version = (seen_version or 0) + 1
        condition = "attribute_not_exists(pk)" if seen_version is None else "version = :seen"
        operations = [
            dynamo.put(
                self._name,
                self._state_item(state, version),
                condition=condition,
                values=None if seen_version is None else {":seen": seen_version},
            )
        ]
        if history is not None:
            operations.append(dynamo.put(self._name, self._history_item(history), condition="attribute_not_exists(pk)"))
        if alert is not None:
            operations.append(dynamo.put(self._name, self._alert_item(alert), condition="attribute_not_exists(pk)"))
        try:
            dynamo.transact(operations)
        except dynamo.TransactionFailed:
            return False
        return True

    def delete_rule_states(self, company_id: str, rule_id: str) -> int:
        """A deleted rule's current states go with it (its alerts and history stay until they expire)."""
        deleted = 0
        for state in (True, False):
            for target_type in ("SYSTEM", "COMPANY"):
                for item in self._query(
                    {
                        "IndexName": "gsi1",
                        "KeyConditionExpression": "gsi1pk = :pk AND begins_with(gsi1sk, :prefix)",
                        "ExpressionAttributeValues": {
                            ":pk": f"STATES#{company_id}#{'true' if state else 'false'}",
                            ":prefix": f"{target_type}#{rule_id}#",
                        },
                    }
                ):
                    self._table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
                    deleted += 1
        return deleted

    def put_alert(self, alert: AlertRecord) -> bool:
        """Store an alert once (its id is derived from what raised it); False when it exists already."""
        try:
            self._table.put_item(Item=self._alert_item(alert), ConditionExpression="attribute_not_exists(pk)")
        except aws.client("dynamodb").exceptions.ConditionalCheckFailedException:
            return False
        return True

    # ------------------------------------------------------------ reads for the API
    def alert(self, company_id: str, alert_id: str) -> AlertRecord | None:
        item = self._table.get_item(Key={"pk": f"ALERT#{company_id}#{alert_id}", "sk": "ALERT"}).get("Item")
        return AlertRecord.model_validate_json(item["doc"]) if item else None

    def state_change(self, company_id: str, row_id: str) -> bool:
        """Whether the state-history row `row_id` was written."""
        return "Item" in self._table.get_item(
            Key={"pk": f"SHIST#{company_id}#{row_id}", "sk": "SHIST"}, ConsistentRead=True, ProjectionExpression="pk"
        )

    def states_of_target(self, company_id: str, target_id: str) -> list[AlertState]:
        return [
            AlertState.model_validate_json(item["doc"])
            for item in self._query(
                {
                    "KeyConditionExpression": "pk = :pk",
                    "ExpressionAttributeValues": {":pk": f"STATE#{company_id}#{target_id}"},
                }
            )
        ]

    def states_by_state(self, company_id: str, state: bool, prefix: str = "") -> list[AlertState]:
        values = {":pk": f"STATES#{company_id}#{'true' if state else 'false'}", ":prefix": prefix}
        expression = "gsi1pk = :pk AND begins_with(gsi1sk, :prefix)" if prefix else "gsi1pk = :pk"
        if not prefix:
            values.pop(":prefix")
        return [
            AlertState.model_validate_json(item["doc"])
            for item in self._query(
                {"IndexName": "gsi1", "KeyConditionExpression": expression, "ExpressionAttributeValues": values}
            )
        ]

    def timeline(
        self,
        kind: str,
        company_id: str,
        target_id: str | None,
        rule_ids: list[str] | None,
        from_ms: int,
        to_ms: int,
        ascending: bool,
        size: int,
    ) -> list[Any]:
        """Alerts (`ALERTS`) or state changes (`SHISTORY`) with from ≤ ts < to (ascending) or from < ts ≤ to
        (descending), as the seed's brackets say; at most `size`, narrowed by target and rules."""
        index, partition = (
            ("gsi2", f"{kind}#{company_id}#{target_id}") if target_id else ("gsi1", f"{kind}#{company_id}")
        )
        low, high = (_ms(from_ms), _ms(to_ms)) if ascending else (_ms(from_ms + 1), _ms(to_ms + 1))
        params: dict[str, Any] = {
            "IndexName": index,
            "ScanIndexForward": ascending,
            "KeyConditionExpression": f"{index}pk = :pk AND {index}sk BETWEEN :low AND :high",
            "ExpressionAttributeValues": {":pk": partition, ":low": low, ":high": high},
        }
        if rule_ids:
            names = {f":r{i}": rule for i, rule in enumerate(rule_ids)}
            params["FilterExpression"] = f"rule_id IN ({', '.join(names)})"
            params["ExpressionAttributeValues"].update(names)
        model = AlertRecord if kind == "ALERTS" else StateHistoryRow
        return [model.model_validate_json(item["doc"]) for item in dynamo.query_all(self._table, wanted=size, **params)]

    # ------------------------------------------------------------ helpers
    def _query(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return dynamo.query_all(self._table, **params)


def _to_json(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return list(value) if isinstance(value, tuple | frozenset | set) else value
