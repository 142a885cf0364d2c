"""Subscribers, notifications, usage ingest and evaluation: what the usage functions call."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from typing import Any, Literal, Protocol

from aws_lambda_powertools import Logger

from switchboard import aws, clock
from switchboard.errors import FeatureDisabled, InvalidInput, NotFound, Unavailable
from switchboard.tenancy import Caller
from switchboard.usage import periods, repository
from switchboard.usage.models import (
    FEATURE,
    IMSI_PATTERN,
    NOTIFICATION_TYPE,
    SYSTEM_PATTERN,
    Notification,
    Subscriber,
    SubscriberInput,
    SubscriberView,
    UsageInput,
    UsageMessage,
    UsageRecord,
    timestamp_ms,
)
from switchboard.usage.repository import CommitRefused, Search, Usage, UsageRepository

logger = Logger(child=True)

TOPIC = "Usage-Events"
EVENT_TYPE = "threshold_reached"
HASH_PATTERN = re.compile(r"^[0-9A-Fa-f]{64}$")
HEX = re.compile(r"^[0-9A-Fa-f]{1,64}$")
RECORDS_PER_COMMIT = 80  # + the usage item + at most 10 notifications: within a transaction's 100 items
COMMIT_TRIES = 6
SQS_BATCH = 10
SQS_BATCH_BYTES = 240_000  # SendMessageBatch takes at most 256 KiB in all
EPOCH_MS = 0
MAX_AHEAD_MS = 86_400_000  # a record dated further ahead is refused (clocks drift, not by days)
MAX_TRANSACTION_ITEMS = 100


class Accounts(Protocol):
    """The accounts context as the usage context needs it (tenancy, the per-account feature flag)."""

    def scope_for(self, caller: Caller, account_id: str | None, kind: str = "account") -> Any: ...

    def has_feature(self, account_id: str, feature: str) -> bool: ...


class EventSink(Protocol):
    """Where notifications are pushed (ESS publishing: `PublishingService.publish_event`)."""

    def publish_event(
        self,
        account_id: str,
        topic: str,
        event_type: str,
        fields: dict[str, Any],
        event_id: str | None = None,
        timestamp: str | None = None,
    ) -> Any: ...


class UsageAccess:
    """The account a request acts on: the caller's own or a descendant's (`account`), strangers 404,
    and only where an operator has enabled usage notifications (else 403)."""

    def __init__(self, accounts: Accounts) -> None:
        self._accounts = accounts

    def account(self, caller: Caller, account_id: str | None) -> str:
        scope = self._accounts.scope_for(caller, account_id, "account")
        if not self._accounts.has_feature(scope.id, FEATURE):
            raise FeatureDisabled(FEATURE)
        return str(scope.id)


def check_imsi(imsi: str) -> str:
    if not re.fullmatch(IMSI_PATTERN, imsi):
        raise InvalidInput.single("imsi", "pattern", "an IMSI is 14 or 15 digits", imsi)
    return imsi


# ---------------------------------------------------------------- subscribers


class SubscriberService:
    def __init__(self, repo: UsageRepository, access: UsageAccess, now_ms: Callable[[], int] = clock.now_ms) -> None:
        self._repo = repo
        self._access = access
        self._now_ms = now_ms

    def put(self, caller: Caller, account: str | None, imsi: str, spec: SubscriberInput) -> tuple[SubscriberView, bool]:
        """Create or replace; True when created."""
        account_id = self._access.account(caller, account)
        sub = Subscriber.of(account_id, check_imsi(imsi), spec, self._now_ms())
        created = self._repo.put_subscriber(sub)
        return self._view(sub), created

    def patch(self, caller: Caller, account: str | None, imsi: str, changes: dict[str, Any]) -> SubscriberView:
        """Merge `changes` (fields given, null resetting optional ones) onto the stored subscriber."""
        from switchboard.dialects import validation

        account_id = self._access.account(caller, account)
        for _ in range(3):
            current = self._get(account_id, imsi)
            merged = {**current.as_input(), **changes}
            if changes.get("dataLimitPeriod") == "absolute" and "dataLimitCustomDate" not in changes:
                merged["dataLimitCustomDate"] = None  # a switch to absolute drops the monthly day
            spec = validation.parse(SubscriberInput, merged)
            sub = Subscriber.of(account_id, imsi, spec, max(self._now_ms(), current.updated_ms + 1))
            if self._repo.replace_subscriber(sub, current.updated_ms):
                return self._view(sub)
        raise Unavailable("the subscriber kept changing; send the request again")

    def get(self, caller: Caller, account: str | None, imsi: str) -> SubscriberView:
        account_id = self._access.account(caller, account)
        return self._view(self._get(account_id, imsi), with_usage=True)

    def delete(self, caller: Caller, account: str | None, imsi: str) -> None:
        account_id = self._access.account(caller, account)
        if not re.fullmatch(IMSI_PATTERN, imsi) or not self._repo.delete_subscriber(account_id, imsi):
            raise NotFound(imsi, "subscriber")

    def list(self, caller: Caller, account: str | None, page: int, size: int) -> tuple[list[SubscriberView], int]:
        account_id = self._access.account(caller, account)
        subs, total = self._repo.list_subscribers(account_id, page * size, size)
        return [self._view(sub) for sub in subs], total

    def _get(self, account_id: str, imsi: str) -> Subscriber:
        sub = self._repo.get_subscriber(account_id, imsi) if re.fullmatch(IMSI_PATTERN, imsi) else None
        if sub is None:
            raise NotFound(imsi, "subscriber")
        return sub

    def _view(self, sub: Subscriber, with_usage: bool = False) -> SubscriberView:
        if not with_usage:
            return SubscriberView(subscriber=sub)
        _, usage = self._repo.load(sub.account_id, sub.imsi)
        limit = sub.limit()
        start = periods.period_start(periods.day_of(self._now_ms()), limit.period, limit.custom_day)
        return SubscriberView(
            subscriber=sub,
            period_start=periods.iso_start(start),
            total_usage=periods.period_usage(usage.state, start, limit.period, limit.custom_day),
        )


# ---------------------------------------------------------------- notifications

SearchName = Literal[
    "findByHash",
    "findByConsumed",
    "findBySystem",
    "findBySystemAndConsumed",
    "findBySubscriber",
    "findBySubscriberAndConsumed",
    "findByDeepSearch",
]
SEARCHES: dict[str, tuple[str, ...]] = {
    "findByHash": ("hash",),
    "findByConsumed": ("consumed",),
    "findBySystem": ("system",),
    "findBySystemAndConsumed": ("system", "consumed"),
    "findBySubscriber": ("subscriber",),
    "findBySubscriberAndConsumed": ("subscriber", "consumed"),
    "findByDeepSearch": ("query",),
}


def deep_searches(account_id: str, query: str) -> list[Search]:
    """What `findByDeepSearch?query=` looks in: the subscriber when the query is an IMSI, hashes starting
    with it when it is hexadecimal, the system when it is a system id, every notification when it names
    the type (ThresholdReached)."""
    searches: list[Search] = []
    if re.fullmatch(IMSI_PATTERN, query):
        searches.append(repository.by_subscriber(account_id, query))
    if HEX.fullmatch(query):
        searches.append(repository.by_hash_prefix(account_id, query.upper()))
    if re.fullmatch(SYSTEM_PATTERN, query):
        searches.append(repository.by_system(account_id, query))
    if query.lower() == NOTIFICATION_TYPE.lower():
        searches = [repository.by_account(account_id)]
    return searches


class NotificationService:
    def __init__(self, repo: UsageRepository, access: UsageAccess) -> None:
        self._repo = repo
        self._access = access

    def list(
        self,
        caller: Caller,
        account: str | None,
        search: str | None,
        params: dict[str, Any],
        ascending: bool,
        page: int,
        size: int,
    ) -> tuple[list[Notification], int]:
        """All notifications (`search` None) or one search of seed 004 with its parameters (checked by
        the dialect: strings, `consumed` a bool)."""
        account_id = self._access.account(caller, account)
        consumed = params.get("consumed")
        searches: list[Search]
        if search is None:
            searches = [repository.by_account(account_id)]
        elif search == "findByHash":
            note = self._find(account_id, params["hash"])
            notes = [note] if note is not None and page == 0 else []
            return notes, 0 if note is None else 1
        elif search == "findByConsumed":
            searches = [repository.by_account(account_id, consumed)]
        elif search in ("findBySystem", "findBySystemAndConsumed"):
            searches = [repository.by_system(account_id, params["system"], consumed)]
        elif search in ("findBySubscriber", "findBySubscriberAndConsumed"):
            searches = [repository.by_subscriber(account_id, params["subscriber"], consumed)]
        else:
            searches = deep_searches(account_id, params["query"])
            if not searches:
                return [], 0
        return self._repo.search(searches, ascending, page * size, size)

    def get(self, caller: Caller, account: str | None, hash_: str) -> Notification:
        account_id = self._access.account(caller, account)
        note = self._find(account_id, hash_)
        if note is None:
            raise NotFound(hash_, "notification")
        return note

    def set_consumed(self, caller: Caller, account: str | None, hash_: str, consumed: bool) -> Notification:
        note = self.get(caller, account, hash_)
        if note.consumed == consumed:
            return note
        updated = self._repo.set_consumed(note, consumed)
        if updated is None:
            raise NotFound(hash_, "notification")
        return updated

    def _find(self, account_id: str, hash_: str) -> Notification | None:
        if not HASH_PATTERN.fullmatch(hash_):
            return None
        return self._repo.get_notification(account_id, hash_.upper())


# ---------------------------------------------------------------- ingest


def message_dedup_id(message: UsageMessage) -> str:
    records = sorted(f"{r.record_id}:{r.bytes}:{r.timestamp_ms}" for r in message.records)
    canonical = "|".join([message.account_id, message.imsi, *records])
    return hashlib.sha256(canonical.encode()).hexdigest()


def _sqs_batches(entries: list[dict[str, str]]) -> list[list[dict[str, str]]]:
    """Entries in SendMessageBatch requests: at most 10 and 240,000 bytes of bodies each."""
    batches: list[list[dict[str, str]]] = []
    size = 0
    for entry in entries:
        body = len(entry["MessageBody"].encode())
        if not batches or len(batches[-1]) == SQS_BATCH or size + body > SQS_BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(entry)
        size += body
    return batches


class IngestService:
    """POST /v1/usage: the records, one message per IMSI on the FIFO usage queue (group = account + IMSI)."""

    def __init__(self, access: UsageAccess, queue_url: str, now_ms: Callable[[], int] = clock.now_ms) -> None:
        self._access = access
        self._queue_url = queue_url
        self._now_ms = now_ms

    def ingest(self, caller: Caller, account: str | None, data: UsageInput) -> int:
        """Queue the records; returns how many distinct record ids were accepted."""
        account_id = self._access.account(caller, account)
        latest = self._now_ms() + MAX_AHEAD_MS
        for index, record in enumerate(data.records):
            if not EPOCH_MS <= timestamp_ms(record.timestamp) <= latest:
                raise InvalidInput.single(
                    ("records", index, "timestamp"),
                    "range",
                    "timestamp must be after 1970 and at most a day ahead of now",
                    record.timestamp.isoformat(),
                )
        by_imsi: dict[str, dict[str, UsageRecord]] = {}
        for record in data.records:
            records = by_imsi.setdefault(record.imsi, {})
            records.setdefault(
                record.recordId,
                UsageRecord(record_id=record.recordId, bytes=record.bytes, timestamp_ms=timestamp_ms(record.timestamp)),
            )
        now = self._now_ms()
        messages = [
            UsageMessage(account_id=account_id, imsi=imsi, records=list(records.values()), received_ms=now)
            for imsi, records in by_imsi.items()
        ]
        entries = [
            {
                "Id": str(i),
                "MessageBody": message.model_dump_json(),
                "MessageGroupId": f"{account_id}:{message.imsi}",
                "MessageDeduplicationId": message_dedup_id(message),
            }
            for i, message in enumerate(messages)
        ]
        try:
            sqs = aws.client("sqs")
            for batch in _sqs_batches(entries):
                sent = sqs.send_message_batch(QueueUrl=self._queue_url, Entries=batch)
                if sent.get("Failed"):
                    raise RuntimeError(f"{len(sent['Failed'])} messages refused")
        except Exception as exc:  # nothing counted twice if re-posted: record ids are counted once
            raise Unavailable(f"the usage could not be queued ({type(exc).__name__}); send it again") from exc
        return sum(len(message.records) for message in messages)


# ---------------------------------------------------------------- evaluation


def event_id_of(account_id: str, hash_: str) -> str:
    """The ESS event id of a notification: stable, so a re-publication is the same event."""
    digest = hashlib.sha256(f"{account_id}|{hash_}".encode()).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def event_fields(note: Notification) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "imsi": note.imsi,
        "system": note.system,
        "hash": note.hash,
        "type": note.type,
        "issued": iso_ms(note.issued_ms),
        "dataLimit": note.data_limit,
        "dataLimitPeriod": note.period,
        "totalUsage": note.total_usage,
        "thresholdValue": note.threshold,
        "periodStart": note.period_start,
    }
    if note.custom_day is not None:
        fields["dataLimitCustomDate"] = note.custom_day
    return fields


def iso_ms(epoch_ms: int) -> str:
    """ISO-8601 UTC with milliseconds: `2020-01-30T14:03:02.231Z`."""
    return clock.iso_from_ms(epoch_ms)[:-1] + f".{epoch_ms % 1000:03d}Z"


class EvaluationResult:
    def __init__(self) -> None:
        self.counted = 0
        self.duplicates = 0
        self.notifications: list[Notification] = []


class Evaluator:
    """One usage message: count its new records, issue the thresholds crossed, push them as ESS events.

    Usage, record ids and notifications are written in one transaction per (up to 80) records, so a
    crash leaves all or nothing; the notifications then wait in the usage item's outbox until they are
    published, and a redelivered message publishes what a crash left there (event ids are stable)."""

    def __init__(self, repo: UsageRepository, events: EventSink, now_ms: Callable[[], int] = clock.now_ms) -> None:
        self._repo = repo
        self._events = events
        self._now_ms = now_ms

    def handle(self, message: UsageMessage) -> EvaluationResult:
        result = EvaluationResult()
        records = list({record.record_id: record for record in reversed(message.records)}.values())[::-1]
        sub, usage = self._repo.load(message.account_id, message.imsi)
        if usage.outbox:
            self._publish(
                message.account_id, message.imsi, self._repo.get_notifications(message.account_id, usage.outbox)
            )
            usage.outbox = set()
        for start in range(0, len(records), RECORDS_PER_COMMIT):
            usage = self._apply(message, sub, usage, records[start : start + RECORDS_PER_COMMIT], result)
        return result

    def _apply(
        self,
        message: UsageMessage,
        sub: Subscriber | None,
        usage: Usage,
        chunk: list[UsageRecord],
        result: EvaluationResult,
    ) -> Usage:
        account_id, imsi = message.account_id, message.imsi
        counted_before: set[str] = set()
        issued_before: set[str] = set()
        for _ in range(COMMIT_TRIES):
            todo = [record for record in chunk if record.record_id not in counted_before]
            if not todo:
                break
            now = self._now_ms()
            state, crossings = periods.add_usage(
                usage.state,
                sub.limit() if sub else None,
                [(record.timestamp_ms, record.bytes) for record in todo],
                today=periods.day_of(now),
            )
            notes = [self._notification(account_id, sub, crossing, now) for crossing in crossings] if sub else []
            notes = [note for note in notes if note.hash not in issued_before]
            if 1 + len(todo) + len(notes) > MAX_TRANSACTION_ITEMS and len(todo) > 1:
                # records across many periods crossing many thresholds: count them in halves
                half = len(todo) // 2
                usage = self._apply(message, sub, usage, todo[:half], result)
                usage = self._apply(message, sub, usage, todo[half:], result)
                result.duplicates += len(counted_before)
                return usage
            try:
                self._repo.commit(account_id, imsi, usage.version, state, todo, notes, now // 1000)
            except CommitRefused as refused:
                counted_before |= refused.records
                issued_before |= refused.hashes
                if refused.stale:
                    sub, usage = self._repo.load(account_id, imsi)
                continue
            result.counted += len(todo)
            result.notifications += notes
            usage = Usage(state, usage.version + 1, set())
            if notes:
                self._publish(account_id, imsi, notes)
            break
        else:
            raise Unavailable(f"usage of {imsi} could not be committed")
        result.duplicates += len(counted_before)
        return usage

    @staticmethod
    def _notification(account_id: str, sub: Subscriber, crossing: periods.Crossing, now: int) -> Notification:
        return Notification(
            account_id=account_id,
            hash=periods.notification_hash(sub.imsi, crossing.period_start, crossing.threshold, crossing.data_limit),
            issued_ms=now,
            imsi=sub.imsi,
            system=sub.system,
            data_limit=crossing.data_limit,
            period=sub.period,
            custom_day=sub.custom_day,
            total_usage=crossing.total_usage,
            threshold=crossing.threshold,
            period_start=periods.iso_start(crossing.period_start),
        )

    def _publish(self, account_id: str, imsi: str, notes: list[Notification]) -> None:
        for note in sorted(notes, key=lambda n: (n.period_start, n.threshold)):
            self._events.publish_event(
                account_id, TOPIC, EVENT_TYPE, event_fields(note), event_id=event_id_of(account_id, note.hash)
            )
        self._repo.clear_outbox(account_id, imsi, {note.hash for note in notes})
        logger.info("notifications published", extra={"imsi": imsi, "count": len(notes)})
