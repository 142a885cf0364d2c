"""Topic subscriptions: which events of a topic go to which delivery configuration.

Criteria are parsed once, when written, and stored in parsed form. A subscription whose
criteria pin a field to one value is indexed on (company, topic, field, value), so finding
the subscriptions of an event, `/mdn` and `uniqueMdnCount` never scan.
"""

from __future__ import annotations

import builtins
from typing import Any

from switchboard import clock
from switchboard.accounts.service import AccountService
from switchboard.errors import InvalidInput, NotFound
from switchboard.events import matching
from switchboard.events.catalog_provider import CatalogProvider
from switchboard.events.models import Subscription, SubscriptionInput, parse_time
from switchboard.events.repository import EventsRepository
from switchboard.tenancy import Caller

# The field phone-number monitoring pins (NIS): preferred as the index field when pinned.
MDN_FIELD = "number"
MDN_TOPIC = "NIS-Events"


def index_key(pins: dict[str, str]) -> tuple[str | None, str | None]:
    """The (field, value) a subscription is indexed on: `number` when pinned, else the first pinned field."""
    if not pins:
        return None, None
    field = MDN_FIELD if MDN_FIELD in pins else sorted(pins)[0]
    return field, pins[field]


_compiled_criteria: dict[str, Any] = {}
COMPILED_CACHE_SIZE = 4096


def forget_compiled_criteria() -> None:
    """Tests start each case with an empty cache."""
    _compiled_criteria.clear()


def matches(subscription: Subscription, fields: dict[str, Any]) -> bool:
    """Evaluate the stored criteria, compiled once per warm container (keyed by the canonical text,
    which identifies the tree)."""
    if subscription.match_tree is None:
        return True
    predicate = _compiled_criteria.get(subscription.match_criteria)
    if predicate is None:
        if len(_compiled_criteria) >= COMPILED_CACHE_SIZE:
            _compiled_criteria.clear()
        predicate = matching.compile_expr(matching.from_json(subscription.match_tree))
        _compiled_criteria[subscription.match_criteria] = predicate
    return bool(predicate(fields))


class SubscriptionMatcher:
    """Which subscriptions an event reaches (fanout's question): index reads only, no caller."""

    def __init__(self, repository: EventsRepository) -> None:
        self._repo = repository

    def matching(
        self, account_id: str, topic: str, event_type: str, fields: dict[str, Any], at_ms: int
    ) -> list[Subscription]:
        """The company's subscriptions an event matches, read through the index only."""
        candidates = self._repo.indexed_subscriptions(account_id, topic, None, None)
        for field in self._repo.pinned_fields(account_id, topic):
            if field in fields and fields[field] is not None:
                for key in matching.value_keys(fields[field]):
                    candidates += self._repo.indexed_subscriptions(account_id, topic, field, key)
        return [
            s for s in candidates if s.event_type in (None, event_type) and s.active_at(at_ms) and matches(s, fields)
        ]


class SubscriptionService:
    def __init__(self, repository: EventsRepository, accounts: AccountService, catalog: CatalogProvider) -> None:
        self._repo = repository
        self._accounts = accounts
        self._catalog = catalog

    # ------------------------------------------------------------ API
    def create(self, caller: Caller, company: str | None, topic_name: str, data: SubscriptionInput) -> Subscription:
        account = self._accounts.scope_for(caller, company, "company")
        if data.delivery_configuration_id is None:
            raise InvalidInput.single("del-cfg-id", "required", "del-cfg-id is required")
        # checked in full before an id is drawn, so that bad input leaves the id sequence as it was
        checked = self._build(account.id, topic_name, data, "", clock.now_ms())
        subscription = checked.model_copy(update={"id": self._repo.next_id("subscription")})
        self._repo.create_subscription(subscription)
        return subscription

    def get(self, caller: Caller, company: str | None, topic_name: str, sub_id: str) -> Subscription:
        account = self._accounts.scope_for(caller, company, "company")
        subscription = self._repo.get_subscription(account.id, sub_id)
        if subscription is None or subscription.topic != topic_name:
            raise NotFound(sub_id, "subscription")
        return subscription

    def replace(
        self, caller: Caller, company: str | None, topic_name: str, sub_id: str, data: SubscriptionInput
    ) -> Subscription:
        current = self.get(caller, company, topic_name, sub_id)
        merged = data.model_copy(
            update={
                "delivery_configuration_id": data.delivery_configuration_id or current.delivery_configuration_id,
                "event_type": data.event_type if "event_type" in data.model_fields_set else current.event_type,
            }
        )
        updated = self._build(current.account_id, topic_name, merged, current.id, current.created_ms)
        self._repo.replace_subscription(current, updated)
        return updated

    def delete(self, caller: Caller, company: str | None, topic_name: str, sub_id: str) -> Subscription:
        subscription = self.get(caller, company, topic_name, sub_id)
        self._repo.delete_subscription(subscription)
        return subscription

    def list(self, caller: Caller, company: str | None, offset: int, limit: int) -> list[dict[str, Any]]:
        account = self._accounts.scope_for(caller, company, "company")
        subscriptions = self._repo.list_subscriptions(account.id, offset, limit)
        names = self._repo.configuration_names(account.id, {s.delivery_configuration_id for s in subscriptions})
        return [s.wire(names.get(s.delivery_configuration_id)) for s in subscriptions]

    def for_criteria(
        self, caller: Caller, company: str | None, topic_name: str, criteria: str, limit: int
    ) -> builtins.list[dict[str, Any]]:
        """`/topic-subscriptions/mdn`: the configurations subscribed to one pinned value, with their event types."""
        account = self._accounts.scope_for(caller, company, "company")
        topic = self._catalog.topic(topic_name)
        tree = self._parse(criteria, "matchingCriteria")
        field, value = index_key(matching.pinned(tree) if tree is not None else {})
        if field is None:
            raise InvalidInput.single(
                "matchingCriteria",
                "invalid",
                "matchingCriteria must pin a field to one value, e.g. number = '+12345678901'",
            )
        grouped: dict[str, builtins.list[str]] = {}
        for subscription in self._repo.indexed_subscriptions(account.id, topic.name, field, value, limit):
            events = [subscription.event_type] if subscription.event_type else list(topic.event_types)
            seen = grouped.setdefault(subscription.delivery_configuration_id, [])
            seen += [event for event in events if event not in seen]
        names = self._repo.configuration_names(account.id, set(grouped))
        return [
            {"delivery-cfg-id": cid, "delivery-cfg-nm": names.get(cid), "events": events}
            for cid, events in grouped.items()
        ]

    def unique_numbers(self, caller: Caller, company: str | None, topic_name: str) -> int:
        account = self._accounts.scope_for(caller, company, "company")
        self._catalog.topic(topic_name)
        return self._repo.distinct_pinned_values(account.id, topic_name, MDN_FIELD)

    # ------------------------------------------------------------ fanout
    # ------------------------------------------------------------ internals
    @staticmethod
    def _parse(text: str, field: str) -> matching.Expr | None:
        try:
            return matching.parse(text)
        except matching.MatchSyntaxError as exc:
            raise InvalidInput.single(field, "syntax", str(exc), text) from None

    def _build(
        self, account_id: str, topic_name: str, data: SubscriptionInput, sub_id: str, created_ms: int
    ) -> Subscription:
        catalog = self._catalog.current()
        topic = catalog.topic(topic_name)
        if topic is None:
            raise NotFound(topic_name, "topic")
        if data.event_type is not None and data.event_type not in topic.event_types:
            raise InvalidInput.single(
                "evt-tp",
                "enum",
                f"{data.event_type} is not an event type of {topic_name}",
                data.event_type,
                topic.event_types,
            )
        config_id = data.delivery_configuration_id or ""
        if self._repo.get_configuration(account_id, config_id) is None:
            raise NotFound(config_id, "delivery configuration", field="del-cfg-id")
        tree = self._parse(data.match_criteria, "match-crt")
        self._check_fields(tree, topic_name, data.event_type)
        field, value = index_key(matching.pinned(tree) if tree is not None else {})
        return Subscription(
            id=sub_id,
            account_id=account_id,
            topic=topic_name,
            event_type=data.event_type,
            delivery_configuration_id=config_id,
            match_criteria=matching.to_text(tree),
            match_tree=matching.to_json(tree) if tree is not None else None,
            index_field=field,
            index_value=value,
            start_ms=parse_time(data.start_date) if data.start_date else clock.now_ms(),
            end_ms=parse_time(data.end_date) if data.end_date else None,
            created_ms=created_ms,
        )

    def _check_fields(self, tree: matching.Expr | None, topic_name: str, event_type: str | None) -> None:
        if tree is None:
            return
        catalog = self._catalog.current()
        types = [catalog.event_type(event_type)] if event_type else catalog.event_types_of(topic_name)
        if any(t is None or t.validation_type == "allow-additional-fields" for t in types):
            return  # such events may carry any field
        known = {name for t in types if t is not None for name in t.fields}
        unknown = sorted(matching.fields(tree) - known)
        if unknown:
            scope = event_type or topic_name
            raise InvalidInput.single(
                "match-crt", "invalid", f"{', '.join(unknown)} is not a field of {scope}", unknown[0]
            )
