"""The ESS catalog: topics, event types with their field schemas, and dictionaries.

`catalog.json` beside this module holds what seed 003 lists (`get /topics`, `get /event-types`,
`get /dictionaries/{DICT_CODE}`) in the same shape as the wire, plus `__GENERIC__` (DevTest-Events'
only event type, for which the seed gives no schema). Operators may add to it with `Catalog.merged`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

CATALOG_PATH = Path(__file__).with_name("catalog.json")

FIELD_TYPES = frozenset({"Text", "Integer", "Decimal", "Date", "Boolean"})
VALIDATION_TYPES = frozenset({"strict", "allow-additional-fields"})
DOCUMENT_KEYS = ("topics", "event-types", "dictionaries")

_Model = TypeVar("_Model", bound=BaseModel)


class FieldSpec(BaseModel):
    """One field of an event type's `fld-val-list`."""

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")

    type: str
    mandatory: bool

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in FIELD_TYPES:
            raise ValueError(f"unknown field type {value!r} (expected one of {', '.join(sorted(FIELD_TYPES))})")
        return value


class EventType(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid", populate_by_name=True)

    id: str = Field(min_length=1)
    validation_type: str = Field(alias="validation-type")
    fields: dict[str, FieldSpec]

    @field_validator("validation_type")
    @classmethod
    def _known_validation_type(cls, value: str) -> str:
        if value not in VALIDATION_TYPES:
            raise ValueError(
                f"unknown validation-type {value!r} (expected one of {', '.join(sorted(VALIDATION_TYPES))})"
            )
        return value

    @field_validator("fields")
    @classmethod
    def _named_fields(cls, value: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
        if any(not name for name in value):
            raise ValueError("field names must not be empty")
        return value

    @property
    def mandatory_fields(self) -> list[str]:
        return [name for name, spec in self.fields.items() if spec.mandatory]


class Topic(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid", populate_by_name=True)

    name: str = Field(alias="topic-nm", min_length=1)
    service: str | None = Field(default=None, alias="svc-nm")
    event_types: list[str] = Field(alias="evt-tp-list")

    @field_validator("event_types")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        repeated = _repeated(value)
        if repeated:
            raise ValueError(f"event type(s) listed more than once: {', '.join(repeated)}")
        if any(not code for code in value):
            raise ValueError("event type codes must not be empty")
        return value


class DictionaryEntry(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")

    code: str = Field(min_length=1)
    description: str


class Catalog(BaseModel):
    """Topics in catalog order, event types by id (catalog order), dictionaries by DICT_CODE."""

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")

    topics: list[Topic]
    event_types: dict[str, EventType]
    dictionaries: dict[str, list[DictionaryEntry]]

    @model_validator(mode="after")
    def _consistent(self) -> Catalog:
        repeated = _repeated(topic.name for topic in self.topics)
        if repeated:
            raise ValueError(f"topic(s) listed more than once: {', '.join(repeated)}")
        for code, event_type in self.event_types.items():
            if code != event_type.id:
                raise ValueError(f"event type {event_type.id!r} is filed under {code!r}")
        for topic in self.topics:
            missing = [code for code in topic.event_types if code not in self.event_types]
            if missing:
                raise ValueError(f"topic {topic.name!r} lists event type(s) that exist nowhere: {', '.join(missing)}")
        for name, entries in self.dictionaries.items():
            repeated = _repeated(entry.code for entry in entries)
            if repeated:
                raise ValueError(f"dictionary {name!r} lists code(s) more than once: {', '.join(repeated)}")
        return self

    # -- reading ------------------------------------------------------------------------------

    def topic(self, name: str) -> Topic | None:
        return next((topic for topic in self.topics if topic.name == name), None)

    def event_type(self, code: str) -> EventType | None:
        return self.event_types.get(code)

    def event_types_of(self, topic_name: str) -> list[EventType]:
        """The topic's event types in its `evt-tp-list` order; [] for an unknown topic."""
        topic = self.topic(topic_name)
        return [self.event_types[code] for code in topic.event_types] if topic else []

    def fields_of_topic(self, topic_name: str) -> set[str]:
        """Every field any of the topic's event types has; empty for an unknown topic."""
        return {name for event_type in self.event_types_of(topic_name) for name in event_type.fields}

    # -- the document shape (catalog.json, operator additions) --------------------------------

    @classmethod
    def from_document(cls, document: Any) -> Catalog:
        """A catalog from the catalog.json shape; ValueError naming the bad part if it is malformed."""
        parts = _document_parts(document, "catalog", required=True)
        return _build(list(parts["topics"].values()), list(parts["event-types"].values()), parts["dictionaries"])

    def to_document(self) -> dict[str, Any]:
        """The catalog.json shape, field order kept."""
        return {
            "topics": [topic.model_dump(by_alias=True, exclude_none=True) for topic in self.topics],
            "event-types": [et.model_dump(by_alias=True, exclude_none=True) for et in self.event_types.values()],
            "dictionaries": {
                name: [entry.model_dump(by_alias=True, exclude_none=True) for entry in entries]
                for name, entries in self.dictionaries.items()
            },
        }

    def merged(self, extra: Any) -> Catalog:
        """This catalog with operator additions (catalog.json shape, every part optional) merged in.

        A new topic is appended; an existing topic's `evt-tp-list` is extended with the codes it lacks
        (and its `svc-nm` replaced when the addition gives one). A new event type is appended; an
        existing one is replaced whole. Dictionary entries are added, or replaced by code.
        Raises ValueError when the additions are malformed or leave a topic listing an unknown event type.
        """
        parts = _document_parts(extra, "catalog additions", required=False)

        topics = {topic.name: topic for topic in self.topics}
        for added in parts["topics"].values():
            current = topics.get(added.name)
            if current is None:
                topics[added.name] = added
                continue
            codes = current.event_types + [code for code in added.event_types if code not in current.event_types]
            topics[added.name] = current.model_copy(
                update={"event_types": codes, "service": added.service or current.service}
            )

        event_types = {**self.event_types, **parts["event-types"]}

        dictionaries = {name: list(entries) for name, entries in self.dictionaries.items()}
        for name, entries in parts["dictionaries"].items():
            by_code = {entry.code: entry for entry in dictionaries.get(name, [])}
            by_code.update((entry.code, entry) for entry in entries)
            dictionaries[name] = list(by_code.values())

        return _build(list(topics.values()), list(event_types.values()), dictionaries, where="catalog additions")


@cache
def load_catalog() -> Catalog:
    """The catalog shipped beside this module, read once per process."""
    return Catalog.from_document(json.loads(CATALOG_PATH.read_text(encoding="utf-8")))


# -- helpers ----------------------------------------------------------------------------------


def _repeated(values: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    repeated: list[str] = []
    for value in values:
        if value in seen and value not in repeated:
            repeated.append(value)
        seen.add(value)
    return repeated


def _message(error: Any) -> str:
    return str(error["msg"]).removeprefix("Value error, ")


def _validate(model: type[_Model], data: Any, where: str) -> _Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '(value)'}: {_message(error)}" for error in exc.errors()
        )
        raise ValueError(f"{where}: {problems}") from None


def _document_parts(document: Any, where: str, *, required: bool) -> dict[str, dict[str, Any]]:
    """Validate each part of a catalog-shaped document; returns topics/event types/dictionaries by key."""
    if not isinstance(document, Mapping):
        raise ValueError(f"{where}: expected an object with {', '.join(DOCUMENT_KEYS)}, got {type(document).__name__}")
    unknown = [key for key in document if key not in DOCUMENT_KEYS]
    if unknown:
        listed = ", ".join(map(repr, unknown))
        raise ValueError(f"{where}: unknown key(s) {listed} (expected {', '.join(DOCUMENT_KEYS)})")
    if required:
        missing = [key for key in DOCUMENT_KEYS if key not in document]
        if missing:
            raise ValueError(f"{where}: missing key(s) {', '.join(missing)}")

    topics_in, types_in, dictionaries_in = (document.get(key) for key in DOCUMENT_KEYS)
    for key, value, expected in (
        ("topics", topics_in, list),
        ("event-types", types_in, list),
        ("dictionaries", dictionaries_in, Mapping),
    ):
        if value is not None and not isinstance(value, expected):
            raise ValueError(f"{where}: {key!r} must be {'a list' if expected is list else 'an object'}")

    topics: dict[str, Topic] = {}
    for index, item in enumerate(topics_in or []):
        topic = _validate(Topic, item, f"{where}: topics[{index}]")
        if topic.name in topics:
            raise ValueError(f"{where}: topic {topic.name!r} given more than once")
        topics[topic.name] = topic

    event_types: dict[str, EventType] = {}
    for index, item in enumerate(types_in or []):
        event_type = _validate(EventType, item, f"{where}: event-types[{index}]")
        if event_type.id in event_types:
            raise ValueError(f"{where}: event type {event_type.id!r} given more than once")
        event_types[event_type.id] = event_type

    dictionaries: dict[str, list[DictionaryEntry]] = {}
    for name, entries in (dictionaries_in or {}).items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"{where}: dictionary names must be non-empty strings")
        if not isinstance(entries, list):
            raise ValueError(f"{where}: dictionaries.{name} must be a list")
        dictionaries[name] = [
            _validate(DictionaryEntry, entry, f"{where}: dictionaries.{name}[{index}]")
            for index, entry in enumerate(entries)
        ]
    return {"topics": topics, "event-types": event_types, "dictionaries": dictionaries}


def _build(
    topics: list[Topic],
    event_types: list[EventType],
    dictionaries: dict[str, list[DictionaryEntry]],
    where: str = "catalog",
) -> Catalog:
    try:
        return Catalog(
            topics=topics,
            event_types={event_type.id: event_type for event_type in event_types},
            dictionaries=dictionaries,
        )
    except ValidationError as exc:
        problems = "; ".join(_message(error) for error in exc.errors())
        raise ValueError(f"{where}: {problems}") from None
