"""Checking alert rules against seed 001, raising its error codes (`CodedError`).

`parse_rule(body)` is what a POST/PUT route calls: it reads the JSON body into an `AlertRuleInput` and
checks it, raising the first problem found. `check_rule_quota(count)` guards creation (at most 50 rules
per company). The remaining codes are raised by the service and the read APIs with the factories below.

Codes, when they are raised, and their `errorParameters` (a location is a dotted path into the body,
e.g. `conditions.0.operands.1`):

- alert.rule.invalid.field [location, reason]: the body is not a JSON object, a field has the wrong JSON
  type, an unknown field, a bad email, no conditions, a rule over 256 KiB of JSON (*decision*: seed 001 has
  no code for shape errors).
- alert.rule.incorrect.target.type ["targetType"(, value)]: targetType missing or not SYSTEM / COMPANY.
- alert.rule.condition.too.many ["10"]: more than 10 conditions.
- alert.rule.missing.operator [location]: a condition without operator (absent, null or "").
- alert.rule.unknown.operator [location, operator]: an operator not in seed 001's table (*decision*: a code
  of its own, clearer than alert.rule.invalid.operand.type).
- alert.rule.multiple.operand.type [location]: an operand with more than one, or none, of
  attributeId / valueStr / valueNum / valuesStr.
- alert.rule.invalid.number.of.operands [location, operator, expected count]: 1 for CHANGE / EXISTS /
  NOT_EXISTS, 3 for the distance operators, 2 for the others.
- alert.rule.missing.attr.operand [location]: the first operand is not an attributeId.
- alert.rule.geo.bad.attribute.id [location, name]: a geofencing attributeId other than DATA._LON_LAT.
- alert.rule.invalid.operand.type [location, operator]: an operand kind the operator's row of the table
  does not allow.
- alert.rule.unknown.attribute [location, name]: an attribute name seed 001 does not list (*decision*).
- alert.rule.invalid.function [location, function]: a function other than MIN / MAX / MEAN / SUM / CNT, a
  function on anything but an AGG.* attributeId, an AGG.* attributeId without function.
- alert.rule.bad.voice.agg.usage [location, name]: AGG.VOICE_* with H or D.
- alert.rule.geo.invalid.wkt [location, reason]: a GEO_WITHIN / GEO_NOT_WITHIN valueStr that is not a
  valid, closed POLYGON; a distance valueStr that is not a POINT; coordinates out of range.
- alert.rule.invalid.operand.type again [location, operator]: a negative distance (checked last).
- alert.rule.too.many ["50"]: `check_rule_quota` when the company already has 50 rules.
- alert.rule.missing.id [] and alert.rule.unknown.id [rule id] (404): `missing_id()`, `unknown_id(id)`.
- missing.company [] and system.invalid.timerange [from, to]: the read APIs (`missing_company()`,
  `invalid_time_range(...)`; the AirVantage dialect raises them from its query helpers).

Checks run in the order of the list (per condition, in condition order), so a body with several problems
gets the same, first, error every time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from switchboard.errors import CodedError
from switchboard.rules.aggregates import AGGREGATE_FUNCTIONS
from switchboard.rules.models import (
    LON_LAT,
    OPERATORS,
    AlertRuleInput,
    Condition,
    Operand,
    parse_attribute_name,
)

MAX_CONDITIONS = 10
# A rule is stored as one item (DynamoDB: 400 KB); its operands alone could add up to more.
MAX_RULE_BYTES = 262_144
MAX_RULES_PER_COMPANY = 50

INVALID_FIELD = "alert.rule.invalid.field"
INCORRECT_TARGET_TYPE = "alert.rule.incorrect.target.type"
CONDITION_TOO_MANY = "alert.rule.condition.too.many"
MISSING_OPERATOR = "alert.rule.missing.operator"
UNKNOWN_OPERATOR = "alert.rule.unknown.operator"
MULTIPLE_OPERAND_TYPE = "alert.rule.multiple.operand.type"
INVALID_NUMBER_OF_OPERANDS = "alert.rule.invalid.number.of.operands"
MISSING_ATTR_OPERAND = "alert.rule.missing.attr.operand"
GEO_BAD_ATTRIBUTE_ID = "alert.rule.geo.bad.attribute.id"
UNKNOWN_ATTRIBUTE = "alert.rule.unknown.attribute"
INVALID_FUNCTION = "alert.rule.invalid.function"
BAD_VOICE_AGG_USAGE = "alert.rule.bad.voice.agg.usage"
INVALID_OPERAND_TYPE = "alert.rule.invalid.operand.type"
GEO_INVALID_WKT = "alert.rule.geo.invalid.wkt"
TOO_MANY = "alert.rule.too.many"
MISSING_ID = "alert.rule.missing.id"
UNKNOWN_ID = "alert.rule.unknown.id"
MISSING_COMPANY = "missing.company"
INVALID_TIMERANGE = "system.invalid.timerange"

TARGET_TYPES = ("SYSTEM", "COMPANY")
GEO_OPERATORS = frozenset({"GEO_WITHIN", "GEO_NOT_WITHIN", "GEO_DISTANCE_TOO_FAR", "GEO_DISTANCE_TOO_CLOSE"})
DISTANCE_OPERATORS = frozenset({"GEO_DISTANCE_TOO_FAR", "GEO_DISTANCE_TOO_CLOSE"})

# Seed 001's operator table: the operand kinds each position accepts (the first is always an attributeId).
_ATTR, _STR, _NUM, _STRS = "attributeId", "valueStr", "valueNum", "valuesStr"
SIGNATURES: dict[str, tuple[frozenset[str], ...]] = {
    "CHANGE": (frozenset({_ATTR}),),
    "EXISTS": (frozenset({_ATTR}),),
    "NOT_EXISTS": (frozenset({_ATTR}),),
    "EQUALS": (frozenset({_ATTR}), frozenset({_ATTR, _STR, _NUM})),
    "NOT_EQUALS": (frozenset({_ATTR}), frozenset({_ATTR, _STR, _NUM})),
    "GREATER_THAN": (frozenset({_ATTR}), frozenset({_ATTR, _NUM})),
    "LESS_THAN": (frozenset({_ATTR}), frozenset({_ATTR, _NUM})),
    "IN": (frozenset({_ATTR}), frozenset({_ATTR, _STRS})),
    "NOT_IN": (frozenset({_ATTR}), frozenset({_ATTR, _STRS})),
    "CONTAINS": (frozenset({_ATTR}), frozenset({_ATTR, _STR})),
    "NOT_CONTAINS": (frozenset({_ATTR}), frozenset({_ATTR, _STR})),
    "STARTS_WITH": (frozenset({_ATTR}), frozenset({_ATTR, _STR})),
    "ENDS_WITH": (frozenset({_ATTR}), frozenset({_ATTR, _STR})),
    "GEO_WITHIN": (frozenset({_ATTR}), frozenset({_STR})),
    "GEO_NOT_WITHIN": (frozenset({_ATTR}), frozenset({_STR})),
    "GEO_DISTANCE_TOO_FAR": (frozenset({_ATTR}), frozenset({_ATTR, _STR}), frozenset({_NUM})),
    "GEO_DISTANCE_TOO_CLOSE": (frozenset({_ATTR}), frozenset({_ATTR, _STR}), frozenset({_NUM})),
}
assert set(SIGNATURES) == set(OPERATORS)


def _error(code: str, *parameters: object, message: str | None = None, status: int = 400) -> CodedError:
    return CodedError(code, [str(parameter) for parameter in parameters], status, message)


# ------------------------------------------------------------------------------------------------ parsing


def _location(loc: tuple[Any, ...]) -> str:
    # pydantic adds validator and union tags to locations ("function-after[...]", "int"); keep the data path.
    return ".".join(str(part) for part in loc if isinstance(part, int) or "[" not in str(part))


def _reason(error: Mapping[str, Any]) -> str:
    message = str(error.get("msg", "invalid value"))
    return message.removeprefix("Value error, ")


def _shape_error(exc: ValidationError) -> CodedError:
    """The first pydantic error as the code it stands for: the few fields whose own seed code exists get it,
    every other shape problem is alert.rule.invalid.field."""
    error = exc.errors(include_url=False)[0]
    loc = tuple(error["loc"])
    location = _location(loc) or "body"
    last = loc[-1] if loc else None
    if loc[:1] == ("targetType",):
        return _error(INCORRECT_TARGET_TYPE, "targetType", message=_reason(error))
    if last == "operator":
        return _error(UNKNOWN_OPERATOR, location, message=_reason(error))
    if last == "function":
        return _error(INVALID_FUNCTION, location, message=_reason(error))
    if last == "operands" and error["type"] == "too_long":
        return _error(INVALID_NUMBER_OF_OPERANDS, location, message=_reason(error))
    return _error(INVALID_FIELD, location, _reason(error), message=f"{location}: {_reason(error)}")


def parse_rule(data: Any) -> AlertRuleInput:
    """A POST/PUT body as a checked rule; CodedError (400) with the first problem otherwise."""
    if not isinstance(data, dict):
        raise _error(INVALID_FIELD, "body", "the request body must be a JSON object")
    conditions = data.get("conditions")
    # Counted before parsing, so a body with thousands of conditions is refused without reading them.
    if isinstance(conditions, list) and len(conditions) > MAX_CONDITIONS:
        raise _error(CONDITION_TOO_MANY, MAX_CONDITIONS, message=f"{len(conditions)} conditions, at most 10")
    try:
        rule = AlertRuleInput.model_validate(data)
    except ValidationError as exc:
        raise _shape_error(exc) from None
    check_rule(rule)
    size = len(rule.model_dump_json(by_alias=True, exclude_none=True).encode("utf-8"))
    if size > MAX_RULE_BYTES:
        raise _error(INVALID_FIELD, "body", f"the rule is {size} bytes of JSON, at most {MAX_RULE_BYTES}")
    return rule


# ------------------------------------------------------------------------------------------------ checks


def check_rule(rule: AlertRuleInput) -> None:
    """The seed's checks on an already parsed rule (parse_rule runs them); raises the first CodedError."""
    if rule.target_type not in TARGET_TYPES:
        parameters = ["targetType"] if rule.target_type is None else ["targetType", rule.target_type]
        raise _error(INCORRECT_TARGET_TYPE, *parameters, message="targetType must be SYSTEM or COMPANY")
    if len(rule.conditions) > MAX_CONDITIONS:
        raise _error(CONDITION_TOO_MANY, MAX_CONDITIONS)
    for index, condition in enumerate(rule.conditions):
        check_condition(condition, f"conditions.{index}")


def check_condition(condition: Condition, location: str = "condition") -> None:
    operator = condition.operator
    if not operator:
        raise _error(MISSING_OPERATOR, f"{location}.operator", message="a condition must have an operator")
    if operator not in SIGNATURES:
        raise _error(
            UNKNOWN_OPERATOR,
            f"{location}.operator",
            operator,
            message=f"unknown operator {operator!r}; one of {', '.join(OPERATORS)}",
        )
    operands = condition.operands
    for position, operand in enumerate(operands):
        if len(operand.kinds) != 1:
            raise _error(
                MULTIPLE_OPERAND_TYPE,
                f"{location}.operands.{position}",
                message="an operand is exactly one of attributeId, valueStr, valueNum, valuesStr",
            )
    signature = SIGNATURES[operator]
    if len(operands) != len(signature):
        raise _error(
            INVALID_NUMBER_OF_OPERANDS,
            f"{location}.operands",
            operator,
            len(signature),
            message=f"{operator} takes {len(signature)} operand(s), not {len(operands)}",
        )
    if operands[0].attribute_id is None:
        raise _error(MISSING_ATTR_OPERAND, f"{location}.operands.0", message="the first operand must be an attributeId")
    if operator in GEO_OPERATORS:
        _check_geo_attributes(operator, operands, location)
    for position, (operand, allowed) in enumerate(zip(operands, signature, strict=True)):
        if operand.kinds[0] not in allowed:
            raise _error(
                INVALID_OPERAND_TYPE,
                f"{location}.operands.{position}",
                operator,
                message=f"{operator} operand {position + 1} must be one of {', '.join(sorted(allowed))}",
            )
    for position, operand in enumerate(operands):
        _check_attribute(operand, f"{location}.operands.{position}")
    if operator in GEO_OPERATORS:
        _check_geo_values(operator, operands, location)


def _check_geo_attributes(operator: str, operands: list[Operand], location: str) -> None:
    positions = (0, 1) if operator in DISTANCE_OPERATORS else (0,)
    for position in positions:
        attribute = operands[position].attribute_id
        if attribute is not None and attribute.name != LON_LAT:
            raise _error(
                GEO_BAD_ATTRIBUTE_ID,
                f"{location}.operands.{position}.attributeId.name",
                attribute.name,
                message=f"{operator} works on {LON_LAT}, not {attribute.name}",
            )


def _check_attribute(operand: Operand, location: str) -> None:
    attribute = operand.attribute_id
    function = operand.function
    if function is not None and function not in AGGREGATE_FUNCTIONS:
        raise _error(
            INVALID_FUNCTION,
            f"{location}.function",
            function,
            message=f"function must be one of {', '.join(AGGREGATE_FUNCTIONS)}",
        )
    if attribute is None:
        if function is not None:
            raise _error(
                INVALID_FUNCTION,
                f"{location}.function",
                function,
                message="a function applies to an AGG.* attributeId only",
            )
        return
    parsed = parse_attribute_name(attribute.name)
    if parsed is None:
        raise _error(
            UNKNOWN_ATTRIBUTE,
            f"{location}.attributeId.name",
            attribute.name,
            message=f"unknown attribute {attribute.name!r}",
        )
    if parsed.kind == "aggregate":
        if function is None:
            raise _error(
                INVALID_FUNCTION,
                f"{location}.function",
                "",
                message=f"{attribute.name} needs a function: {', '.join(AGGREGATE_FUNCTIONS)}",
            )
        if parsed.is_voice_usage and parsed.time_scale != "M":
            raise _error(
                BAD_VOICE_AGG_USAGE,
                f"{location}.attributeId.name",
                attribute.name,
                message="AGG.VOICE_* attributes are only available with the monthly timescale (/M)",
            )
    elif function is not None:
        raise _error(
            INVALID_FUNCTION,
            f"{location}.function",
            function,
            message=f"{attribute.name} is not aggregated; functions apply to AGG.* attributes",
        )


def _check_geo_values(operator: str, operands: list[Operand], location: str) -> None:
    from switchboard.rules import geo

    shape = operands[1].value_str
    if shape is not None:
        try:
            if operator in DISTANCE_OPERATORS:
                geo.parse_point_wkt(shape)
            else:
                geo.parse_polygon(shape)
        except geo.GeoError as exc:
            raise _error(GEO_INVALID_WKT, f"{location}.operands.1.valueStr", str(exc), message=str(exc)) from None
    if operator in DISTANCE_OPERATORS:
        distance = operands[2].value_num
        if distance is None or distance < 0:
            raise _error(
                INVALID_OPERAND_TYPE,
                f"{location}.operands.2",
                operator,
                message="the distance (km) must be a number >= 0",
            )


def check_rule_quota(current_count: int) -> None:
    """Before creating a rule: alert.rule.too.many when the company already has MAX_RULES_PER_COMPANY rules."""
    if current_count >= MAX_RULES_PER_COMPANY:
        raise _error(
            TOO_MANY, MAX_RULES_PER_COMPANY, message=f"a company has at most {MAX_RULES_PER_COMPANY} alert rules"
        )


# ------------------------------------------------------------------------- errors raised by the service


def missing_id() -> CodedError:
    """PUT/DELETE/GET /api/v2/alertrules/{uid} without a uid."""
    return _error(MISSING_ID, message="a rule id must be specified")


def unknown_id(rule_id: str) -> CodedError:
    """No rule with this id in the company (404)."""
    return _error(UNKNOWN_ID, rule_id, status=404, message=f"rule {rule_id} is unknown")


def missing_company() -> CodedError:
    """A history read without the mandatory `company` parameter."""
    return _error(MISSING_COMPANY, message="'company' parameter is mandatory")


def invalid_time_range(from_ms: int, to_ms: int) -> CodedError:
    """`from` is not lower than `to`."""
    return _error(INVALID_TIMERANGE, from_ms, to_ms, message="'from' needs to be lower than 'to'")
