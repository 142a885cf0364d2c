"""AirVantage alert-rule resources (seed 001): rules, systems, alert states and history, telemetry.

Input models take the wire's camelCase names (aliases; the Python names also work) and refuse unknown
fields; stored models add ids and times; `wire()` gives the seed's JSON shape, leaving out the optional
fields that are absent (the seed shows no nulls, except `state` of a stateless alert in /v3/alerts/history).
Times are epoch milliseconds.

Attribute names (`parse_attribute_name`) are modelled here too, since validation, evaluation and the rule
index all read them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, RootModel, ValidationError

from switchboard.errors import InvalidInput
from switchboard.rules.aggregates import TIME_SCALES, Aggregate, TimeScale

TargetType = Literal["SYSTEM", "COMPANY"]
Operator = Literal[
    "CHANGE",
    "EQUALS",
    "NOT_EQUALS",
    "GREATER_THAN",
    "LESS_THAN",
    "EXISTS",
    "NOT_EXISTS",
    "IN",
    "NOT_IN",
    "CONTAINS",
    "NOT_CONTAINS",
    "STARTS_WITH",
    "ENDS_WITH",
    "GEO_WITHIN",
    "GEO_NOT_WITHIN",
    "GEO_DISTANCE_TOO_FAR",
    "GEO_DISTANCE_TOO_CLOSE",
]
OPERATORS: tuple[str, ...] = Operator.__args__  # type: ignore[attr-defined]
NotifMode = Literal["EVERY_TIME", "WHEN_STATE_CHANGES", "WHEN_STATE_TRUE", "WHEN_STATE_FALSE", "IN_ALL_CASES"]
NOTIF_MODES: tuple[str, ...] = NotifMode.__args__  # type: ignore[attr-defined]

MAX_NAME = 255
MAX_MESSAGE = 4096
MAX_EMAILS = 50
MAX_STRING_VALUE = 65_536  # a WKT polygon with a few thousand vertices
MAX_VALUES = 1000
MAX_LABELS = 100
MAX_DATA_ID = 128
MAX_POINTS_PER_REQUEST = 1000
MAX_TIMESTAMP_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
MAX_TELEMETRY_STRING = 4096
# Telemetry numbers evaluation and DynamoDB can hold (docs/rules.md): DynamoDB numbers have 38 significant
# digits and magnitudes in [1e-130, 1e126); aggregates add values up (company sums by DynamoDB's ADD, to 9
# decimal places), so a value is 0 or between 1e-100 and 1e18 in magnitude: a bucket's sum stays exact.
MAX_TELEMETRY_MAGNITUDE = 10**18
MIN_TELEMETRY_MAGNITUDE = 1e-100

# Data ids: letters, digits and `_ . : -`. No `/` (it ends the data id in AGG.{dataId}/{timeScale}), no spaces.
DATA_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,128}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_HEX32 = re.compile(r"[0-9a-f]{32}")


class _Wire(BaseModel):
    """A request body part: wire names, strict JSON types, unknown fields refused."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", strict=True, frozen=True)


def _finite_number(value: Any) -> int | float:
    # One validator rather than an `int | float` union: pydantic would report a bad value once per member.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _email(value: str) -> str:
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise ValueError("must be an email address such as name@example.com")
    return value


Number = Annotated[int | float, PlainValidator(_finite_number)]
Email = Annotated[str, AfterValidator(_email)]
Label = Annotated[str, Field(min_length=1, max_length=128)]
ShortText = Annotated[str, Field(min_length=1, max_length=128)]
TargetId = Annotated[str, Field(min_length=1, max_length=64)]
ListString = Annotated[str, Field(max_length=1024)]


# ------------------------------------------------------------------------------------------- attribute names

SYSTEM_ATTRIBUTES: frozenset[str] = frozenset(
    {
        "system.id",
        "system.name",
        "system.labels",
        "system.state",
        "system.activityState",
        "system.lifeCycleState",
        "system.commStatus",
        "system.commStatus.changeDate",
        "system.lastCommDate",
        "system.heartbeat.state",
        "system.heartbeat.period",
        "system.heartbeat.errorSLA",
        "system.heartbeat.warningSLA",
        "system.offerId",
        "system.defaultStatusReportState",
        "system.defaultStatusReportPeriod",
        "gateway.id",
        "gateway.imei",
        "gateway.mac.address",
        "gateway.serial.number",
        "subscription.id",
        "system.comm.protocol",
        # usage data
        "system.usage.status",
        "system.usage.record.voice.in.phone.number",
        "system.usage.record.voice.out.phone.number",
        "system.usage.record.sms.sent.phone.number",
        "system.usage.record.sms.received.phone.number",
        "system.usage.record.visited.country",
        "system.usage.record.imei",
    }
)
"""The fixed attribute names of seed 001 (system, gateway, subscription, communication, usage)."""

LON_LAT = "DATA._LON_LAT"
LON_LAT_DATA_ID = "_LON_LAT"
USAGE_AGGREGATES: frozenset[str] = frozenset(
    {
        "DATA_SESSION",
        "DATA_DURATION",
        "DATA_BYTES_SENT",
        "DATA_BYTES_RECEIVED",
        "DATA_BYTES_TOTAL",
        "DATA_ROUNDED_BYTES_TOTAL",
        "SMS_SENT",
        "SMS_RECEIVED",
        "MSU",
        "VOICE_IN_SESSION",
        "VOICE_IN_DURATION",
        "VOICE_IN_ROUNDED_DURATION",
        "VOICE_OUT_SESSION",
        "VOICE_OUT_DURATION",
        "VOICE_OUT_ROUNDED_DURATION",
    }
)
"""The usage data ids of seed 001's `AGG.{usage}/{timeScale}` names (any other data id is device data)."""
VOICE_PREFIX = "VOICE_"

AttributeKind = Literal["system", "data", "position", "aggregate"]


@dataclass(frozen=True, slots=True)
class AttributeName:
    """A parsed attribute name. `kind`: "system" (fixed names), "data" (`DATA.{dataId}`), "position"
    (`DATA._LON_LAT`), "aggregate" (`AGG.{dataId}/{timeScale}`)."""

    name: str
    kind: AttributeKind
    data_id: str | None = None
    time_scale: TimeScale | None = None

    @property
    def index_key(self) -> str:
        """What changes of this attribute are announced as: the data id for DATA/AGG names (telemetry and usage
        name their data ids), the attribute name itself for system attributes."""
        return self.data_id if self.data_id is not None else self.name

    @property
    def is_voice_usage(self) -> bool:
        """AGG.VOICE_* (voice usage arrives days late, so only the monthly bucket is meaningful)."""
        return self.kind == "aggregate" and (self.data_id or "").startswith(VOICE_PREFIX)


@lru_cache(maxsize=4096)
def parse_attribute_name(name: str) -> AttributeName | None:
    """The attribute `name` refers to, or None when seed 001 has no such attribute."""
    if name in SYSTEM_ATTRIBUTES:
        return AttributeName(name, "system")
    if name == LON_LAT:
        return AttributeName(name, "position", LON_LAT_DATA_ID)
    if name.startswith("DATA."):
        data_id = name[5:]
        return AttributeName(name, "data", data_id) if DATA_ID.fullmatch(data_id) else None
    if name.startswith("AGG."):
        data_id, slash, scale = name[4:].rpartition("/")
        if slash and scale in TIME_SCALES and DATA_ID.fullmatch(data_id):
            return AttributeName(name, "aggregate", data_id, scale)
    return None


# -------------------------------------------------------------------------------------------------- rules


class AttributeId(_Wire):
    """`{"targetId"?, "name"}`: an attribute of the evaluated target (no targetId) or of another target."""

    target_id: TargetId | None = Field(default=None, alias="targetId")
    name: str = Field(min_length=1, max_length=256)

    def wire(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class Operand(_Wire):
    """One operand: exactly one of attributeId / valueStr / valueNum / valuesStr (checked by validation, which
    names the error), `function` for AGG.* attributes. `functionParam` is kept and returned, never used."""

    attribute_id: AttributeId | None = Field(default=None, alias="attributeId")
    function: str | None = Field(default=None, max_length=32)
    function_param: str | None = Field(default=None, alias="functionParam", max_length=256)
    value_str: str | None = Field(default=None, alias="valueStr", max_length=MAX_STRING_VALUE)
    value_num: Number | None = Field(default=None, alias="valueNum")
    values_str: list[ListString] | None = Field(default=None, alias="valuesStr", max_length=MAX_VALUES)

    @property
    def kinds(self) -> list[str]:
        """The value fields this operand sets (validation wants exactly one)."""
        present = (
            ("attributeId", self.attribute_id),
            ("valueStr", self.value_str),
            ("valueNum", self.value_num),
            ("valuesStr", self.values_str),
        )
        return [kind for kind, value in present if value is not None]

    def wire(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class Condition(_Wire):
    """An operator and its operands. `operator` is a plain string here so that validation reports a missing or
    unknown operator with its own code (alert.rule.missing.operator, alert.rule.unknown.operator)."""

    operator: str | None = Field(default=None, max_length=64)
    operands: list[Operand] = Field(default_factory=list, max_length=16)

    def wire(self) -> dict[str, Any]:
        return {"operator": self.operator, "operands": [operand.wire() for operand in self.operands]}


class AlertRuleInput(_Wire):
    """POST/PUT /api/v2/alertrules body (PUT replaces every field). `targetType` and the operators, functions
    and operand combinations are checked by `rules.validation.parse_rule`, which raises the seed's codes."""

    target_type: str | None = Field(default=None, alias="targetType", max_length=32)
    name: str = Field(min_length=1, max_length=MAX_NAME)
    message: str | None = Field(default=None, max_length=MAX_MESSAGE)
    stateful: bool = True
    active: bool = True
    emails: list[Email] = Field(default_factory=list, max_length=MAX_EMAILS)
    notif_mode: NotifMode = Field(default="WHEN_STATE_CHANGES", alias="notifMode")
    conditions: list[Condition] = Field(min_length=1, max_length=1000)  # the limit of 10 is validation's

    def wire_fields(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "targetType": self.target_type,
            "name": self.name,
            "message": self.message,
            "stateful": self.stateful,
            "active": self.active,
            "emails": list(self.emails),
            "notifMode": self.notif_mode,
            "conditions": [condition.wire() for condition in self.conditions],
        }
        return {key: value for key, value in body.items() if value is not None}


class AlertRule(AlertRuleInput):
    """A stored rule: the input fields plus its id (32 hex), company and times. Build with `create` / `replaced`.

    Stored items must hold JSON types (convert DynamoDB Decimals back to int/float before `model_validate`).
    """

    model_config = ConfigDict(populate_by_name=True, extra="ignore", strict=True, frozen=True)

    id: str = Field(pattern=f"^{_HEX32.pattern}$")
    company_id: str = Field(alias="companyId", min_length=1, max_length=64)
    created_ms: int = Field(alias="createdMs", ge=0)
    updated_ms: int = Field(alias="updatedMs", ge=0)

    @classmethod
    def create(cls, rule_id: str, company_id: str, rule: AlertRuleInput, now_ms: int) -> AlertRule:
        """A new rule from a validated input (see rules.validation.parse_rule)."""
        return cls(id=rule_id, company_id=company_id, created_ms=now_ms, updated_ms=now_ms, **_input_fields(rule))

    def replaced(self, rule: AlertRuleInput, now_ms: int) -> AlertRule:
        """This rule after a PUT: every input field replaced, id, company and creation time kept."""
        return AlertRule(
            id=self.id, company_id=self.company_id, created_ms=self.created_ms, updated_ms=now_ms, **_input_fields(rule)
        )

    def wire(self) -> dict[str, Any]:
        """The seed's rule shape: id, targetType, name, message, stateful, active, emails, notifMode, conditions.

        stateful and notifMode are in the seed's complete representation (not in its abbreviated examples):
        a client that GETs, edits and PUTs a rule back must not lose them.
        """
        return {"id": self.id, **self.wire_fields()}


def _input_fields(rule: AlertRuleInput) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in AlertRuleInput.model_fields}


# ------------------------------------------------------------------------------------------------ systems


class Heartbeat(_Wire):
    state: ShortText | None = None
    period: int | None = Field(default=None, ge=1, le=10_000_000)  # minutes
    error_sla: int | None = Field(default=None, alias="errorSLA", ge=1, le=10_000_000)
    warning_sla: int | None = Field(default=None, alias="warningSLA", ge=1, le=10_000_000)


class Gateway(_Wire):
    imei: ShortText | None = None
    mac_address: ShortText | None = Field(default=None, alias="macAddress")
    serial_number: ShortText | None = Field(default=None, alias="serialNumber")


class SubscriptionRef(_Wire):
    id: ShortText | None = None


class SystemInput(_Wire):
    """POST/PUT body of a system (a rule target). PUT replaces every field."""

    name: str = Field(min_length=1, max_length=MAX_NAME)
    labels: list[Label] = Field(default_factory=list, max_length=MAX_LABELS)
    state: ShortText | None = None
    activity_state: ShortText | None = Field(default=None, alias="activityState")
    life_cycle_state: ShortText | None = Field(default=None, alias="lifeCycleState")
    comm_status: ShortText | None = Field(default=None, alias="commStatus")
    heartbeat: Heartbeat | None = None
    offer_id: ShortText | None = Field(default=None, alias="offerId")
    gateway: Gateway | None = None
    subscription: SubscriptionRef | None = None


class System(SystemInput):
    """A stored system: the input plus its uid, company and last communication time (set by telemetry)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", strict=True, frozen=True)

    uid: str = Field(min_length=1, max_length=64)
    company: str = Field(min_length=1, max_length=64)
    last_comm_date: int | None = Field(default=None, alias="lastCommDate", ge=0)

    def wire(self) -> dict[str, Any]:
        body = self.model_dump(by_alias=True, exclude_none=True)
        return {"uid": body.pop("uid"), **body}

    def attributes(self) -> dict[str, Any]:
        """The system attributes rules read (names of SYSTEM_ATTRIBUTES); absent values are left out."""
        heartbeat = self.heartbeat or Heartbeat()
        gateway = self.gateway or Gateway()
        values: dict[str, Any] = {
            "system.id": self.uid,
            "system.name": self.name,
            "system.labels": tuple(self.labels),
            "system.state": self.state,
            "system.activityState": self.activity_state,
            "system.lifeCycleState": self.life_cycle_state,
            "system.commStatus": self.comm_status,
            "system.lastCommDate": self.last_comm_date,
            "system.heartbeat.state": heartbeat.state,
            "system.heartbeat.period": heartbeat.period,
            "system.heartbeat.errorSLA": heartbeat.error_sla,
            "system.heartbeat.warningSLA": heartbeat.warning_sla,
            "system.offerId": self.offer_id,
            "gateway.imei": gateway.imei,
            "gateway.mac.address": gateway.mac_address,
            "gateway.serial.number": gateway.serial_number,
            "subscription.id": self.subscription.id if self.subscription else None,
        }
        return {name: value for name, value in values.items() if value is not None}


# ------------------------------------------------------------------------------------ alerts (read models)


class AlertValue(BaseModel):
    """An attribute's value in an alert: exactly one of valueStr, valuesStr, valueNum, valueAgg."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    value_str: str | None = Field(default=None, alias="valueStr")
    values_str: list[str] | None = Field(default=None, alias="valuesStr")
    value_num: int | float | None = Field(default=None, alias="valueNum")
    value_agg: Aggregate | None = Field(default=None, alias="valueAgg")

    @classmethod
    def of(cls, value: Any) -> AlertValue:
        """The wire form of an attribute value: text as valueStr (bools as "true"/"false", as the seed shows for
        DATA.room.door.opened), numbers as valueNum, lists as valuesStr, aggregates as valueAgg."""
        if isinstance(value, Aggregate):
            return cls(value_agg=value)
        if isinstance(value, bool):
            return cls(value_str="true" if value else "false")
        if isinstance(value, int | float):
            return cls(value_num=value)
        if isinstance(value, list | tuple | frozenset | set):
            return cls(values_str=[str(item) for item in value])
        return cls(value_str=str(value))

    def wire(self) -> dict[str, Any]:
        if self.value_agg is not None:
            return {"valueAgg": self.value_agg.wire()}
        return self.model_dump(by_alias=True, exclude_none=True)


class AlertAttribute(BaseModel):
    """One attribute behind an alert: its id, value and the time the value was measured (`refTime`).

    `id.targetId` is None when the attribute belongs to the alert's own target."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    id: AttributeId
    value: AlertValue
    ref_time: int | None = Field(default=None, alias="refTime")

    def wire(self, own_target_id: str | None = None, name_target: bool = False) -> dict[str, Any]:
        """With `name_target`, the id always carries a targetId (/api/v2/alerts shows it), the alert's own
        target filling a None; otherwise a targetId shows only when it is another target (/api/v3 shapes)."""
        target = self.id.target_id
        ident: dict[str, Any] = {"name": self.id.name}
        if name_target and (target or own_target_id):
            ident = {"targetId": target or own_target_id, "name": self.id.name}
        elif target is not None and target != own_target_id:
            ident = {"targetId": target, "name": self.id.name}
        body: dict[str, Any] = {"id": ident, "value": self.value.wire()}
        if self.ref_time is not None:
            body["refTime"] = self.ref_time
        return body


class AlertState(BaseModel):
    """The current state of one target against one stateful rule."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    company_id: str = Field(alias="companyId")
    target_id: str = Field(alias="targetId")
    target_type: TargetType = Field(alias="targetType")
    rule_id: str = Field(alias="ruleId")
    state: bool
    state_change_ts: int = Field(alias="stateChangeTs")
    first_alert_id: str | None = Field(default=None, alias="firstAlertId")
    last_alert_id: str | None = Field(default=None, alias="lastAlertId")
    attributes: list[AlertAttribute] = Field(default_factory=list)

    def _head(self) -> dict[str, Any]:
        return {
            "companyId": self.company_id,
            "targetId": self.target_id,
            "targetType": self.target_type,
            "ruleId": self.rule_id,
            "state": self.state,
            "stateChangeTs": self.state_change_ts,
        }

    def wire(self) -> dict[str, Any]:
        """GET /api/v2/alertstates item: with firstAlertId / lastAlertId, without attributes."""
        body = self._head()
        if self.first_alert_id is not None:
            body["firstAlertId"] = self.first_alert_id
        if self.last_alert_id is not None:
            body["lastAlertId"] = self.last_alert_id
        return body

    def wire_current(self) -> dict[str, Any]:
        """GET /api/v3/alerts/current item: with the attributes that led to the state."""
        return {**self._head(), "attributes": [item.wire(self.target_id) for item in self.attributes]}


class AlertRecord(BaseModel):
    """One alert (a history row): stateless alerts have state None, stateful ones true or false."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    id: str
    company_id: str = Field(alias="companyId")
    target_id: str = Field(alias="targetId")
    target_type: TargetType = Field(alias="targetType")
    ts: int
    rule_id: str = Field(alias="ruleId")
    state: bool | None = None
    attributes: list[AlertAttribute] = Field(default_factory=list)

    def wire(self) -> dict[str, Any]:
        """GET /api/v3/alerts/history item: no id, `state` always present (null for a stateless rule)."""
        return {
            "companyId": self.company_id,
            "targetId": self.target_id,
            "targetType": self.target_type,
            "ts": self.ts,
            "ruleId": self.rule_id,
            "state": self.state,
            "attributes": [item.wire(self.target_id) for item in self.attributes],
        }

    def wire_v2(self) -> dict[str, Any]:
        """GET /api/v2/alerts/history and /api/v2/alerts/{uid} item: with id, without state, attribute ids
        naming their target."""
        return {
            "id": self.id,
            "companyId": self.company_id,
            "targetId": self.target_id,
            "targetType": self.target_type,
            "ts": self.ts,
            "ruleId": self.rule_id,
            "attributes": [item.wire(self.target_id, name_target=True) for item in self.attributes],
        }

    def hook_payload(self, now_ms: int) -> dict[str, Any]:
        """The body POSTed to the rule's hooks (seed 001, Subscriber API)."""
        return {
            "name": "event.alert.rule.triggered",
            "date": now_ms,
            "content": {"alert.uid": self.id, "rule.uid": self.rule_id, "target.uid": self.target_id},
        }


class StateHistoryRow(BaseModel):
    """One state change of a target against a stateful rule (GET /api/v2/alertstates/history)."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    id: str
    company_id: str = Field(alias="companyId")
    target_id: str = Field(alias="targetId")
    target_type: TargetType = Field(alias="targetType")
    rule_id: str = Field(alias="ruleId")
    state: bool
    ts: int
    first_alert_id: str | None = Field(default=None, alias="firstAlertId")

    def wire(self) -> dict[str, Any]:
        body = {
            "id": self.id,
            "companyId": self.company_id,
            "targetId": self.target_id,
            "targetType": self.target_type,
            "ruleId": self.rule_id,
            "state": self.state,
            "ts": self.ts,
        }
        if self.first_alert_id is not None:
            body["firstAlertId"] = self.first_alert_id
        return body


# ------------------------------------------------------------------------------------------------ telemetry


def _telemetry_value(value: Any) -> bool | int | float | str:
    if isinstance(value, str):
        if len(value) > MAX_TELEMETRY_STRING:
            raise ValueError(f"text values are at most {MAX_TELEMETRY_STRING} characters")
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return _storable_number(_finite_number(value))
    raise ValueError("must be a number, a string or a boolean")


def _storable_number(value: int | float) -> int | float:
    """A telemetry number evaluation can compute with and DynamoDB can store, else ValueError (a 400 at ingest:
    such a value must never reach the queue)."""
    if value != 0 and not MIN_TELEMETRY_MAGNITUDE <= abs(value) <= MAX_TELEMETRY_MAGNITUDE:
        raise ValueError(f"numbers are 0 or between {MIN_TELEMETRY_MAGNITUDE:g} and 1e18 in magnitude")
    return value


TelemetryValue = Annotated[bool | int | float | str, PlainValidator(_telemetry_value)]
DataId = Annotated[str, Field(min_length=1, max_length=MAX_DATA_ID, pattern=f"^{DATA_ID.pattern}$")]


class Sample(_Wire):
    """`{"timestamp": <ms>, "value": <number | string | bool>}`."""

    timestamp: int = Field(ge=0, le=MAX_TIMESTAMP_MS)
    value: TelemetryValue


class TelemetryBody(RootModel[list[dict[DataId, list[Sample]]]]):
    """AirVantage's device message: `[{"room.temp": [{"timestamp": 1466859976000, "value": 45}]}]`."""

    model_config = ConfigDict(strict=True, frozen=True)


class DataPoint(BaseModel):
    """One measured value of one data id. A position (`_LON_LAT`) holds the text "POINT(lon lat)"."""

    model_config = ConfigDict(frozen=True)

    data_id: str
    timestamp_ms: int
    value: bool | int | float | str

    @property
    def attribute_name(self) -> str:
        return f"DATA.{self.data_id}"


def _count_points(data: Any) -> int:
    # Counted on the raw JSON before validating it, so an oversized body is refused cheaply.
    if not isinstance(data, list):
        return 0
    return sum(
        len(samples)
        for entry in data
        if isinstance(entry, dict)
        for samples in entry.values()
        if isinstance(samples, list)
    )


def parse_telemetry(data: Any) -> list[DataPoint]:
    """The data points of a device message, in message order; InvalidInput naming the first bad fields
    (paths like `0.room.temp.1.value`). At most MAX_POINTS_PER_REQUEST points; `_LON_LAT` values must be
    WKT points with lon in [-180, 180] and lat in [-90, 90]."""
    from switchboard.dialects.validation import invalid_input

    count = _count_points(data)
    if count > MAX_POINTS_PER_REQUEST:
        raise InvalidInput.single(
            ("body",),
            "maxItems",
            f"at most {MAX_POINTS_PER_REQUEST} data points per request, got {count}",
            count,
            MAX_POINTS_PER_REQUEST,
        )
    try:
        message = TelemetryBody.model_validate(data)
    except ValidationError as exc:
        errors = invalid_input(exc).errors
        raise InvalidInput([replace(item, path=item.path or ("body",)) for item in errors]) from None
    points: list[DataPoint] = []
    for index, entry in enumerate(message.root):
        for data_id, samples in entry.items():
            for position, sample in enumerate(samples):
                if data_id == LON_LAT_DATA_ID:
                    _check_position(sample.value, (index, data_id, position, "value"))
                points.append(DataPoint(data_id=data_id, timestamp_ms=sample.timestamp, value=sample.value))
    return points


def _check_position(value: object, path: tuple[str | int, ...]) -> None:
    from switchboard.rules.geo import GeoError, parse_point

    try:
        if not isinstance(value, str):
            raise GeoError("must be a WKT point such as POINT(2.3522 48.8566) (longitude first)")
        parse_point(value)
    except GeoError as exc:
        raise InvalidInput.single(path, "invalid", str(exc), value, "POINT(lon lat)") from None
