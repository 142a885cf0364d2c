"""AirVantage rule models: wire shapes of seed 001, systems, attribute names, telemetry parsing."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from switchboard.errors import InvalidInput
from switchboard.rules.aggregates import Aggregate
from switchboard.rules.models import (
    MAX_POINTS_PER_REQUEST,
    SYSTEM_ATTRIBUTES,
    AlertAttribute,
    AlertRecord,
    AlertRule,
    AlertRuleInput,
    AlertState,
    AlertValue,
    AttributeId,
    DataPoint,
    StateHistoryRow,
    System,
    SystemInput,
    parse_attribute_name,
    parse_telemetry,
)
from switchboard.rules.validation import parse_rule

from tests.seed_bodies import RULE_POST as SEED_POST

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RULE_ID = "0f3919fd1ac0403ab9e70ae2c3729a21"
COMPANY = "74e52f0379ec3b4e75f91b4750824c22"
TARGET = "91b74e52f04750824c22379ec3b4e75f"

SEED_RULE_RESPONSE = {"id": RULE_ID, **SEED_POST}


# ------------------------------------------------------------------------------------------------ rules


def stored_rule(body=SEED_POST, now_ms=1_000):
    return AlertRule.create(RULE_ID, COMPANY, parse_rule(body), now_ms)


def test_rule_wire_is_the_seed_response_plus_stateful_and_notif_mode():
    wire = stored_rule().wire()
    assert wire.pop("stateful") is True
    assert wire.pop("notifMode") == "WHEN_STATE_CHANGES"
    assert wire == SEED_RULE_RESPONSE
    assert list(wire) == list(SEED_RULE_RESPONSE)  # same key order as the seed


def test_rule_wire_keeps_integers_integral_and_omits_absent_operand_fields():
    operands = stored_rule().wire()["conditions"][0]["operands"]
    assert operands[1] == {"valueNum": 1024} and isinstance(operands[1]["valueNum"], int)
    assert "targetId" not in operands[0]["attributeId"]


def test_rule_wire_shows_target_id_and_function_param_when_given():
    body = {
        **SEED_POST,
        "conditions": [
            {
                "operator": "EQUALS",
                "operands": [
                    {"attributeId": {"name": "DATA.a", "targetId": TARGET}, "functionParam": "p"},
                    {"valueNum": 2.5},
                ],
            }
        ],
    }
    operands = stored_rule(body).wire()["conditions"][0]["operands"]
    assert operands == [
        {"attributeId": {"targetId": TARGET, "name": "DATA.a"}, "functionParam": "p"},
        {"valueNum": 2.5},
    ]


def test_rule_without_message_omits_it():
    body = {k: v for k, v in SEED_POST.items() if k != "message"}
    assert "message" not in stored_rule(body).wire()


def test_replaced_keeps_identity_and_creation_time():
    rule = stored_rule(now_ms=1_000)
    updated = rule.replaced(parse_rule({**SEED_POST, "name": "Renamed", "active": False}), 2_000)
    assert (updated.id, updated.company_id, updated.created_ms, updated.updated_ms) == (RULE_ID, COMPANY, 1_000, 2_000)
    assert updated.name == "Renamed" and updated.active is False


def test_stored_rule_round_trips_through_a_plain_dict():
    rule = stored_rule()
    for data in (rule.model_dump(), rule.model_dump(by_alias=True)):
        assert AlertRule.model_validate(data) == rule
    assert AlertRule.model_validate({**rule.model_dump(by_alias=True), "pk": "x", "sk": "y"}) == rule


def test_stored_rule_id_is_32_hex():
    with pytest.raises(ValidationError):
        AlertRule.create("not-an-id", COMPANY, parse_rule(SEED_POST), 1)


def test_rule_input_accepts_python_names_too():
    condition = {"operator": "EXISTS", "operands": [{"attribute_id": {"name": "DATA.x"}}]}
    built = AlertRuleInput(target_type="SYSTEM", name="n", conditions=[condition], notif_mode="EVERY_TIME")
    assert built.notif_mode == "EVERY_TIME"
    assert built.conditions[0].operands[0].attribute_id.name == "DATA.x"


# ---------------------------------------------------------------------------------------------- systems

SYSTEM_BODY = {
    "name": "Truck 42",
    "labels": ["paris", "fleet"],
    "state": "DEPLOYED",
    "activityState": "ACTIVE",
    "lifeCycleState": "IN_SERVICE",
    "commStatus": "OK",
    "heartbeat": {"state": "ON", "period": 60, "errorSLA": 180, "warningSLA": 120},
    "offerId": "offer-1",
    "gateway": {"imei": "359377060000001", "macAddress": "00:11:22:33:44:55", "serialNumber": "SN1"},
    "subscription": {"id": "sub-1"},
}


def test_system_input_wire_and_attributes():
    system = System(
        uid=TARGET, company=COMPANY, last_comm_date=1466859976000, **SystemInput.model_validate(SYSTEM_BODY).__dict__
    )
    wire = system.wire()
    assert next(iter(wire)) == "uid"
    assert wire == {"uid": TARGET, "company": COMPANY, "lastCommDate": 1466859976000, **SYSTEM_BODY}
    attributes = system.attributes()
    assert attributes["system.labels"] == ("paris", "fleet")
    assert attributes["gateway.mac.address"] == "00:11:22:33:44:55"
    assert attributes["system.heartbeat.errorSLA"] == 180
    assert attributes["subscription.id"] == "sub-1"
    assert set(attributes) <= SYSTEM_ATTRIBUTES


def test_minimal_system_has_only_present_attributes():
    system = System(uid="s1", company=COMPANY, name="bare")
    assert system.wire() == {"uid": "s1", "name": "bare", "labels": [], "company": COMPANY}
    assert system.attributes() == {"system.id": "s1", "system.name": "bare", "system.labels": ()}


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"name": ""},
        {"name": "n", "labels": "paris"},
        {"name": "n", "heartbeat": {"period": 0}},
        {"name": "n", "gateway": {"imei": 3}},
        {"name": "n", "colour": "red"},
    ],
)
def test_bad_system_inputs(bad):
    with pytest.raises(ValidationError):
        SystemInput.model_validate(bad)


# --------------------------------------------------------------------------------------- alert shapes


def temp_attribute(target_id=None):
    return AlertAttribute(
        id=AttributeId(name="DATA.room.temp", target_id=target_id), value=AlertValue.of(45), ref_time=1466859976000
    )


def test_alert_state_wire_matches_seed_alertstates():
    state = AlertState(
        company_id=COMPANY,
        target_id=TARGET,
        target_type="SYSTEM",
        rule_id="e52237824c29ecf003b4e7745f91b475",
        state=True,
        state_change_ts=1469446036000,
        first_alert_id="eecf003b4e7752237824c2945f91b475",
        last_alert_id="e24c2945fecf003b4e791b4775223785",
        attributes=[temp_attribute()],
    )
    assert state.wire() == {
        "companyId": COMPANY,
        "targetId": TARGET,
        "targetType": "SYSTEM",
        "ruleId": "e52237824c29ecf003b4e7745f91b475",
        "state": True,
        "stateChangeTs": 1469446036000,
        "firstAlertId": "eecf003b4e7752237824c2945f91b475",
        "lastAlertId": "e24c2945fecf003b4e791b4775223785",
    }
    assert state.wire_current() == {
        "companyId": COMPANY,
        "targetId": TARGET,
        "targetType": "SYSTEM",
        "ruleId": "e52237824c29ecf003b4e7745f91b475",
        "state": True,
        "stateChangeTs": 1469446036000,
        "attributes": [{"id": {"name": "DATA.room.temp"}, "value": {"valueNum": 45}, "refTime": 1466859976000}],
    }


def test_alert_record_wire_matches_seed_v3_history():
    stateless = AlertRecord(
        id="a" * 32,
        company_id=COMPANY,
        target_id=TARGET,
        target_type="SYSTEM",
        ts=1466859977000,
        rule_id=RULE_ID,
        state=None,
        attributes=[
            AlertAttribute(
                id=AttributeId(name="DATA.room.door.opened"), value=AlertValue.of(True), ref_time=1466859976000
            )
        ],
    )
    assert stateless.wire() == {
        "companyId": COMPANY,
        "targetId": TARGET,
        "targetType": "SYSTEM",
        "ts": 1466859977000,
        "ruleId": RULE_ID,
        "state": None,
        "attributes": [
            {"id": {"name": "DATA.room.door.opened"}, "value": {"valueStr": "true"}, "refTime": 1466859976000}
        ],
    }


def test_alert_record_wire_v2_matches_seed_v2_history():
    record = AlertRecord(
        id="89e59ec3b4e2f037075f91b4752",
        company_id=COMPANY,
        target_id=TARGET,
        target_type="SYSTEM",
        ts=1466859977000,
        rule_id=RULE_ID,
        state=True,
        attributes=[temp_attribute()],
    )
    assert record.wire_v2() == {
        "id": "89e59ec3b4e2f037075f91b4752",
        "companyId": COMPANY,
        "targetId": TARGET,
        "targetType": "SYSTEM",
        "ts": 1466859977000,
        "ruleId": RULE_ID,
        "attributes": [
            {"id": {"targetId": TARGET, "name": "DATA.room.temp"}, "value": {"valueNum": 45}, "refTime": 1466859976000}
        ],
    }
    assert record.hook_payload(1385718100163) == {
        "name": "event.alert.rule.triggered",
        "date": 1385718100163,
        "content": {"alert.uid": record.id, "rule.uid": RULE_ID, "target.uid": TARGET},
    }


def test_attribute_of_another_target_names_it_in_every_shape():
    other = temp_attribute(target_id="other-system")
    assert other.wire(TARGET)["id"] == {"targetId": "other-system", "name": "DATA.room.temp"}
    assert other.wire(TARGET, name_target=True)["id"] == {"targetId": "other-system", "name": "DATA.room.temp"}
    assert temp_attribute(target_id=TARGET).wire(TARGET)["id"] == {"name": "DATA.room.temp"}


def test_state_history_row_matches_seed():
    row = StateHistoryRow(
        id="e52237991b748ec75024c2f043b4e75f",
        company_id=COMPANY,
        target_id=TARGET,
        target_type="SYSTEM",
        rule_id=RULE_ID,
        state=False,
        ts=1496136627000,
        first_alert_id="4ef752237824c2003b945f91b7eec475",
    )
    assert row.wire() == {
        "id": "e52237991b748ec75024c2f043b4e75f",
        "companyId": COMPANY,
        "targetId": TARGET,
        "targetType": "SYSTEM",
        "ruleId": RULE_ID,
        "state": False,
        "ts": 1496136627000,
        "firstAlertId": "4ef752237824c2003b945f91b7eec475",
    }


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (45, {"valueNum": 45}),
        (2.5, {"valueNum": 2.5}),
        ("OK", {"valueStr": "OK"}),
        (False, {"valueStr": "false"}),
        (("a", "b"), {"valuesStr": ["a", "b"]}),
        (["a"], {"valuesStr": ["a"]}),
        (
            Aggregate(min=1, max=5, sum=9, cnt=3),
            {"valueAgg": {"min": 1, "max": 5, "cnt": 3, "sum": 9, "mean": 3.0}},
        ),
    ],
)
def test_alert_value_forms(value, wire):
    assert AlertValue.of(value).wire() == wire


# ------------------------------------------------------------------------------------- attribute names


@pytest.mark.parametrize(
    ("name", "kind", "data_id", "scale", "key"),
    [
        ("system.name", "system", None, None, "system.name"),
        ("gateway.mac.address", "system", None, None, "gateway.mac.address"),
        ("system.usage.record.imei", "system", None, None, "system.usage.record.imei"),
        ("DATA.room.temp", "data", "room.temp", None, "room.temp"),
        ("DATA._LON_LAT", "position", "_LON_LAT", None, "_LON_LAT"),
        ("AGG.room.temp/D", "aggregate", "room.temp", "D", "room.temp"),
        ("AGG._DATA_BYTES_TOTAL_DELTA/D", "aggregate", "_DATA_BYTES_TOTAL_DELTA", "D", "_DATA_BYTES_TOTAL_DELTA"),
        ("AGG.DATA_SESSION/H", "aggregate", "DATA_SESSION", "H", "DATA_SESSION"),
        ("AGG.VOICE_IN_SESSION/M", "aggregate", "VOICE_IN_SESSION", "M", "VOICE_IN_SESSION"),
    ],
)
def test_attribute_names(name, kind, data_id, scale, key):
    parsed = parse_attribute_name(name)
    assert parsed is not None
    assert (parsed.kind, parsed.data_id, parsed.time_scale, parsed.index_key) == (kind, data_id, scale, key)


@pytest.mark.parametrize(
    "name",
    ["", "system", "system.colour", "DATA.", "DATA.a b", "DATA.a/b", "AGG.x", "AGG.x/", "AGG./D", "AGG.x/Y", "agg.x/D"],
)
def test_unknown_attribute_names(name):
    assert parse_attribute_name(name) is None


def test_voice_usage_detection():
    assert parse_attribute_name("AGG.VOICE_OUT_DURATION/D").is_voice_usage
    assert not parse_attribute_name("AGG.DATA_SESSION/D").is_voice_usage


# ---------------------------------------------------------------------------------------------- telemetry


def test_seed_device_message():
    points = parse_telemetry([{"room.temp": [{"timestamp": 1466859976000, "value": 45}]}])
    assert points == [DataPoint(data_id="room.temp", timestamp_ms=1466859976000, value=45)]
    assert points[0].attribute_name == "DATA.room.temp"


def test_message_with_several_entries_types_and_a_position():
    points = parse_telemetry(
        [
            {
                "room.temp": [{"timestamp": 1, "value": 21.5}, {"timestamp": 2, "value": 22}],
                "door.opened": [{"timestamp": 3, "value": True}],
            },
            {"status": [{"timestamp": 4, "value": "OK"}], "_LON_LAT": [{"timestamp": 5, "value": "POINT(2.35 48.85)"}]},
        ]
    )
    assert [(p.data_id, p.timestamp_ms, p.value) for p in points] == [
        ("room.temp", 1, 21.5),
        ("room.temp", 2, 22),
        ("door.opened", 3, True),
        ("status", 4, "OK"),
        ("_LON_LAT", 5, "POINT(2.35 48.85)"),
    ]
    assert type(points[2].value) is bool and type(points[1].value) is int


def test_empty_message_has_no_points():
    assert parse_telemetry([]) == [] and parse_telemetry([{}]) == []


def bad_paths(data):
    with pytest.raises(InvalidInput) as caught:
        parse_telemetry(data)
    return {error.dotted: error.code for error in caught.value.errors}


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"room.temp": []}, "body"),
        (None, "body"),
        ("x", "body"),
        ([5], "0"),
        ([{"room.temp": {"timestamp": 1, "value": 2}}], "0.room.temp"),
        ([{"room.temp": [{"value": 2}]}], "0.room.temp.0.timestamp"),
        ([{"room.temp": [{"timestamp": 1}]}], "0.room.temp.0.value"),
        ([{"room.temp": [{"timestamp": "1", "value": 2}]}], "0.room.temp.0.timestamp"),
        ([{"room.temp": [{"timestamp": 1.5, "value": 2}]}], "0.room.temp.0.timestamp"),
        ([{"room.temp": [{"timestamp": True, "value": 2}]}], "0.room.temp.0.timestamp"),
        ([{"room.temp": [{"timestamp": -1, "value": 2}]}], "0.room.temp.0.timestamp"),
        ([{"room.temp": [{"timestamp": 10**16, "value": 2}]}], "0.room.temp.0.timestamp"),
        ([{"room.temp": [{"timestamp": 1, "value": None}]}], "0.room.temp.0.value"),
        ([{"room.temp": [{"timestamp": 1, "value": [1]}]}], "0.room.temp.0.value"),
        ([{"room.temp": [{"timestamp": 1, "value": {"a": 1}}]}], "0.room.temp.0.value"),
        ([{"room.temp": [{"timestamp": 1, "value": float("inf")}]}], "0.room.temp.0.value"),
        ([{"room.temp": [{"timestamp": 1, "value": "x" * 5000}]}], "0.room.temp.0.value"),
        ([{"room.temp": [{"timestamp": 1, "value": 2, "unit": "C"}]}], "0.room.temp.0.unit"),
        ([{"room temp": [{"timestamp": 1, "value": 2}]}], "0.room temp"),
        ([{"a/b": [{"timestamp": 1, "value": 2}]}], "0.a/b"),
        ([{"x" * 129: [{"timestamp": 1, "value": 2}]}], "0." + "x" * 129),
        ([{"_LON_LAT": [{"timestamp": 1, "value": "POINT(181 0)"}]}], "0._LON_LAT.0.value"),
        ([{"_LON_LAT": [{"timestamp": 1, "value": "POINT(0 -90.5)"}]}], "0._LON_LAT.0.value"),
        ([{"_LON_LAT": [{"timestamp": 1, "value": "POINT(1)"}]}], "0._LON_LAT.0.value"),
        ([{"_LON_LAT": [{"timestamp": 1, "value": "48.85,2.35"}]}], "0._LON_LAT.0.value"),
        ([{"_LON_LAT": [{"timestamp": 1, "value": 2.35}]}], "0._LON_LAT.0.value"),
        (
            [{"ok": [{"timestamp": 1, "value": 1}]}, {"_LON_LAT": [{"timestamp": 1, "value": "POINT(nan 1)"}]}],
            "1._LON_LAT.0.value",
        ),
    ],
)
def test_bad_messages_name_the_field(data, path):
    assert path in bad_paths(data)


def test_a_data_id_of_128_characters_is_fine():
    assert parse_telemetry([{"x" * 128: [{"timestamp": 1, "value": 1}]}])[0].data_id == "x" * 128


def test_at_most_1000_points_per_request():
    sample = {"timestamp": 1, "value": 1}
    assert len(parse_telemetry([{"a": [sample] * 600}, {"b": [sample] * 400}])) == MAX_POINTS_PER_REQUEST
    with pytest.raises(InvalidInput) as caught:
        parse_telemetry([{"a": [sample] * 600}, {"b": [sample] * 401}])
    error = caught.value.errors[0]
    assert (error.dotted, error.code, error.value, error.target) == ("body", "maxItems", 1001, 1000)


@pytest.mark.parametrize("text", ["POINT(2.35 48.85)", "point ( -180 -90 )", "POINT(180 90)", "POINT(1e1 2.)"])
def test_positions_accepted(text):
    assert parse_telemetry([{"_LON_LAT": [{"timestamp": 1, "value": text}]}])[0].value == text


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=15,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_arbitrary_json_parses_or_is_invalid_input(data):
    try:
        points = parse_telemetry(data)
    except InvalidInput as error:
        assert error.errors and all(item.path for item in error.errors)
    else:
        assert all(isinstance(point, DataPoint) for point in points)
