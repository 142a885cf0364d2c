"""notifMode table (exhaustively) and the rule index."""

from __future__ import annotations

import itertools

import pytest
from switchboard.rules.index import RuleIndex, index_key, index_keys
from switchboard.rules.models import AlertRule
from switchboard.rules.notification_modes import (
    Transition,
    notifies_stateless_alert,
    notifies_transition,
    should_notify,
    transition,
)
from switchboard.rules.validation import parse_rule

# ------------------------------------------------------------------------------------------------ notify

# reference/airvantage.md: mode -> (false→true, true→false, true→true, false→false)
TABLE = {
    "EVERY_TIME": (True, False, True, False),
    "WHEN_STATE_CHANGES": (True, True, False, False),
    "WHEN_STATE_TRUE": (True, False, False, False),
    "WHEN_STATE_FALSE": (False, True, False, False),
    "IN_ALL_CASES": (True, True, True, True),
}
STEPS = [(False, True), (True, False), (True, True), (False, False)]


@pytest.mark.parametrize(("mode", "step"), list(itertools.product(TABLE, range(4))))
def test_stateful_table(mode, step):
    previous, current = STEPS[step]
    expected = TABLE[mode][step]
    assert notifies_transition(mode, previous, current) is expected
    assert should_notify(mode, stateful=True, previous=previous, outcome=current) is expected


@pytest.mark.parametrize("mode", TABLE)
def test_a_new_target_starts_false(mode):
    assert notifies_transition(mode, None, True) is TABLE[mode][0]
    assert notifies_transition(mode, None, False) is TABLE[mode][3]


@pytest.mark.parametrize(("mode", "previous"), list(itertools.product(TABLE, (None, False, True))))
def test_unknown_outcome_never_notifies(mode, previous):
    assert should_notify(mode, stateful=True, previous=previous, outcome=None) is False
    assert should_notify(mode, stateful=False, previous=previous, outcome=None) is False


@pytest.mark.parametrize("mode", TABLE)
def test_stateless_rules(mode):
    expected = mode in ("EVERY_TIME", "IN_ALL_CASES")
    assert notifies_stateless_alert(mode) is expected
    for previous in (None, False, True):
        assert should_notify(mode, stateful=False, previous=previous, outcome=True) is expected
        assert should_notify(mode, stateful=False, previous=previous, outcome=False) is False  # no alert, no notice


def test_unknown_mode_is_an_error():
    with pytest.raises(ValueError):
        notifies_transition("SOMETIMES", False, True)
    with pytest.raises(ValueError):
        should_notify("SOMETIMES", stateful=False, previous=None, outcome=True)
    with pytest.raises(ValueError):
        should_notify("SOMETIMES", stateful=True, previous=None, outcome=None)


def test_transitions():
    assert transition(None, None) is None and transition(True, None) is None
    assert transition(None, True) == Transition(False, True) and transition(None, True).changed
    assert not transition(None, False).changed
    assert transition(True, False).changed and not transition(True, True).changed


# ------------------------------------------------------------------------------------------------- index


def make_rule(number, *names, active=True, target_type="SYSTEM", target_id=None):
    conditions = []
    for name in names:
        operand = {"attributeId": {"name": name, **({"targetId": target_id} if target_id else {})}}
        if name.startswith("AGG."):
            operand["function"] = "SUM"
        conditions.append({"operator": "EXISTS", "operands": [operand]})
    body = {"targetType": target_type, "name": f"rule {number}", "active": active, "conditions": conditions}
    return AlertRule.create(f"{number:032x}", "company", parse_rule(body), 1)


def test_index_keys():
    rule = make_rule(
        1, "DATA.room.temp", "AGG.room.temp/D", "AGG.DATA_BYTES_TOTAL/M", "system.commStatus", "DATA._LON_LAT"
    )
    assert index_keys(rule) == {"room.temp", "DATA_BYTES_TOTAL", "system.commStatus", "_LON_LAT"}
    assert index_key("DATA.a.b") == "a.b" and index_key("gateway.imei") == "gateway.imei"
    assert index_key("not an attribute") == "not an attribute"


def test_rules_for_changed_attributes():
    temp = make_rule(1, "DATA.room.temp")
    daily = make_rule(2, "AGG.room.temp/D", "system.commStatus")
    status = make_rule(3, "system.commStatus")
    usage = make_rule(4, "AGG.DATA_BYTES_TOTAL/M", target_type="COMPANY")
    off = make_rule(5, "DATA.room.temp", active=False)
    index = RuleIndex([temp, daily, status, usage, off])
    assert len(index) == 4
    assert index.rules_for(["room.temp"]) == [temp, daily]
    assert index.rules_for(["system.commStatus", "room.temp"]) == [temp, daily, status]  # once each, built order
    assert index.rules_for(["DATA_BYTES_TOTAL"]) == [usage]
    assert index.rules_for(["DATA_BYTES_TOTAL"], target_type="SYSTEM") == []
    assert index.rules_for(["room.temp"], target_type="SYSTEM") == [temp, daily]
    assert index.rules_for(["humidity"]) == [] and index.rules_for([]) == []
    assert index.rules_for_attributes(["DATA.room.temp"]) == [temp, daily]
    assert index.rules_for_attributes(["AGG.DATA_BYTES_TOTAL/D"]) == [usage]


def test_rules_naming_another_target():
    watcher = make_rule(1, "DATA._LON_LAT", target_id="truck-2")
    plain = make_rule(2, "DATA._LON_LAT")
    index = RuleIndex([watcher, plain])
    assert index.rules_naming_target("truck-2") == [watcher]
    assert index.rules_naming_target("truck-3") == []
    assert index.rules_for(["_LON_LAT"]) == [watcher, plain]


def test_empty_index():
    index = RuleIndex([])
    assert len(index) == 0 and index.rules_for(["x"]) == []
