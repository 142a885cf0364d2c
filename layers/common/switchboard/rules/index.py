"""Which of a company's rules a change touches: rules indexed by the attributes their conditions read.

Keys are what changes are announced as (`AttributeName.index_key`):

- `DATA.{dataId}` and `AGG.{dataId}/{H|D|M}` are keyed by the data id, so a telemetry or usage message names
  the rules it may affect by its data ids ("room.temp", "_LON_LAT", "DATA_BYTES_TOTAL");
- system attributes by their name ("system.commStatus", "gateway.imei").

A lookup is a prefilter: evaluation decides. Inactive rules are left out. A rule whose condition reads
another target (`attributeId.targetId`) is also found by `rules_naming_target(target_id)`, so a change on
that target can re-evaluate the rules that watch it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from switchboard.rules.models import parse_attribute_name

if TYPE_CHECKING:
    from switchboard.rules.models import AlertRule, AlertRuleInput

__all__ = ["RuleIndex", "index_key", "index_keys"]


def index_key(attribute_name: str) -> str:
    """The key a change of this attribute is announced under (the name itself when it does not parse)."""
    parsed = parse_attribute_name(attribute_name)
    return parsed.index_key if parsed is not None else attribute_name


def index_keys(rule: AlertRuleInput) -> frozenset[str]:
    """Every key the rule's conditions read, on any target."""
    return frozenset(
        index_key(operand.attribute_id.name)
        for condition in rule.conditions
        for operand in condition.operands
        if operand.attribute_id is not None
    )


def _named_targets(rule: AlertRuleInput) -> frozenset[str]:
    return frozenset(
        operand.attribute_id.target_id
        for condition in rule.conditions
        for operand in condition.operands
        if operand.attribute_id is not None and operand.attribute_id.target_id is not None
    )


class RuleIndex:
    """An immutable index of one company's active rules; build it when the rules change, query it per message."""

    __slots__ = ("_by_key", "_by_target", "_order", "rules")

    def __init__(self, rules: Iterable[AlertRule]) -> None:
        self.rules: tuple[AlertRule, ...] = tuple(rule for rule in rules if rule.active)
        self._order = {rule.id: position for position, rule in enumerate(self.rules)}
        by_key: dict[str, list[AlertRule]] = {}
        by_target: dict[str, list[AlertRule]] = {}
        for rule in self.rules:
            for key in index_keys(rule):
                by_key.setdefault(key, []).append(rule)
            for target_id in _named_targets(rule):
                by_target.setdefault(target_id, []).append(rule)
        self._by_key = {key: tuple(found) for key, found in by_key.items()}
        self._by_target = {key: tuple(found) for key, found in by_target.items()}

    def __len__(self) -> int:
        return len(self.rules)

    def _ordered(self, found: dict[str, AlertRule], target_type: str | None) -> list[AlertRule]:
        rules = [rule for rule in found.values() if target_type is None or rule.target_type == target_type]
        return sorted(rules, key=lambda rule: self._order[rule.id])

    def rules_for(self, changed_keys: Iterable[str], target_type: str | None = None) -> list[AlertRule]:
        """The rules reading any of the changed keys (data ids, system attribute names), once each, in the
        order the index was built; only those for `target_type` (SYSTEM / COMPANY) when given."""
        found: dict[str, AlertRule] = {}
        for key in changed_keys:
            for rule in self._by_key.get(key, ()):
                found.setdefault(rule.id, rule)
        return self._ordered(found, target_type)

    def rules_for_attributes(self, attribute_names: Iterable[str], target_type: str | None = None) -> list[AlertRule]:
        """`rules_for` given full attribute names ("DATA.room.temp", "AGG.x/D", "system.name")."""
        return self.rules_for((index_key(name) for name in attribute_names), target_type)

    def rules_naming_target(self, target_id: str) -> list[AlertRule]:
        """The rules with an attributeId whose targetId is `target_id`."""
        return self._ordered({rule.id: rule for rule in self._by_target.get(target_id, ())}, None)
