"""Alert rule validation: every error code of seed 001 with the case that raises it."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from switchboard.errors import CodedError
from switchboard.rules import validation
from switchboard.rules.models import AlertRuleInput
from switchboard.rules.validation import check_rule_quota, parse_rule

from tests.seed_bodies import RULE_POST as SEED_POST
from tests.seed_bodies import RULE_PUT as SEED_PUT

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


ATTR = {"attributeId": {"name": "DATA.room.temp"}}
POS = {"attributeId": {"name": "DATA._LON_LAT"}}
SQUARE = "POLYGON((0 0, 10 0, 10 10, 0 10, 0 0))"


def rule(*conditions, **fields):
    return {"targetType": "SYSTEM", "name": "r", "conditions": list(conditions), **fields}


def cond(operator, *operands):
    return {"operator": operator, "operands": list(operands)}


def error_of(body) -> CodedError:
    with pytest.raises(CodedError) as caught:
        parse_rule(body)
    return caught.value


# ----------------------------------------------------------------------------------------- valid rules


@pytest.mark.parametrize("body", [SEED_POST, SEED_PUT], ids=["seed-post", "seed-put"])
def test_seed_examples_are_valid(body):
    parsed = parse_rule(copy.deepcopy(body))
    assert parsed.target_type == "SYSTEM"
    assert parsed.stateful is True  # default
    assert parsed.notif_mode == "WHEN_STATE_CHANGES"  # default


VALID_CONDITIONS = [
    cond("CHANGE", ATTR),
    cond("EXISTS", ATTR),
    cond("NOT_EXISTS", {"attributeId": {"name": "system.commStatus"}}),
    cond("EQUALS", ATTR, {"valueNum": 3}),
    cond("EQUALS", ATTR, {"valueStr": "x"}),
    cond("EQUALS", ATTR, {"attributeId": {"name": "DATA.other", "targetId": "sys2"}}),
    cond("NOT_EQUALS", {"attributeId": {"name": "system.name"}}, {"valueStr": "x"}),
    cond("GREATER_THAN", ATTR, {"attributeId": {"name": "DATA.limit"}}),
    cond("LESS_THAN", ATTR, {"valueNum": -1.5}),
    cond("IN", {"attributeId": {"name": "system.commStatus"}}, {"valuesStr": ["OK", "WARNING"]}),
    cond("NOT_IN", ATTR, {"attributeId": {"name": "system.labels"}}),
    cond("CONTAINS", {"attributeId": {"name": "system.labels"}}, {"valueStr": "paris"}),
    cond("NOT_CONTAINS", ATTR, {"valueStr": "x"}),
    cond("STARTS_WITH", {"attributeId": {"name": "gateway.imei"}}, {"valueStr": "35"}),
    cond("ENDS_WITH", ATTR, {"attributeId": {"name": "DATA.suffix"}}),
    cond("GEO_WITHIN", POS, {"valueStr": SQUARE}),
    cond("GEO_NOT_WITHIN", POS, {"valueStr": "POLYGON((0 0, 10 0, 10 10, 0 0),(1 1, 2 1, 2 1.5, 1 1))"}),
    cond("GEO_DISTANCE_TOO_FAR", POS, {"valueStr": "POINT(2.35 48.85)"}, {"valueNum": 10}),
    cond(
        "GEO_DISTANCE_TOO_CLOSE", POS, {"attributeId": {"name": "DATA._LON_LAT", "targetId": "truck2"}}, {"valueNum": 0}
    ),
    cond("GREATER_THAN", {"attributeId": {"name": "AGG.room.temp/H"}, "function": "MEAN"}, {"valueNum": 30}),
    cond("LESS_THAN", {"attributeId": {"name": "AGG.DATA_BYTES_TOTAL/M"}, "function": "MAX"}, {"valueNum": 1}),
    cond("GREATER_THAN", {"attributeId": {"name": "AGG.VOICE_OUT_DURATION/M"}, "function": "SUM"}, {"valueNum": 60}),
    cond("EQUALS", {"attributeId": {"name": "AGG.SMS_SENT/D"}, "function": "CNT"}, {"valueNum": 0}),
    cond("CHANGE", {"attributeId": {"name": "system.usage.record.visited.country"}}),
    cond("EQUALS", {"attributeId": {"name": "subscription.id"}, "functionParam": "kept"}, {"valueStr": "s1"}),
]


@pytest.mark.parametrize("condition", VALID_CONDITIONS, ids=lambda c: c["operator"])
def test_every_operator_row_accepts_its_operands(condition):
    parse_rule(rule(condition))


def test_company_target_and_every_notif_mode_are_valid():
    for mode in ("EVERY_TIME", "WHEN_STATE_CHANGES", "WHEN_STATE_TRUE", "WHEN_STATE_FALSE", "IN_ALL_CASES"):
        parsed = parse_rule(rule(cond("EXISTS", ATTR), targetType="COMPANY", notifMode=mode, stateful=False))
        assert parsed.notif_mode == mode and parsed.target_type == "COMPANY"


def test_ten_conditions_are_allowed():
    parse_rule(rule(*[cond("EXISTS", ATTR)] * 10))


# ----------------------------------------------------------------------------------------- error codes

ERROR_CASES = [
    # incorrect target type
    ("alert.rule.incorrect.target.type", {k: v for k, v in rule(cond("EXISTS", ATTR)).items() if k != "targetType"}),
    ("alert.rule.incorrect.target.type", rule(cond("EXISTS", ATTR), targetType="DEVICE")),
    ("alert.rule.incorrect.target.type", rule(cond("EXISTS", ATTR), targetType=None)),
    ("alert.rule.incorrect.target.type", rule(cond("EXISTS", ATTR), targetType=5)),
    # missing / unknown operator
    ("alert.rule.missing.operator", rule({"operands": [ATTR]})),
    ("alert.rule.missing.operator", rule({"operator": None, "operands": [ATTR]})),
    ("alert.rule.missing.operator", rule({"operator": "", "operands": [ATTR]})),
    ("alert.rule.unknown.operator", rule(cond("BETWEEN", ATTR, {"valueNum": 1}))),
    ("alert.rule.unknown.operator", rule(cond("equals", ATTR, {"valueNum": 1}))),
    ("alert.rule.unknown.operator", rule({"operator": 7, "operands": [ATTR]})),
    # operand kinds
    ("alert.rule.multiple.operand.type", rule(cond("EQUALS", ATTR, {"valueNum": 1, "valueStr": "1"}))),
    ("alert.rule.multiple.operand.type", rule(cond("EXISTS", {**ATTR, "valueStr": "x"}))),
    ("alert.rule.multiple.operand.type", rule(cond("EQUALS", ATTR, {"valuesStr": ["a"], "valueNum": 2}))),
    ("alert.rule.multiple.operand.type", rule(cond("EQUALS", ATTR, {}))),
    ("alert.rule.multiple.operand.type", rule(cond("EQUALS", ATTR, {"function": "SUM"}))),
    # number of operands
    ("alert.rule.invalid.number.of.operands", rule(cond("CHANGE", ATTR, {"valueNum": 1}))),
    ("alert.rule.invalid.number.of.operands", rule(cond("EXISTS"))),
    ("alert.rule.invalid.number.of.operands", rule(cond("EQUALS", ATTR))),
    ("alert.rule.invalid.number.of.operands", rule(cond("IN", ATTR, {"valuesStr": ["a"]}, {"valuesStr": ["b"]}))),
    ("alert.rule.invalid.number.of.operands", rule(cond("GEO_DISTANCE_TOO_FAR", POS, {"valueStr": "POINT(1 1)"}))),
    ("alert.rule.invalid.number.of.operands", rule(cond("GEO_WITHIN", POS, {"valueStr": SQUARE}, {"valueNum": 1}))),
    ("alert.rule.invalid.number.of.operands", rule(cond("EQUALS", *[ATTR] * 17))),
    # first operand
    ("alert.rule.missing.attr.operand", rule(cond("EQUALS", {"valueNum": 1}, ATTR))),
    ("alert.rule.missing.attr.operand", rule(cond("EXISTS", {"valueStr": "DATA.room.temp"}))),
    ("alert.rule.missing.attr.operand", rule(cond("GEO_WITHIN", {"valueStr": SQUARE}, POS))),
    # operand types per operator
    ("alert.rule.invalid.operand.type", rule(cond("EQUALS", ATTR, {"valuesStr": ["a"]}))),
    ("alert.rule.invalid.operand.type", rule(cond("GREATER_THAN", ATTR, {"valueStr": "5"}))),
    ("alert.rule.invalid.operand.type", rule(cond("LESS_THAN", ATTR, {"valuesStr": ["5"]}))),
    ("alert.rule.invalid.operand.type", rule(cond("IN", ATTR, {"valueStr": "a"}))),
    ("alert.rule.invalid.operand.type", rule(cond("NOT_IN", ATTR, {"valueNum": 1}))),
    ("alert.rule.invalid.operand.type", rule(cond("CONTAINS", ATTR, {"valueNum": 1}))),
    ("alert.rule.invalid.operand.type", rule(cond("NOT_CONTAINS", ATTR, {"valuesStr": ["a"]}))),
    ("alert.rule.invalid.operand.type", rule(cond("STARTS_WITH", ATTR, {"valueNum": 1}))),
    ("alert.rule.invalid.operand.type", rule(cond("ENDS_WITH", ATTR, {"valuesStr": ["a"]}))),
    ("alert.rule.invalid.operand.type", rule(cond("GEO_WITHIN", POS, POS))),
    ("alert.rule.invalid.operand.type", rule(cond("GEO_NOT_WITHIN", POS, {"valueNum": 3}))),
    ("alert.rule.invalid.operand.type", rule(cond("GEO_DISTANCE_TOO_FAR", POS, {"valueNum": 1}, {"valueNum": 1}))),
    ("alert.rule.invalid.operand.type", rule(cond("GEO_DISTANCE_TOO_CLOSE", POS, POS, {"valueStr": "10"}))),
    ("alert.rule.invalid.operand.type", rule(cond("GEO_DISTANCE_TOO_FAR", POS, POS, {"valueNum": -1}))),
    # geofencing attribute
    ("alert.rule.geo.bad.attribute.id", rule(cond("GEO_WITHIN", ATTR, {"valueStr": SQUARE}))),
    (
        "alert.rule.geo.bad.attribute.id",
        rule(cond("GEO_NOT_WITHIN", {"attributeId": {"name": "DATA.gps"}}, {"valueStr": SQUARE})),
    ),
    ("alert.rule.geo.bad.attribute.id", rule(cond("GEO_DISTANCE_TOO_FAR", POS, ATTR, {"valueNum": 1}))),
    ("alert.rule.geo.bad.attribute.id", rule(cond("GEO_DISTANCE_TOO_CLOSE", ATTR, POS, {"valueNum": 1}))),
    # WKT
    ("alert.rule.geo.invalid.wkt", rule(cond("GEO_WITHIN", POS, {"valueStr": "not wkt"}))),
    ("alert.rule.geo.invalid.wkt", rule(cond("GEO_WITHIN", POS, {"valueStr": "POLYGON((0 0, 10 0, 10 10, 0 10))"}))),
    ("alert.rule.geo.invalid.wkt", rule(cond("GEO_WITHIN", POS, {"valueStr": "POLYGON((0 0, 2 2, 2 0, 0 2, 0 0))"}))),
    ("alert.rule.geo.invalid.wkt", rule(cond("GEO_WITHIN", POS, {"valueStr": "POLYGON EMPTY"}))),
    ("alert.rule.geo.invalid.wkt", rule(cond("GEO_WITHIN", POS, {"valueStr": "POINT(1 2)"}))),
    ("alert.rule.geo.invalid.wkt", rule(cond("GEO_WITHIN", POS, {"valueStr": "POLYGON((0 0, 200 0, 200 10, 0 0))"}))),
    ("alert.rule.geo.invalid.wkt", rule(cond("GEO_NOT_WITHIN", POS, {"valueStr": "POLYGON((0 0, 1 0, 1 1, 0 0)) x"}))),
    ("alert.rule.geo.invalid.wkt", rule(cond("GEO_DISTANCE_TOO_FAR", POS, {"valueStr": SQUARE}, {"valueNum": 1}))),
    (
        "alert.rule.geo.invalid.wkt",
        rule(cond("GEO_DISTANCE_TOO_CLOSE", POS, {"valueStr": "POINT(1)"}, {"valueNum": 1})),
    ),
    (
        "alert.rule.geo.invalid.wkt",
        rule(cond("GEO_DISTANCE_TOO_CLOSE", POS, {"valueStr": "POINT(0 95)"}, {"valueNum": 1})),
    ),
    (
        "alert.rule.geo.invalid.wkt",
        rule(cond("GEO_DISTANCE_TOO_FAR", POS, {"valueStr": "POINT Z (1 2 3)"}, {"valueNum": 1})),
    ),
    # unknown attributes
    ("alert.rule.unknown.attribute", rule(cond("EXISTS", {"attributeId": {"name": "system.colour"}}))),
    ("alert.rule.unknown.attribute", rule(cond("EXISTS", {"attributeId": {"name": "DATA."}}))),
    ("alert.rule.unknown.attribute", rule(cond("EXISTS", {"attributeId": {"name": "DATA.room temp"}}))),
    (
        "alert.rule.unknown.attribute",
        rule(cond("EXISTS", {"attributeId": {"name": "AGG.room.temp"}, "function": "SUM"})),
    ),
    (
        "alert.rule.unknown.attribute",
        rule(cond("EXISTS", {"attributeId": {"name": "AGG.room.temp/W"}, "function": "SUM"})),
    ),
    ("alert.rule.unknown.attribute", rule(cond("EXISTS", {"attributeId": {"name": "room.temp"}}))),
    ("alert.rule.unknown.attribute", rule(cond("EQUALS", ATTR, {"attributeId": {"name": "nope"}}))),
    # functions
    (
        "alert.rule.invalid.function",
        rule(cond("GREATER_THAN", {"attributeId": {"name": "AGG.x/D"}, "function": "AVG"}, {"valueNum": 1})),
    ),
    ("alert.rule.invalid.function", rule(cond("GREATER_THAN", {"attributeId": {"name": "AGG.x/D"}}, {"valueNum": 1}))),
    ("alert.rule.invalid.function", rule(cond("GREATER_THAN", {**ATTR, "function": "SUM"}, {"valueNum": 1}))),
    ("alert.rule.invalid.function", rule(cond("GREATER_THAN", ATTR, {"valueNum": 1, "function": "MAX"}))),
    (
        "alert.rule.invalid.function",
        rule(cond("GREATER_THAN", {"attributeId": {"name": "AGG.x/D"}, "function": 3}, {"valueNum": 1})),
    ),
    (
        "alert.rule.invalid.function",
        rule(cond("GREATER_THAN", {"attributeId": {"name": "AGG.x/D"}, "function": "sum"}, {"valueNum": 1})),
    ),
    # voice usage
    (
        "alert.rule.bad.voice.agg.usage",
        rule(
            cond(
                "GREATER_THAN", {"attributeId": {"name": "AGG.VOICE_IN_DURATION/D"}, "function": "SUM"}, {"valueNum": 1}
            )
        ),
    ),
    (
        "alert.rule.bad.voice.agg.usage",
        rule(
            cond(
                "GREATER_THAN", {"attributeId": {"name": "AGG.VOICE_OUT_SESSION/H"}, "function": "CNT"}, {"valueNum": 1}
            )
        ),
    ),
    # shapes
    ("alert.rule.invalid.field", [SEED_POST]),
    ("alert.rule.invalid.field", "rule"),
    ("alert.rule.invalid.field", {**SEED_POST, "colour": "red"}),
    ("alert.rule.invalid.field", {**SEED_POST, "name": 5}),
    ("alert.rule.invalid.field", {**SEED_POST, "name": ""}),
    ("alert.rule.invalid.field", {k: v for k, v in SEED_POST.items() if k != "name"}),
    ("alert.rule.invalid.field", {**SEED_POST, "active": "true"}),
    ("alert.rule.invalid.field", {**SEED_POST, "stateful": 1}),
    ("alert.rule.invalid.field", {**SEED_POST, "emails": ["not-an-email"]}),
    ("alert.rule.invalid.field", {**SEED_POST, "emails": "machin@truc.com"}),
    ("alert.rule.invalid.field", {**SEED_POST, "notifMode": "SOMETIMES"}),
    ("alert.rule.invalid.field", {**SEED_POST, "conditions": []}),
    ("alert.rule.invalid.field", {**SEED_POST, "conditions": None}),
    ("alert.rule.invalid.field", {**SEED_POST, "conditions": [5]}),
    ("alert.rule.invalid.field", rule(cond("EQUALS", ATTR, {"valueNum": "5"}))),
    ("alert.rule.invalid.field", rule(cond("EQUALS", ATTR, {"valueNum": True}))),
    ("alert.rule.invalid.field", rule(cond("EQUALS", ATTR, {"valueNum": float("nan")}))),
    ("alert.rule.invalid.field", rule(cond("IN", ATTR, {"valuesStr": [1, 2]}))),
    ("alert.rule.invalid.field", rule(cond("EXISTS", {"attributeId": {"name": "DATA.x", "extra": 1}}))),
    ("alert.rule.invalid.field", rule(cond("EXISTS", {"attributeId": "DATA.x"}))),
    ("alert.rule.invalid.field", rule({"operator": "EXISTS", "operands": [ATTR], "negate": True})),
]


@pytest.mark.parametrize(("code", "body"), ERROR_CASES, ids=[f"{c}-{i}" for i, (c, _) in enumerate(ERROR_CASES)])
def test_error_code(code, body):
    error = error_of(body)
    assert error.code == code, str(error)
    assert error.status == 400
    assert all(isinstance(parameter, str) for parameter in error.parameters)


def test_every_seed_code_is_covered():
    seed_codes = {
        "alert.rule.missing.operator",
        "alert.rule.multiple.operand.type",
        "alert.rule.invalid.number.of.operands",
        "alert.rule.invalid.operand.type",
        "alert.rule.geo.invalid.wkt",
        "alert.rule.geo.bad.attribute.id",
        "alert.rule.invalid.function",
        "alert.rule.missing.attr.operand",
        "alert.rule.condition.too.many",
        "alert.rule.incorrect.target.type",
        "alert.rule.bad.voice.agg.usage",
    }
    assert seed_codes - {code for code, _ in ERROR_CASES} == {"alert.rule.condition.too.many"}  # tested below


@pytest.mark.parametrize("count", [11, 50, 5000])
def test_more_than_ten_conditions(count):
    error = error_of(rule(*[cond("EXISTS", ATTR)] * count))
    assert (error.code, error.parameters) == ("alert.rule.condition.too.many", ["10"])


def test_check_rule_also_counts_conditions_of_a_built_rule():
    built = AlertRuleInput.model_validate(rule(*[cond("EXISTS", ATTR)] * 11))
    with pytest.raises(CodedError) as caught:
        validation.check_rule(built)
    assert caught.value.code == "alert.rule.condition.too.many"


def test_rule_quota():
    check_rule_quota(0)
    check_rule_quota(49)
    for count in (50, 51):
        with pytest.raises(CodedError) as caught:
            check_rule_quota(count)
        assert (caught.value.code, caught.value.parameters, caught.value.status) == ("alert.rule.too.many", ["50"], 400)


def test_service_and_read_api_codes():
    assert (validation.missing_id().code, validation.missing_id().status) == ("alert.rule.missing.id", 400)
    unknown = validation.unknown_id("0f3919fd1ac0403ab9e70ae2c3729a21")
    assert (unknown.code, unknown.parameters, unknown.status) == (
        "alert.rule.unknown.id",
        ["0f3919fd1ac0403ab9e70ae2c3729a21"],
        404,
    )
    assert validation.missing_company().code == "missing.company"
    timerange = validation.invalid_time_range(20, 10)
    assert (timerange.code, timerange.parameters) == ("system.invalid.timerange", ["20", "10"])


# ------------------------------------------------------------------------------------- parameters, order


def test_parameters_locate_the_problem():
    body = rule(cond("EXISTS", ATTR), cond("EQUALS", ATTR, {"valueNum": 1, "valueStr": "x"}))
    assert error_of(body).parameters == ["conditions.1.operands.1"]
    body = rule(cond("EXISTS", {"attributeId": {"name": "system.colour"}}))
    assert error_of(body).parameters == ["conditions.0.operands.0.attributeId.name", "system.colour"]
    body = rule(cond("CHANGE", ATTR, ATTR))
    assert error_of(body).parameters == ["conditions.0.operands", "CHANGE", "1"]
    assert error_of({**SEED_POST, "emails": ["x"]}).parameters[0] == "emails.0"


def test_the_first_problem_in_body_order_wins():
    body = rule(cond("EXISTS", {"attributeId": {"name": "nope"}}), {"operands": [ATTR]})
    assert error_of(body).code == "alert.rule.unknown.attribute"
    body = rule({"operands": [ATTR]}, cond("EXISTS", {"attributeId": {"name": "nope"}}))
    assert error_of(body).code == "alert.rule.missing.operator"


def test_the_geofence_attribute_is_checked_before_the_operand_types():
    error = error_of(rule(cond("GEO_WITHIN", ATTR, ATTR)))
    assert error.code == "alert.rule.geo.bad.attribute.id"


# ------------------------------------------------------------------------------------------- properties

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
FIELD_NAMES = st.sampled_from(["attributeId", "valueStr", "valueNum", "valuesStr", "function", "name", "targetId"])
OPERATOR_NAMES = st.sampled_from([*validation.SIGNATURES, "BOGUS", "", None])
NAMES = st.sampled_from(["DATA.room.temp", "DATA._LON_LAT", "AGG.x/D", "AGG.VOICE_IN_SESSION/H", "system.name", "?"])
OPERANDS = st.dictionaries(
    st.sampled_from(["attributeId", "valueStr", "valueNum", "valuesStr", "function"]),
    st.one_of(
        st.builds(lambda n: {"name": n}, NAMES),
        st.sampled_from(["POINT(1 2)", SQUARE, "x", "SUM", "MIN"]),
        st.integers(-5, 5),
        st.lists(st.text(max_size=3), max_size=3),
    ),
    max_size=3,
)
CONDITIONS = st.builds(
    lambda op, operands: {"operator": op, "operands": operands}, OPERATOR_NAMES, st.lists(OPERANDS, max_size=4)
)


@PROPERTY
@given(st.one_of(JSON, st.dictionaries(FIELD_NAMES, JSON, max_size=5)))
def test_arbitrary_json_is_a_coded_error_never_a_crash(data):
    try:
        parse_rule(data)
    except CodedError as error:
        assert error.code.startswith("alert.rule.")


@PROPERTY
@given(st.lists(CONDITIONS, min_size=1, max_size=3))
def test_arbitrary_conditions_parse_or_give_a_coded_error(conditions):
    try:
        parsed = parse_rule(rule(*conditions))
    except CodedError as error:
        assert error.code.startswith("alert.rule.") and error.parameters
    else:
        assert len(parsed.conditions) == len(conditions)
