"""Evaluating telemetry against a company's alert rules (docs/rules.md).

One message is one system's data points, evaluated in order with the system's other messages (the
telemetry queue is FIFO per system). For each timestamp of the message, in time order, the system's
values and aggregates move on and only the rules whose conditions read a changed data id are
evaluated (the company's `RuleIndex`, rebuilt when its rules version changes): SYSTEM rules on the
system, COMPANY rules on the company with its aggregates. Then:

- a stateful rule changes its (rule, target) state with a version-checked write, adding a history row
  and an alert; an unknown outcome keeps the state; a repeated true adds an alert when the rule's
  notifMode notifies on it;
- a stateless rule adds an alert whenever its conditions hold;
- notifications follow the notifMode table (hooks and emails through the delivery engine).

Ids of alerts and history rows derive from the message, rule, target and time, and every write is
conditional, so a redelivered message records nothing twice; the values write at the end makes the
aggregates exactly-once.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from switchboard.rules.aggregates import TIME_SCALES, Aggregate, TimeScale, bucket_key, is_aggregable
from switchboard.rules.index import RuleIndex
from switchboard.rules.models import (
    AlertRecord,
    AlertRule,
    AlertState,
    StateHistoryRow,
    System,
    TargetType,
    TelemetryValue,
    parse_attribute_name,
)
from switchboard.rules.notification_modes import should_notify
from switchboard.rules.operators import AttributeValue, RuleResult, compiled_rule
from switchboard.rules.states_repository import StatesRepository

RULE_INDEX_CHECK_S = 1.0  # how stale a cached rules version may be before it is read again


class TelemetryPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    data_id: str
    timestamp: int
    # Checked again here (as at ingest): a value evaluation or DynamoDB cannot hold fails the message's
    # parse, before anything is written, and the message is dead-lettered (switchboard.queues).
    value: TelemetryValue


class TelemetryMessage(BaseModel):
    """A telemetry-queue message: one system's points from one POST .../data."""

    model_config = ConfigDict(frozen=True)

    company_id: str
    system_id: str
    message_id: str = Field(min_length=1, max_length=128)
    points: list[TelemetryPoint]
    received_ms: int


class Rules(Protocol):
    def rules_version(self, company_id: str) -> int: ...

    def list_rules(self, company_id: str) -> list[AlertRule]: ...


class Systems(Protocol):
    def get_system(self, company_id: str, uid: str) -> System | None: ...


class Notifier(Protocol):
    def alert(self, rule: AlertRule, record: AlertRecord) -> None: ...


@dataclass
class Evaluation:
    """What one message did (logs, metrics, tests)."""

    duplicate: bool = False
    evaluations: int = 0
    condition_evaluations: int = 0
    alerts: list[AlertRecord] = field(default_factory=list)
    transitions: int = 0
    notified: int = 0


class RuleIndexCache:
    """A company's rule index, rebuilt when its rules version moves (checked at most once a second)."""

    def __init__(self, rules: Rules, clock: Callable[[], float] = time.monotonic) -> None:
        self._rules = rules
        self._clock = clock
        self._cached: dict[str, tuple[int, float, RuleIndex]] = {}

    def index(self, company_id: str) -> RuleIndex:
        cached = self._cached.get(company_id)
        now = self._clock()
        if cached and now - cached[1] < RULE_INDEX_CHECK_S:
            return cached[2]
        version = self._rules.rules_version(company_id)
        if cached and cached[0] == version:
            self._cached[company_id] = (version, now, cached[2])
            return cached[2]
        index = RuleIndex(self._rules.list_rules(company_id))
        self._cached[company_id] = (version, now, index)
        return index


def derived_id(*parts: object) -> str:
    """A 32-hex id that the same evaluation always derives (so a redelivery writes the same rows)."""
    return hashlib.sha256("|".join(str(part) for part in parts).encode()).hexdigest()[:32]


class _Source:
    """The attribute source of one target at one moment: current and previous values, aggregates of the
    buckets holding `moment`, and other targets' values read on demand."""

    def __init__(
        self,
        target_id: str,
        current: dict[str, AttributeValue],
        previous: dict[str, AttributeValue],
        aggregates: Callable[[str, str, str], Aggregate | None],
        moment: int,
        others: Callable[[str], dict[str, AttributeValue]],
    ) -> None:
        self.target_id = target_id
        self._current = current
        self._previous = previous
        self._aggregates = aggregates
        self._moment = moment
        self._others = others

    def _read(self, values: dict[str, AttributeValue], target_id: str, name: str) -> AttributeValue | None:
        if name.startswith("AGG."):
            parsed = parse_attribute_name(name)
            if parsed is None or parsed.data_id is None or parsed.time_scale is None:
                return None
            aggregate = self._aggregates(target_id, parsed.data_id, bucket_key(parsed.time_scale, self._moment))
            return AttributeValue(aggregate, self._moment) if aggregate is not None and aggregate.cnt else None
        return values.get(name)

    def value(self, target_id: str | None, name: str) -> AttributeValue | None:
        if target_id is None or target_id == self.target_id:
            return self._read(self._current, self.target_id, name)
        return self._read(self._others(target_id), target_id, name)

    def previous(self, target_id: str | None, name: str) -> AttributeValue | None:
        if target_id is None or target_id == self.target_id:
            return self._previous.get(name)
        return None  # another target's history is not tracked here: CHANGE on it is unknown


class Evaluator:
    def __init__(
        self, store: StatesRepository, rules: Rules, systems: Systems, notifier: Notifier, clock: Callable[[], int]
    ) -> None:
        self._store = store
        self._indexes = RuleIndexCache(rules)
        self._systems = systems
        self._notifier = notifier
        self._clock = clock

    def handle(self, message: TelemetryMessage) -> Evaluation:
        company, system_id = message.company_id, message.system_id
        stored = self._store.values(company, system_id)
        outcome = Evaluation()
        points = sorted(message.points, key=lambda point: point.timestamp)
        if stored.last_message == message.message_id or message.message_id in stored.recent:
            outcome.duplicate = True  # applied already (a redelivery or re-post): its alerts were recorded with it
            if stored.last_message == message.message_id and points:
                # A redelivery of the last message: it may have stopped between applying its points and
                # evaluating the company's rules (idempotent, so running them again records nothing twice).
                index = self._indexes.index(company)
                self._company_rules(message, index.rules_for({p.data_id for p in points}, "COMPANY"), points, outcome)
            return outcome
        system = self._systems.get_system(company, system_id)
        if system is None or not points:
            return outcome  # deleted since the data was accepted: nothing to evaluate against
        index = self._indexes.index(company)
        touched = {p.data_id for p in points}
        system_rules = index.rules_for(touched, "SYSTEM")
        moments = sorted({p.timestamp for p in points})
        numeric = [p for p in points if is_aggregable(p.value)]
        wanted = {
            (target, p.data_id, bucket_key(scale, p.timestamp))
            for p in numeric
            for target in (system_id, company)
            for scale in TIME_SCALES
        }
        wanted |= {
            (system_id, data_id, bucket_key(scale, moment))
            for data_id, scale in _aggregates_read(system_rules)
            for moment in moments
        }
        aggregates = self._store.aggregates(company, wanted)
        system_buckets: dict[tuple[str, str], Aggregate] = {}
        company_deltas: dict[tuple[str, str], Aggregate] = {}
        current = {**stored.current, **_system_attributes(system)}
        others: dict[str, dict[str, AttributeValue]] = {}

        def other_values(target_id: str) -> dict[str, AttributeValue]:
            if target_id not in others:  # a rule watching another system of the company
                other = self._systems.get_system(company, target_id)
                values = self._store.values(company, target_id).current if other else {}
                others[target_id] = {**values, **(_system_attributes(other) if other else {})}
            return others[target_id]

        def aggregate(target_id: str, data_id: str, bucket: str) -> Aggregate | None:
            if target_id == system_id and (data_id, bucket) in system_buckets:
                return system_buckets[(data_id, bucket)]
            return aggregates.get((target_id, data_id, bucket))

        for moment, group in groupby(points, key=lambda point: point.timestamp):
            batch = list(group)
            previous = dict(current)
            for point in batch:
                name = f"DATA.{point.data_id}"
                known = current.get(name)
                if known is None or known.ref_time is None or known.ref_time <= point.timestamp:
                    current[name] = AttributeValue(point.value, point.timestamp)
                if is_aggregable(point.value):
                    for scale in TIME_SCALES:
                        bucket = bucket_key(scale, point.timestamp)
                        key = (point.data_id, bucket)
                        base = system_buckets.get(key) or aggregates.get((system_id, point.data_id, bucket))
                        system_buckets[key] = (base or Aggregate()).add(point.value)
                        company_deltas[key] = company_deltas.get(key, Aggregate()).add(point.value)
            changed = {point.data_id for point in batch}
            system_source = _Source(system_id, current, previous, aggregate, moment, other_values)
            for rule in index.rules_for(changed, "SYSTEM"):
                self._evaluate(rule, "SYSTEM", system_id, system_source, message, moment, outcome)
        last = {name: value for name, value in current.items() if name.startswith("DATA.")}
        self._store.apply_message(
            company,
            system_id,
            message.message_id,
            stored.last_message,
            last,
            system_buckets,
            company_deltas,
            stored.recent,
        )
        self._company_rules(message, index.rules_for(touched, "COMPANY"), points, outcome, other_values)
        return outcome

    def _company_rules(
        self,
        message: TelemetryMessage,
        rules: list[AlertRule],
        points: list[TelemetryPoint],
        outcome: Evaluation,
        other_values: Callable[[str], dict[str, AttributeValue]] | None = None,
    ) -> None:
        """COMPANY rules run once the message's points are in the company's aggregates, reading them back.
        A company's systems are evaluated in parallel (one FIFO group each), so a sum read before this
        message's write could miss points another system added meanwhile; read after it, the last writer
        always sees them all."""
        if not rules:
            return
        company, moment = message.company_id, points[-1].timestamp
        fresh = self._store.aggregates(
            company, {(company, data_id, bucket_key(scale, moment)) for data_id, scale in _aggregates_read(rules)}
        )
        source = _Source(
            company,
            {},
            {},
            lambda target, data_id, bucket: fresh.get((target, data_id, bucket)),
            moment,
            other_values or (lambda _target: {}),
        )
        for rule in rules:
            self._evaluate(rule, "COMPANY", company, source, message, moment, outcome)

    # ------------------------------------------------------------ one rule on one target
    def _evaluate(
        self,
        rule: AlertRule,
        target_type: TargetType,
        target_id: str,
        source: _Source,
        message: TelemetryMessage,
        moment: int,
        outcome: Evaluation,
    ) -> None:
        result = compiled_rule(rule).evaluate(source)
        outcome.evaluations += 1
        outcome.condition_evaluations += len(rule.conditions)
        if rule.stateful:
            self._stateful(rule, target_type, target_id, result, message, moment, outcome)
        elif result.outcome is True:
            record = AlertRecord(
                id=derived_id(message.message_id, rule.id, target_id, moment),
                company_id=rule.company_id,
                target_id=target_id,
                target_type=target_type,
                ts=moment,
                rule_id=rule.id,
                state=None,
                attributes=result.attributes(),
            )
            self._store.put_alert(record)
            outcome.alerts.append(record)
            if should_notify(rule.notif_mode, stateful=False, previous=None, outcome=True):
                self._notify(rule, record, outcome)

    def _stateful(
        self,
        rule: AlertRule,
        target_type: TargetType,
        target_id: str,
        result: RuleResult,
        message: TelemetryMessage,
        moment: int,
        outcome: Evaluation,
    ) -> None:
        if result.outcome is None:
            return  # unknown: the state stays as it is
        for _ in range(8):  # a concurrent change (COMPANY targets) makes us read and decide again
            stored = self._store.state(rule.company_id, target_id, rule.id)
            alert_id = derived_id(message.message_id, rule.id, target_id, moment)
            if stored is not None and stored.state.last_alert_id == alert_id:
                self._renotify(rule, stored.state, message, moment, outcome)
                return
            previous = stored.state.state if stored else False  # a new target's previous state is false
            changed = result.outcome != previous
            notify = should_notify(rule.notif_mode, stateful=True, previous=previous, outcome=result.outcome)
            if not changed and not (result.outcome and notify):
                if notify and stored and stored.state.last_alert_id:  # IN_ALL_CASES false → false
                    last = self._store.alert(rule.company_id, stored.state.last_alert_id)
                    if last is not None:
                        self._notify(rule, last, outcome)
                return
            record = AlertRecord(
                id=alert_id,
                company_id=rule.company_id,
                target_id=target_id,
                target_type=target_type,
                ts=moment,
                rule_id=rule.id,
                state=result.outcome,
                attributes=result.attributes(),
            )
            first = record.id if (changed and result.outcome) or stored is None else stored.state.first_alert_id
            state = AlertState(
                company_id=rule.company_id,
                target_id=target_id,
                target_type=target_type,
                rule_id=rule.id,
                state=result.outcome,
                state_change_ts=moment if changed or stored is None else stored.state.state_change_ts,
                first_alert_id=first,
                last_alert_id=record.id,
                attributes=result.attributes(),
            )
            history = (
                StateHistoryRow(
                    id=derived_id(message.message_id, rule.id, target_id, moment, "state"),
                    company_id=rule.company_id,
                    target_id=target_id,
                    target_type=target_type,
                    rule_id=rule.id,
                    state=result.outcome,
                    ts=moment,
                    first_alert_id=first,
                )
                if changed
                else None
            )
            if self._store.write_state(state, stored.version if stored else None, history, record):
                outcome.alerts.append(record)
                outcome.transitions += int(changed)
                if notify:
                    self._notify(rule, record, outcome)
                return
            if self._store.alert(rule.company_id, record.id) is not None:
                # This message was evaluated already (redelivered after later messages of the system): its
                # alert is recorded, so the write can never succeed. Notifying again is idempotent per alert.
                if notify:
                    self._notify(rule, record, outcome)
                return
        raise RuntimeError(f"state of rule {rule.id} on {target_id} kept changing; the message will be retried")

    def _renotify(
        self, rule: AlertRule, state: AlertState, message: TelemetryMessage, moment: int, outcome: Evaluation
    ) -> None:
        """The state is this message's own write: an earlier attempt failed after it, maybe before notifying.
        Notify as that attempt decided (the notifier queues each alert once, however often asked)."""
        changed = self._store.state_change(
            rule.company_id, derived_id(message.message_id, rule.id, state.target_id, moment, "state")
        )
        previous = (not state.state) if changed else state.state  # unchanged writes are true → true only
        if should_notify(rule.notif_mode, stateful=True, previous=previous, outcome=state.state):
            record = self._store.alert(rule.company_id, state.last_alert_id or "")
            if record is not None:
                self._notify(rule, record, outcome)

    def _notify(self, rule: AlertRule, record: AlertRecord, outcome: Evaluation) -> None:
        self._notifier.alert(rule, record)
        outcome.notified += 1


def _aggregates_read(rules: Iterable[AlertRule]) -> set[tuple[str, TimeScale]]:
    """(data id, time scale) of every AGG.* attribute the rules' conditions read."""
    read = set()
    for rule in rules:
        for condition in rule.conditions:
            for operand in condition.operands:
                if operand.attribute_id is None:
                    continue
                parsed = parse_attribute_name(operand.attribute_id.name)
                if parsed is not None and parsed.data_id is not None and parsed.time_scale is not None:
                    read.add((parsed.data_id, parsed.time_scale))
    return read


def _system_attributes(system: System) -> dict[str, AttributeValue]:
    return {name: AttributeValue(value, None) for name, value in system.attributes().items()}


def points_of(data: Iterable[Any]) -> list[TelemetryPoint]:
    """TelemetryPoints from the DataPoints `rules.models.parse_telemetry` returns."""
    return [TelemetryPoint(data_id=p.data_id, timestamp=p.timestamp_ms, value=p.value) for p in data]
