"""The catalog in force: the shipped one plus the operator's additions (`switchboard catalog import`)."""

from __future__ import annotations

import time
from typing import Any

from switchboard.errors import InvalidInput, NotFound
from switchboard.events.catalog import Catalog, EventType, Topic, load_catalog
from switchboard.events.repository import EventsRepository

# Additions change rarely (an operator command); a warm function re-reads them this often.
REFRESH_SECONDS = 60.0


class CatalogProvider:
    def __init__(self, repository: EventsRepository) -> None:
        self._repo = repository
        self._cached: tuple[float, Catalog] | None = None

    def current(self) -> Catalog:
        if self._cached and self._cached[0] > time.monotonic():
            return self._cached[1]
        additions = self._repo.catalog_additions()
        catalog = load_catalog().merged(additions) if additions else load_catalog()
        self._cached = (time.monotonic() + REFRESH_SECONDS, catalog)
        return catalog

    def import_additions(self, document: Any) -> Catalog:
        """Validate `document` against the shipped catalog and store it (replacing earlier additions)."""
        try:
            catalog = load_catalog().merged(document)
        except ValueError as exc:
            raise InvalidInput.single("catalog", "invalid", str(exc)) from None
        self._repo.put_catalog_additions(document)
        self._cached = None
        return catalog

    def topic(self, name: str) -> Topic:
        topic = self.current().topic(name)
        if topic is None:
            raise NotFound(name, "topic")
        return topic

    def event_type(self, code: str) -> EventType:
        event_type = self.current().event_type(code)
        if event_type is None:
            raise NotFound(code, "event type")
        return event_type

    def topics_page(self, offset: int, limit: int) -> list[Topic]:
        return self.current().topics[offset : offset + limit]

    def event_types_page(self, offset: int, limit: int) -> list[EventType]:
        return list(self.current().event_types.values())[offset : offset + limit]

    def event_types_of(self, topic_name: str) -> list[EventType]:
        """The event types of a topic; NotFound for an unknown topic."""
        self.topic(topic_name)
        return self.current().event_types_of(topic_name)

    def dictionary(self, code: str) -> list[dict[str, Any]]:
        entries = self.current().dictionaries.get(code)
        if entries is None:
            raise NotFound(code, "dictionary")
        return [entry.model_dump(by_alias=True, exclude_none=True) for entry in entries]
