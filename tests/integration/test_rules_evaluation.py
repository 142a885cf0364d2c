"""Rule evaluation on moto: states, history, alerts, notifMode, aggregates, geofences, redelivery."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest
from switchboard.rules.evaluation import Evaluator, TelemetryMessage, TelemetryPoint
from switchboard.rules.models import AlertRecord, AlertRule, System
from switchboard.rules.states_repository import StatesRepository
from switchboard.rules.validation import parse_rule

COMPANY = "c0ffee00c0ffee00c0ffee00c0ffee00"
OTHER_COMPANY = "0badcafe0badcafe0badcafe0badcafe"
SYSTEM = "5157e3005157e3005157e3005157e300"
SYSTEM_2 = "5157e3015157e3015157e3015157e301"
HOUR = 3_600_000
T0 = 1_795_428_000_000  # 2026-11-23T10:00:00Z
_ids = itertools.count(1)


@dataclass
class FakeRules:
    rules: dict[str, list[AlertRule]] = field(default_factory=dict)
    version: int = 0

    def add(self, company: str, **body) -> AlertRule:
        spec = parse_rule({"targetType": "SYSTEM", "name": f"rule-{next(_ids)}", "active": True, **body})
        rule = AlertRule.create(f"{next(_ids):032x}", company, spec, T0)
        self.rules.setdefault(company, []).append(rule)
        self.version += 1
        return rule

    def rules_version(self, company_id: str) -> int:
        return self.version

    def list_rules(self, company_id: str) -> list[AlertRule]:
        return list(self.rules.get(company_id, []))


@dataclass
class FakeSystems:
    def get_system(self, company_id: str, uid: str) -> System | None:
        if uid not in (SYSTEM, SYSTEM_2):
            return None
        return System.model_validate(
            {"uid": uid, "company": company_id, "name": f"sys-{uid[:4]}", "labels": ["fleet-a"], "commStatus": "OK"}
        )


@dataclass
class Notified:
    calls: list[tuple[str, AlertRecord]] = field(default_factory=list)

    def alert(self, rule: AlertRule, record: AlertRecord) -> None:
        self.calls.append((rule.id, record))


@pytest.fixture
def world(aws):
    rules, notified = FakeRules(), Notified()
    store = StatesRepository(aws["RULES_TABLE"], 90 * 86_400)
    evaluator = Evaluator(store, rules, FakeSystems(), notified, clock=lambda: T0)
    evaluator._indexes._clock = lambda: next(_ids) * 10.0  # never trust a cached rules version in tests
    return rules, store, evaluator, notified


def send(evaluator, points, system=SYSTEM, company=COMPANY, message_id=None):
    message = TelemetryMessage(
        company_id=company,
        system_id=system,
        message_id=message_id or f"m{next(_ids)}",
        received_ms=T0,
        points=[TelemetryPoint(data_id=d, timestamp=t, value=v) for d, t, v in points],
    )
    return evaluator.handle(message)


def gt(attribute: str, number: float, **extra) -> dict:
    return {
        "conditions": [
            {
                "operator": "GREATER_THAN",
                "operands": [{"attributeId": {"name": attribute}, **extra}, {"valueNum": number}],
            }
        ]
    }


def test_stateful_rule_changes_state_with_history_alerts_and_notifications(world):
    rules, store, evaluator, notified = world
    rule = rules.add(COMPANY, message="hot", **gt("DATA.room.temp", 38))
    send(evaluator, [("room.temp", T0, 30)])
    assert store.state(COMPANY, SYSTEM, rule.id) is None and notified.calls == []
    result = send(evaluator, [("room.temp", T0 + 1000, 45)])
    state = store.state(COMPANY, SYSTEM, rule.id).state
    assert state.state is True and state.state_change_ts == T0 + 1000 and result.transitions == 1
    assert state.first_alert_id == state.last_alert_id == result.alerts[0].id
    assert [a.wire() for a in state.attributes] == [
        {"id": {"name": "DATA.room.temp"}, "value": {"valueNum": 45}, "refTime": T0 + 1000}
    ]
    send(evaluator, [("room.temp", T0 + 2000, 46)])  # still true: no change, no notification
    send(evaluator, [("room.temp", T0 + 3000, 20)])
    assert store.state(COMPANY, SYSTEM, rule.id).state.state is False
    history = store.timeline("SHISTORY", COMPANY, SYSTEM, None, 0, T0 + HOUR, True, 500)
    assert [(row.state, row.ts) for row in history] == [(True, T0 + 1000), (False, T0 + 3000)]
    alerts = store.timeline("ALERTS", COMPANY, None, [rule.id], 0, T0 + HOUR, False, 500)
    assert [(a.state, a.ts) for a in alerts] == [(False, T0 + 3000), (True, T0 + 1000)]
    assert [record.state for _, record in notified.calls] == [True, False]


def test_unknown_keeps_the_state(world):
    rules, store, evaluator, _ = world
    rule = rules.add(
        COMPANY,
        conditions=[
            {"operator": "GREATER_THAN", "operands": [{"attributeId": {"name": "DATA.room.temp"}}, {"valueNum": 38}]},
            {"operator": "LESS_THAN", "operands": [{"attributeId": {"name": "DATA.room.humidity"}}, {"valueNum": 20}]},
        ],
    )
    send(evaluator, [("room.temp", T0, 45)])  # humidity unknown: the rule is unknown
    assert store.state(COMPANY, SYSTEM, rule.id) is None
    send(evaluator, [("room.humidity", T0 + 1, 10)])
    assert store.state(COMPANY, SYSTEM, rule.id).state.state is True


def test_stateless_rule_alerts_on_every_evaluation_and_notifies_per_mode(world):
    rules, store, evaluator, notified = world
    quiet = rules.add(COMPANY, stateful=False, **gt("DATA.room.temp", 38))
    loud = rules.add(COMPANY, stateful=False, notifMode="EVERY_TIME", **gt("DATA.room.temp", 38))
    for offset, value in enumerate((45, 20, 50)):
        send(evaluator, [("room.temp", T0 + offset, value)])
    alerts = store.timeline("ALERTS", COMPANY, SYSTEM, None, 0, T0 + HOUR, True, 500)
    assert sorted((a.rule_id, a.ts) for a in alerts) == sorted(
        (rule.id, T0 + t) for rule in (quiet, loud) for t in (0, 2)
    )
    assert all(a.state is None for a in alerts) and store.state(COMPANY, SYSTEM, quiet.id) is None
    assert [rule_id for rule_id, _ in notified.calls] == [loud.id, loud.id]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("EVERY_TIME", [True, True, True]),  # f→t, t→t, (t→f no), f→t
        ("WHEN_STATE_CHANGES", [True, False, True]),  # f→t, t→f, f→t
        ("WHEN_STATE_TRUE", [True, True]),
        ("WHEN_STATE_FALSE", [False]),
        ("IN_ALL_CASES", [True, True, False, True]),
    ],
)
def test_notif_modes(world, mode, expected):
    rules, _, evaluator, notified = world
    rules.add(COMPANY, notifMode=mode, **gt("DATA.room.temp", 38))
    for offset, value in enumerate((10, 45, 46, 20, 50)):  # f→f, f→t, t→t, t→f, f→t
        send(evaluator, [("room.temp", T0 + offset, value)])
    assert [record.state for _, record in notified.calls] == expected


def test_redelivered_telemetry_records_nothing_twice(world):
    rules, store, evaluator, notified = world
    rule = rules.add(COMPANY, stateful=False, notifMode="EVERY_TIME", **gt("DATA.room.temp", 38))
    rules.add(COMPANY, **gt("AGG.room.temp/H", 0, function="CNT"))
    first = send(evaluator, [("room.temp", T0, 45)], message_id="same")
    again = send(evaluator, [("room.temp", T0, 45)], message_id="same")
    assert not first.duplicate and again.duplicate
    assert len(store.timeline("ALERTS", COMPANY, SYSTEM, [rule.id], 0, T0 + HOUR, True, 500)) == 1
    assert len(notified.calls) == 2  # the stateless alert and the CNT state change, once each
    aggregate = store.aggregates(COMPANY, [(SYSTEM, "room.temp", "H#2026112310")])
    assert aggregate[(SYSTEM, "room.temp", "H#2026112310")].cnt == 1


def test_two_points_of_one_target_in_one_message_are_evaluated_in_time_order(world):
    rules, store, evaluator, _ = world
    rule = rules.add(COMPANY, **gt("DATA.room.temp", 38))
    send(evaluator, [("room.temp", T0 + 2, 20), ("room.temp", T0 + 1, 45)])  # given out of order
    history = store.timeline("SHISTORY", COMPANY, SYSTEM, [rule.id], 0, T0 + HOUR, True, 500)
    assert [(row.state, row.ts) for row in history] == [(True, T0 + 1), (False, T0 + 2)]


def test_aggregates_respect_bucket_boundaries(world):
    rules, store, evaluator, _ = world
    rule = rules.add(COMPANY, **gt("AGG.room.temp/H", 100, function="SUM"))
    daily = rules.add(COMPANY, **gt("AGG.room.temp/D", 100, function="SUM"))
    send(evaluator, [("room.temp", T0 + HOUR - 1, 60)])  # 10:59:59.999
    send(evaluator, [("room.temp", T0 + HOUR, 60)])  # 11:00 — a new hour, the same day
    assert store.state(COMPANY, SYSTEM, rule.id) is None
    assert store.state(COMPANY, SYSTEM, daily.id).state.state is True
    send(evaluator, [("room.temp", T0 + HOUR + 5, 50)])
    assert store.state(COMPANY, SYSTEM, rule.id).state.state is True
    stored = store.aggregates(COMPANY, [(SYSTEM, "room.temp", "D#20261123")])[(SYSTEM, "room.temp", "D#20261123")]
    assert (stored.min, stored.max, stored.sum, stored.cnt, stored.mean) == (50, 60, 170, 3, 170 / 3)


def test_company_rules_read_company_aggregates(world):
    rules, store, evaluator, _ = world
    rule = rules.add(COMPANY, targetType="COMPANY", **gt("AGG.room.temp/D", 100, function="SUM"))
    send(evaluator, [("room.temp", T0, 60)], system=SYSTEM)
    assert store.state(COMPANY, COMPANY, rule.id) is None
    send(evaluator, [("room.temp", T0 + 1, 60)], system=SYSTEM_2)
    state = store.state(COMPANY, COMPANY, rule.id).state
    assert state.state is True and state.target_type == "COMPANY"
    stored = store.aggregates(COMPANY, [(COMPANY, "room.temp", "D#20261123")])[(COMPANY, "room.temp", "D#20261123")]
    assert (stored.sum, stored.cnt, stored.min, stored.max) == (120, 2, 60, 60)


def test_geofence_and_distance(world):
    rules, store, evaluator, _ = world
    inside = rules.add(
        COMPANY,
        conditions=[
            {
                "operator": "GEO_WITHIN",
                "operands": [
                    {"attributeId": {"name": "DATA._LON_LAT"}},
                    {"valueStr": "POLYGON((2 48, 3 48, 3 49, 2 49, 2 48))"},
                ],
            }
        ],
    )
    far = rules.add(
        COMPANY,
        conditions=[
            {
                "operator": "GEO_DISTANCE_TOO_FAR",
                "operands": [
                    {"attributeId": {"name": "DATA._LON_LAT"}},
                    {"valueStr": "POINT(2.3522 48.8566)"},
                    {"valueNum": 300},
                ],
            }
        ],
    )
    send(evaluator, [("_LON_LAT", T0, "POINT(2.35 48.85)")])  # Paris
    assert store.state(COMPANY, SYSTEM, inside.id).state.state is True
    assert store.state(COMPANY, SYSTEM, far.id) is None
    send(evaluator, [("_LON_LAT", T0 + 1, "POINT(-0.1276 51.5072)")])  # London, ~344 km away
    assert store.state(COMPANY, SYSTEM, inside.id).state.state is False
    assert store.state(COMPANY, SYSTEM, far.id).state.state is True


def test_change_and_other_targets(world):
    rules, store, evaluator, _ = world
    change = rules.add(
        COMPANY,
        stateful=False,
        conditions=[{"operator": "CHANGE", "operands": [{"attributeId": {"name": "DATA.firmware"}}]}],
    )
    hotter = rules.add(
        COMPANY,
        conditions=[
            {
                "operator": "GREATER_THAN",
                "operands": [
                    {"attributeId": {"name": "DATA.room.temp"}},
                    {"attributeId": {"targetId": SYSTEM_2, "name": "DATA.room.temp"}},
                ],
            }
        ],
    )
    send(evaluator, [("room.temp", T0, 20)], system=SYSTEM_2)
    send(evaluator, [("firmware", T0, "1.0"), ("room.temp", T0, 25)])
    send(evaluator, [("firmware", T0 + 1, "1.0")])
    send(evaluator, [("firmware", T0 + 2, "1.1")])
    alerts = store.timeline("ALERTS", COMPANY, SYSTEM, [change.id], 0, T0 + HOUR, True, 500)
    assert [a.ts for a in alerts] == [T0 + 2]  # the first value and a repeat are no change
    state = store.state(COMPANY, SYSTEM, hotter.id).state
    assert state.state is True
    assert {a.id.target_id for a in state.attributes} == {None, SYSTEM_2}


def test_companies_are_isolated(world):
    rules, store, evaluator, _ = world
    mine = rules.add(COMPANY, **gt("DATA.room.temp", 38))
    send(evaluator, [("room.temp", T0, 45)], company=OTHER_COMPANY)  # no rules there
    assert store.state(COMPANY, SYSTEM, mine.id) is None
    assert store.timeline("ALERTS", COMPANY, None, None, 0, T0 + HOUR, True, 500) == []
    send(evaluator, [("room.temp", T0 + 1, 45)])
    assert store.timeline("ALERTS", OTHER_COMPANY, None, None, 0, T0 + HOUR, True, 500) == []
    assert len(store.timeline("ALERTS", COMPANY, None, None, 0, T0 + HOUR, True, 500)) == 1


def test_system_attributes_and_labels(world):
    rules, store, evaluator, _ = world
    labelled = rules.add(
        COMPANY,
        conditions=[
            {"operator": "CONTAINS", "operands": [{"attributeId": {"name": "system.labels"}}, {"valueStr": "fleet-a"}]},
            {"operator": "GREATER_THAN", "operands": [{"attributeId": {"name": "DATA.room.temp"}}, {"valueNum": 0}]},
        ],
    )
    send(evaluator, [("room.temp", T0, 1)])
    assert store.state(COMPANY, SYSTEM, labelled.id).state.state is True


def test_company_rule_sees_points_another_system_added_meanwhile(world):
    """Two systems of a company are evaluated in parallel: the company's sum must not miss either."""
    rules, store, evaluator, _ = world
    rule = rules.add(COMPANY, targetType="COMPANY", **gt("AGG.room.temp/D", 100, function="SUM"))
    read_aggregates, raced = store.aggregates, []

    def racing(company, keys):
        if not raced:  # the other system's message completes between this one's read and its write
            raced.append(True)
            send(evaluator, [("room.temp", T0 + 1, 60)], system=SYSTEM_2)
        return read_aggregates(company, keys)

    store.aggregates = racing
    send(evaluator, [("room.temp", T0, 60)], system=SYSTEM)
    assert raced and store.state(COMPANY, COMPANY, rule.id).state.state is True


def test_rules_read_aggregates_of_data_the_message_does_not_carry(world):
    rules, store, evaluator, _ = world
    rule = rules.add(
        COMPANY,
        conditions=[
            {
                "operator": "GREATER_THAN",
                "operands": [{"attributeId": {"name": "AGG.a/D"}, "function": "SUM"}, {"valueNum": 10}],
            },
            {"operator": "GREATER_THAN", "operands": [{"attributeId": {"name": "DATA.b"}}, {"valueNum": 0}]},
        ],
    )
    send(evaluator, [("a", T0, 20)])  # b has no value yet: unknown
    assert store.state(COMPANY, SYSTEM, rule.id) is None
    send(evaluator, [("b", T0 + 1, 1)])  # a message about b alone still reads a's daily sum
    assert store.state(COMPANY, SYSTEM, rule.id).state.state is True
