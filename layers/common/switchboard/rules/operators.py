"""Evaluating alert rules: compile a rule once into a three-valued predicate over an attribute source.

Usage (the evaluation worker)::

    compiled = compiled_rule(rule)                 # cached per rule id and update time
    result = compiled.evaluate(source)             # source: an AttributeSource for one target
    result.outcome                                 # True, False or None (unknown)
    result.attributes()                            # list[AlertAttribute] for the alert record / state

An `AttributeSource` answers `value(target_id, name)` (target_id None = the target being evaluated, a string =
another target, e.g. a second system of the company) with an `AttributeValue` (the value and its `refTime`)
or None when the attribute has no value, and `previous(target_id, name)` with the value stored *before* the
message being evaluated (for CHANGE). For `AGG.*` names it returns an `Aggregate` of the bucket holding the
message's timestamp. `MappingSource` is a ready-made source over dicts.

Three-valued logic (reference/airvantage.md):

- A condition is True, False or None (unknown). An attributeId operand with no value makes its condition
  unknown; only EXISTS / NOT_EXISTS test presence. A rule is the AND of its conditions: False if any
  condition is False, else None if any is None, else True. An unknown rule keeps its previous state.
- For two present values, each NOT_ operator is exactly the negation of its positive twin.

Operators on present values (*decisions* where the seed is silent):

- CHANGE: True when the value differs from `previous`; False when there is no previous value (the first
  value ever is not a change). Values compare like EQUALS (45 and 45.0 are the same value).
- EQUALS: when either side is a number (int/float), both compare numerically, a numeric string such as
  "45" or "4.5e1" counting as its number (a non-numeric string never equals a number); otherwise both
  compare as text, bools being "true" / "false" (seed: DATA.room.door.opened = "true"). A list (labels)
  equals another list holding the same strings in any order, and a string only when it is that one string.
- GREATER_THAN / LESS_THAN: numeric only, numeric strings count as numbers; anything else is False.
- IN: the value's text is one of the strings (a list value: any of its strings is); the second operand
  may be an attribute holding a list (a single value counts as a one-item list).
- CONTAINS: substring of the value's text; for a list value (system.labels), membership of the string.
  STARTS_WITH / ENDS_WITH: on the value's text; for a list value, any of its strings.
- GEO_WITHIN / GEO_NOT_WITHIN: the position (DATA._LON_LAT, "POINT(lon lat)") inside the polygon; a point
  on the boundary counts as within. A value that is not a valid POINT is unknown (None), like no value.
- GEO_DISTANCE_TOO_FAR / TOO_CLOSE: haversine distance (km) to the POINT literal or to the other
  attribute's position is > / < the distance operand (equal is neither).
- AGG operands: the `function` picks min / max / sum / cnt / mean from the Aggregate; an empty aggregate
  is unknown.

Evaluation never raises on attribute values of any type; errors raised by the source itself propagate.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from switchboard.rules.aggregates import Aggregate
from switchboard.rules.geo import covers, haversine_km, parse_point_wkt, parse_polygon, position_of
from switchboard.rules.models import AlertAttribute, AlertRuleInput, AlertValue, AttributeId, Condition, Operand

__all__ = [
    "AttributeSource",
    "AttributeValue",
    "CompiledRule",
    "MappingSource",
    "Observed",
    "RuleResult",
    "combine",
    "compile_condition",
    "compile_rule",
    "compiled_rule",
    "evaluate_condition",
]


@dataclass(frozen=True, slots=True)
class AttributeValue:
    """An attribute's value and the time it was measured (`refTime`, epoch ms).

    `value` is a str, int, float or bool, a list/tuple of strings (system.labels), or an `Aggregate` (AGG.*).
    A plain dataclass rather than a pydantic model: sources build one per attribute read on the hot path.
    """

    value: Any
    ref_time: int | None = None


class AttributeSource(Protocol):
    """Where a compiled rule reads attribute values (see the module text)."""

    def value(self, target_id: str | None, name: str) -> AttributeValue | None: ...

    def previous(self, target_id: str | None, name: str) -> AttributeValue | None: ...


OtherTargets = Callable[[str, str], "AttributeValue | None"]


class MappingSource:
    """An AttributeSource over dicts: the evaluated target's current and previous values by attribute name,
    and callbacks `(target_id, name) -> AttributeValue | None` for other targets."""

    __slots__ = ("_current", "_other_previous", "_others", "_previous", "target_id")

    def __init__(
        self,
        current: Mapping[str, AttributeValue],
        previous: Mapping[str, AttributeValue] | None = None,
        *,
        target_id: str | None = None,
        others: OtherTargets | None = None,
        others_previous: OtherTargets | None = None,
    ) -> None:
        self._current = current
        self._previous = previous or {}
        self.target_id = target_id
        self._others = others
        self._other_previous = others_previous

    def value(self, target_id: str | None, name: str) -> AttributeValue | None:
        if target_id is None or target_id == self.target_id:
            return self._current.get(name)
        return self._others(target_id, name) if self._others else None

    def previous(self, target_id: str | None, name: str) -> AttributeValue | None:
        if target_id is None or target_id == self.target_id:
            return self._previous.get(name)
        return self._other_previous(target_id, name) if self._other_previous else None


@dataclass(frozen=True, slots=True)
class Observed:
    """An attribute value a condition read (target_id None = the evaluated target)."""

    target_id: str | None
    name: str
    value: AttributeValue


@dataclass(frozen=True, slots=True)
class RuleResult:
    """The rule's outcome (True, False or None = unknown) and the attribute values read to reach it."""

    outcome: bool | None
    observed: tuple[Observed, ...] = ()

    def attributes(self) -> list[AlertAttribute]:
        """The attributes behind the outcome, once each, in the order the conditions read them."""
        seen: dict[tuple[str | None, str], AlertAttribute] = {}
        for item in self.observed:
            key = (item.target_id, item.name)
            if key not in seen:
                seen[key] = AlertAttribute(
                    id=AttributeId(target_id=item.target_id, name=item.name),
                    value=AlertValue.of(item.value.value),
                    ref_time=item.value.ref_time,
                )
        return list(seen.values())


def combine(outcomes: list[bool | None]) -> bool | None:
    """Three-valued AND: False if any is False, else None if any is None, else True."""
    if any(outcome is False for outcome in outcomes):
        return False
    return None if any(outcome is None for outcome in outcomes) else True


# ------------------------------------------------------------------------------------------ value forms

_ABSENT: Any = object()  # an operand without value (never equal to anything a source returns)
_NUMBER = re.compile(r"\s*-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: Any) -> int | float | None:
    """The numeric value: an int or finite float as is, a numeric string converted; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str) and len(value) <= 64 and _NUMBER.fullmatch(value):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def _text(value: Any) -> str | None:
    """The text form: a str as is, bools "true"/"false", numbers canonically (45.0 -> "45"); None for lists,
    aggregates and anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    try:
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            if value.is_integer():
                return str(int(value))
            return repr(value)
    except (ValueError, OverflowError):  # an int past Python's digit limit, an infinite float
        return None
    return None


def _strings(value: Any) -> tuple[str | None, ...] | None:
    """The texts of a list value; None when the value is not a list."""
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(_text(item) for item in value)
    return None


def _as_strings(value: Any) -> tuple[str | None, ...]:
    """A list's texts, or a single value as a one-item list."""
    strings = _strings(value)
    return strings if strings is not None else (_text(value),)


def _equal(a: Any, b: Any) -> bool:
    left, right = _strings(a), _strings(b)
    if left is not None or right is not None:
        left = left if left is not None else (_text(a),)
        right = right if right is not None else (_text(b),)
        if None in left or None in right:
            return False
        return sorted(left) == sorted(right)  # type: ignore[type-var]  # no None left
    if _is_number(a) or _is_number(b):
        x, y = _number(a), _number(b)
        return x is not None and y is not None and x == y
    text_a, text_b = _text(a), _text(b)
    return text_a is not None and text_a == text_b


def _same(a: Any, b: Any) -> bool:
    """Whether a value did not change (CHANGE): equal objects, or equal as EQUALS sees them."""
    try:
        if a == b:
            return True
    except Exception:  # a value whose == raises (or is not a bool) is simply not the same
        return False
    return _equal(a, b)


def _greater(a: Any, b: Any) -> bool:
    x, y = _number(a), _number(b)
    return x is not None and y is not None and x > y


def _less(a: Any, b: Any) -> bool:
    x, y = _number(a), _number(b)
    return x is not None and y is not None and x < y


def _member(a: Any, b: Any) -> bool:
    choices = {text for text in _as_strings(b) if text is not None}
    return any(text is not None and text in choices for text in _as_strings(a))


def _contains(a: Any, b: Any) -> bool:
    needle = _text(b)
    if needle is None:
        return False
    strings = _strings(a)
    if strings is not None:
        return needle in strings
    text = _text(a)
    return text is not None and needle in text


def _starts(a: Any, b: Any) -> bool:
    prefix = _text(b)
    return prefix is not None and any(text is not None and text.startswith(prefix) for text in _as_strings(a))


def _ends(a: Any, b: Any) -> bool:
    suffix = _text(b)
    return suffix is not None and any(text is not None and text.endswith(suffix) for text in _as_strings(a))


def _negated(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    return lambda a, b: not test(a, b)


_BINARY_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "EQUALS": _equal,
    "NOT_EQUALS": _negated(_equal),
    "GREATER_THAN": _greater,
    "LESS_THAN": _less,
    "IN": _member,
    "NOT_IN": _negated(_member),
    "CONTAINS": _contains,
    "NOT_CONTAINS": _negated(_contains),
    "STARTS_WITH": _starts,
    "ENDS_WITH": _ends,
}


# ------------------------------------------------------------------------------------------ compilation

Seen = list[Observed]
Reader = Callable[[AttributeSource, Seen], Any]
ConditionPredicate = Callable[[AttributeSource, Seen], "bool | None"]
"""A compiled condition: (source, observations to append to) -> True, False or None."""


def _effective(found: AttributeValue | None, function: str | None) -> Any:
    """The operand's value from what the source returned: _ABSENT when none; the `function`'s pick for
    aggregates (a source may also hand over an already picked number)."""
    if found is None or found.value is None:
        return _ABSENT
    raw = found.value
    if function is None:
        return raw
    if isinstance(raw, Aggregate):
        picked = raw.pick(function)  # type: ignore[arg-type]  # validated: MIN/MAX/MEAN/SUM/CNT
        return _ABSENT if picked is None else picked
    return raw if _is_number(raw) else _ABSENT


def _reader(operand: Operand) -> Reader:
    attribute = operand.attribute_id
    if attribute is None:
        constant: float | str | tuple[str, ...] | None = (
            operand.value_num if operand.value_num is not None else operand.value_str
        )
        if operand.values_str is not None:
            constant = tuple(operand.values_str)
        return lambda _source, _seen: constant
    target_id, name, function = attribute.target_id, attribute.name, operand.function

    def read(source: AttributeSource, seen: Seen) -> Any:
        found = source.value(target_id, name)
        value = _effective(found, function)
        if value is not _ABSENT:
            seen.append(Observed(target_id, name, found))  # type: ignore[arg-type]  # present, so not None
        return value

    return read


def _binary(test: Callable[[Any, Any], bool], left: Reader, right: Reader) -> ConditionPredicate:
    def condition(source: AttributeSource, seen: Seen) -> bool | None:
        a = left(source, seen)
        if a is _ABSENT:
            return None
        b = right(source, seen)
        if b is _ABSENT:
            return None
        return test(a, b)

    return condition


def _change(operand: Operand) -> ConditionPredicate:
    read = _reader(operand)
    attribute = operand.attribute_id
    assert attribute is not None  # validated: the first operand is an attributeId
    target_id, name, function = attribute.target_id, attribute.name, operand.function

    def changed(source: AttributeSource, seen: Seen) -> bool | None:
        current = read(source, seen)
        if current is _ABSENT:
            return None
        before = _effective(source.previous(target_id, name), function)
        if before is _ABSENT:
            return False  # the first value ever is not a change
        return not _same(current, before)

    return changed


def _exists(operand: Operand, wanted: bool) -> ConditionPredicate:
    read = _reader(operand)

    def exists(source: AttributeSource, seen: Seen) -> bool:
        return (read(source, seen) is not _ABSENT) is wanted

    return exists


def _position(value: Any) -> Any:
    """The (lon, lat) a DATA._LON_LAT value holds; _ABSENT for no value or one that is not a POINT."""
    if value is _ABSENT:
        return _ABSENT
    position = position_of(value)
    return _ABSENT if position is None else position


def _geo_within(operands: list[Operand], wanted: bool) -> ConditionPredicate:
    polygon = parse_polygon(operands[1].value_str or "")
    read = _reader(operands[0])

    def within(source: AttributeSource, seen: Seen) -> bool | None:
        position = _position(read(source, seen))
        if position is _ABSENT:
            return None
        return covers(polygon, position) is wanted

    return within


def _geo_distance(operands: list[Operand], too_far: bool) -> ConditionPredicate:
    read = _reader(operands[0])
    limit_km = float(operands[2].value_num or 0)
    if operands[1].attribute_id is None:
        fixed = parse_point_wkt(operands[1].value_str or "")

        def other(source: AttributeSource, seen: Seen) -> Any:
            return fixed

    else:
        read_other = _reader(operands[1])

        def other(source: AttributeSource, seen: Seen) -> Any:
            return _position(read_other(source, seen))

    def distance(source: AttributeSource, seen: Seen) -> bool | None:
        here = _position(read(source, seen))
        if here is _ABSENT:
            return None
        there = other(source, seen)
        if there is _ABSENT:
            return None
        km = haversine_km(here, there)
        return km > limit_km if too_far else km < limit_km

    return distance


def compile_condition(condition: Condition) -> ConditionPredicate:
    """The condition as a predicate. Expects a validated condition (rules.validation); raises ValueError on an
    operator it does not know or a geofence that does not parse."""
    operator, operands = condition.operator, condition.operands
    if operator == "CHANGE":
        return _change(operands[0])
    if operator in ("EXISTS", "NOT_EXISTS"):
        return _exists(operands[0], operator == "EXISTS")
    if operator in ("GEO_WITHIN", "GEO_NOT_WITHIN"):
        return _geo_within(operands, operator == "GEO_WITHIN")
    if operator in ("GEO_DISTANCE_TOO_FAR", "GEO_DISTANCE_TOO_CLOSE"):
        return _geo_distance(operands, operator == "GEO_DISTANCE_TOO_FAR")
    test = _BINARY_TESTS.get(operator or "")
    if test is None or len(operands) != 2:
        raise ValueError(f"cannot compile operator {operator!r} with {len(operands)} operand(s)")
    return _binary(test, _reader(operands[0]), _reader(operands[1]))


class CompiledRule:
    """A rule's conditions compiled once; `evaluate` is cheap and may be called for every message."""

    __slots__ = ("_conditions", "rule_id")

    def __init__(self, rule_id: str | None, conditions: tuple[ConditionPredicate, ...]) -> None:
        self.rule_id = rule_id
        self._conditions = conditions

    def evaluate(self, source: AttributeSource) -> RuleResult:
        """The AND of the conditions, with the attribute values read (stops at the first False)."""
        seen: Seen = []
        unknown = False
        for condition in self._conditions:
            outcome = condition(source, seen)
            if outcome is False:
                return RuleResult(False, tuple(seen))
            if outcome is None:
                unknown = True
        return RuleResult(None if unknown else True, tuple(seen))


def compile_rule(rule: AlertRuleInput) -> CompiledRule:
    """Compile a validated rule (an AlertRule, or an AlertRuleInput: then `rule_id` is None)."""
    return CompiledRule(getattr(rule, "id", None), tuple(compile_condition(item) for item in rule.conditions))


_CACHE_SIZE = 1024
_compiled: dict[tuple[str | None, int | None], CompiledRule] = {}


def compiled_rule(rule: AlertRuleInput) -> CompiledRule:
    """`compile_rule`, cached by rule id and update time, so a warm worker compiles each rule version once."""
    key = (getattr(rule, "id", None), getattr(rule, "updated_ms", None))
    if key[0] is None:
        return compile_rule(rule)
    found = _compiled.get(key)
    if found is None:
        if len(_compiled) >= _CACHE_SIZE:
            _compiled.pop(next(iter(_compiled)))  # oldest first: dicts keep insertion order
        found = _compiled[key] = compile_rule(rule)
    return found


def evaluate_condition(condition: Condition, source: AttributeSource) -> bool | None:
    """One condition's outcome (compiles it each time: for tests and one-off checks)."""
    return compile_condition(condition)(source, [])
