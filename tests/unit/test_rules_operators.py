"""Rule evaluation: every operator true / false / unknown, other targets, geofencing, AGG operands."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from switchboard.rules import operators
from switchboard.rules.aggregates import Aggregate
from switchboard.rules.geo import GeoError, haversine_km, parse_point, parse_point_wkt, parse_polygon
from switchboard.rules.models import AlertRule, Condition
from switchboard.rules.operators import (
    AttributeValue,
    MappingSource,
    combine,
    compile_rule,
    compiled_rule,
    evaluate_condition,
)
from switchboard.rules.validation import parse_rule

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PARIS = "POINT(2.3522 48.8566)"
LONDON = "POINT(-0.1276 51.5072)"
NEW_YORK = "POINT(-74.0060 40.7128)"
SQUARE = "POLYGON((0 0, 10 0, 10 10, 0 10, 0 0))"
DONUT = "POLYGON((0 0, 10 0, 10 10, 0 10, 0 0),(4 4, 6 4, 6 6, 4 6, 4 4))"


def attr(name, target_id=None, function=None):
    operand = {"attributeId": {"name": name, **({"targetId": target_id} if target_id else {})}}
    if function:
        operand["function"] = function
    return operand


def cond(operator, *operands):
    return Condition.model_validate({"operator": operator, "operands": list(operands)})


def _wrapped(mapping):
    return {k: v if isinstance(v, AttributeValue) else AttributeValue(v, 1) for k, v in mapping.items()}


def source(values=None, previous=None, **kwargs):
    return MappingSource(_wrapped(values or {}), _wrapped(previous or {}), **kwargs)


def check(condition, values, previous=None):
    return evaluate_condition(condition, source(values, previous))


T = "DATA.t"
S = "DATA.s"

CASES = [
    # EQUALS / NOT_EQUALS
    (cond("EQUALS", attr(T), {"valueNum": 45}), {T: 45}, True),
    (cond("EQUALS", attr(T), {"valueNum": 45}), {T: 45.0}, True),
    (cond("EQUALS", attr(T), {"valueNum": 45}), {T: "45"}, True),
    (cond("EQUALS", attr(T), {"valueNum": 45}), {T: " 4.5e1 "}, True),
    (cond("EQUALS", attr(T), {"valueNum": 45}), {T: 46}, False),
    (cond("EQUALS", attr(T), {"valueNum": 45}), {T: "forty-five"}, False),
    (cond("EQUALS", attr(T), {"valueNum": 1}), {T: True}, False),
    (cond("EQUALS", attr(T), {"valueNum": 45}), {}, None),
    (cond("EQUALS", attr(S), {"valueStr": "OK"}), {S: "OK"}, True),
    (cond("EQUALS", attr(S), {"valueStr": "OK"}), {S: "ok"}, False),
    (cond("EQUALS", attr(S), {"valueStr": "true"}), {S: True}, True),
    (cond("EQUALS", attr(S), {"valueStr": "45"}), {S: 45}, True),
    (cond("EQUALS", attr(S), {"valueStr": "45"}), {S: "045"}, False),  # two texts compare as text
    (cond("EQUALS", attr("system.labels"), {"valueStr": "a"}), {"system.labels": ("a",)}, True),
    (cond("EQUALS", attr("system.labels"), {"valueStr": "a"}), {"system.labels": ("a", "b")}, False),
    (cond("EQUALS", attr(S), {"valueStr": "x"}), {}, None),
    (cond("NOT_EQUALS", attr(T), {"valueNum": 45}), {T: 44}, True),
    (cond("NOT_EQUALS", attr(T), {"valueNum": 45}), {T: 45}, False),
    (cond("NOT_EQUALS", attr(T), {"valueNum": 45}), {}, None),
    (cond("NOT_EQUALS", attr(S), {"valueStr": "OK"}), {S: "KO"}, True),
    # GREATER_THAN / LESS_THAN
    (cond("GREATER_THAN", attr(T), {"valueNum": 38}), {T: 45}, True),
    (cond("GREATER_THAN", attr(T), {"valueNum": 38}), {T: 38}, False),
    (cond("GREATER_THAN", attr(T), {"valueNum": 38}), {T: "38.5"}, True),
    (cond("GREATER_THAN", attr(T), {"valueNum": 38}), {T: "hot"}, False),
    (cond("GREATER_THAN", attr(T), {"valueNum": 38}), {T: True}, False),
    (cond("GREATER_THAN", attr(T), {"valueNum": 38}), {T: ("45",)}, False),
    (cond("GREATER_THAN", attr(T), {"valueNum": 38}), {}, None),
    (cond("LESS_THAN", attr(T), {"valueNum": -1.5}), {T: -2}, True),
    (cond("LESS_THAN", attr(T), {"valueNum": -1.5}), {T: -1.5}, False),
    (cond("LESS_THAN", attr(T), {"valueNum": -1.5}), {T: float("nan")}, False),
    (cond("LESS_THAN", attr(T), {"valueNum": -1.5}), {}, None),
    # EXISTS / NOT_EXISTS
    (cond("EXISTS", attr(T)), {T: 0}, True),
    (cond("EXISTS", attr(T)), {T: ""}, True),
    (cond("EXISTS", attr(T)), {}, False),
    (cond("EXISTS", attr(T)), {T: None}, False),
    (cond("NOT_EXISTS", attr(T)), {}, True),
    (cond("NOT_EXISTS", attr(T)), {T: False}, False),
    # IN / NOT_IN
    (cond("IN", attr(S), {"valuesStr": ["OK", "WARNING"]}), {S: "OK"}, True),
    (cond("IN", attr(S), {"valuesStr": ["OK", "WARNING"]}), {S: "ERROR"}, False),
    (cond("IN", attr(S), {"valuesStr": ["3", "4"]}), {S: 3.0}, True),
    (cond("IN", attr(S), {"valuesStr": ["a", "z"]}), {S: ("x", "z")}, True),
    (cond("IN", attr(S), {"valuesStr": []}), {S: "a"}, False),
    (cond("IN", attr(S), {"valuesStr": ["a"]}), {}, None),
    (cond("NOT_IN", attr(S), {"valuesStr": ["OK"]}), {S: "ERROR"}, True),
    (cond("NOT_IN", attr(S), {"valuesStr": ["OK"]}), {S: "OK"}, False),
    (cond("NOT_IN", attr(S), {"valuesStr": ["OK"]}), {}, None),
    # CONTAINS / NOT_CONTAINS: substring of text, membership of a list
    (cond("CONTAINS", attr(S), {"valueStr": "err"}), {S: "an error"}, True),
    (cond("CONTAINS", attr(S), {"valueStr": "err"}), {S: "fine"}, False),
    (cond("CONTAINS", attr(S), {"valueStr": "12"}), {S: 3124}, True),
    (cond("CONTAINS", attr("system.labels"), {"valueStr": "paris"}), {"system.labels": ("paris", "fleet")}, True),
    (cond("CONTAINS", attr("system.labels"), {"valueStr": "par"}), {"system.labels": ("paris", "fleet")}, False),
    (cond("CONTAINS", attr("system.labels"), {"valueStr": "paris"}), {}, None),
    (cond("NOT_CONTAINS", attr("system.labels"), {"valueStr": "lyon"}), {"system.labels": ("paris",)}, True),
    (cond("NOT_CONTAINS", attr(S), {"valueStr": "err"}), {S: "error"}, False),
    (cond("NOT_CONTAINS", attr(S), {"valueStr": "err"}), {}, None),
    # STARTS_WITH / ENDS_WITH
    (cond("STARTS_WITH", attr(S), {"valueStr": "+33"}), {S: "+33612345678"}, True),
    (cond("STARTS_WITH", attr(S), {"valueStr": "+33"}), {S: "+44"}, False),
    (cond("STARTS_WITH", attr("system.labels"), {"valueStr": "site:"}), {"system.labels": ("x", "site:lyon")}, True),
    (cond("STARTS_WITH", attr(S), {"valueStr": "x"}), {}, None),
    (cond("ENDS_WITH", attr(S), {"valueStr": ".fr"}), {S: "a.fr"}, True),
    (cond("ENDS_WITH", attr(S), {"valueStr": ".fr"}), {S: "a.de"}, False),
    (cond("ENDS_WITH", attr(S), {"valueStr": "x"}), {}, None),
    # GEO_WITHIN / GEO_NOT_WITHIN
    (cond("GEO_WITHIN", attr("DATA._LON_LAT"), {"valueStr": SQUARE}), {"DATA._LON_LAT": "POINT(5 5)"}, True),
    (cond("GEO_WITHIN", attr("DATA._LON_LAT"), {"valueStr": SQUARE}), {"DATA._LON_LAT": "POINT(11 5)"}, False),
    (cond("GEO_WITHIN", attr("DATA._LON_LAT"), {"valueStr": SQUARE}), {"DATA._LON_LAT": "POINT(10 5)"}, True),
    (cond("GEO_WITHIN", attr("DATA._LON_LAT"), {"valueStr": SQUARE}), {"DATA._LON_LAT": "POINT(0 0)"}, True),
    (cond("GEO_WITHIN", attr("DATA._LON_LAT"), {"valueStr": DONUT}), {"DATA._LON_LAT": "POINT(5 5)"}, False),
    (cond("GEO_WITHIN", attr("DATA._LON_LAT"), {"valueStr": DONUT}), {"DATA._LON_LAT": "POINT(4 5)"}, True),
    (cond("GEO_WITHIN", attr("DATA._LON_LAT"), {"valueStr": SQUARE}), {}, None),
    (cond("GEO_WITHIN", attr("DATA._LON_LAT"), {"valueStr": SQUARE}), {"DATA._LON_LAT": "somewhere"}, None),
    (cond("GEO_WITHIN", attr("DATA._LON_LAT"), {"valueStr": SQUARE}), {"DATA._LON_LAT": 5}, None),
    (cond("GEO_NOT_WITHIN", attr("DATA._LON_LAT"), {"valueStr": SQUARE}), {"DATA._LON_LAT": "POINT(11 5)"}, True),
    (cond("GEO_NOT_WITHIN", attr("DATA._LON_LAT"), {"valueStr": SQUARE}), {"DATA._LON_LAT": "POINT(10 10)"}, False),
    (cond("GEO_NOT_WITHIN", attr("DATA._LON_LAT"), {"valueStr": SQUARE}), {}, None),
    # GEO_DISTANCE_TOO_FAR / TOO_CLOSE against a literal point (Paris - London is 343.5 km)
    (
        cond("GEO_DISTANCE_TOO_FAR", attr("DATA._LON_LAT"), {"valueStr": PARIS}, {"valueNum": 300}),
        {"DATA._LON_LAT": LONDON},
        True,
    ),
    (
        cond("GEO_DISTANCE_TOO_FAR", attr("DATA._LON_LAT"), {"valueStr": PARIS}, {"valueNum": 400}),
        {"DATA._LON_LAT": LONDON},
        False,
    ),
    (cond("GEO_DISTANCE_TOO_FAR", attr("DATA._LON_LAT"), {"valueStr": PARIS}, {"valueNum": 400}), {}, None),
    (
        cond("GEO_DISTANCE_TOO_CLOSE", attr("DATA._LON_LAT"), {"valueStr": PARIS}, {"valueNum": 400}),
        {"DATA._LON_LAT": LONDON},
        True,
    ),
    (
        cond("GEO_DISTANCE_TOO_CLOSE", attr("DATA._LON_LAT"), {"valueStr": PARIS}, {"valueNum": 300}),
        {"DATA._LON_LAT": LONDON},
        False,
    ),
    (
        cond("GEO_DISTANCE_TOO_CLOSE", attr("DATA._LON_LAT"), {"valueStr": PARIS}, {"valueNum": 0}),
        {"DATA._LON_LAT": PARIS},
        False,
    ),
    (cond("GEO_DISTANCE_TOO_CLOSE", attr("DATA._LON_LAT"), {"valueStr": PARIS}, {"valueNum": 1}), {}, None),
    # AGG operands pick from the aggregate
    (
        cond("GREATER_THAN", attr("AGG.t/D", function="MAX"), {"valueNum": 30}),
        {"AGG.t/D": Aggregate(min=10, max=40, sum=75, cnt=3)},
        True,
    ),
    (
        cond("GREATER_THAN", attr("AGG.t/D", function="MIN"), {"valueNum": 30}),
        {"AGG.t/D": Aggregate(min=10, max=40, sum=75, cnt=3)},
        False,
    ),
    (
        cond("EQUALS", attr("AGG.t/D", function="MEAN"), {"valueNum": 25}),
        {"AGG.t/D": Aggregate(min=10, max=40, sum=75, cnt=3)},
        True,
    ),
    (
        cond("EQUALS", attr("AGG.t/D", function="SUM"), {"valueNum": 75}),
        {"AGG.t/D": Aggregate(min=10, max=40, sum=75, cnt=3)},
        True,
    ),
    (
        cond("LESS_THAN", attr("AGG.t/D", function="CNT"), {"valueNum": 4}),
        {"AGG.t/D": Aggregate(min=10, max=40, sum=75, cnt=3)},
        True,
    ),
    (cond("GREATER_THAN", attr("AGG.t/D", function="SUM"), {"valueNum": 0}), {"AGG.t/D": Aggregate()}, None),
    (cond("GREATER_THAN", attr("AGG.t/D", function="SUM"), {"valueNum": 0}), {}, None),
    (cond("GREATER_THAN", attr("AGG.t/D", function="SUM"), {"valueNum": 0}), {"AGG.t/D": 12}, True),
    (cond("GREATER_THAN", attr("AGG.t/D", function="SUM"), {"valueNum": 0}), {"AGG.t/D": "12"}, None),
]


@pytest.mark.parametrize(("condition", "values", "expected"), CASES)
def test_operator(condition, values, expected):
    assert check(condition, values) is expected


def test_every_operator_is_covered_true_false_and_unknown():
    outcomes: dict[str, set] = {}
    for condition, _values, expected in CASES:
        outcomes.setdefault(condition.operator, set()).add(expected)
    for operator in ("EXISTS", "NOT_EXISTS"):  # presence tests are never unknown
        assert outcomes.pop(operator) == {True, False}
    assert "CHANGE" not in outcomes  # tested below
    assert len(outcomes) == 14  # the 17 operators less CHANGE, EXISTS, NOT_EXISTS
    assert all(found == {True, False, None} for found in outcomes.values()), outcomes


# --------------------------------------------------------------------------------------------------- CHANGE


@pytest.mark.parametrize(
    ("current", "previous", "expected"),
    [
        ({T: 45}, {T: 44}, True),
        ({T: 45}, {T: 45}, False),
        ({T: 45}, {T: 45.0}, False),
        ({T: "45"}, {T: 45}, False),
        ({T: "OK"}, {T: "ERROR"}, True),
        ({T: 45}, {}, False),  # the first value ever is not a change
        ({}, {T: 45}, None),
        ({}, {}, None),
        ({T: ("a", "b")}, {T: ("b", "a")}, False),
        ({T: ("a", "b")}, {T: ("a",)}, True),
        ({T: True}, {T: False}, True),
    ],
)
def test_change(current, previous, expected):
    assert check(cond("CHANGE", attr(T)), current, previous) is expected


def test_change_of_an_aggregate_compares_the_picked_value():
    condition = cond("CHANGE", attr("AGG.t/D", function="MAX"))
    before = {"AGG.t/D": Aggregate(min=1, max=5, sum=6, cnt=2)}
    assert check(condition, {"AGG.t/D": Aggregate(min=0, max=5, sum=6, cnt=3)}, before) is False
    assert check(condition, {"AGG.t/D": Aggregate(min=1, max=9, sum=15, cnt=3)}, before) is True


# ------------------------------------------------------------------------------- attribute on the right side


def test_attribute_on_the_right_side():
    condition = cond("GREATER_THAN", attr("DATA.temp"), attr("DATA.limit"))
    assert check(condition, {"DATA.temp": 40, "DATA.limit": 38}) is True
    assert check(condition, {"DATA.temp": 30, "DATA.limit": 38}) is False
    assert check(condition, {"DATA.temp": 40}) is None
    assert check(cond("EQUALS", attr("DATA.a"), attr("DATA.b")), {"DATA.a": "x", "DATA.b": "x"}) is True
    assert (
        check(cond("IN", attr("DATA.a"), attr("system.labels")), {"DATA.a": "x", "system.labels": ("x", "y")}) is True
    )
    assert check(cond("IN", attr("DATA.a"), attr("DATA.b")), {"DATA.a": "x", "DATA.b": "x"}) is True
    assert check(cond("STARTS_WITH", attr("DATA.a"), attr("DATA.b")), {"DATA.a": "abc", "DATA.b": "ab"}) is True
    assert check(cond("CONTAINS", attr("DATA.a"), attr("DATA.b")), {"DATA.a": "abc", "DATA.b": ("b",)}) is False


def test_attribute_of_another_target_is_asked_from_the_lookup():
    asked = []

    def others(target_id, name):
        asked.append((target_id, name))
        return {("sys-b", "DATA.temp"): AttributeValue(50, 7)}.get((target_id, name))

    condition = cond("LESS_THAN", attr("DATA.temp"), attr("DATA.temp", target_id="sys-b"))
    here = source({"DATA.temp": 40}, target_id="sys-a", others=others)
    assert evaluate_condition(condition, here) is True
    assert asked == [("sys-b", "DATA.temp")]
    assert evaluate_condition(cond("EXISTS", attr("DATA.temp", target_id="sys-c")), here) is False
    # a targetId naming the evaluated target itself reads the evaluated target
    assert evaluate_condition(cond("EXISTS", attr("DATA.temp", target_id="sys-a")), here) is True
    assert evaluate_condition(cond("EXISTS", attr("DATA.temp", target_id="sys-b")), source({})) is False


def test_distance_between_two_systems():
    def others(target_id, name):
        return AttributeValue(NEW_YORK, 5) if (target_id, name) == ("truck-2", "DATA._LON_LAT") else None

    far = cond(
        "GEO_DISTANCE_TOO_FAR", attr("DATA._LON_LAT"), attr("DATA._LON_LAT", target_id="truck-2"), {"valueNum": 5000}
    )
    close = cond(
        "GEO_DISTANCE_TOO_CLOSE", attr("DATA._LON_LAT"), attr("DATA._LON_LAT", target_id="truck-2"), {"valueNum": 5000}
    )
    here = source({"DATA._LON_LAT": LONDON}, target_id="truck-1", others=others)
    assert evaluate_condition(far, here) is True  # London - New York is 5570 km
    assert evaluate_condition(close, here) is False
    assert evaluate_condition(far, source({"DATA._LON_LAT": LONDON}, target_id="truck-1")) is None


# ------------------------------------------------------------------------------------------------- rules


def rule_of(*conditions, stateful=True):
    body = {"targetType": "SYSTEM", "name": "r", "stateful": stateful, "conditions": list(conditions)}
    return AlertRule.create("0f3919fd1ac0403ab9e70ae2c3729a21", "c1", parse_rule(body), 1)


HOT = {"operator": "GREATER_THAN", "operands": [attr("DATA.temp"), {"valueNum": 38}]}
OPEN = {"operator": "EQUALS", "operands": [attr("DATA.door"), {"valueStr": "true"}]}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"DATA.temp": 45, "DATA.door": True}, True),
        ({"DATA.temp": 30, "DATA.door": True}, False),
        ({"DATA.temp": 45, "DATA.door": False}, False),
        ({"DATA.temp": 45}, None),
        ({"DATA.door": False}, False),  # a False decides even with an unknown
        ({"DATA.door": True}, None),
        ({}, None),
    ],
)
def test_rule_is_the_three_valued_and_of_its_conditions(values, expected):
    result = compile_rule(rule_of(HOT, OPEN)).evaluate(source(values))
    assert result.outcome is expected


def test_combine():
    assert combine([]) is True
    assert combine([True, True]) is True
    assert combine([True, None]) is None
    assert combine([None, False]) is False


def test_result_attributes_are_those_read_once_each():
    rule = rule_of(HOT, OPEN, {"operator": "EXISTS", "operands": [attr("DATA.temp")]})
    values = {"DATA.temp": AttributeValue(45, 1466859976000), "DATA.door": AttributeValue(True, 1466859975000)}
    result = compile_rule(rule).evaluate(MappingSource(values))
    assert result.outcome is True
    assert [item.wire("sys") for item in result.attributes()] == [
        {"id": {"name": "DATA.temp"}, "value": {"valueNum": 45}, "refTime": 1466859976000},
        {"id": {"name": "DATA.door"}, "value": {"valueStr": "true"}, "refTime": 1466859975000},
    ]


def test_result_attributes_of_other_targets_and_aggregates():
    rule = rule_of(
        {
            "operator": "GREATER_THAN",
            "operands": [attr("AGG.temp/D", function="MAX"), attr("DATA.temp", target_id="ref")],
        }
    )

    def others(target_id, name):
        return AttributeValue(20, 3) if target_id == "ref" else None

    values = {"AGG.temp/D": AttributeValue(Aggregate(min=1, max=30, sum=40, cnt=3), 2)}
    result = compile_rule(rule).evaluate(MappingSource(values, target_id="me", others=others))
    assert result.outcome is True
    assert [item.wire("me") for item in result.attributes()] == [
        {
            "id": {"name": "AGG.temp/D"},
            "value": {"valueAgg": {"min": 1, "max": 30, "cnt": 3, "sum": 40, "mean": 40 / 3}},
            "refTime": 2,
        },
        {"id": {"targetId": "ref", "name": "DATA.temp"}, "value": {"valueNum": 20}, "refTime": 3},
    ]


def test_compiled_rules_are_cached_per_version():
    rule = rule_of(HOT)
    assert compiled_rule(rule) is compiled_rule(rule)
    newer = rule.replaced(parse_rule({"targetType": "SYSTEM", "name": "r", "conditions": [OPEN]}), 2)
    assert compiled_rule(newer) is not compiled_rule(rule)
    assert compiled_rule(newer).evaluate(source({"DATA.door": True})).outcome is True
    assert compiled_rule(newer).rule_id == rule.id


def test_compile_refuses_what_validation_would():
    with pytest.raises(ValueError):
        operators.compile_condition(cond("BETWEEN", attr(T), {"valueNum": 1}))
    with pytest.raises(ValueError):
        operators.compile_condition(cond("GEO_WITHIN", attr("DATA._LON_LAT"), {"valueStr": "nope"}))


# -------------------------------------------------------------------------------------------------- geo


def test_known_city_distances():
    assert haversine_km(parse_point(PARIS), parse_point(LONDON)) == pytest.approx(343.5, abs=0.5)
    assert haversine_km(parse_point(LONDON), parse_point(NEW_YORK)) == pytest.approx(5570, abs=5)
    assert haversine_km((0, 0), (0, 1)) == pytest.approx(6371.0088 * math.pi / 180)
    assert haversine_km((0, 0), (180, 0)) == pytest.approx(6371.0088 * math.pi)
    assert haversine_km(parse_point(PARIS), parse_point(PARIS)) == 0


def test_point_literals_and_polygons_are_parsed_once():
    assert parse_polygon(SQUARE) is parse_polygon(SQUARE)
    assert parse_point_wkt("POINT (2.3522 48.8566)") == (2.3522, 48.8566)
    for bad in ("POINT EMPTY", "LINESTRING(0 0, 1 1)", "POINT(0 91)"):
        with pytest.raises(GeoError):
            parse_point_wkt(bad)
    with pytest.raises(GeoError):
        parse_polygon("MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)))")


# ------------------------------------------------------------------------------------------- properties

VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(["POINT(5 5)", "POINT(200 0)", "45", " 1e308 ", "1e999", "-0", "nan"]),
    st.lists(st.one_of(st.text(max_size=4), st.integers(), st.none()), max_size=3).map(tuple),
    st.builds(Aggregate.of, st.integers(-100, 100)),
    st.just(Aggregate()),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
ALL_CONDITIONS = [
    cond("CHANGE", attr("DATA.a")),
    cond("EXISTS", attr("DATA.a")),
    cond("NOT_EXISTS", attr("DATA.a")),
    *[cond(op, attr("DATA.a"), attr("DATA.b")) for op in operators._BINARY_TESTS],
    *[cond(op, attr("DATA.a"), {"valueNum": 3}) for op in ("EQUALS", "NOT_EQUALS", "GREATER_THAN", "LESS_THAN")],
    *[cond(op, attr("DATA.a"), {"valueStr": "4"}) for op in ("EQUALS", "CONTAINS", "STARTS_WITH", "ENDS_WITH")],
    cond("IN", attr("DATA.a"), {"valuesStr": ["3", "x"]}),
    cond("GREATER_THAN", attr("AGG.a/D", function="MEAN"), {"valueNum": 3}),
    cond("GEO_WITHIN", attr("DATA._LON_LAT"), {"valueStr": SQUARE}),
    cond("GEO_NOT_WITHIN", attr("DATA._LON_LAT"), {"valueStr": DONUT}),
    cond("GEO_DISTANCE_TOO_FAR", attr("DATA._LON_LAT"), {"valueStr": PARIS}, {"valueNum": 10}),
    cond("GEO_DISTANCE_TOO_CLOSE", attr("DATA._LON_LAT"), attr("DATA._LON_LAT", target_id="o"), {"valueNum": 10}),
]


@PROPERTY
@given(st.sampled_from(ALL_CONDITIONS), VALUES, VALUES, VALUES)
def test_evaluation_never_raises_on_arbitrary_values(condition, a, b, previous):
    values = {"DATA.a": a, "DATA.b": b, "AGG.a/D": a, "DATA._LON_LAT": a}

    def others(_target, _name):
        return AttributeValue(b)

    outcome = evaluate_condition(condition, source(values, {"DATA.a": previous}, target_id="me", others=others))
    assert outcome in (True, False, None)


NEGATIONS = [("EQUALS", "NOT_EQUALS"), ("IN", "NOT_IN"), ("CONTAINS", "NOT_CONTAINS")]


@PROPERTY
@given(st.sampled_from(NEGATIONS), VALUES, VALUES)
def test_not_operators_are_negations_on_present_values(pair, a, b):
    positive, negative = (cond(op, attr("DATA.a"), attr("DATA.b")) for op in pair)
    values = {"DATA.a": a, "DATA.b": b}
    yes, no = check(positive, values), check(negative, values)
    if a is None or b is None:
        assert yes is None and no is None
    else:
        assert yes is (not no)


@PROPERTY
@given(st.floats(-180, 180), st.floats(-90, 90), st.floats(-180, 180), st.floats(-90, 90))
def test_distance_is_symmetric_and_bounded(lon1, lat1, lon2, lat2):
    d = haversine_km((lon1, lat1), (lon2, lat2))
    assert d == pytest.approx(haversine_km((lon2, lat2), (lon1, lat1)), abs=1e-6)
    assert 0 <= d <= math.pi * 6371.0088 + 1e-6
