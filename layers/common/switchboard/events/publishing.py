"""Publishing events: validated against their event type, stored once, queued for fanout.

`publish_event` is the one way any module publishes (ESS clients through the API, alert
rules, usage notifications). The event is stored before it is queued; if queueing fails the
caller gets a 503 and publishing the same `event-id` again finishes the job, so an accepted
event is never lost and never queued twice by a retry.
"""

from __future__ import annotations

import base64
import json
import secrets as random
from typing import Any

from switchboard import aws, clock
from switchboard.accounts.service import AccountService
from switchboard.errors import FieldError, InvalidInput, Unavailable
from switchboard.events.catalog import EventType
from switchboard.events.catalog_provider import CatalogProvider
from switchboard.events.models import Event, PublishInput, parse_time
from switchboard.events.repository import EventsRepository
from switchboard.tenancy import Caller

MAX_FIELDS = 200
# An event is one stored item (DynamoDB: 400 KB) and one queued message (SQS: 256 KB) with room to spare.
MAX_FIELDS_BYTES = 65_536


def new_event_id() -> str:
    """22 characters: URL-safe base64 of 16 random bytes, no padding (as ESS issues them)."""
    return base64.urlsafe_b64encode(random.token_bytes(16)).decode("ascii").rstrip("=")


def _type_ok(kind: str, value: Any) -> bool:
    if kind == "Text":
        return isinstance(value, str)
    if kind == "Boolean":
        return isinstance(value, bool)
    if kind == "Integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "Decimal":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "Date":
        if not isinstance(value, str):
            return False
        try:
            parse_time(value)
        except ValueError:
            return False
        return True
    return True


def check_fields(event_type: EventType, fields: dict[str, Any]) -> list[FieldError]:
    """Every problem with an event's `fld-val-list` against its type (mandatory, unknown, types)."""
    errors: list[FieldError] = []
    if len(fields) > MAX_FIELDS:
        return [FieldError(("fld-val-list",), "maxProperties", f"at most {MAX_FIELDS} fields")]
    for name, spec in event_type.fields.items():
        value = fields.get(name)
        if value is None:
            if spec.mandatory:
                errors.append(FieldError(("fld-val-list", name), "required", f"{name} is mandatory"))
        elif not _type_ok(spec.type, value):
            errors.append(
                FieldError(
                    ("fld-val-list", name),
                    "type",
                    f"{name} must be of type {spec.type}",
                    value if isinstance(value, str | int | float | bool) else None,
                    spec.type,
                )
            )
    if event_type.validation_type == "strict":
        errors += [
            FieldError(("fld-val-list", name), "additionalProperties", f"{name} is not a field of {event_type.id}")
            for name in fields
            if name not in event_type.fields
        ]
    return errors


class PublishingService:
    def __init__(
        self, repository: EventsRepository, accounts: AccountService, catalog: CatalogProvider, queue_url: str
    ) -> None:
        self._repo = repository
        self._accounts = accounts
        self._catalog = catalog
        self._queue_url = queue_url

    def publish(self, caller: Caller, company: str | None, data: PublishInput) -> Event:
        """POST /ess/v1/events: the caller's account (or, for an operator or reseller, `company`)."""
        account = self._accounts.scope_for(caller, company, "company")
        return self.publish_event(account.id, data.topic, data.event_type, data.fields, data.event_id, data.timestamp)

    def publish_event(
        self,
        account_id: str,
        topic: str,
        event_type: str,
        fields: dict[str, Any],
        event_id: str | None = None,
        timestamp: str | None = None,
    ) -> Event:
        catalog = self._catalog.current()
        topic_spec = catalog.topic(topic)
        if topic_spec is None:
            raise InvalidInput.single("topic", "enum", f"unknown topic {topic}", topic)
        if event_type not in topic_spec.event_types:
            raise InvalidInput.single(
                "evt-tp", "enum", f"{event_type} is not an event type of {topic}", event_type, topic_spec.event_types
            )
        spec = catalog.event_type(event_type)
        if spec is not None:
            errors = check_fields(spec, fields)
            if errors:
                raise InvalidInput(errors)
        size = len(json.dumps(fields, separators=(",", ":")).encode("utf-8"))
        if size > MAX_FIELDS_BYTES:
            raise InvalidInput.single(
                "fld-val-list", "invalid", f"fld-val-list is {size} bytes of JSON, at most {MAX_FIELDS_BYTES}"
            )
        now = clock.now_ms()
        if timestamp is None:
            timestamp = clock.iso_from_ms(now)[:-1] + f".{now % 1000:03d}Z"  # 2017-07-12T20:21:00.129Z
        event = Event(
            id=event_id or new_event_id(),
            account_id=account_id,
            topic=topic,
            event_type=event_type,
            fields=fields,
            timestamp=timestamp,
            timestamp_ms=parse_time(timestamp),
            published_ms=now,
        )
        if not self._repo.put_event(event):
            stored = self._repo.get_event(account_id, event.id)
            if stored is None:  # expired between the two reads: store it afresh
                return self.publish_event(account_id, topic, event_type, fields, event_id, timestamp)
            event, queued = stored
            if queued:
                return event  # the same event-id again: accepted once
        self._enqueue(event)
        return event

    def _enqueue(self, event: Event) -> None:
        body = {"account-id": event.account_id, **event.wire()}
        try:
            aws.client("sqs").send_message(QueueUrl=self._queue_url, MessageBody=json.dumps(body))
        except Exception as exc:  # any SQS failure: the event is stored, the client may retry
            raise Unavailable(
                f"event {event.id} was stored but not queued ({type(exc).__name__}); "
                "publish it again with this event-id"
            ) from exc
        self._repo.mark_enqueued(event)
