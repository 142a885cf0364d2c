"""The rules table (`RulesTable`): AirVantage alert rules, their hooks, systems. What the rule APIs read and
write; evaluation's items (targets, states, alerts) share the table under other partitions (states_repository.py).

    pk              sk                          gsi1pk / gsi1sk                item
    CO#{company}    STATS                       -                              counters: `rules` (<= 50, the
                                                                               quota), `systems`, `rules_version`
    CO#{company}    RULE#{rule id}              -                              alert rule: `doc` (JSON), `name`,
                                                                               `hook_count`, `updated_ms`
    CO#{company}    HOOK#{rule id}#{hook uid}   -                              hook of a rule: callback without
                                                                               password, `sealed_password`,
                                                                               `sealed_signing_secret` (and the
                                                                               previous one for 24 h after a
                                                                               rotation; none on hooks made
                                                                               before hooks were signed)
    CO#{company}    SYS#{uid}                   SYSNAME#{company} /            system: `doc` (JSON of the input
                                                {name}\\0{uid}                  fields), `name`, `last_comm_ms`

Every key starts with the company, so a repository call made for one company cannot reach another's items.

Access patterns (no Scan anywhere):
- create a rule, at most 50 per company, atomically: `TransactWriteItems` of `ADD rules :one` on STATS
  under `rules < 50` and the put of RULE#;
- list a company's rules sorted by name: `Query CO#{company}, begins_with(sk, "RULE#")` (at most 50 items),
  sorted here by (name, id);
- get / replace a rule: `GetItem`; `TransactWriteItems` of the RULE# update under `attribute_exists(pk)`
  and `ADD rules_version` on STATS;
- delete a rule with its hooks: `Query begins_with(sk, "HOOK#{rule}#")`, then one `TransactWriteItems`:
  delete RULE# under `hook_count = <hooks read>` (else read again), delete every hook, `ADD rules :minus`;
- add a hook, at most 20 per rule: `TransactWriteItems` of `ADD hook_count :one` on RULE# under
  `attribute_exists(pk) AND hook_count < 20` and the put of HOOK#;
- list a rule's hooks: `Query begins_with(sk, "HOOK#{rule}#")`;
- delete a hook: `TransactWriteItems` of the HOOK# delete under `attribute_exists(pk)` and
  `ADD hook_count :minus` on RULE#;
- get a hook: `GetItem`; rotate its signing secret: `UpdateItem` under `attribute_exists(pk)` and the
  secret read being still the stored one (two rotations at once: one wins, the other is told to retry);
- create / delete a system: `TransactWriteItems` of the SYS# put / delete and `ADD systems ±1` on STATS
  (the list's `count`);
- list systems sorted by name with offset / size: `Query gsi1 SYSNAME#{company}`, `Limit offset + size`
  (gsi1 is eventually consistent: a new system shows in lists a moment after its creation);
- get / replace a system: `GetItem`; `UpdateItem` under `attribute_exists(pk)` (`last_comm_ms`, which
  telemetry sets, is not touched by a PUT).

`rules_version` changes with every rule write: evaluation may cache a company's `RuleIndex` against it.
Documents are stored as JSON strings, so numbers keep their JSON types (no Decimal round trip).
System names in gsi1sk are cut to 900 UTF-8 bytes (a sort key holds at most 1024); `\\0` separates the name
from the uid, so `a` sorts before `a b` and equal names sort by uid, as `(name, uid)` tuples do.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from switchboard import aws
from switchboard.errors import Conflict, Unavailable
from switchboard.rules import hooks, validation
from switchboard.rules.models import AlertRule, System, SystemInput
from switchboard.secrets import SealedSigning
from switchboard.store import dynamo

MAX_HOOKS_PER_RULE = hooks.MAX_HOOKS_PER_RULE
MAX_NAME_KEY_BYTES = 900
_DELETE_RETRIES = 5


def _co(company_id: str) -> str:
    return f"CO#{company_id}"


def _stats(company_id: str) -> dict[str, str]:
    return {"pk": _co(company_id), "sk": "STATS"}


def _rule_key(company_id: str, rule_id: str) -> dict[str, str]:
    return {"pk": _co(company_id), "sk": f"RULE#{rule_id}"}


def _hook_key(company_id: str, rule_id: str, hook_uid: str) -> dict[str, str]:
    return {"pk": _co(company_id), "sk": f"HOOK#{rule_id}#{hook_uid}"}


def _system_key(company_id: str, uid: str) -> dict[str, str]:
    return {"pk": _co(company_id), "sk": f"SYS#{uid}"}


def name_key(name: str, uid: str) -> str:
    """The gsi1 sort key of a system: its name (at most MAX_NAME_KEY_BYTES of UTF-8), NUL, its uid."""
    cut = name.encode("utf-8")[:MAX_NAME_KEY_BYTES].decode("utf-8", errors="ignore")
    return f"{cut}\0{uid}"


@dataclass(frozen=True, slots=True)
class HookRecord:
    """A stored hook: the callback without its password (the user name kept), the password sealed or None."""

    uid: str
    company_id: str
    rule_id: str
    callback: str
    sealed_password: str | None = field(default=None, repr=False)
    created_ms: int = 0
    signing: SealedSigning | None = field(default=None, repr=False)


def _signing_from(item: dict[str, Any]) -> SealedSigning | None:
    sealed = item.get("sealed_signing_secret")
    if sealed is None:
        return None
    expires = item.get("previous_signing_secret_expires_ms")
    return SealedSigning(sealed, item.get("sealed_previous_signing_secret"), None if expires is None else int(expires))


def _signing_item(signing: SealedSigning) -> dict[str, Any]:
    item: dict[str, Any] = {"sealed_signing_secret": signing.sealed}
    if signing.previous is not None:
        item["sealed_previous_signing_secret"] = signing.previous
        item["previous_signing_secret_expires_ms"] = signing.previous_expires_ms
    return item


class RulesRepository:
    def __init__(self, table_name: str) -> None:
        self._name = table_name

    @property
    def _table(self) -> Any:
        return aws.table(self._name)

    # ------------------------------------------------------------ rules
    @staticmethod
    def _rule_from(item: dict[str, Any]) -> AlertRule:
        return AlertRule.model_validate_json(item["doc"])

    @staticmethod
    def _rule_doc(rule: AlertRule) -> str:
        # Stored by field name (the wire spelling is the dialect's); documents written by alias before still read.
        return rule.model_dump_json(exclude_none=True)

    def create_rule(self, rule: AlertRule) -> None:
        """Store a new rule; alert.rule.too.many when the company already has 50 (checked in the same
        transaction as the write, so concurrent creations cannot pass the quota)."""
        company = rule.company_id
        operations = [
            dynamo.update(
                self._name,
                _stats(company),
                "ADD #rules :one, rules_version :one",
                {":one": 1, ":max": validation.MAX_RULES_PER_COMPANY},
                condition="attribute_not_exists(#rules) OR #rules < :max",
                names={"#rules": "rules"},
            ),
            dynamo.put(
                self._name,
                {
                    **_rule_key(company, rule.id),
                    "id": rule.id,
                    "name": rule.name,
                    "doc": self._rule_doc(rule),
                    "hook_count": 0,
                    "updated_ms": rule.updated_ms,
                },
                condition="attribute_not_exists(pk)",
            ),
        ]
        try:
            dynamo.transact(operations)
        except dynamo.TransactionFailed as exc:
            if exc.failed(0):
                validation.check_rule_quota(validation.MAX_RULES_PER_COMPANY)
            raise  # a rule id collision: 128 random bits, not expected

    def get_rule(self, company_id: str, rule_id: str) -> AlertRule | None:
        item = self._table.get_item(Key=_rule_key(company_id, rule_id), ConsistentRead=True).get("Item")
        return self._rule_from(item) if item else None

    def list_rules(self, company_id: str) -> list[AlertRule]:
        """Every rule of the company (at most 50), sorted by name, then id."""
        rules = [self._rule_from(item) for item in self._query(_co(company_id), "RULE#")]
        return sorted(rules, key=lambda rule: (rule.name, rule.id))

    def rules_version(self, company_id: str) -> int:
        item = self._table.get_item(Key=_stats(company_id), ConsistentRead=True).get("Item")
        return int(item.get("rules_version", 0)) if item else 0

    def replace_rule(self, rule: AlertRule) -> None:
        """Write `rule` over the stored one; alert.rule.unknown.id when it was deleted meanwhile."""
        operations = [
            dynamo.update(
                self._name,
                _rule_key(rule.company_id, rule.id),
                "SET doc = :doc, #name = :name, updated_ms = :updated",
                {":doc": self._rule_doc(rule), ":name": rule.name, ":updated": rule.updated_ms},
                condition="attribute_exists(pk)",
                names={"#name": "name"},
            ),
            dynamo.update(self._name, _stats(rule.company_id), "ADD rules_version :one", {":one": 1}),
        ]
        try:
            dynamo.transact(operations)
        except dynamo.TransactionFailed:
            raise validation.unknown_id(rule.id) from None

    def delete_rule(self, company_id: str, rule_id: str) -> None:
        """Delete a rule and its hooks in one transaction; alert.rule.unknown.id when there is no such rule."""
        for _ in range(_DELETE_RETRIES):
            found = list(self._query(_co(company_id), f"HOOK#{rule_id}#"))
            operations = [
                dynamo.delete(
                    self._name,
                    _rule_key(company_id, rule_id),
                    condition="attribute_exists(pk) AND hook_count = :hooks",
                    values={":hooks": len(found)},
                ),
                dynamo.update(
                    self._name,
                    _stats(company_id),
                    "ADD #rules :minus, rules_version :one",
                    {":minus": -1, ":one": 1},
                    names={"#rules": "rules"},
                ),
                *(dynamo.delete(self._name, {"pk": item["pk"], "sk": item["sk"]}) for item in found),
            ]
            try:
                dynamo.transact(operations)
                return
            except dynamo.TransactionFailed:
                if self.get_rule(company_id, rule_id) is None:
                    raise validation.unknown_id(rule_id) from None
                # a hook was added or removed between the read and the write: read them again
        raise Unavailable(f"rule {rule_id} kept changing while being deleted; try again")

    # ------------------------------------------------------------ hooks
    @staticmethod
    def _hook_from(item: dict[str, Any], company_id: str) -> HookRecord:
        return HookRecord(
            uid=item["uid"],
            company_id=company_id,
            rule_id=item["rule_id"],
            callback=item["callback"],
            sealed_password=item.get("sealed_password"),
            created_ms=int(item["created_ms"]),
            signing=_signing_from(item),
        )

    def add_hook(self, hook: HookRecord) -> None:
        """Store a hook of an existing rule: alert.rule.unknown when the rule is gone (checked in the same
        transaction), notification.endpoint.too.many when it has MAX_HOOKS_PER_RULE hooks already."""
        item: dict[str, Any] = {
            **_hook_key(hook.company_id, hook.rule_id, hook.uid),
            "uid": hook.uid,
            "rule_id": hook.rule_id,
            "callback": hook.callback,
            "created_ms": hook.created_ms,
        }
        if hook.sealed_password is not None:
            item["sealed_password"] = hook.sealed_password
        if hook.signing is not None:
            item.update(_signing_item(hook.signing))
        operations = [
            dynamo.update(
                self._name,
                _rule_key(hook.company_id, hook.rule_id),
                "ADD hook_count :one",
                {":one": 1, ":max": MAX_HOOKS_PER_RULE},
                condition="attribute_exists(pk) AND hook_count < :max",
            ),
            dynamo.put(self._name, item, condition="attribute_not_exists(pk)"),
        ]
        try:
            dynamo.transact(operations)
        except dynamo.TransactionFailed:
            if self.get_rule(hook.company_id, hook.rule_id) is None:
                raise hooks.unknown_rule(hook.rule_id) from None
            raise hooks.too_many_hooks() from None

    def list_hooks(self, company_id: str, rule_id: str) -> list[HookRecord]:
        """A rule's hooks, oldest first (then by uid)."""
        records = [self._hook_from(item, company_id) for item in self._query(_co(company_id), f"HOOK#{rule_id}#")]
        return sorted(records, key=lambda hook: (hook.created_ms, hook.uid))

    def get_hook(self, company_id: str, rule_id: str, hook_uid: str) -> HookRecord | None:
        item = self._table.get_item(Key=_hook_key(company_id, rule_id, hook_uid), ConsistentRead=True).get("Item")
        return None if item is None else self._hook_from(item, company_id)

    def set_hook_signing(self, hook: HookRecord, signing: SealedSigning) -> None:
        """Store a hook's rotated signing secrets. The hook must still be there with the secret `hook` was
        read with (Conflict otherwise: a concurrent rotation or delete)."""
        names = {
            "#s": "sealed_signing_secret",
            "#p": "sealed_previous_signing_secret",
            "#e": "previous_signing_secret_expires_ms",
        }
        values: dict[str, Any] = {":s": signing.sealed}
        expression = "SET #s = :s"
        if signing.previous is not None:
            expression += ", #p = :p, #e = :e"
            values.update({":p": signing.previous, ":e": signing.previous_expires_ms})
        else:
            expression += " REMOVE #p, #e"
        condition = "attribute_exists(pk) AND "
        if hook.signing is None:
            condition += "attribute_not_exists(#s)"
        else:
            condition += "#s = :old"
            values[":old"] = hook.signing.sealed
        try:
            self._table.update_item(
                Key=_hook_key(hook.company_id, hook.rule_id, hook.uid),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except self._table.meta.client.exceptions.ConditionalCheckFailedException:
            raise Conflict(f"hook {hook.uid} changed meanwhile; send the request again") from None

    def delete_hook(self, company_id: str, rule_id: str, hook_uid: str) -> bool:
        """Delete one hook; False when the rule has no such hook."""
        operations = [
            dynamo.delete(self._name, _hook_key(company_id, rule_id, hook_uid), condition="attribute_exists(pk)"),
            dynamo.update(
                self._name,
                _rule_key(company_id, rule_id),
                "ADD hook_count :minus",
                {":minus": -1},
                condition="attribute_exists(pk)",
            ),
        ]
        try:
            dynamo.transact(operations)
            return True
        except dynamo.TransactionFailed:
            return False

    # ------------------------------------------------------------ systems
    @staticmethod
    def _system_from(item: dict[str, Any], company_id: str) -> System:
        fields = json.loads(item["doc"])
        last = item.get("last_comm_ms")
        return System.model_validate(
            {**fields, "uid": item["uid"], "company": company_id, "lastCommDate": None if last is None else int(last)}
        )

    @staticmethod
    def _system_doc(spec: SystemInput) -> str:
        return spec.model_dump_json(exclude_none=True)

    def create_system(self, company_id: str, uid: str, spec: SystemInput) -> None:
        item = {
            **_system_key(company_id, uid),
            "uid": uid,
            "name": spec.name,
            "doc": self._system_doc(spec),
            "gsi1pk": f"SYSNAME#{company_id}",
            "gsi1sk": name_key(spec.name, uid),
        }
        dynamo.transact(
            [
                dynamo.put(self._name, item, condition="attribute_not_exists(pk)"),
                dynamo.update(self._name, _stats(company_id), "ADD systems :one", {":one": 1}),
            ]
        )

    def get_system(self, company_id: str, uid: str) -> System | None:
        item = self._table.get_item(Key=_system_key(company_id, uid), ConsistentRead=True).get("Item")
        return self._system_from(item, company_id) if item else None

    def count_systems(self, company_id: str) -> int:
        item = self._table.get_item(Key=_stats(company_id), ConsistentRead=True).get("Item")
        return max(0, int(item.get("systems", 0))) if item else 0

    def list_systems(self, company_id: str, offset: int, size: int) -> list[System]:
        """One page of the company's systems sorted by name (then uid)."""
        from boto3.dynamodb.conditions import Key

        params: dict[str, Any] = {
            "IndexName": "gsi1",
            "KeyConditionExpression": Key("gsi1pk").eq(f"SYSNAME#{company_id}"),
        }
        items = dynamo.query_all(self._table, wanted=offset + size, **params)
        return [self._system_from(item, company_id) for item in items[offset:]]

    def replace_system(self, company_id: str, uid: str, spec: SystemInput) -> bool:
        """Replace a system's fields; False when it does not exist."""
        try:
            self._table.update_item(
                Key=_system_key(company_id, uid),
                UpdateExpression="SET doc = :doc, #name = :name, gsi1sk = :sort",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#name": "name"},
                ExpressionAttributeValues={
                    ":doc": self._system_doc(spec),
                    ":name": spec.name,
                    ":sort": name_key(spec.name, uid),
                },
            )
            return True
        except aws.client("dynamodb").exceptions.ConditionalCheckFailedException:
            return False

    def delete_system(self, company_id: str, uid: str) -> bool:
        """Delete a system; False when it does not exist."""
        try:
            dynamo.transact(
                [
                    dynamo.delete(self._name, _system_key(company_id, uid), condition="attribute_exists(pk)"),
                    dynamo.update(self._name, _stats(company_id), "ADD systems :minus", {":minus": -1}),
                ]
            )
            return True
        except dynamo.TransactionFailed:
            return False

    # ------------------------------------------------------------ helpers
    def _query(self, pk: str, prefix: str) -> Iterator[dict[str, Any]]:
        from boto3.dynamodb.conditions import Key

        condition = Key("pk").eq(pk) & Key("sk").begins_with(prefix)
        for page in dynamo.query_pages(self._table, KeyConditionExpression=condition, ConsistentRead=True):
            yield from page
